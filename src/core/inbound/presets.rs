//! The webhooks of Kit, Drip, MailerLite and HighLevel, read through [`JsonMapping`]s: each CRM
//! is a set of paths (where its JSON carries the contact id, email, names, tags and custom
//! fields), and the same reader serves an owner's own mapping. The shapes and what is unverified
//! about them are in `docs/crm/*.md`; `tests/fixtures/inbound/{kit,drip,mailerlite,highlevel}_*`
//! hold realistic and hostile deliveries.

use serde_json::value::RawValue;

use super::super::error::{Error, ErrorCode};
use super::mapping::{at, JsonMapping};
use super::{json_body, Inbound, ParseOptions, Source};

fn path(p: &str) -> Option<String> {
    Some(p.to_owned())
}

/// The mapping a CRM's webhook is read with, and the object its custom fields (a password
/// among them) are in.
pub fn mapping(source: Source) -> Option<(JsonMapping, &'static str)> {
    Some(match source {
        // Kit: {"subscriber": {"id", "first_name", "email_address", "state", "created_at",
        // "fields": {...}}}. Kit has no last name field of its own and sends no tags: the
        // contact's tags are loaded through its API.
        Source::Kit => (
            JsonMapping {
                contact_id: "subscriber.id".into(),
                email: path("subscriber.email_address"),
                first_name: path("subscriber.first_name"),
                fields: path("subscriber.fields"),
                ..JsonMapping::default()
            },
            "subscriber.fields",
        ),
        // Drip: {"event": "subscriber.applied_tag", "data": {"account_id", "subscriber": {"id",
        // "email", "first_name", "last_name", "tags": [names], "custom_fields": {...}},
        // "properties": {...}}, "occurred_at"}.
        Source::Drip => (
            JsonMapping {
                contact_id: "data.subscriber.id".into(),
                email: path("data.subscriber.email"),
                first_name: path("data.subscriber.first_name"),
                last_name: path("data.subscriber.last_name"),
                tags: path("data.subscriber.tags"),
                event_type: path("event"),
                fields: path("data.subscriber.custom_fields"),
                ..JsonMapping::default()
            },
            "data.subscriber.custom_fields",
        ),
        // MailerLite: one event {"type"?, "subscriber": {"id", "email", "fields": {"name",
        // "last_name", ...}, "groups": [{"id", "name"}]}}, or a batch {"events": [...]}.
        Source::MailerLite => (
            JsonMapping {
                contact_id: "subscriber.id".into(),
                email: path("subscriber.email"),
                first_name: path("subscriber.fields.name"),
                last_name: path("subscriber.fields.last_name"),
                tags: path("subscriber.groups"),
                event_type: path("type"),
                fields: path("subscriber.fields"),
                ..JsonMapping::default()
            },
            "subscriber.fields",
        ),
        // HighLevel workflow webhooks: {"contact_id", "first_name", "last_name", "email",
        // "tags": "a,b" or ["a", "b"], "location": {...}, "workflow": {...}, "customData"}.
        Source::HighLevel => (
            JsonMapping {
                contact_id: "contact_id".into(),
                email: path("email"),
                first_name: path("first_name"),
                last_name: path("last_name"),
                tags: path("tags"),
                fields: path("customData"),
                ..JsonMapping::default()
            },
            "customData",
        ),
        _ => return None,
    })
}

pub(super) fn parse(source: Source, body: &[u8], options: &ParseOptions) -> Result<Inbound, Error> {
    let Some((mut m, fields_at)) = mapping(source) else {
        return Err(Error::new(
            ErrorCode::MalformedBody,
            format!("{} has no webhook reader", source.as_str()),
        ));
    };
    if source == Source::MailerLite {
        // A batched webhook wraps its events in `events`.
        let root: &RawValue = json_body(body)?;
        if root.get().trim_start().starts_with('{') && at(root, "events")?.is_some() {
            m.each = path("events");
        }
    }
    let password = options
        .password_field
        .as_deref()
        .map(|f| format!("{fields_at}.{f}"));
    let events = m.read(
        body,
        source,
        source.crm(),
        &options.account,
        source.as_str(),
        password.as_deref(),
    )?;
    Ok(Inbound::Events { events })
}
