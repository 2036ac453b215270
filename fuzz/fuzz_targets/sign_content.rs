//! Sign content: never panics; its bytes decode to its text when well formed; `sign`
//! and empty values never change it.
#![no_main]

use alipay_mock::protocol::params::{Params, RawRequest};
use alipay_mock::protocol::sign_content::{quoted_for_sub_msg, sign_content};
use libfuzzer_sys::fuzz_target;

#[path = "request.rs"]
mod request;

fuzz_target!(|data: &[u8]| {
    let raw = request::request(data);
    let params = Params::parse(raw);
    let content = sign_content(&params);
    if content.well_formed {
        assert_eq!(params.charset().decode(&content.bytes), content.text);
    }
    assert!(!quoted_for_sub_msg(&content.text).contains("&&"));

    // A `sign` before everything, and an empty parameter after everything when no
    // parameter has its name yet (else the empty one would win in the query and drop
    // the other), change nothing.
    const EMPTY: &str = "zz_fuzz_empty";
    let query = raw.query.unwrap_or_default();
    let mut padded = b"sign=zz%2B&".to_vec();
    padded.extend_from_slice(query);
    if params.get(EMPTY).is_none() {
        padded.extend_from_slice(format!("&{EMPTY}=").as_bytes());
    }
    let again = sign_content(&Params::parse(RawRequest {
        query: Some(&padded),
        ..raw
    }));
    assert_eq!(again, content);
});
