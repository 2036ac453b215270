//! Forced outcomes ("scenarios"), like Alipay's global sandbox iMock: the next N matching
//! calls, only the K-th matching call, or every matching call for T seconds answer a
//! chosen public or business error, or a chosen authorised / unauthorised answer.
//!
//! Scenarios apply to requests that pass every public check (signature included), in the
//! order they were created; the first that fires decides. They live in memory for speed
//! and are written through to the store, counters included, so they survive restarts.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{GatewayError, PublicError};
// The definition engine (answer nodes and error specs with templates), not a method.
use crate::methods::defined::{Answer, DefinitionError, ErrorSpec};

/// Looks up a business error code (`ZM_ACCOUNT_PAUSE`) in the methods' tables
/// (`methods::business_error`); passed in, so this module needs no method.
pub type BusinessErrors = fn(&str) -> Option<GatewayError>;

/// Why a scenario is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// `outcome.error` names no error the gateway knows.
    #[error("outcome.error {0:?} is neither a public sub_code (e.g. isp.unknow-error) nor a business code (e.g. ZM_ACCOUNT_PAUSE)")]
    UnknownError(String),
    /// An `open_id` with `authorized: false`.
    #[error("outcome.open_id only goes with authorized: true")]
    OpenIdWithoutAuthorization,
    /// More than one of `times`, `nth`, `for_seconds`.
    #[error("give at most one of times, nth and for_seconds")]
    SeveralModes,
    /// A mode of 0.
    #[error("times, nth and for_seconds start at 1")]
    ZeroMode,
    /// `for_seconds` beyond [`MAX_FOR_SECONDS`].
    #[error("for_seconds is capped at {MAX_FOR_SECONDS} (ten years)")]
    TooLong,
    /// An `{"answer": …}` node or an `{"error": {…}}` object that would not compile as a
    /// method definition's rule (the field is named).
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// `for_seconds` from the gateway's now ends past the year 9999.
    #[error("for_seconds would end after the year 9999 of the gateway's clock; shorten it or move the clock back")]
    EndsBeyondCalendar,
}

/// Which calls a scenario applies to; an absent field matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// The `method` a call must name (`zhima.auth.info.authquery`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The `app_id` a call must come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// An identity id: matches requests about that person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// What a firing scenario answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "outcome: {\"error\": \"<public sub_code or business code>\"}, {\"authorized\": true|false, \"open_id\"?: \"…\"}, {\"answer\": {<response node>}} or {\"error\": {\"sub_code\": \"…\", \"sub_msg\": \"…\", \"code\"?: \"…\"}}"
)]
pub enum Outcome {
    /// Any public `sub_code` (e.g. `isp.unknow-error`) or business code (e.g.
    /// `ZM_ACCOUNT_PAUSE`).
    Error(ForcedError),
    /// A success answer.
    Answer(ForcedAnswer),
    /// A whole answer node, as a method definition's rule writes it (templates
    /// included): any method, defined ones above all.
    Node(ForcedNode),
    /// An error as a method definition's rule writes it: any `sub_code` and `sub_msg`.
    DefinedError(ForcedDefinedError),
}

/// `{"answer": {<response node>}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForcedNode {
    /// The node's fields (`code`/`msg` are put first unless given).
    pub answer: serde_json::Value,
}

/// `{"error": {"sub_code": …, "sub_msg": …, "code"?: …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForcedDefinedError {
    /// The error, as a definition's rule writes it.
    pub error: ErrorSpec,
}

/// `{"error": "<sub_code or business code>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForcedError {
    /// A public `sub_code` or a business code of the called method.
    pub error: String,
}

/// `{"authorized": bool, "open_id"?: str}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForcedAnswer {
    /// The answer's `authorized`.
    pub authorized: bool,
    /// The answer's `open_id`, only with `authorized: true`; `None` keeps the stored
    /// authorisation's `open_id`, or derives a stable one when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_id: Option<String>,
}

/// A scenario as the admin API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRequest {
    /// Which calls it applies to (`match` on the wire); absent matches every call.
    #[serde(default, rename = "match")]
    pub matcher: Match,
    /// Fire for the next N matching calls, then go. At most one of `times`, `nth` and
    /// `for_seconds` is given; with none, a scenario fires once (`times` 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Fire only on the N-th matching call (counting from 1), then go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u64>,
    /// Fire on every matching call for this many seconds (at most [`MAX_FOR_SECONDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_seconds: Option<u64>,
    /// What a firing call answers.
    pub outcome: Outcome,
}

