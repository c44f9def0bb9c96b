//! Keap REST (v2 for contacts, v1 for applying tags), authenticated with `X-Keap-API-Key`.

use super::super::json::Json;
use crate::json;

use super::{
    encode, id_json, id_string, json_value, BadResponse, CrmConfig, HttpRequest, HttpResponse,
    Loaded,
};
use crate::core::contact::{name_field, Tag};
use crate::core::email::Email;

const LOAD_FIELDS: &str = "email_addresses,given_name,family_name,custom_fields,tag_ids";

fn request(cfg: &CrmConfig, method: &str, path: &str, body: Option<Json<'static>>) -> HttpRequest {
    super::request(cfg, "X-Keap-API-Key", method, path, body)
}

pub(super) fn load(cfg: &CrmConfig, id: &str) -> HttpRequest {
    request(
        cfg,
        "GET",
        &format!("v2/contacts/{}?fields={LOAD_FIELDS}", encode(id)),
        None,
    )
}

pub(super) fn parse_load(
    cfg: &CrmConfig,
    res: &HttpResponse,
    into: &mut Loaded,
) -> Result<(), BadResponse> {
    let v = json_value(res)?;
    let bad = |what: &str| BadResponse(format!("Keap's contact has no usable `{what}`"));
    let emails = v.get("email_addresses").and_then(|e| e.as_array());
    // EMAIL1 is the primary address; fall back to the first one listed.
    let primary = emails.and_then(|list| {
        list.iter()
            .find(|e| e.get("field").and_then(|f| f.as_str()) == Some("EMAIL1"))
            .or_else(|| list.first())
    });
    if let Some(raw) = primary
        .and_then(|e| e.get("email"))
        .and_then(|e| e.as_str())
    {
        if !raw.trim().is_empty() {
            into.email =
                Some(Email::parse(raw, "email_addresses").map_err(|e| BadResponse(e.message))?);
        }
    }
    into.first_name = name_field(v.get("given_name").and_then(|n| n.as_str()), "given_name")
        .map_err(|_| bad("given_name"))?;
    into.last_name = name_field(v.get("family_name").and_then(|n| n.as_str()), "family_name")
        .map_err(|_| bad("family_name"))?;
    if let Some(ids) = v.get("tag_ids").and_then(|t| t.as_array()) {
        into.tags = Some(ids.iter().filter_map(id_string).map(Tag::id).collect());
    } else {
        into.tags = Some(Vec::new());
    }
    if let Some(field) = cfg.password_field.as_deref() {
        into.password = super::field_value(v.get("custom_fields"), "id", "content", field);
    }
    Ok(())
}

pub(super) fn write_field(cfg: &CrmConfig, id: &str, field: &str, value: &str) -> HttpRequest {
    let body = json!({"custom_fields": [{"id": (id_json(field)), "content": value}]});
    request(
        cfg,
        "PATCH",
        &format!("v2/contacts/{}", encode(id)),
        Some(body),
    )
}

pub(super) fn apply_tag(cfg: &CrmConfig, id: &str, tag: &str) -> HttpRequest {
    let body = json!({"tagIds": [(id_json(tag))]});
    request(
        cfg,
        "POST",
        &format!("v1/contacts/{}/tags", encode(id)),
        Some(body),
    )
}

pub(super) fn find_by_email(cfg: &CrmConfig, email: &Email) -> HttpRequest {
    let filter = encode(&format!("email=={}", email.as_str()));
    request(
        cfg,
        "GET",
        &format!("v2/contacts?filter={filter}&fields={LOAD_FIELDS}"),
        None,
    )
}

pub(super) fn get(cfg: &CrmConfig, path: &str) -> HttpRequest {
    request(cfg, "GET", path, None)
}
