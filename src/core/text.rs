//! Unicode lower case, as the directory compares emails, tags and names.
//!
//! ASCII text is lower-cased without tables. Other text gets Unicode's full lower-case mapping
//! (`İ` becomes `i̇`, a word-final `Σ` becomes `ς`): natively from std's tables, in wasm from the
//! host's own `String.prototype.toLowerCase`, which applies the same mapping from the tables
//! every JavaScript host carries (std's would be about 15 KB of the wasm), through the binding
//! layer, as `email.rs` does for normalization.

/// `s` in lower case.
pub fn lowercase(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    unicode_lowercase(s)
}

#[cfg(not(target_arch = "wasm32"))]
fn unicode_lowercase(s: &str) -> String {
    s.to_lowercase()
}

#[cfg(target_arch = "wasm32")]
fn unicode_lowercase(s: &str) -> String {
    crate::bindings::host::lowercase(s)
}
