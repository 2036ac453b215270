//! The certificate serial numbers ("SN") of certificate mode: `app_cert_sn`,
//! `alipay_cert_sn` and `alipay_root_cert_sn` (docs/protocol.md §6).
//!
//! SN = lowercase hex MD5 of (issuer DN string + serial number in decimal), always 32 hex
//! characters. The issuer DN string is the RFC 2253 form of the issuer: RDNs most specific
//! first, attribute keywords `CN`, `L`, `ST`, `O`, `OU`, `C`, `STREET`, `DC`, `UID`, values
//! escaped per RFC 2253 §2.4, `+` between the attributes of a multi-valued RDN. That is
//! what Java's `X500Principal.getName()` prints, and Alipay's gateway and Java SDK use it.
//!
//! Where the SDKs build the string differently (all agree for plain-ASCII `C, O, OU, CN`
//! issuers, which is why the mock's test CA uses exactly those):
//! - Node (`antcertutil.ts`, `@fidm/x509`) reverses the flat attribute list, writes
//!   `shortName=value` without escaping, knows `E` for emailAddress (Java prints
//!   `1.2.840.113549.1.9.1=#…`) and writes an unknown type as `=value` with an empty name;
//!   it joins the attributes of a multi-valued RDN with `,` in reverse order.
//! - The community Python SDK hard-codes `CN={},OU={},O={},C={}`.
//! - Go uses `pkix.Name.String()` (its own keyword table, e.g. `SERIALNUMBER`).
//! - Java hashes `String.getBytes()` in the platform charset; this module hashes UTF-8,
//!   as Node does. Only non-ASCII issuers can tell the difference.
//!
//! Serial numbers are read as unsigned big-endian integers (Node's reading). RFC 5280
//! forbids negative serials; Java would print one with a minus sign.

use md5::{Digest, Md5};
use rsa::BigUint;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Encode, Tag, Tagged};
use x509_cert::name::Name;
use x509_cert::Certificate;

/// Prefix of the signature-algorithm OIDs that make a root certificate count towards the
/// root SN: PKCS#1 (`1.2.840.113549.1.1`, sha1WithRSA, sha256WithRSA, RSASSA-PSS …).
/// Java and Node test it as a string prefix of the dotted OID; so does this module.
pub const RSA_FAMILY_OID_PREFIX: &str = "1.2.840.113549.1.1";

/// The RFC 2253 keywords (RFC 2253 §2.3, the table Java's `X500Principal` prints).
const KEYWORDS: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.6", "C"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
];

fn keyword(oid: &ObjectIdentifier) -> Option<&'static str> {
    let dotted = oid.to_string();
    KEYWORDS
        .iter()
        .find(|(o, _)| *o == dotted)
        .map(|(_, name)| *name)
}

/// The attribute value as text, when it is one of the string types a DN uses.
fn string_value(atv: &AttributeTypeAndValue) -> Option<&str> {
    let value = &atv.value;
    match value.tag() {
        Tag::PrintableString => PrintableStringRef::try_from(value).ok().map(|s| s.as_str()),
        Tag::Utf8String => Utf8StringRef::try_from(value).ok().map(|s| s.as_str()),
        Tag::Ia5String => Ia5StringRef::try_from(value).ok().map(|s| s.as_str()),
        Tag::TeletexString => TeletexStringRef::try_from(value).ok().map(|s| s.as_str()),
        _ => None,
    }
}

/// Appends `value` escaped per RFC 2253 §2.4.
fn push_escaped(out: &mut String, value: &str) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
}

fn push_attribute(out: &mut String, atv: &AttributeTypeAndValue) {
    match (keyword(&atv.oid), string_value(atv)) {
        (Some(name), Some(value)) => {
            out.push_str(name);
            out.push('=');
            push_escaped(out, value);
        }
        // RFC 2253 §2.4: any other type as its dotted OID and `#` + hex of the BER value.
        _ => {
            out.push_str(&atv.oid.to_string());
            out.push_str("=#");
            // Encoding an `Any` that was just decoded cannot fail short of memory.
            let der = atv.value.to_der().unwrap_or_default();
            out.push_str(&hex(&der));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The RFC 2253 string of a distinguished name, most specific RDN first:
/// `CN=…,OU=…,O=…,C=…` for the usual `C, O, OU, CN` issuer.
pub fn rfc2253(name: &Name) -> String {
    let mut out = String::new();
    for (i, rdn) in name.0.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.0.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            push_attribute(&mut out, atv);
        }
    }
    out
}

/// The certificate's serial number in decimal, read as an unsigned big-endian integer.
pub fn serial_decimal(cert: &Certificate) -> String {
    BigUint::from_bytes_be(cert.tbs_certificate.serial_number.as_bytes()).to_string()
}

/// The SN of one certificate: lowercase hex MD5 of issuer DN (RFC 2253) + decimal serial.
pub fn cert_sn(cert: &Certificate) -> String {
    let text = rfc2253(&cert.tbs_certificate.issuer) + &serial_decimal(cert);
    hex(&Md5::digest(text.as_bytes()))
}

/// Whether a root-bundle certificate counts towards the root SN (RSA family by signature
/// algorithm, [`RSA_FAMILY_OID_PREFIX`]).
pub fn counts_for_root_sn(cert: &Certificate) -> bool {
    cert.signature_algorithm
        .oid
        .to_string()
        .starts_with(RSA_FAMILY_OID_PREFIX)
}

/// The root SN of a bundle: the SNs of the certificates that count, joined by `_` in
/// bundle order. Empty when none counts.
pub fn root_sn(bundle: &[Certificate]) -> String {
    bundle
        .iter()
        .filter(|c| counts_for_root_sn(c))
        .map(cert_sn)
        .collect::<Vec<_>>()
        .join("_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn rfc2253_puts_the_most_specific_rdn_first() {
        // RFC 4514 text is written most specific first too, so it round-trips.
        let name =
            Name::from_str("CN=Test Root,OU=Certification Authority,O=Example,C=CN").unwrap();
        assert_eq!(
            name.0[0].to_string(),
            "C=CN",
            "DER order is least specific first"
        );
        assert_eq!(
            rfc2253(&name),
            "CN=Test Root,OU=Certification Authority,O=Example,C=CN"
        );
    }

    #[test]
    fn rfc2253_escapes_special_characters_and_joins_multivalued_rdns_with_plus() {
        let name = Name::from_str("CN=a\\,b+OU=x,O=\\#hash;\\<x\\>,C=CN").unwrap();
        // A multi-valued RDN is a DER SET OF, stored sorted by encoding (the shorter
        // `OU=x` first); Java's RFC 2253 form prints it in that stored order.
        assert_eq!(rfc2253(&name), "OU=x+CN=a\\,b,O=\\#hash\\;\\<x\\>,C=CN");
    }

    #[test]
    fn attributes_without_an_rfc2253_keyword_print_as_oid_and_hex() {
        // emailAddress: Java prints it this way; Node would print `E=a@b.c`.
        let name = Name::from_str("1.2.840.113549.1.9.1=#16056140622e63,CN=x").unwrap();
        assert_eq!(rfc2253(&name), "1.2.840.113549.1.9.1=#16056140622e63,CN=x");
    }
}
