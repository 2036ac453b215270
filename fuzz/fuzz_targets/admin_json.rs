//! The JSON bodies the admin API parses: apps, identities, authorisations, scenario
//! requests and fault sets. No input panics the parse or the validation that follows,
//! and what validates survives a JSON round trip unchanged (the store keeps records as
//! JSON).
#![no_main]

use alipay_mock::control::faults::FaultConfig;
use alipay_mock::control::scenarios::{Scenario, ScenarioRequest};
use alipay_mock::model::{App, Authorization, Identity};
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};

fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_string(value).expect("a parsed record serialises");
    let back: T = serde_json::from_str(&json).expect("a serialised record parses");
    assert_eq!(&back, value, "{json}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    match selector % 5 {
        0 => {
            if let Ok(app) = serde_json::from_slice::<App>(json) {
                round_trips(&app);
            }
        }
        1 => {
            if let Ok(identity) = serde_json::from_slice::<Identity>(json) {
                let _ = identity.validate();
                round_trips(&identity);
            }
        }
        2 => {
            if let Ok(auth) = serde_json::from_slice::<Authorization>(json) {
                round_trips(&auth);
            }
        }
        3 => {
            if let Ok(request) = serde_json::from_slice::<ScenarioRequest>(json) {
                round_trips(&request);
                let now = time::OffsetDateTime::now_utc();
                let business = alipay_mock::methods::business_error;
                if let Ok(scenario) = request.into_scenario("s1".into(), now, business) {
                    round_trips::<Scenario>(&scenario);
                }
            }
        }
        _ => {
            if let Ok(config) = serde_json::from_slice::<FaultConfig>(json) {
                if config.validate().is_ok() {
                    round_trips(&config);
                }
            }
        }
    }
});
