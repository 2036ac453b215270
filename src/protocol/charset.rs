//! Request charsets (`charset` parameter): UTF-8, GBK and GB2312, any case.
//!
//! GBK and GB2312 are decoded with a GB18030 decoder (a superset of both) and encoded
//! with the GBK encoder, as Java's `new String(bytes, "GBK")` and `getBytes("GBK")` do.

use std::borrow::Cow;

use encoding_rs::{Encoding, GB18030, GBK, UTF_8};

/// A request charset the gateway accepts, remembering the label as the client wrote it
/// (echoed in the response's `Content-Type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charset {
    label: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Utf8,
    Gbk,
}

impl Charset {
    /// UTF-8, labelled `utf-8`: the charset when a request names none.
    pub fn utf8() -> Charset {
        Charset {
            label: "utf-8".to_owned(),
            kind: Kind::Utf8,
        }
    }

    /// Accepts `utf-8`, `gbk` and `gb2312` in any case; anything else is not a charset
    /// the gateway supports.
    pub fn from_label(label: &str) -> Option<Charset> {
        let kind = match label.trim().to_ascii_lowercase().as_str() {
            "utf-8" => Kind::Utf8,
            "gbk" | "gb2312" => Kind::Gbk,
            _ => return None,
        };
        Some(Charset {
            label: label.trim().to_owned(),
            kind,
        })
    }

    /// The label as the request wrote it.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether this is UTF-8.
    pub fn is_utf8(&self) -> bool {
        self.kind == Kind::Utf8
    }

    fn decoder(&self) -> &'static Encoding {
        match self.kind {
            Kind::Utf8 => UTF_8,
            Kind::Gbk => GB18030,
        }
    }

    /// Decodes request bytes; malformed sequences become U+FFFD, so a wrongly encoded
    /// request fails signature verification instead of being rejected unexplained.
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Cow<'a, str> {
        self.decode_checked(bytes).0
    }

    /// Decodes request bytes as [`Charset::decode`] does, and tells whether they were
    /// well formed in this charset (`false` when any sequence became U+FFFD). A request
    /// whose signed bytes are not text in its declared charset must not verify: the
    /// gateway would act on replacement characters nobody signed.
    pub fn decode_checked<'a>(&self, bytes: &'a [u8]) -> (Cow<'a, str>, bool) {
        let (text, had_errors) = self.decoder().decode_without_bom_handling(bytes);
        (text, !had_errors)
    }

    /// Decodes bytes that must be valid in this charset (a decrypted `biz_content`):
    /// `None` when they are not, since a wrong AES key yields bytes no charset accepts.
    pub fn decode_strict<'a>(&self, bytes: &'a [u8]) -> Option<Cow<'a, str>> {
        self.decoder()
            .decode_without_bom_handling_and_without_replacement(bytes)
    }

    /// Encodes text for the wire in this charset.
    pub fn encode<'a>(&self, text: &'a str) -> Cow<'a, [u8]> {
        match self.kind {
            Kind::Utf8 => Cow::Borrowed(text.as_bytes()),
            Kind::Gbk => GBK.encode(text).0,
        }
    }

    /// Encodes text that must be representable in this charset (what the gateway
    /// signs and sends itself): `None` when a character is not, where
    /// [`Charset::encode`] would write an HTML numeric character reference instead.
    pub fn encode_exact<'a>(&self, text: &'a str) -> Option<Cow<'a, [u8]>> {
        match self.kind {
            Kind::Utf8 => Some(Cow::Borrowed(text.as_bytes())),
            Kind::Gbk => {
                let (bytes, _, had_errors) = GBK.encode(text);
                (!had_errors).then_some(bytes)
            }
        }
    }

    /// The other family (UTF-8 ↔ GBK), to explain a request sent in the wrong charset.
    pub fn other(&self) -> Charset {
        match self.kind {
            Kind::Utf8 => Charset {
                label: "gbk".to_owned(),
                kind: Kind::Gbk,
            },
            Kind::Gbk => Charset::utf8(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_case_insensitive_and_kept_as_sent() {
        assert_eq!(Charset::from_label("GBK").unwrap().label(), "GBK");
        assert!(Charset::from_label("UTF-8").unwrap().is_utf8());
        assert!(!Charset::from_label("gb2312").unwrap().is_utf8());
        assert_eq!(Charset::from_label("latin1"), None);
        assert_eq!(Charset::from_label("utf8"), None);
    }

    #[test]
    fn gbk_round_trips_chinese_names() {
        let gbk = Charset::from_label("gbk").unwrap();
        let bytes = gbk.encode("张三");
        assert_eq!(&*bytes, &[0xd5, 0xc5, 0xc8, 0xfd]);
        assert_eq!(gbk.decode(&bytes), "张三");
    }

    #[test]
    fn gb2312_bytes_decode_as_gbk() {
        let gb2312 = Charset::from_label("GB2312").unwrap();
        assert_eq!(gb2312.decode(&[0xd5, 0xc5, 0xc8, 0xfd]), "张三");
    }

    #[test]
    fn malformed_utf8_becomes_replacement_characters() {
        assert_eq!(Charset::utf8().decode(&[0xd5, 0xc5]), "\u{fffd}\u{fffd}");
        assert!(!Charset::utf8().decode_checked(&[0xd5, 0xc5]).1);
        assert!(Charset::utf8().decode_checked("张三".as_bytes()).1);
    }

    #[test]
    fn the_gbk_encoder_writes_unmappable_characters_as_entities() {
        // Why verification must not re-encode: GB18030 decodes these four bytes to 😀,
        // and GBK encodes 😀 back as the ASCII text `&#128512;`.
        let gbk = Charset::from_label("gbk").unwrap();
        let (text, well_formed) = gbk.decode_checked(&[0x94, 0x39, 0xfc, 0x36]);
        assert_eq!((text.as_ref(), well_formed), ("😀", true));
        assert_eq!(&*gbk.encode("😀"), b"&#128512;");
    }
}
