//! Helpers shared by the integration tests, which run natively (`cargo test`) and as wasm in
//! Node and in headless Chromium (`cargo test --target wasm32-unknown-unknown`).

#![allow(dead_code)]

/// Declares tests that run on both targets: `#[test]` natively, `#[wasm_bindgen_test]` as wasm.
/// As wasm, each first does what the glue does at instantiation and the test runner does not:
/// `bindings::start`, which tells the core where its hash keys come from.
#[macro_export]
macro_rules! both_targets {
    ($(fn $name:ident() $body:block)*) => {
        $(
            #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
            #[cfg_attr(not(target_arch = "wasm32"), test)]
            fn $name() {
                #[cfg(target_arch = "wasm32")]
                memberwire::bindings::start();
                $body
            }
        )*
    };
}

/// One inbound fixture: a header block (`source:`, `content-type:`, `x-hook-secret:`,
/// `options:`), a blank line, then the body exactly as sent (one trailing newline removed).
pub struct Fixture<'a> {
    pub source: &'a str,
    pub content_type: Option<&'a str>,
    pub hook_secret: Option<&'a str>,
    pub options: Option<&'a str>,
    pub body: &'a [u8],
}

impl<'a> Fixture<'a> {
    pub fn parse(text: &'a str) -> Fixture<'a> {
        let (head, body) = text
            .split_once("\n\n")
            .expect("fixture needs a blank line after its headers");
        let mut f = Fixture {
            source: "",
            content_type: None,
            hook_secret: None,
            options: None,
            body: body.strip_suffix('\n').unwrap_or(body).as_bytes(),
        };
        for line in head.lines() {
            let (k, v) = line.split_once(": ").expect("header line `name: value`");
            match k {
                "source" => f.source = v,
                "content-type" => f.content_type = Some(v),
                "x-hook-secret" => f.hook_secret = Some(v),
                "options" => f.options = Some(v),
                other => panic!("unknown fixture header {other}"),
            }
        }
        f
    }
}

/// A site on Keap with the sandbox's fields (password 11, link 13, welcome tag 95), bcrypt cost 4.
pub fn keap_site(
    mode: memberwire::core::workflow::PasswordMode,
) -> memberwire::core::workflow::Config {
    use memberwire::core::contact::CrmKind;
    use memberwire::core::crm::{ApiToken, CrmConfig};
    memberwire::core::workflow::Config {
        crm: Some(CrmConfig {
            kind: CrmKind::Keap,
            base_url: "https://keap.invalid/crm/rest".into(),
            token: ApiToken::new("t"),
            password_field: Some("11".into()),
            password_field_max: None,
            link_field: Some("13".into()),
            welcome_tag: Some("95".into()),
            account_id: None,
        }),
        password_mode: mode,
        bcrypt_cost: 4,
        ..memberwire::core::workflow::Config::default()
    }
}

/// A Keap "HTTP post" purchase for contact 101 (ada@example.com, tag 91).
pub fn keap_purchase() -> memberwire::core::inbound::InboundEvent {
    use memberwire::core::contact::{Contact, ContactId, CrmKind, Tag};
    use memberwire::core::email::Email;
    use memberwire::core::inbound::{InboundEvent, Source};
    let mut c = Contact::new(
        CrmKind::Keap,
        "default",
        ContactId::parse("101", "Id", true).unwrap(),
    );
    c.email = Some(Email::parse("ada@example.com", "Email").unwrap());
    c.tags = Some(vec![Tag::id("91")]);
    InboundEvent {
        source: Source::KeapPost,
        event_type: "http_post".into(),
        contact: c,
    }
}
