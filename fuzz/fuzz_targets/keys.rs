//! Fuzz target: Private and public key parsing. The body, with what it asserts, is
//! `alipay_mock::fuzzing::keys` (compiled and property-tested with the crate).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| alipay_mock::fuzzing::keys(data));
