//! Wire format of `gateway.do`, apart from the server: request charsets, the merged
//! parameter map, the string the signature covers, and the signed response body.
//! Everything here is pure (no I/O, no store) and tested on its own.

pub mod charset;
pub mod params;
pub mod response;
pub mod sign_content;
