//! Injected faults: latency, 20000 `isp.unknow-error` at a rate, dropped connections, and
//! a hostile gateway (wrong signing key, `sign` missing, body altered after signing) to
//! prove that clients verify what they receive.
//!
//! Every random draw comes from an RNG seeded by the fault set's `seed`, in a fixed order
//! per request, so the same seed and the same request sequence give the same faults.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Longest injectable latency, so a typo cannot hang a test suite for hours.
pub const MAX_LATENCY_MS: u64 = 120_000;

/// A fault set, as the admin API takes and shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Seeds the RNG of every draw.
    pub seed: u64,
    /// Latency added before answering (`latency_ms`, milliseconds, at most
    /// [`MAX_LATENCY_MS`]); `None` adds none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
    /// Probability (0 to 1) of answering 20000 `isp.unknow-error` instead; `None` never
    /// does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_error_rate: Option<f64>,
    /// Probability (0 to 1) of closing the connection without answering; `None` never
    /// does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_connection_rate: Option<f64>,
    /// How and how often the answer is spoiled after signing; `None` leaves answers intact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostile: Option<Hostile>,
}

/// Added latency: fixed, or uniform in a range (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "latency_ms: a number of milliseconds or {\"min\": ms, \"max\": ms}"
)]
pub enum Latency {
    /// The same delay for every request, in milliseconds (`"latency_ms": 250`).
    Fixed(u64),
    /// A delay drawn per request from the range (`"latency_ms": {"min": 100, "max": 300}`).
    Range(LatencyRange),
}

/// A uniform latency range, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyRange {
    /// Shortest delay, in milliseconds; not above `max`.
    pub min: u64,
    /// Longest delay, in milliseconds; at most [`MAX_LATENCY_MS`].
    pub max: u64,
}

/// A hostile-gateway fault.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hostile {
    /// How the answer is spoiled.
    pub mode: HostileMode,
    /// Probability per answer; 1 when absent.
    #[serde(default = "always")]
    pub rate: f64,
}

fn always() -> f64 {
    1.0
}

/// How a hostile gateway spoils its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostileMode {
    /// Signed with a key that is not the platform key.
    WrongKey,
    /// No `sign` at all.
    MissingSign,
    /// A field of the node changed after signing.
    AlteredBody,
}

impl HostileMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            HostileMode::WrongKey => "wrong_key",
            HostileMode::MissingSign => "missing_sign",
            HostileMode::AlteredBody => "altered_body",
        }
    }
}

/// Why a fault set is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    /// A rate outside 0..=1.
    #[error("{name} must be between 0 and 1, got {value}")]
    Rate {
        /// The rate's field.
        name: &'static str,
        /// What was given.
        value: f64,
    },
    /// A latency range with `min` above `max`.
    #[error("latency_ms.min ({min}) is above latency_ms.max ({max})")]
    LatencyInverted {
        /// The range's `min`.
        min: u64,
        /// The range's `max`.
        max: u64,
    },
    /// A latency above [`MAX_LATENCY_MS`].
    #[error("latency_ms is capped at {MAX_LATENCY_MS}")]
    LatencyCapped,
}

impl FaultConfig {
    /// Checks ranges; a rejected set changes nothing.
    pub fn validate(&self) -> Result<(), FaultError> {
        let rate = |name: &'static str, value: Option<f64>| match value {
            Some(v) if !(0.0..=1.0).contains(&v) => Err(FaultError::Rate { name, value: v }),
            _ => Ok(()),
        };
        rate("unknown_error_rate", self.unknown_error_rate)?;
        rate("drop_connection_rate", self.drop_connection_rate)?;
        rate("hostile.rate", self.hostile.map(|h| h.rate))?;
        match self.latency_ms {
            Some(Latency::Range(LatencyRange { min, max })) if min > max => {
                Err(FaultError::LatencyInverted { min, max })
            }
            Some(Latency::Fixed(ms) | Latency::Range(LatencyRange { max: ms, .. }))
                if ms > MAX_LATENCY_MS =>
            {
                Err(FaultError::LatencyCapped)
            }
            _ => Ok(()),
        }
    }
}

/// What the faults decided for one request. Only the gateway draws and applies it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Draw {
    /// Latency to add before answering; `None` when no latency fault is set.
    pub delay: Option<Duration>,
    /// Close the connection instead of answering.
    pub drop_connection: bool,
    /// Answer 20000 `isp.unknow-error` instead of the method's answer.
    pub unknown_error: bool,
    /// Spoil the signed answer this way; `None` leaves it intact.
    pub hostile: Option<HostileMode>,
}

impl Draw {
    /// Short labels of the faults applied, for the journal.
    pub fn labels(&self) -> Vec<String> {
        let mut labels = Vec::new();
        if let Some(delay) = self.delay {
            labels.push(format!("latency:{}ms", delay.as_millis()));
        }
        if self.unknown_error {
            labels.push("unknown_error".to_owned());
        }
        if let Some(mode) = self.hostile {
            labels.push(format!("hostile:{}", mode.as_str()));
        }
        if self.drop_connection {
            labels.push("dropped".to_owned());
        }
        labels
    }
}

