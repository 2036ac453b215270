//! The gateway's counters and latency histogram, exposed by `GET /__admin/metrics` in the
//! Prometheus text format ([`Metrics::encode`]).
//!
//! Label cardinality is bounded by construction: `app_id` and `method` are the names the
//! gateway knows (apps in the key ring, methods it implements), anything else is
//! [`OTHER`]; `code` and `sub_code` come from the gateway's error tables; fault kinds are
//! a fixed list. A caller sending random app ids cannot grow the exposition.
//!
//! Updated in four places only: [`Metrics::count_request`] (one `gateway.do` request, its
//! latency and faults, from what the request gathered, once its outcome is known), the
//! gateway (scenario firings), [`crate::State::commit`] (admin writes) and
//! [`crate::notify`] (notifications made, each send).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::request::RequestContext;

/// The label value for an `app_id` or `method` the gateway does not know.
pub const OTHER: &str = "other";

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets in seconds: a local mock answers in milliseconds; the upper buckets
/// catch injected latency.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The labels of one counted `gateway.do` request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    /// A known app id, else [`OTHER`].
    pub app_id: String,
    /// A known method name, else [`OTHER`].
    pub method: String,
    /// The answer's `code` (`10000` on success).
    pub code: String,
    /// The answer's `sub_code`, empty on success.
    pub sub_code: String,
    /// `verified`, `failed`, or `unchecked` (the request stopped before the check).
    pub verdict: String,
}

/// The labels of a notification attempt.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AttemptLabels {
    verdict: &'static str,
}

/// The labels of a fault injection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FaultLabels {
    kind: &'static str,
}

