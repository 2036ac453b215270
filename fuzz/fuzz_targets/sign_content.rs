//! Fuzz target: The sign content of a request. The body, with what it asserts, is
//! `alipay_mock::fuzzing::sign_content_of` (compiled and property-tested with the crate).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| alipay_mock::fuzzing::sign_content_of(data));
