//! Keap REST hooks: a verification request carrying `X-Hook-Secret`, then deliveries of
//! `{"event_key", "object_type", "object_keys": [{"id", "apiUrl", "timestamp"}]}` with up to
//! 1,000 ids and nothing else: every contact must be loaded through the API.

use super::super::contact::{self, Contact, CrmKind};
use super::super::error::{Error, ErrorCode};
use super::super::json::Json;
use super::json::{json_id, shape, unique_object};
use super::{json_body, Inbound, InboundEvent, ParseOptions, Source};

/// Keap sends at most 1,000 objects in one delivery.
pub const MAX_OBJECT_KEYS: usize = 1000;

/// The secret is echoed back in a response header, so it must be a safe header value.
pub(super) fn verification(secret: &str) -> Result<Inbound, Error> {
    let secret = secret.trim();
    if secret.is_empty() || secret.len() > 512 || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::new(
            ErrorCode::InvalidField,
            "header `X-Hook-Secret` must be 1 to 512 visible ASCII characters",
        ));
    }
    Ok(Inbound::HookVerification {
        secret: secret.to_owned(),
    })
}

pub(super) fn parse(body: &[u8], options: &ParseOptions) -> Result<Inbound, Error> {
    let root = json_body(body)?;
    let delivery = unique_object(&root)
        .map_err(shape)?
        .ok_or_else(|| Error::new(ErrorCode::MalformedBody, "the body must be a JSON object"))?;
    let get = |key: &str| {
        delivery
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    };
    let text = |key: &str| -> Result<Option<&str>, Error> {
        match get(key) {
            None => Ok(None),
            Some(Json::Str(s)) => Ok(Some(s)),
            Some(other) => Err(shape(format!(
                "field `{key}` must be a string, not {}",
                other.kind()
            ))),
        }
    };
    let event_key = text("event_key")?
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| Error::new(ErrorCode::MalformedBody, "field `event_key` is missing"))?;
    contact::check_len(&event_key, contact::MAX_NAME, "event_key")?;
    let object_keys = match get("object_keys") {
        None => {
            return Err(Error::new(
                ErrorCode::MalformedBody,
                "field `object_keys` is missing",
            ))
        }
        Some(Json::Arr(keys)) => keys,
        Some(other) => {
            return Err(shape(format!(
                "field `object_keys` must be an array, not {}",
                other.kind()
            )))
        }
    };
    if object_keys.len() > MAX_OBJECT_KEYS {
        return Err(Error::new(
            ErrorCode::TooManyObjects,
            format!(
                "field `object_keys` has {} entries; Keap sends at most {MAX_OBJECT_KEYS}",
                object_keys.len()
            ),
        ));
    }
    // Only contact objects name contacts. What the ids of other object types (orders,
    // invoices, and contactGroup events, whose payload Keap does not document) refer to is
    // unverified, so such deliveries are acknowledged and left alone.
    let object_type = text("object_type")?.unwrap_or_default();
    if object_type != "contact" {
        return Ok(Inbound::Ignored {
            reason: format!(
                "`{}` deliveries with object_type `{}` name no contact",
                super::printable(&event_key, 100),
                super::printable(object_type, 100)
            ),
        });
    }

    let mut events: Vec<InboundEvent> = Vec::with_capacity(object_keys.len());
    for (i, key) in object_keys.iter().enumerate() {
        let field = format!("object_keys[{i}].id");
        let key = unique_object(key)
            .map_err(shape)?
            .ok_or_else(|| shape(format!("`object_keys[{i}]` must be an object")))?;
        let id = key.iter().find(|(k, _)| k == "id").map(|(_, v)| v);
        let raw = id.filter(|v| !v.is_null()).ok_or_else(|| {
            Error::new(
                ErrorCode::MissingContactId,
                format!("field `{field}` is missing"),
            )
        })?;
        let id = json_id(raw, &field, true)?;
        // Keap batches changes: one delivery may name a contact twice.
        if events.iter().any(|e| e.contact.contact_id == id) {
            continue;
        }
        events.push(InboundEvent {
            source: Source::KeapRest,
            event_type: event_key.clone(),
            contact: Contact::new(CrmKind::Keap, &options.account, id),
        });
    }
    Ok(Inbound::Events { events })
}
