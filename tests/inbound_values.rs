//! What the golden files cannot show: the password value is extracted exactly (the goldens
//! only see `hasPassword`), and nothing secret leaks into serialized or debug output.
//! Runs natively and as wasm.

mod support;

use memberwire::core::inbound::{parse_post, Inbound, ParseOptions, PostMeta, Source};

fn first_event(
    source: Source,
    ct: &str,
    body: &str,
    options: &ParseOptions,
) -> memberwire::InboundEvent {
    let meta = PostMeta {
        content_type: Some(ct),
        hook_secret: None,
    };
    match parse_post(source, meta, body.as_bytes(), options).unwrap() {
        Inbound::Events { mut events } => events.remove(0),
        other => panic!("expected events, got {other:?}"),
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

both_targets! {
    fn keap_password_field_is_extracted_exactly() {
        let options = ParseOptions { password_field: Some("Password".into()), ..Default::default() };
        let e = first_event(Source::KeapPost, FORM, "Id=1&Password=p%40ss+w%2Brd%21%C3%A9", &options);
        assert_eq!(e.contact.password.as_ref().unwrap().expose(), "p@ss w+rd!é");
        let json = memberwire::core::json::to_string(&e);
        assert!(!json.contains("p@ss"), "{json}");
        assert!(!format!("{e:?}").contains("p@ss"));
    }

    fn activecampaign_password_field_is_extracted_exactly() {
        let options = ParseOptions { password_field: Some("member_password".into()), ..Default::default() };
        let e = first_event(
            Source::ActiveCampaign,
            FORM,
            "contact%5Bid%5D=3&contact%5Bfields%5D%5Bmember_password%5D=Tr0ub4dor%263",
            &options,
        );
        assert_eq!(e.contact.password.as_ref().unwrap().expose(), "Tr0ub4dor&3");
        assert!(e.contact.fields.is_empty());
    }

    fn json_password_is_read_and_never_kept_as_a_field() {
        let e = first_event(
            Source::Json,
            "application/json",
            r#"{"contact_id": "a1", "password": "correct horse", "Password2": "x"}"#,
            &ParseOptions::default(),
        );
        assert_eq!(e.contact.password.as_ref().unwrap().expose(), "correct horse");
        assert!(e.contact.fields.is_empty(), "{:?}", e.contact.fields);
    }

    fn without_a_configured_field_no_password_is_read_from_forms() {
        let e = first_event(Source::KeapPost, FORM, "Id=1&Password=abc", &ParseOptions::default());
        assert!(e.contact.password.is_none());
        assert!(!e.contact.fields.contains_key("Password"));
    }

    fn mixed_case_emails_normalize_to_one_key() {
        let o = ParseOptions::default();
        let a = first_event(Source::KeapPost, FORM, "Id=1&Email=+Ann%40Example.COM+", &o);
        let b = first_event(Source::Json, "application/json", r#"{"contact_id":"1","email":"ann@example.com"}"#, &o);
        assert_eq!(a.contact.email, b.contact.email);
        assert_eq!(a.contact.key(), "keap:default:1");
        assert_eq!(b.contact.key(), "generic:default:1");
    }
}
