//! Fuzz target: The admin API's JSON bodies. The body, with what it asserts, is
//! `alipay_mock::fuzzing::admin_json` (compiled and property-tested with the crate).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| alipay_mock::fuzzing::admin_json(data));