struct Active {
    config: FaultConfig,
    rng: StdRng,
}

impl Active {
    fn new(config: FaultConfig) -> Active {
        Active {
            rng: StdRng::seed_from_u64(config.seed),
            config,
        }
    }

    fn draw(&mut self) -> Draw {
        let rng = &mut self.rng;
        let c = &self.config;
        let mut chance =
            |rate: Option<f64>| rate.is_some_and(|p| p > 0.0 && rng.gen_bool(p.min(1.0)));
        let unknown_error = chance(c.unknown_error_rate);
        let drop_connection = chance(c.drop_connection_rate);
        let hostile = c.hostile.filter(|h| chance(Some(h.rate))).map(|h| h.mode);
        let delay = c.latency_ms.map(|latency| {
            Duration::from_millis(match latency {
                Latency::Fixed(ms) => ms,
                Latency::Range(LatencyRange { min, max }) => rng.gen_range(min..=max),
            })
        });
        Draw {
            delay,
            drop_connection,
            unknown_error,
            hostile,
        }
    }
}

/// The fault sets in force: one global (scope "") and one per app_id. An app's own set
/// replaces the global one for its requests.
#[derive(Default)]
pub struct Faults {
    sets: Mutex<HashMap<String, Active>>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").finish_non_exhaustive()
    }
}

/// The scope key of a fault set.
pub fn scope(app_id: Option<&str>) -> String {
    app_id.unwrap_or("").to_owned()
}

impl Faults {
    fn sets(&self) -> std::sync::MutexGuard<'_, HashMap<String, Active>> {
        // A poisoned lock only means a draw panicked; the map itself is intact.
        self.sets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads stored fault sets (start-up).
    pub fn load(&self, stored: Vec<(String, FaultConfig)>) {
        let mut sets = self.sets();
        sets.clear();
        for (scope, config) in stored {
            sets.insert(scope, Active::new(config));
        }
    }

    /// Installs a fault set for a scope; its RNG starts again from the seed.
    pub fn set(&self, scope: String, config: FaultConfig) {
        self.sets().insert(scope, Active::new(config));
    }

    /// Removes a scope's fault set.
    pub fn clear(&self, scope: &str) {
        self.sets().remove(scope);
    }

    /// Removes every fault set.
    pub fn clear_all(&self) {
        self.sets().clear();
    }

    /// The fault set of a scope.
    pub fn get(&self, scope: &str) -> Option<FaultConfig> {
        self.sets().get(scope).map(|a| a.config.clone())
    }

    /// Draws the faults for one request of `app_id`.
    pub(crate) fn draw(&self, app_id: Option<&str>) -> Draw {
        let mut sets = self.sets();
        if let Some(active) = app_id.and_then(|id| sets.get_mut(id)) {
            return active.draw();
        }
        sets.get_mut("").map(Active::draw).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(seed: u64) -> FaultConfig {
        FaultConfig {
            seed,
            latency_ms: Some(Latency::Range(LatencyRange { min: 0, max: 1000 })),
            unknown_error_rate: Some(0.3),
            drop_connection_rate: Some(0.2),
            hostile: Some(Hostile {
                mode: HostileMode::WrongKey,
                rate: 0.5,
            }),
        }
    }

    fn sequence(seed: u64) -> Vec<Draw> {
        let faults = Faults::default();
        faults.set(scope(None), config(seed));
        (0..50).map(|_| faults.draw(Some("any"))).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        assert_eq!(sequence(7), sequence(7));
        assert_ne!(sequence(7), sequence(8));
    }

    #[test]
    fn an_apps_own_set_replaces_the_global_one() {
        let faults = Faults::default();
        faults.set(
            scope(None),
            FaultConfig {
                seed: 1,
                latency_ms: Some(Latency::Fixed(5)),
                unknown_error_rate: None,
                drop_connection_rate: None,
                hostile: None,
            },
        );
        faults.set(
            scope(Some("a")),
            FaultConfig {
                seed: 1,
                latency_ms: None,
                unknown_error_rate: Some(1.0),
                drop_connection_rate: None,
                hostile: None,
            },
        );
        assert!(faults.draw(Some("a")).unknown_error);
        assert_eq!(faults.draw(Some("a")).delay, None);
        assert_eq!(faults.draw(Some("b")).delay, Some(Duration::from_millis(5)));
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let mut bad = config(1);
        bad.unknown_error_rate = Some(1.5);
        assert_eq!(
            bad.validate().unwrap_err(),
            FaultError::Rate {
                name: "unknown_error_rate",
                value: 1.5
            }
        );
        let mut bad = config(1);
        bad.latency_ms = Some(Latency::Range(LatencyRange { min: 5, max: 1 }));
        assert!(bad.validate().is_err());
        assert!(config(1).validate().is_ok());
    }

    #[test]
    fn an_unknown_field_in_a_latency_range_is_refused_with_a_readable_message() {
        let typo = serde_json::from_str::<FaultConfig>(
            r#"{"seed":1,"latency_ms":{"min":1,"max":2,"mni":500}}"#,
        )
        .unwrap_err();
        assert!(
            typo.to_string()
                .contains("latency_ms: a number of milliseconds"),
            "{typo}"
        );
    }
}
