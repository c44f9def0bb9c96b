//! Passwords, set-password tokens and access keys. Pure functions: the entropy they need is
//! passed in by the host (drawn from getrandom per request in the binding layer), so the same
//! code runs in simulation with seeded bytes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::contact::Secret;

/// 64 characters with none that are easily confused (`0 O o 1 l I |`) and none that need
/// escaping in a URL query, a CSV cell or a CRM merge field. 64 divides 256, so masking a random
/// byte picks each character with equal probability: 6 bits per character.
const PASSWORD_ALPHABET: &[u8; 64] =
    b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789!#%+-=?@";

/// Shortest generated password (96 bits).
pub const MIN_GENERATED_LEN: usize = 16;
/// bcrypt reads at most 72 bytes of a password.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// A password drawn from `random` (one byte per character; `random.len()` is the length).
pub fn generate_password(random: &[u8]) -> Secret {
    let s: String = random
        .iter()
        .map(|b| PASSWORD_ALPHABET[(b & 63) as usize] as char)
        .collect();
    Secret::new(s)
}

/// The length of password to generate: the configured length, cut to what the CRM field holds
/// (Keap's legacy Password field holds 20), and never under [`MIN_GENERATED_LEN`].
pub fn generated_length(configured: usize, field_limit: Option<usize>) -> usize {
    let len = configured.max(MIN_GENERATED_LEN);
    match field_limit {
        Some(limit) if limit >= MIN_GENERATED_LEN => len.min(limit),
        _ => len,
    }
}

/// Why a password from the CRM cannot be used as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    TooShort,
    TooLong,
    /// All one character, or white space at either end (WordPress trims passwords).
    Weak,
}

impl Rejected {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejected::TooShort => "too_short",
            Rejected::TooLong => "too_long",
            Rejected::Weak => "weak",
        }
    }
}

/// Whether a password found in the CRM is acceptable for the member's account.
pub fn check_password(p: &Secret, min_len: usize) -> Result<(), Rejected> {
    let v = p.expose();
    if p.len() < min_len {
        return Err(Rejected::TooShort);
    }
    if v.len() > MAX_PASSWORD_BYTES {
        return Err(Rejected::TooLong);
    }
    let mut chars = v.chars();
    let first = chars.next();
    if v.trim() != v || chars.all(|c| Some(c) == first) {
        return Err(Rejected::Weak);
    }
    Ok(())
}

/// A slow salted hash that WordPress verifies: bcrypt in the `$2y$` format, which
/// `wp_check_password` accepts in every version since 2.5 (through phpass's `crypt()` path, and
/// through `password_verify` since 6.8).
pub fn hash_password(p: &Secret, salt: [u8; 16], cost: u32) -> String {
    // WordPress trims passwords before hashing them; do the same so both verify alike.
    // The error is not formatted: its derived `Debug` (and `str`'s debug escaping) would be in
    // the wasm for a message nobody sees.
    match bcrypt::hash_with_salt(p.expose().trim(), cost, salt) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoY),
        Err(_) => panic!("bcrypt cost is validated by the configuration"),
    }
}

pub fn verify_password(p: &Secret, hash: &str) -> bool {
    bcrypt::verify(p.expose().trim(), hash).unwrap_or(false)
}

/// A one-time set-password token from 32 random bytes (256 bits), URL-safe.
pub fn token_from(random: &[u8; 32]) -> Secret {
    Secret::new(URL_SAFE_NO_PAD.encode(random))
}

/// What the directory stores of a token: its SHA-256 digest, hex.
pub fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// An access key for the hook URLs: `mwk_` and 32 random bytes (256 bits), URL-safe.
pub fn access_key_from(random: &[u8; 32]) -> Secret {
    Secret::new(format!("mwk_{}", URL_SAFE_NO_PAD.encode(random)))
}

/// What a host stores of an access key: its SHA-256 digest, hex.
pub fn access_key_digest(key: &str) -> String {
    token_digest(key)
}

/// Whether `presented` is the key whose digest is `stored_digest`, compared in constant time
/// (over digests, so the comparison's length never depends on the presented key).
pub fn access_key_matches(presented: &str, stored_digest: &str) -> bool {
    let presented = access_key_digest(presented);
    presented.as_bytes().ct_eq(stored_digest.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_use_the_alphabet_and_length() {
        let random: Vec<u8> = (0..=255).collect();
        let p = generate_password(&random[..20]);
        assert_eq!(p.len(), 20);
        assert!(p.expose().bytes().all(|b| PASSWORD_ALPHABET.contains(&b)));
        let all = generate_password(&random);
        for bad in ['0', 'O', 'o', '1', 'l', 'I', '|', '&', ' '] {
            assert!(!all.expose().contains(bad), "{bad}");
        }
        assert_eq!(generated_length(16, Some(20)), 16);
        assert_eq!(generated_length(32, Some(20)), 20);
        assert_eq!(generated_length(8, None), 16);
        assert_eq!(
            generated_length(24, Some(10)),
            24,
            "a field too small to hold 16 is not honoured"
        );
    }

    #[test]
    fn crm_password_policy() {
        assert_eq!(
            check_password(&Secret::new("short"), 10),
            Err(Rejected::TooShort)
        );
        assert_eq!(
            check_password(&Secret::new("aaaaaaaaaaaa"), 10),
            Err(Rejected::Weak)
        );
        assert_eq!(
            check_password(&Secret::new(" leading-space-pw"), 10),
            Err(Rejected::Weak)
        );
        assert_eq!(
            check_password(&Secret::new("x".repeat(40).repeat(2)), 10),
            Err(Rejected::TooLong)
        );
        assert_eq!(check_password(&Secret::new("Corr3ct-Horse-42"), 10), Ok(()));
    }

    #[test]
    fn hashes_are_wordpress_bcrypt_and_verify() {
        let p = Secret::new("Corr3ct-Horse-42");
        let h = hash_password(&p, [7; 16], 4);
        assert!(h.starts_with("$2y$04$"), "{h}");
        assert_eq!(h.len(), 60);
        assert!(verify_password(&p, &h));
        assert!(!verify_password(&Secret::new("Corr3ct-Horse-43"), &h));
        assert_ne!(h, hash_password(&p, [8; 16], 4), "salted");
    }

    #[test]
    fn tokens_and_keys() {
        let t = token_from(&[1; 32]);
        assert_eq!(t.expose().len(), 43);
        assert_eq!(token_digest(t.expose()).len(), 64);
        let k = access_key_from(&[2; 32]);
        assert!(k.expose().starts_with("mwk_"));
        let d = access_key_digest(k.expose());
        assert!(access_key_matches(k.expose(), &d));
        assert!(!access_key_matches("mwk_wrong", &d));
        assert!(!access_key_matches("", &d));
    }
}
