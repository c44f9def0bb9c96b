//! Email addresses, normalized the one way memberwire compares them everywhere: surrounding
//! white space trimmed, then lower-cased. `Ann@Example.COM ` and `ann@example.com` are one
//! member. An address that is not all ASCII is also brought to one form: the local part in
//! Unicode NFC (`jürgen` typed precomposed or decomposed is one name), the domain as A-labels by
//! UTS #46, as a browser's URL parser does (`bücher.de` and `xn--bcher-kva.de` are one domain; a
//! full-width `ｅｘａｍｐｌｅ.com` is `example.com`). A domain UTS #46 refuses is refused.
//!
//! The Unicode step needs Unicode's tables. Natively they come from the `unicode-normalization`
//! and `idna` crates; in wasm the host's own are used (`String.prototype.normalize` and the WHATWG
//! URL parser, through the binding layer), so the wasm carries no copy of them. Every matching
//! (workflow, directory, bulk planner) runs in the same instance, so they normalize identically.

use std::fmt;

use super::error::{Error, ErrorCode};

/// RFC 5321 limits: 64 octets of local part, 254 for the whole forward path.
const MAX_LOCAL: usize = 64;
const MAX_TOTAL: usize = 254;

/// A normalized, validated email address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

impl Email {
    /// Normalizes and validates `raw`; `field` names the input field in the error message.
    pub fn parse(raw: &str, field: &str) -> Result<Email, Error> {
        let mut normalized = String::new();
        normalize(raw.trim(), &mut normalized)
            .and_then(|()| validate(&normalized))
            .map_err(|why| {
                Error::new(
                    ErrorCode::InvalidEmail,
                    format!("field `{field}` is not a valid email address: {why}"),
                )
            })?;
        Ok(Email(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Normalizes and validates `raw` into `buf` (reused across calls: bulk plans).
    pub fn normalize_into(raw: &str, field: &str, buf: &mut String) -> Result<(), Error> {
        buf.clear();
        normalize(raw.trim(), buf)
            .and_then(|()| validate(buf))
            .map_err(|why| {
                Error::new(
                    ErrorCode::InvalidEmail,
                    format!("field `{field}` is not a valid email address: {why}"),
                )
            })
    }
}

impl std::borrow::Borrow<str> for Email {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl super::json::FromJson for Email {
    fn from_json(v: super::json::Json<'_>) -> Result<Self, super::json::DecodeError> {
        let raw = String::from_json(v)?;
        Email::parse(&raw, "email").map_err(|e| super::json::DecodeError::new(e.to_string()))
    }
}

impl super::json::ToJson for Email {
    fn write_json(&self, out: &mut String) {
        super::json::write_str(out, &self.0);
    }
}

/// Lower-cases `trimmed` into `out`; an address that is not all ASCII also gets the Unicode step.
fn normalize(trimmed: &str, out: &mut String) -> Result<(), &'static str> {
    // Nearly every address is ASCII: lower-case it without Unicode tables.
    if trimmed.is_ascii() {
        let start = out.len();
        out.push_str(trimmed);
        out[start..].make_ascii_lowercase();
        return Ok(());
    }
    let lower = super::text::lowercase(trimmed);
    let Some((local, domain)) = lower.split_once('@') else {
        out.push_str(&lower);
        return Ok(()); // validation says what is wrong
    };
    if domain.contains('@') {
        out.push_str(&lower);
        return Ok(());
    }
    // What the URL parser would read as something other than a host (a path, a port, user
    // info, an escape) is refused before it gets there: it is never silently dropped.
    if domain.chars().any(|c| {
        matches!(c, '/' | '\\' | '?' | '#' | ':' | '%' | '[' | ']' | '@')
            || c.is_whitespace()
            || c.is_control()
    }) {
        return Err("the domain has a character that is not a letter, digit or hyphen");
    }
    let (local, domain) = unicode_step(local, domain)
        .ok_or("its domain is not a valid international domain name (UTS #46)")?;
    if !domain.is_ascii() {
        return Err("its domain is not a valid international domain name (UTS #46)");
    }
    out.push_str(&local);
    out.push('@');
    out.push_str(&domain);
    Ok(())
}

/// The local part in NFC and the domain as A-labels (UTS #46, as WHATWG URL), or `None` when the
/// domain cannot be converted.
#[cfg(not(target_arch = "wasm32"))]
fn unicode_step(local: &str, domain: &str) -> Option<(String, String)> {
    use unicode_normalization::UnicodeNormalization;
    let domain = idna::domain_to_ascii(domain).ok()?;
    (!domain.is_empty()).then(|| (local.nfc().collect(), domain))
}

/// In wasm: the host's own Unicode tables, through the binding layer.
#[cfg(target_arch = "wasm32")]
fn unicode_step(local: &str, domain: &str) -> Option<(String, String)> {
    crate::bindings::host::unicode_step(local, domain)
}

/// Unicode's invisible format characters that can hide inside an address.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// A deliberately practical check: what a membership site can log in with and a CRM can mail.
/// It does not accept quoted local parts or IP-literal domains, which no CRM sends.
fn validate(s: &str) -> Result<(), &'static str> {
    if plainly_valid(s.as_bytes()) {
        return Ok(());
    }
    full_check(s)
}

/// The common case in one pass: an all-ASCII address that passes every rule of [`full_check`].
/// For ASCII input it answers exactly as `full_check(s).is_ok()` (a test holds it to that);
/// anything else, every error included, goes through `full_check`, which says what is wrong.
/// Bulk plans check an address per row, so this is most of their time per row.
fn plainly_valid(s: &[u8]) -> bool {
    if s.is_empty() || s.len() > MAX_TOTAL {
        return false;
    }
    let Some(at) = s.iter().position(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.is_empty()
        || local.len() > MAX_LOCAL
        || local[0] == b'.'
        || local[local.len() - 1] == b'.'
    {
        return false;
    }
    let mut prev = 0u8;
    for &b in local {
        // Controls, space, DEL and anything not ASCII; then what mail systems reject.
        if b <= b' '
            || b >= 0x7f
            || matches!(
                b,
                b'"' | b'(' | b')' | b',' | b':' | b';' | b'<' | b'>' | b'[' | b'\\' | b']'
            )
            || (b == b'.' && prev == b'.')
        {
            return false;
        }
        prev = b;
    }
    // Labels of letters, digits and inner hyphens, at least two, 63 bytes at most each.
    let (mut labels, mut len, mut last_start) = (0usize, 0usize, 0usize);
    let mut prev = 0u8;
    for (i, &b) in domain.iter().enumerate() {
        if b == b'.' {
            if len == 0 || len > 63 || prev == b'-' {
                return false;
            }
            labels += 1;
            len = 0;
            last_start = i + 1;
        } else if b.is_ascii_alphanumeric() || b == b'-' {
            if len == 0 && b == b'-' {
                return false;
            }
            len += 1;
        } else {
            return false;
        }
        prev = b;
    }
    if labels == 0 || len == 0 || len > 63 || prev == b'-' {
        return false;
    }
    // Not a number as the last label (an IP address to a URL parser).
    let last = &domain[last_start..];
    let hex = last.starts_with(b"0x") && last[2..].iter().all(u8::is_ascii_hexdigit);
    !(hex || last.iter().all(u8::is_ascii_digit))
}

/// Every rule, with the reason for the first one broken.
fn full_check(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("it is empty");
    }
    if s.len() > MAX_TOTAL {
        return Err("it is longer than 254 characters");
    }
    let ascii = s.is_ascii();
    if ascii {
        if s.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err("it contains white space or control characters");
        }
    } else if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains white space or control characters");
    }
    if s.contains('\u{FFFD}') {
        return Err("it contains bytes that are not valid UTF-8");
    }
    // Invisible characters (zero widths, bidirectional overrides, soft hyphens) would let two
    // addresses that look the same differ.
    if !ascii && s.chars().any(invisible) {
        return Err("it contains invisible formatting characters");
    }
    let (local, domain) = s.split_once('@').ok_or("it has no @")?;
    if domain.contains('@') {
        return Err("it has more than one @");
    }
    if local.is_empty() || local.len() > MAX_LOCAL {
        return Err("the part before @ is empty or longer than 64 characters");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before @ has a misplaced dot");
    }
    if local.chars().any(|c| {
        matches!(
            c,
            '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | '\\' | ']'
        )
    }) {
        return Err("the part before @ has a character mail systems reject");
    }
    // A domain ending in a number is an IP address to a URL parser (`0x7f.1` is 127.0.0.1):
    // refused on every path, so native and wasm agree.
    let last = domain.rsplit('.').next().unwrap_or("");
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !last.is_empty() && (last.bytes().all(|b| b.is_ascii_digit()) || hex) {
        return Err("the domain ends in a number (an IP address is not accepted)");
    }
    if !domain.contains('.') {
        return Err("the domain has no dot");
    }
    for label in domain.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("the domain has an empty or over-long label");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a domain label starts or ends with a hyphen");
        }
        let ok = if ascii {
            label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        } else {
            label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if !ok {
            return Err("the domain has a character that is not a letter, digit or hyphen");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_pass_check_answers_as_every_rule_does_for_ascii() {
        // Every ASCII string up to a length over an alphabet of the characters the rules turn
        // on, plus generated longer ones: the fast answer is the full answer.
        let alphabet = b"a0x9.-@ \"(,\\_+Z";
        let mut agree = |s: &[u8]| {
            let text = std::str::from_utf8(s).unwrap();
            assert_eq!(
                plainly_valid(s),
                full_check(text).is_ok(),
                "{text:?}: {:?}",
                full_check(text)
            );
        };
        let mut buf = Vec::new();
        fn each(buf: &mut Vec<u8>, alphabet: &[u8], left: usize, f: &mut dyn FnMut(&[u8])) {
            f(buf);
            if left == 0 {
                return;
            }
            for &c in alphabet {
                buf.push(c);
                each(buf, alphabet, left - 1, f);
                buf.pop();
            }
        }
        each(&mut buf, b"a0x.-@", 7, &mut agree);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..300_000 {
            let len = 3 + (next() % 80) as usize;
            // Mostly letters, so that many of them pass and the rare characters land anywhere.
            let s: Vec<u8> = (0..len)
                .map(|_| match next() % 4 {
                    0 => alphabet[(next() % alphabet.len() as u64) as usize],
                    _ => b'a',
                })
                .collect();
            agree(&s);
        }
        for s in [
            "ann@example.com",
            "a.b+c@d-e.example.org",
            "x@0x1f",
            "x@a.0x",
            "x@a.123",
            "x@a.b1",
            &format!("{}@example.com", "a".repeat(64)),
            &format!("{}@example.com", "a".repeat(65)),
            &format!("a@{}.com", "b".repeat(63)),
            &format!("a@{}.com", "b".repeat(64)),
            &format!("a@{}.com", "b.".repeat(130)),
        ] {
            agree(s.as_bytes());
        }
    }

    #[test]
    fn trims_and_lowercases() {
        let e = Email::parse("  Ann.Lee+VIP@Example.COM \n", "Email").unwrap();
        assert_eq!(e.as_str(), "ann.lee+vip@example.com");
    }

    #[test]
    fn international_domains_become_a_labels() {
        assert_eq!(
            Email::parse("JÜRGEN@Bücher.DE", "email").unwrap().as_str(),
            "jürgen@xn--bcher-kva.de"
        );
    }

    #[test]
    fn rejects_with_field_name() {
        for bad in [
            "",
            "   ",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann@@example.com",
            "a b@example.com",
            "ann@exa_mple.com",
            "ann@-example.com",
            ".ann@example.com",
            "ann..lee@example.com",
            "ann@example..com",
        ] {
            let err = Email::parse(bad, "Contact0Email").unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidEmail, "{bad:?}");
            assert!(err.message.contains("`Contact0Email`"), "{}", err.message);
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long, "email").is_err());
        let long_total = format!("a@{}.com", "b.".repeat(130));
        assert!(Email::parse(&long_total, "email").is_err());
    }
}
