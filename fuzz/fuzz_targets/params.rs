//! Fuzz target: Request parameters: query, form body and charset resolution. The body, with what it asserts, is
//! `alipay_mock::fuzzing::params` (compiled and property-tested with the crate).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| alipay_mock::fuzzing::params(data));
