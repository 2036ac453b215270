//! The clock and the scenarios together: a `PUT /__admin/clock` body, then a scenario
//! body created at the clock's now (issue 22: year-9999 clocks and `for_seconds` past the
//! calendar panicked). No input panics: a setting that validates gives a now that shows
//! in UTC as RFC 3339, and a scenario made at that now serialises and reads back.
#![no_main]

use alipay_mock::clock::{Clock, ClockSetting};
use alipay_mock::control::scenarios::{Scenario, ScenarioRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The two bodies, split at the first NUL (the clock's first).
    let mut parts = data.splitn(2, |&b| b == 0);
    let clock_body = parts.next().unwrap_or_default();
    let scenario_body = parts.next().unwrap_or_default();
    let clock = Clock::default();
    if let Ok(setting) = serde_json::from_slice::<ClockSetting>(clock_body) {
        if setting.validate().is_ok() {
            clock.set(setting);
            let now = clock.now();
            let utc = now
                .checked_to_offset(time::UtcOffset::UTC)
                .expect("a validated clock's now has a UTC form");
            time::serde::rfc3339::serialize(&utc, serde_json::value::Serializer)
                .expect("a validated clock's now formats as RFC 3339");
            serde_json::to_string(&setting).expect("a validated setting serialises");
        }
    }
    if let Ok(request) = serde_json::from_slice::<ScenarioRequest>(scenario_body) {
        let business = alipay_mock::methods::business_error;
        if let Ok(scenario) = request.into_scenario("s1".into(), clock.now(), business) {
            let json = serde_json::to_string(&scenario).expect("a scenario serialises");
            let _: Scenario = serde_json::from_str(&json).expect("a scenario reads back");
        }
    }
});
