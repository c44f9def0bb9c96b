//! The webhooks of Kit, Drip, MailerLite and HighLevel, read through [`JsonMapping`]s: each CRM
//! is a set of paths (where its JSON carries the contact id, email, names, tags and custom
//! fields), and the same reader serves an owner's own mapping. The shapes and what is unverified
//! about them are in `docs/crm/*.md`; `tests/fixtures/inbound/{kit,drip,mailerlite,highlevel}_*`
//! hold realistic and hostile deliveries.

use super::super::contact::CrmKind;
use super::super::error::{Error, ErrorCode};
use super::super::json::Json;
use super::mapping::{at, JsonMapping, MAX_EACH};
use super::{json_body, Inbound, InboundEvent, ParseOptions, Source};

fn path(p: &str) -> Option<String> {
    Some(p.to_owned())
}

/// The mapping a CRM's webhook is read with, and the object its custom fields (a password
/// among them) are in. `batched`: the body is a batch envelope (`events: [...]`).
pub fn mapping(source: Source, batched: bool) -> Option<(JsonMapping, &'static str)> {
    Some(match (source, batched) {
        // Kit's webhooks (`/v4/webhooks`): {"subscriber": {"id", "first_name", "email_address",
        // "state", "created_at", "fields": {...}}}. No event name, no tags (loaded through the
        // API), and no last name of its own (a `last_name` custom field is the usual place).
        (Source::Kit, false) => (
            JsonMapping {
                contact_id: "subscriber.id".into(),
                email: path("subscriber.email_address"),
                first_name: path("subscriber.first_name"),
                last_name: path("subscriber.fields.last_name"),
                fields: path("subscriber.fields"),
                ..JsonMapping::default()
            },
            "subscriber.fields",
        ),
        // Kit's webhook endpoints: {"delivery_id", "events": [{"id", "type", "created",
        // "data": {"subscriber": {...}}}]}, up to 100 events.
        (Source::Kit, true) => (
            JsonMapping {
                each: path("events"),
                contact_id: "data.subscriber.id".into(),
                email: path("data.subscriber.email_address"),
                first_name: path("data.subscriber.first_name"),
                last_name: path("data.subscriber.fields.last_name"),
                event_type: path("type"),
                fields: path("data.subscriber.fields"),
                ..JsonMapping::default()
            },
            "data.subscriber.fields",
        ),
        // Drip: {"event": "subscriber.applied_tag", "data": {"account_id", "subscriber": {"id",
        // "email", "first_name", "last_name", "tags": [names], "custom_fields": {...}},
        // "properties": {"tag"}}, "occurred_at"}. Names may be custom fields instead.
        (Source::Drip, _) => (
            JsonMapping {
                contact_id: "data.subscriber.id".into(),
                email: path("data.subscriber.email"),
                first_name: path(
                    "data.subscriber.first_name|data.subscriber.custom_fields.first_name",
                ),
                last_name: path(
                    "data.subscriber.last_name|data.subscriber.custom_fields.last_name",
                ),
                tags: path("data.subscriber.tags"),
                event_type: path("event"),
                fields: path("data.subscriber.custom_fields"),
                ..JsonMapping::default()
            },
            "data.subscriber.custom_fields",
        ),
        // MailerLite: a group event {"type", "subscriber": {"id", "email", "fields": {"name",
        // "last_name", ...}}, "group": {"id", "name"}}, a subscriber event with the subscriber
        // at the top ({"event"?, "id", "email", "fields", "groups"?}), or a batch of them
        // ({"events": [...], "total"}).
        (Source::MailerLite, batched) => (
            JsonMapping {
                each: if batched { path("events") } else { None },
                contact_id: "subscriber.id|id".into(),
                email: path("subscriber.email|email"),
                first_name: path("subscriber.fields.name|fields.name"),
                last_name: path("subscriber.fields.last_name|fields.last_name"),
                // A group event names the one group it is about, not the member's groups: the
                // full list is loaded through the API when the body has none.
                tags: path("subscriber.groups|groups"),
                event_type: path("type|event"),
                fields: path("subscriber.fields|fields"),
                ..JsonMapping::default()
            },
            "subscriber.fields|fields",
        ),
        // HighLevel workflow webhooks: {"contact_id", "first_name", "last_name", "email",
        // "tags": "a,b" or ["a", "b"], "location", "workflow", "customData", and custom fields
        // by their names}; its app events (ContactTagUpdate) name the contact `id`, with
        // `firstName` / `lastName`.
        (Source::HighLevel, _) => (
            JsonMapping {
                contact_id: "contact_id|id".into(),
                email: path("email"),
                first_name: path("first_name|firstName"),
                last_name: path("last_name|lastName"),
                tags: path("tags"),
                event_type: path("type"),
                fields: path("customData"),
                ..JsonMapping::default()
            },
            "customData|",
        ),
        // HubSpot's workflow webhook: the contact's properties, either flat as the owner chose
        // them ({"hs_object_id", "email", "firstname", "lastname"}) or in the contact record's
        // own shape ({"vid", "properties": {"email": {"value"}, ...}}). Its tags are its static
        // lists, loaded through the API.
        (Source::HubSpot, false) => (
            JsonMapping {
                contact_id: "hs_object_id|canonical-vid|vid|objectId|properties.hs_object_id.value"
                    .into(),
                email: path("email|properties.email.value"),
                first_name: path("firstname|properties.firstname.value"),
                last_name: path("lastname|properties.lastname.value"),
                ..JsonMapping::default()
            },
            "",
        ),
        // HubSpot's app webhooks: an array of events, each naming one contact (`objectId`).
        (Source::HubSpot, true) => (
            JsonMapping {
                contact_id: "objectId".into(),
                event_type: path("subscriptionType"),
                ..JsonMapping::default()
            },
            "",
        ),
        _ => return None,
    })
}

