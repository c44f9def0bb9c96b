//! Email addresses, normalized the one way memberwire compares them everywhere: surrounding
//! white space trimmed, then lower-cased. `Ann@Example.COM ` and `ann@example.com` are one
//! member.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::{Error, ErrorCode};

/// RFC 5321 limits: 64 octets of local part, 254 for the whole forward path.
const MAX_LOCAL: usize = 64;
const MAX_TOTAL: usize = 254;

/// A normalized, validated email address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Normalizes and validates `raw`; `field` names the input field in the error message.
    pub fn parse(raw: &str, field: &str) -> Result<Email, Error> {
        let trimmed = raw.trim();
        // Nearly every address is ASCII: lower-case it without Unicode tables.
        let normalized = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            trimmed.to_lowercase()
        };
        validate(&normalized).map_err(|why| {
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
        let trimmed = raw.trim();
        buf.clear();
        if trimmed.is_ascii() {
            buf.extend(trimmed.bytes().map(|b| b.to_ascii_lowercase() as char));
        } else {
            buf.push_str(&trimmed.to_lowercase());
        }
        validate(buf).map_err(|why| {
            Error::new(
                ErrorCode::InvalidEmail,
                format!("field `{field}` is not a valid email address: {why}"),
            )
        })
    }

    /// Wraps a string that [`Email::normalize_into`] produced.
    pub(crate) fn from_normalized(s: String) -> Email {
        Email(s)
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

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Email::parse(&raw, "email").map_err(serde::de::Error::custom)
    }
}

/// A deliberately practical check: what a membership site can log in with and a CRM can mail.
/// It does not accept quoted local parts or IP-literal domains, which no CRM sends.
fn validate(s: &str) -> Result<(), &'static str> {
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
    fn trims_and_lowercases() {
        let e = Email::parse("  Ann.Lee+VIP@Example.COM \n", "Email").unwrap();
        assert_eq!(e.as_str(), "ann.lee+vip@example.com");
    }

    #[test]
    fn accepts_international_domains() {
        assert_eq!(
            Email::parse("JÜRGEN@Bücher.DE", "email").unwrap().as_str(),
            "jürgen@bücher.de"
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
