//! Shared by the targets that parse requests: one fuzz input as a `gateway.do` request.
//!
//! Layout: the first byte picks the Content-Type; the rest is the query and the body
//! separated by the first NUL (a NUL never occurs in a form an SDK writes, so every
//! query/body pair stays reachable). With selector 7 a second NUL ends a free-form
//! Content-Type taken from the input.

use alipay_mock::protocol::params::RawRequest;

const CONTENT_TYPES: [Option<&str>; 7] = [
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/x-www-form-urlencoded;charset=GBK"),
    Some("application/x-www-form-urlencoded; charset=\"utf-8\""),
    Some("application/x-www-form-urlencoded;charset=latin1"),
    Some("application/json"),
    Some("multipart/form-data; boundary=x"),
];

/// Splits a fuzz input into a raw request.
pub fn request(data: &[u8]) -> RawRequest<'_> {
    let Some((&selector, rest)) = data.split_first() else {
        return RawRequest::default();
    };
    let (query, body) = split_nul(rest);
    let selector = usize::from(selector % 8);
    match CONTENT_TYPES.get(selector) {
        Some(content_type) => RawRequest {
            query: Some(query),
            body,
            content_type: *content_type,
        },
        None => {
            let (content_type, body) = split_nul(body);
            RawRequest {
                query: Some(query),
                body,
                content_type: std::str::from_utf8(content_type).ok(),
            }
        }
    }
}

fn split_nul(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == 0) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}