impl ScenarioRequest {
    /// A scenario that answers `outcome` for the next matching call (`times` 1 when
    /// none of `times`, `nth` and `for_seconds` is set); set those and `matcher` with
    /// struct update syntax.
    pub fn answering(outcome: Outcome) -> ScenarioRequest {
        ScenarioRequest {
            matcher: Match::default(),
            times: None,
            nth: None,
            for_seconds: None,
            outcome,
        }
    }
}

/// A stored scenario with its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// The id the admin API gave it; names it in URLs and in the store.
    pub id: String,
    /// What was asked for, `times` filled in with 1 when no mode was given (its fields sit
    /// at the top level of the JSON).
    #[serde(flatten)]
    pub request: ScenarioRequest,
    /// When it was created (UTC, RFC 3339 on the wire); scenarios apply in this order.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Calls left (`times`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// Matching calls seen so far (`nth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<u64>,
    /// When it stops (`for_seconds`).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
}

/// A scenario's outcome, resolved to what the gateway answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Forced {
    /// Answer this error (public or business) instead of calling the method.
    Error(GatewayError),
    /// Answer success with these fields.
    Answer {
        /// The answer's `authorized`.
        authorized: bool,
        /// The `open_id` asked for; `None` lets the method choose.
        open_id: Option<String>,
    },
    /// Answer this node (rendered against the request).
    Node(Answer),
}

impl Outcome {
    /// Resolves the outcome, or says why it names nothing the gateway knows.
    pub(crate) fn resolve(&self, business: BusinessErrors) -> Result<Forced, ScenarioError> {
        match self {
            Outcome::Error(ForcedError { error }) => PublicError::from_sub_code(error)
                .map(GatewayError::from)
                .or_else(|| business(error))
                .map(Forced::Error)
                .ok_or_else(|| ScenarioError::UnknownError(error.clone())),
            Outcome::Answer(ForcedAnswer {
                authorized,
                open_id,
            }) => {
                if !authorized && open_id.is_some() {
                    return Err(ScenarioError::OpenIdWithoutAuthorization);
                }
                Ok(Forced::Answer {
                    authorized: *authorized,
                    open_id: open_id.clone(),
                })
            }
            Outcome::Node(ForcedNode { answer }) => {
                Ok(Forced::Node(Answer::node(answer, "outcome.answer")?))
            }
            Outcome::DefinedError(ForcedDefinedError { error }) => {
                Ok(Forced::Error(Answer::error(error, "outcome.error")?))
            }
        }
    }
}

impl ScenarioRequest {
    /// Validates the request (its outcome must name something the gateway knows, looked
    /// up in `business` past the public errors) and makes the scenario.
    pub fn into_scenario(
        self,
        id: String,
        now: OffsetDateTime,
        business: BusinessErrors,
    ) -> Result<Scenario, ScenarioError> {
        self.outcome.resolve(business)?;
        let modes = [self.times, self.nth, self.for_seconds];
        if modes.iter().filter(|m| m.is_some()).count() > 1 {
            return Err(ScenarioError::SeveralModes);
        }
        if modes.contains(&Some(0)) {
            return Err(ScenarioError::ZeroMode);
        }
        if self.for_seconds.is_some_and(|s| s > MAX_FOR_SECONDS) {
            return Err(ScenarioError::TooLong);
        }
        let expires_at = match self.for_seconds {
            None => None,
            Some(seconds) => {
                let end = i64::try_from(seconds)
                    .ok()
                    .and_then(|s| now.checked_add(time::Duration::seconds(s)))
                    .filter(|end| crate::clock::within_calendar(*end))
                    .ok_or(ScenarioError::EndsBeyondCalendar)?;
                Some(end)
            }
        };
        let times = match (self.times, self.nth, self.for_seconds) {
            (None, None, None) => Some(1),
            (times, _, _) => times,
        };
        Ok(Scenario {
            id,
            remaining: times,
            seen: self.nth.map(|_| 0),
            expires_at,
            created_at: now,
            request: ScenarioRequest { times, ..self },
        })
    }
}

/// A scenario with its outcome resolved once, when it is made or loaded: firing it looks
/// nothing up.
#[derive(Debug, Clone)]
pub(crate) struct Armed {
    scenario: Scenario,
    /// `None` for a stored outcome no method knows any more: it counts but forces nothing.
    forced: Option<Forced>,
}

