//! The one answer type of the gateway and the admin API, free of HTTP types: a status,
//! a `Content-Type`, extra headers and the exact body bytes. [`crate::server`] turns it
//! into a hyper response without touching the body (signatures cover those bytes).

use std::borrow::Cow;

/// An answer, ready for the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status: 200 for every gateway protocol outcome, as on the real gateway.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: Cow<'static, str>,
    /// Extra headers (`Allow` on 405, `WWW-Authenticate` on 401), lower-case names.
    pub headers: Vec<(&'static str, String)>,
    /// The exact bytes to send.
    pub body: Vec<u8>,
}

impl Reply {
    /// An answer with no extra headers.
    pub fn new(status: u16, content_type: impl Into<Cow<'static, str>>, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type: content_type.into(),
            headers: Vec::new(),
            body,
        }
    }

    /// A plain-text answer (transport-level refusals: wrong path, wrong HTTP method).
    pub fn text(status: u16, text: &'static str) -> Reply {
        Reply::new(status, "text/plain;charset=utf-8", text.as_bytes().to_vec())
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}
