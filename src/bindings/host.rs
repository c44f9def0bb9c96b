//! What the core asks of the JavaScript host itself, rather than carrying its own copy: Unicode's
//! normalization and IDNA tables, which every host that runs memberwire (Node, Deno, Workers,
//! browsers) has built in. Natively the core uses crates instead (`src/core/email.rs`).

/// The local part in NFC and the domain as A-labels, by the host's `String.prototype.normalize`
/// and WHATWG URL parser (UTS #46, as browsers read host names). `None` when the URL parser
/// refuses the domain. The caller has refused anything the parser would read as other than a
/// host (`/`, `?`, `#`, `:`, `%`, `@`, brackets, white space).
pub fn unicode_step(local: &str, domain: &str) -> Option<(String, String)> {
    let local: String = js_sys::JsString::from(local).normalize("NFC").into();
    let url = web_sys::Url::new(&format!("http://{domain}/")).ok()?;
    let host = url.hostname();
    (!host.is_empty()).then_some((local, host))
}

/// `s` in lower case by the host's `String.prototype.toLowerCase` (Unicode's full mapping, with
/// the final sigma), for text that is not all ASCII (`core::text::lowercase`).
pub fn lowercase(s: &str) -> String {
    js_sys::JsString::from(s).to_lower_case().into()
}