/// Every metric of a running gateway. One per [`crate::State`].
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histogram,
    admin_writes: Counter,
    scenario_firings: Counter,
    fault_injections: Family<FaultLabels, Counter>,
    // Brought up to the signature cache's own counts at each scrape (`sync_sign_cache`).
    signature_cache_hits: Counter,
    signature_cache_misses: Counter,
    /// Serialises [`Metrics::sync_sign_cache`].
    cache_sync: std::sync::Mutex<()>,
    notifications_created: Counter,
    notification_attempts: Family<AttemptLabels, Counter>,
    notifications_delivered: Counter,
    notification_attempts_failed: Counter,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under the `alipay_mock` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("alipay_mock");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "gateway_requests",
            "gateway.do requests by app, method, answer code, sub_code and signature verdict",
            requests.clone(),
        );
        let latency = Histogram::new(LATENCY_BUCKETS);
        registry.register(
            "gateway_request_duration_seconds",
            "Time to answer a gateway.do request, injected latency included",
            latency.clone(),
        );
        let admin_writes = Counter::default();
        registry.register(
            "admin_writes",
            "Changes committed through the admin API (resets included)",
            admin_writes.clone(),
        );
        let scenario_firings = Counter::default();
        registry.register(
            "scenario_firings",
            "Requests answered by a forced outcome (a scenario)",
            scenario_firings.clone(),
        );
        let fault_injections = Family::<FaultLabels, Counter>::default();
        registry.register(
            "fault_injections",
            "Faults applied to gateway.do requests, by kind",
            fault_injections.clone(),
        );
        let signature_cache_hits = Counter::default();
        registry.register(
            "signature_cache_hits",
            "Response signatures served from the signature cache",
            signature_cache_hits.clone(),
        );
        let signature_cache_misses = Counter::default();
        registry.register(
            "signature_cache_misses",
            "Response signatures computed because the signature cache did not hold them",
            signature_cache_misses.clone(),
        );
        let notifications_created = Counter::default();
        registry.register(
            "notifications_created",
            "Asynchronous notifications made (admin API and method rules)",
            notifications_created.clone(),
        );
        let notification_attempts = Family::<AttemptLabels, Counter>::default();
        registry.register(
            "notification_attempts",
            "Notification sends, by verdict (delivered, rejected, error)",
            notification_attempts.clone(),
        );
        let notifications_delivered = Counter::default();
        registry.register(
            "notifications_delivered",
            "Notifications whose handler answered HTTP 200 with success",
            notifications_delivered.clone(),
        );
        let notification_attempts_failed = Counter::default();
        registry.register(
            "notification_attempts_failed",
            "Notification sends that did not deliver (rejected or no answer)",
            notification_attempts_failed.clone(),
        );
        Metrics {
            registry,
            notifications_created,
            notification_attempts,
            notifications_delivered,
            notification_attempts_failed,
            requests,
            latency,
            admin_writes,
            scenario_firings,
            fault_injections,
            signature_cache_hits,
            signature_cache_misses,
            cache_sync: std::sync::Mutex::new(()),
        }
    }

    /// Counts one answered `gateway.do` request, its latency and the faults applied to
    /// it. `app_id` and `method` are labels only when the gateway knows them (bounded
    /// cardinality).
    pub(crate) fn count_request(&self, request: &RequestContext<'_>) {
        let app_id = match request.app {
            Some(_) => request.params.non_empty("app_id").unwrap_or(OTHER),
            None => OTHER,
        };
        let verdict = match request.observed.signature.verified {
            Some(true) => "verified",
            Some(false) => "failed",
            None => "unchecked",
        };
        let codes = &request.codes;
        self.request(
            RequestLabels {
                app_id: app_id.to_owned(),
                method: request
                    .method
                    .as_ref()
                    .map_or(OTHER, |m| m.name())
                    .to_owned(),
                code: codes.code.clone(),
                sub_code: codes.sub_code.clone().unwrap_or_default(),
                verdict: verdict.to_owned(),
            },
            request.elapsed,
        );
        let draw = &request.draw;
        if draw.delay.is_some() {
            self.fault_injected("latency");
        }
        if draw.unknown_error {
            self.fault_injected("unknown_error");
        }
        if draw.drop_connection {
            self.fault_injected("drop_connection");
        }
        if let Some(mode) = draw.hostile {
            self.fault_injected(mode.as_str());
        }
    }

    /// Counts one answered `gateway.do` request and its latency.
    pub fn request(&self, labels: RequestLabels, elapsed: Duration) {
        self.requests.get_or_create(&labels).inc();
        self.latency.observe(elapsed.as_secs_f64());
    }

    /// Counts one committed admin change.
    pub fn admin_write(&self) {
        self.admin_writes.inc();
    }

    /// Counts one request answered by a scenario.
    pub fn scenario_fired(&self) {
        self.scenario_firings.inc();
    }

    /// Counts one applied fault; `kind` is one of a fixed set of names.
    pub fn fault_injected(&self, kind: &'static str) {
        self.fault_injections
            .get_or_create(&FaultLabels { kind })
            .inc();
    }

    /// Counts one notification made.
    pub fn notification_created(&self) {
        self.notifications_created.inc();
    }

    /// Counts one notification send and how it ended.
    pub fn notification_attempt(&self, verdict: crate::notify::Verdict) {
        use crate::notify::Verdict;
        let verdict = match verdict {
            Verdict::Delivered => "delivered",
            Verdict::Rejected => "rejected",
            Verdict::Error => "error",
        };
        self.notification_attempts
            .get_or_create(&AttemptLabels { verdict })
            .inc();
        if verdict == "delivered" {
            self.notifications_delivered.inc();
        } else {
            self.notification_attempts_failed.inc();
        }
    }

    /// Brings the signature cache's counters up to its own totals (it counts every
    /// look-up itself; the scrape copies the totals so the hot path pays nothing more).
    pub fn sync_sign_cache(&self, hits: u64, misses: u64) {
        // Two scrapes at once must not both add the same difference.
        let _one_at_a_time = self
            .cache_sync
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (counter, total) in [
            (&self.signature_cache_hits, hits),
            (&self.signature_cache_misses, misses),
        ] {
            counter.inc_by(total.saturating_sub(counter.get()));
        }
    }

    /// The exposition in the Prometheus (OpenMetrics) text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counted_request_appears_with_its_labels() {
        let metrics = Metrics::new();
        metrics.request(
            RequestLabels {
                app_id: "2021000000000001".into(),
                method: "zhima.auth.info.authquery".into(),
                code: "10000".into(),
                sub_code: String::new(),
                verdict: "verified".into(),
            },
            Duration::from_millis(3),
        );
        let text = metrics.encode().unwrap_or_default();
        assert!(text.contains(
            "alipay_mock_gateway_requests_total{app_id=\"2021000000000001\",method=\"zhima.auth.info.authquery\",code=\"10000\",sub_code=\"\",verdict=\"verified\"} 1"
        ), "{text}");
        assert!(
            text.contains("alipay_mock_signature_cache_hits_total 0"),
            "{text}"
        );
    }
}
