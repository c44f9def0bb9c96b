//! Golden tests of the inbound parsers: every `tests/fixtures/inbound/NAME.http` is parsed
//! and the result compared with `NAME.json`. The same tests run natively and as wasm.
//!
//! To accept new outputs after a deliberate change (native only):
//! `UPDATE_GOLDEN=1 cargo test --test inbound_golden`, then review the diff.

mod support;

use memberwire::core::inbound::{parse_post, Inbound, ParseOptions, PostMeta, Source};
use serde_json::{json, Value};
use support::Fixture;

/// The parser's answer as the golden files record it.
fn render(fixture: &Fixture) -> Value {
    let source = Source::from_name(fixture.source).expect("fixture source");
    let options: ParseOptions = match fixture.options {
        Some(o) => memberwire::core::json::from_str(o).expect("fixture options"),
        None => ParseOptions::default(),
    };
    let meta = PostMeta {
        content_type: fixture.content_type,
        hook_secret: fixture.hook_secret,
    };
    match parse_post(source, meta, fixture.body, &options) {
        // The secret is not serialized (it never crosses to JS); the golden file shows what
        // the host will echo.
        Ok(Inbound::HookVerification { secret }) => {
            json!({"kind": "hook_verification", "echo": secret})
        }
        // Read back with serde_json: an independent parser checks the text memberwire writes.
        Ok(inbound) => serde_json::from_str(&memberwire::core::json::to_string(&inbound)).unwrap(),
        Err(e) => {
            json!({"error": {"code": e.code.as_str(), "status": e.code.http_status(), "message": e.message}})
        }
    }
}

fn check(name: &str, http: &str, expected: &str) {
    let actual = render(&Fixture::parse(http));
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let path = format!(
            "{}/tests/fixtures/inbound/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::write(&path, serde_json::to_string_pretty(&actual).unwrap() + "\n").unwrap();
        return;
    }
    let expected: Value = serde_json::from_str(expected).unwrap_or_else(|e| {
        panic!("{name}.json is not valid JSON ({e}); run with UPDATE_GOLDEN=1")
    });
    assert_eq!(
        actual, expected,
        "{name}: parser output differs from {name}.json"
    );
}

macro_rules! golden {
    ($($name:ident),* $(,)?) => {
        #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
        const FIXTURES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
            #[cfg_attr(not(target_arch = "wasm32"), test)]
            fn $name() {
                // What the wasm glue runs at instantiation (the test runner does not): where the
                // core's hash keys come from.
                #[cfg(target_arch = "wasm32")]
                memberwire::bindings::start();
                check(
                    stringify!($name),
                    include_str!(concat!("fixtures/inbound/", stringify!($name), ".http")),
                    include_str!(concat!("fixtures/inbound/", stringify!($name), ".json")),
                );
            }
        )*
    };
}

golden!(
    activecampaign_missing_id,
    activecampaign_password_field,
    activecampaign_subscribe,
    activecampaign_tag_added,
    activecampaign_unencoded_brackets,
    drip_applied_tag,
    drip_array_body,
    drip_bad_email,
    drip_id_wrong_type,
    drip_missing_subscriber_id,
    drip_not_json,
    drip_removed_tag,
    drip_subscriber_created,
    highlevel_array_body,
    highlevel_bad_email,
    highlevel_contact_tag_update,
    highlevel_custom_webhook_tags_list,
    highlevel_missing_contact_id,
    highlevel_not_json,
    highlevel_numeric_contact_id,
    highlevel_workflow_webhook,
    hubspot_app_webhook_batch,
    hubspot_bad_email,
    hubspot_duplicate_keys,
    hubspot_id_wrong_type,
    hubspot_missing_id,
    hubspot_not_json,
    hubspot_workflow_custom_body,
    hubspot_workflow_legacy,
    json_21_digit_number_id,
    json_bad_tags,
    json_camel_case,
    json_deep_nesting,
    json_duplicate_keys,
    json_email_wrong_type,
    json_full,
    json_latin1_charset,
    json_missing_id,
    json_multipart,
    json_negative_id,
    json_not_object,
    json_null_id,
    json_text_plain,
    json_too_many_tags,
    json_whitespace_body,
    keap_post_20_digit_id,
    keap_post_at_stripped_email,
    keap_post_bad_email,
    keap_post_bad_groups,
    keap_post_binary_garbage,
    keap_post_body_too_large,
    keap_post_campaign_minimal,
    keap_post_campaign_typed_pairs,
    keap_post_conflicting_repeats,
    keap_post_contact0_names,
    keap_post_control_chars,
    keap_post_empty_body,
    keap_post_empty_groups,
    keap_post_full_dump,
    keap_post_huge_field,
    keap_post_huge_name,
    keap_post_json_body,
    keap_post_latin1_charset,
    keap_post_many_fields,
    keap_post_missing_id,
    keap_post_password_like_fields,
    keap_post_plus_and_percent,
    keap_post_repeated_keys,
    keap_post_undeclared_latin1,
    keap_post_unknown_charset,
    keap_post_unmerged_merge_field,
    keap_post_utf8_names,
    keap_rest_1000_ids,
    keap_rest_1001_ids,
    keap_rest_contact_add,
    keap_rest_empty_object_keys,
    keap_rest_exponent_id,
    keap_rest_float_id,
    keap_rest_malformed_json,
    keap_rest_missing_id,
    keap_rest_no_object_keys,
    keap_rest_order_ignored_unverified,
    keap_rest_string_ids_and_repeats,
    keap_rest_verification,
    keap_rest_verification_bad_secret,
    kit_array_body,
    kit_bad_email,
    kit_endpoint_envelope,
    kit_id_wrong_type,
    kit_missing_subscriber_id,
    kit_not_json,
    kit_subscriber_activate,
    kit_tag_add,
    mailchimp_bad_email,
    mailchimp_duplicate_keys,
    mailchimp_id_wrong_type,
    mailchimp_missing_email,
    mailchimp_not_form,
    mailchimp_profile,
    mailchimp_subscribe,
    mailchimp_upemail,
    mailchimp_upemail_no_old_email,
    mailerlite_added_to_group,
    mailerlite_array_body,
    mailerlite_bad_email,
    mailerlite_batch_two_subscribers,
    mailerlite_missing_subscriber_id,
    mailerlite_not_json,
    mailerlite_numeric_id,
    mailerlite_subscriber_created,
);

/// Every fixture on disk has a test, and every test a fixture.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_fixture_is_listed() {
    let dir = format!("{}/tests/fixtures/inbound", env!("CARGO_MANIFEST_DIR"));
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".http").map(str::to_owned))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}