pub(super) fn parse(source: Source, body: &[u8], options: &ParseOptions) -> Result<Inbound, Error> {
    let root = json_body(body)?;
    if source == Source::HubSpot {
        return hubspot(&root, options);
    }
    // A batch envelope wraps its events in `events` (Kit's webhook endpoints, MailerLite's
    // batched webhooks).
    let batched = matches!(source, Source::Kit | Source::MailerLite)
        && root.as_object().is_some()
        && at(&root, "events")?.is_some();
    let Some((m, fields_at)) = mapping(source, batched) else {
        return Err(Error::new(
            ErrorCode::MalformedBody,
            format!("{} has no webhook reader", source.as_str()),
        ));
    };
    // The password field sits with the custom fields (an empty alternative: at the top level).
    let password = options.password_field.as_deref().map(|f| {
        fields_at
            .split('|')
            .map(|at| {
                if at.is_empty() {
                    f.to_owned()
                } else {
                    format!("{at}.{f}")
                }
            })
            .collect::<Vec<_>>()
            .join("|")
    });
    let events = m.read(
        &root,
        source,
        source.crm(),
        &options.account,
        source.as_str(),
        password.as_deref(),
    )?;
    Ok(Inbound::Events { events })
}

/// HubSpot: an array of app-webhook events (only contact events; one event per contact, the
/// first of repeats), or one workflow webhook. A password property is read flat or in the
/// record's `properties.NAME.value`.
fn hubspot(root: &Json<'_>, options: &ParseOptions) -> Result<Inbound, Error> {
    if let Json::Arr(items) = root {
        if items.len() > MAX_EACH {
            return Err(Error::new(
                ErrorCode::TooManyObjects,
                format!(
                    "the delivery has {} events; at most {MAX_EACH} are read from one",
                    items.len()
                ),
            ));
        }
        let (m, _) = mapping(Source::HubSpot, true).unwrap_or_default();
        let mut events: Vec<InboundEvent> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            // Deal, company and ticket events name other objects.
            let kind = at(item, "subscriptionType")?
                .and_then(Json::as_str)
                .unwrap_or_default();
            if !kind.starts_with("contact.") {
                continue;
            }
            let named = |p: &str| format!("{i}.{p}");
            let e = m.read_one(
                item,
                Source::HubSpot,
                CrmKind::HubSpot,
                &options.account,
                "hubspot",
                None,
                &named,
            )?;
            if !events
                .iter()
                .any(|o| o.contact.contact_id == e.contact.contact_id)
            {
                events.push(e);
            }
        }
        if events.is_empty() {
            return Ok(Inbound::Ignored {
                reason: "the delivery names no contact (only events about other objects)".into(),
            });
        }
        return Ok(Inbound::Events { events });
    }
    let (m, _) = mapping(Source::HubSpot, false).unwrap_or_default();
    let password = options
        .password_field
        .as_deref()
        .map(|f| format!("{f}|properties.{f}.value"));
    let events = m.read(
        root,
        Source::HubSpot,
        CrmKind::HubSpot,
        &options.account,
        "hubspot",
        password.as_deref(),
    )?;
    Ok(Inbound::Events { events })
}
