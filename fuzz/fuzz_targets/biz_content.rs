//! Fuzz target: zhima.auth.info.authquery's biz_content and identity reading. The body, with what it asserts, is
//! `alipay_mock::fuzzing::biz_content` (compiled and property-tested with the crate).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| alipay_mock::fuzzing::biz_content(data));