impl Scenario {
    /// The scenario with its outcome resolved (`business`: see [`BusinessErrors`]).
    pub(crate) fn arm(self, business: BusinessErrors) -> Armed {
        let forced = self.request.outcome.resolve(business).ok();
        Armed {
            scenario: self,
            forced,
        }
    }
}

/// What the gateway knows of a call when it asks for a forced outcome.
pub(crate) struct Candidate<'a> {
    /// The called method's name.
    pub method: &'a str,
    /// The calling app.
    pub app_id: &'a str,
    /// Resolves the identity the call is about (only asked when a scenario needs it).
    pub identity: &'a dyn Fn() -> Option<String>,
}

/// What happened to a scenario when a call was counted.
enum Step {
    /// Fired; `counted` says whether its counters changed (a `for_seconds` scenario's
    /// do not), `keep` whether it stays in force.
    Fire {
        keep: bool,
        counted: bool,
    },
    Count,
    Skip,
    Expired,
}

/// A counter change to persist: the scenario as it was and as it is now (`None` when it
/// is gone). The store applies it only if it still holds `before`, so a late write can
/// never resurrect a scenario an admin call or another request removed.
pub(crate) struct Change<'a> {
    /// The scenario as the store should still hold it.
    pub before: &'a Scenario,
    /// The scenario with its new counters; `None` when it is used up or expired.
    pub after: Option<&'a Scenario>,
}

/// The longest `for_seconds` accepted: ten years.
pub const MAX_FOR_SECONDS: u64 = 10 * 365 * 24 * 3600;

/// The scenarios in force, in creation order.
#[derive(Debug, Default)]
pub struct Scenarios {
    list: Mutex<Vec<Armed>>,
}

fn live(scenario: &Scenario, now: OffsetDateTime) -> bool {
    scenario.expires_at.is_none_or(|t| now < t)
}

impl Scenarios {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Armed>> {
        // A poisoned lock only means a panic between complete updates.
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces everything (start-up, reset).
    pub(crate) fn load(&self, mut scenarios: Vec<Armed>) {
        scenarios.sort_by(|a, b| {
            let (a, b) = (&a.scenario, &b.scenario);
            a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id))
        });
        *self.list() = scenarios;
    }

    /// Adds a scenario.
    pub(crate) fn add(&self, scenario: Armed) {
        self.list().push(scenario);
    }

    /// The ids of the scenarios in force, optionally only those scoped to one app
    /// (expired ones included: removing them is what the caller wants).
    pub fn ids(&self, app_id: Option<&str>) -> Vec<String> {
        self.list()
            .iter()
            .map(|armed| &armed.scenario)
            .filter(|s| app_id.is_none_or(|a| s.request.matcher.app_id.as_deref() == Some(a)))
            .map(|s| s.id.clone())
            .collect()
    }

    /// Removes exactly these scenarios.
    pub fn remove_ids(&self, ids: &[String]) {
        self.list()
            .retain(|armed| !ids.contains(&armed.scenario.id));
    }

    /// Scenarios in force at `now` (expired ones are not), optionally only one app's.
    pub fn snapshot(&self, app_id: Option<&str>, now: OffsetDateTime) -> Vec<Scenario> {
        self.list()
            .iter()
            .map(|armed| &armed.scenario)
            .filter(|s| live(s, now))
            .filter(|s| app_id.is_none_or(|a| s.request.matcher.app_id.as_deref() == Some(a)))
            .cloned()
            .collect()
    }

    /// How many are in force at `now`.
    pub fn live_count(&self, now: OffsetDateTime) -> usize {
        self.list()
            .iter()
            .filter(|armed| live(&armed.scenario, now))
            .count()
    }

    /// Counts a call against every matching scenario and returns the first outcome that
    /// fires. Every counter change is handed to `persist` while the list is still locked,
    /// so changes reach the store in the order they happened.
    pub(crate) fn take(
        &self,
        call: &Candidate<'_>,
        now: OffsetDateTime,
        persist: &dyn Fn(Change<'_>),
    ) -> Option<Forced> {
        let mut list = self.list();
        let mut identity: Option<Option<String>> = None;
        let mut fired = None;
        let mut index = 0;
        while index < list.len() {
            let before = list[index].scenario.clone();
            match step(
                &mut list[index].scenario,
                call,
                &mut identity,
                now,
                fired.is_some(),
            ) {
                Step::Skip => index += 1,
                Step::Count => {
                    persist(Change {
                        before: &before,
                        after: Some(&list[index].scenario),
                    });
                    index += 1;
                }
                Step::Expired => {
                    persist(Change {
                        before: &before,
                        after: None,
                    });
                    list.remove(index);
                }
                Step::Fire { keep, counted } => {
                    fired = list[index].forced.clone();
                    if keep {
                        if counted {
                            persist(Change {
                                before: &before,
                                after: Some(&list[index].scenario),
                            });
                        }
                        index += 1;
                    } else {
                        persist(Change {
                            before: &before,
                            after: None,
                        });
                        list.remove(index);
                    }
                }
            }
        }
        fired
    }
}

