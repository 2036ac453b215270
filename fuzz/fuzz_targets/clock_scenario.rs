//! Fuzz target: A clock setting and a scenario body. The body, with what it asserts, is
//! `alipay_mock::fuzzing::clock_scenario` (compiled and property-tested with the crate).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| alipay_mock::fuzzing::clock_scenario(data));
