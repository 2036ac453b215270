//! Parameter parsing: query + form body + charset resolution never panics, and what it
//! answers is self-consistent.
#![no_main]

use alipay_mock::protocol::params::Params;
use libfuzzer_sys::fuzz_target;

#[path = "request.rs"]
mod request;

fuzz_target!(|data: &[u8]| {
    let params = Params::parse(request::request(data));
    let charset = params.charset().clone();
    if params.unsupported_charset().is_some() {
        assert!(charset.is_utf8(), "an unsupported charset decodes as UTF-8");
    }
    let mut count = 0;
    for param in params.entries() {
        count += 1;
        // The value the gateway acts on is the one decoded from the bytes it verifies.
        assert_eq!(params.get(param.name), Some(param.value));
        assert_eq!(charset.decode(param.raw_name), param.name);
        assert_eq!(charset.decode(param.raw_value), param.value);
        assert_eq!(param.value.is_empty(), param.raw_value.is_empty());
        assert_eq!(
            params.non_empty(param.name).is_some(),
            !param.value.is_empty()
        );
    }
    assert_eq!(count, params.iter().count());
    let _ = params.has_non_ascii();
});