fn step(
    scenario: &mut Scenario,
    call: &Candidate<'_>,
    identity: &mut Option<Option<String>>,
    now: OffsetDateTime,
    already_fired: bool,
) -> Step {
    if !live(scenario, now) {
        return Step::Expired;
    }
    if already_fired {
        // One outcome per call: later scenarios neither fire nor count this call.
        return Step::Skip;
    }
    let m = &scenario.request.matcher;
    if m.method.as_deref().is_some_and(|x| x != call.method)
        || m.app_id.as_deref().is_some_and(|x| x != call.app_id)
    {
        return Step::Skip;
    }
    if let Some(wanted) = &m.identity {
        let actual = identity.get_or_insert_with(|| (call.identity)());
        if actual.as_deref() != Some(wanted.as_str()) {
            return Step::Skip;
        }
    }
    if let Some(remaining) = scenario.remaining.as_mut() {
        *remaining = remaining.saturating_sub(1);
        return Step::Fire {
            keep: *remaining > 0,
            counted: true,
        };
    }
    if let (Some(nth), Some(seen)) = (scenario.request.nth, scenario.seen.as_mut()) {
        *seen += 1;
        return if *seen >= nth {
            Step::Fire {
                keep: false,
                counted: true,
            }
        } else {
            Step::Count
        };
    }
    Step::Fire {
        keep: true,
        counted: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    // The real tables: the tests force the authquery's business codes.
    use crate::methods::business_error;

    fn request(json: &str) -> ScenarioRequest {
        serde_json::from_str(json).unwrap()
    }

    fn add(scenarios: &Scenarios, id: &str, json: &str) {
        let s = request(json)
            .into_scenario(id.into(), OffsetDateTime::now_utc(), business_error)
            .unwrap();
        scenarios.add(s.arm(business_error));
    }

    fn fire(scenarios: &Scenarios, app_id: &str) -> Option<Forced> {
        let none = || None;
        let call = Candidate {
            method: "zhima.auth.info.authquery",
            app_id,
            identity: &none,
        };
        scenarios.take(&call, OffsetDateTime::now_utc(), &|_| {})
    }

    fn pause() -> Option<Forced> {
        Some(Forced::Error(GatewayError::Business {
            sub_code: "ZM_ACCOUNT_PAUSE",
            sub_msg: "该账号暂停服务",
        }))
    }

    #[test]
    fn times_fires_for_the_next_n_matching_calls_then_goes() {
        let s = Scenarios::default();
        add(
            &s,
            "a",
            r#"{"match":{"app_id":"A"},"times":2,"outcome":{"error":"ZM_ACCOUNT_PAUSE"}}"#,
        );
        assert_eq!(fire(&s, "B"), None);
        assert_eq!(fire(&s, "A"), pause());
        assert_eq!(fire(&s, "A"), pause());
        assert_eq!(fire(&s, "A"), None);
        assert!(s.ids(None).is_empty());
    }

    #[test]
    fn nth_fires_only_on_the_kth_matching_call() {
        let s = Scenarios::default();
        add(
            &s,
            "a",
            r#"{"nth":3,"outcome":{"error":"isp.unknow-error"}}"#,
        );
        assert_eq!(fire(&s, "A"), None);
        assert_eq!(fire(&s, "A"), None);
        assert_eq!(
            fire(&s, "A"),
            Some(Forced::Error(PublicError::ServiceUnavailable.into()))
        );
        assert_eq!(fire(&s, "A"), None);
    }

    #[test]
    fn for_seconds_fires_until_it_expires() {
        let s = Scenarios::default();
        add(
            &s,
            "a",
            r#"{"for_seconds":60,"outcome":{"authorized":false}}"#,
        );
        let forced = Some(Forced::Answer {
            authorized: false,
            open_id: None,
        });
        assert_eq!(fire(&s, "A"), forced);
        assert_eq!(fire(&s, "A"), forced);
        let none = || None;
        let call = Candidate {
            method: "m",
            app_id: "A",
            identity: &none,
        };
        let later = OffsetDateTime::now_utc() + Duration::from_secs(61);
        assert_eq!(s.take(&call, later, &|_| {}), None);
        assert!(s.ids(None).is_empty());
    }

    #[test]
    fn unknown_codes_and_conflicting_modes_are_rejected() {
        let now = OffsetDateTime::now_utc();
        assert!(request(r#"{"outcome":{"error":"NOPE"}}"#)
            .into_scenario("x".into(), now, business_error)
            .is_err());
        assert!(
            request(r#"{"times":1,"nth":2,"outcome":{"error":"SYSTEM_ERROR"}}"#)
                .into_scenario("x".into(), now, business_error)
                .is_err()
        );
        assert!(request(r#"{"times":0,"outcome":{"error":"SYSTEM_ERROR"}}"#)
            .into_scenario("x".into(), now, business_error)
            .is_err());
        assert!(serde_json::from_str::<ScenarioRequest>(
            r#"{"outcome":{"error":"SYSTEM_ERROR"},"extra":1}"#
        )
        .is_err());
        assert!(serde_json::from_str::<ScenarioRequest>(
            r#"{"outcome":{"error":"SYSTEM_ERROR","authorized":true}}"#
        )
        .is_err());
    }

    #[test]
    fn a_scenario_round_trips_through_its_stored_json() {
        let s = request(
            r#"{"match":{"identity":"lisi"},"nth":2,"outcome":{"authorized":true,"open_id":"x"}}"#,
        )
        .into_scenario("id1".into(), OffsetDateTime::now_utc(), business_error)
        .unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Scenario>(&json).unwrap(), s);
    }

    #[test]
    fn expired_scenarios_are_not_listed_and_for_seconds_firing_writes_nothing() {
        let s = Scenarios::default();
        add(
            &s,
            "a",
            r#"{"for_seconds":60,"outcome":{"authorized":false}}"#,
        );
        let none = || None;
        let call = Candidate {
            method: "m",
            app_id: "A",
            identity: &none,
        };
        let writes = std::cell::Cell::new(0);
        s.take(&call, OffsetDateTime::now_utc(), &|_| {
            writes.set(writes.get() + 1)
        });
        assert_eq!(writes.get(), 0, "nothing changed, nothing to persist");
        let mut expired = s.snapshot(None, OffsetDateTime::now_utc()).remove(0);
        expired.expires_at = Some(OffsetDateTime::now_utc() - Duration::from_secs(1));
        s.load(vec![expired.arm(business_error)]);
        assert_eq!(
            (
                s.live_count(OffsetDateTime::now_utc()),
                s.snapshot(None, OffsetDateTime::now_utc()).len(),
                s.ids(None).len()
            ),
            (0, 0, 1)
        );
    }

    #[test]
    fn counter_changes_are_persisted_with_their_before_state() {
        let s = Scenarios::default();
        add(&s, "a", r#"{"times":2,"outcome":{"error":"SYSTEM_ERROR"}}"#);
        let seen = std::cell::RefCell::new(Vec::new());
        let record = |c: Change<'_>| {
            seen.borrow_mut()
                .push((c.before.remaining, c.after.map(|a| a.remaining)));
        };
        let none = || None;
        let call = Candidate {
            method: "m",
            app_id: "A",
            identity: &none,
        };
        s.take(&call, OffsetDateTime::now_utc(), &record);
        s.take(&call, OffsetDateTime::now_utc(), &record);
        assert_eq!(
            *seen.borrow(),
            vec![(Some(2), Some(Some(1))), (Some(1), None)]
        );
    }

    #[test]
    fn the_first_scenario_that_fires_decides_and_later_ones_are_not_counted() {
        let s = Scenarios::default();
        add(&s, "a", r#"{"outcome":{"error":"ZM_ACCOUNT_PAUSE"}}"#);
        add(&s, "b", r#"{"outcome":{"error":"SYSTEM_ERROR"}}"#);
        assert_eq!(fire(&s, "A"), pause());
        assert_eq!(s.live_count(OffsetDateTime::now_utc()), 1);
        assert!(matches!(
            fire(&s, "A"),
            Some(Forced::Error(GatewayError::Business {
                sub_code: "SYSTEM_ERROR",
                ..
            }))
        ));
    }
}
