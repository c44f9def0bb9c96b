//! HighLevel (LeadConnector) API v2 at `https://services.leadconnectorhq.com`, authenticated
//! with a bearer token (a private integration token or a sub-account's OAuth token) and the API
//! `Version` header. Tags are names; custom fields are `[{id, value}]`; the location (the
//! sub-account) is `accountId` in the CRM settings. See `docs/crm/highlevel.md`.

use super::super::json::Json;
use crate::json;

use super::{
    encode, field_value, json_value, set_person, BadResponse, CrmConfig, HttpRequest, HttpResponse,
    Loaded,
};
use crate::core::email::Email;

/// The API version every request names.
const VERSION: &str = "2021-07-28";

fn request(cfg: &CrmConfig, method: &str, path: &str, body: Option<Json<'static>>) -> HttpRequest {
    super::bearer(cfg, &[("Version", VERSION)], method, path, body)
}

pub(super) fn load(cfg: &CrmConfig, id: &str) -> HttpRequest {
    request(cfg, "GET", &format!("contacts/{}", encode(id)), None)
}

pub(super) fn parse_load(
    cfg: &CrmConfig,
    res: &HttpResponse,
    into: &mut Loaded,
) -> Result<(), BadResponse> {
    let v = json_value(res)?;
    let c = v
        .get("contact")
        .ok_or_else(|| BadResponse("HighLevel's answer has no `contact`".into()))?;
    set_person(
        into,
        "HighLevel's contact",
        c.get("email"),
        c.get("firstName"),
        c.get("lastName"),
    )?;
    into.tags = Some(super::tags_of(c.get("tags")));
    if let Some(field) = cfg.password_field.as_deref() {
        into.password = field_value(c.get("customFields"), "id", "value", field);
    }
    Ok(())
}

pub(super) fn write_field(cfg: &CrmConfig, id: &str, field: &str, value: &str) -> HttpRequest {
    let body = json!({"customFields": [{"id": field, "field_value": value}]});
    request(cfg, "PUT", &format!("contacts/{}", encode(id)), Some(body))
}

pub(super) fn apply_tag(cfg: &CrmConfig, id: &str, tag: &str) -> HttpRequest {
    let body = json!({"tags": [tag]});
    request(
        cfg,
        "POST",
        &format!("contacts/{}/tags", encode(id)),
        Some(body),
    )
}

pub(super) fn find_by_email(cfg: &CrmConfig, email: &Email) -> HttpRequest {
    let location = cfg.account_id.as_deref().unwrap_or_default();
    request(
        cfg,
        "GET",
        &format!(
            "contacts/search/duplicate?locationId={}&email={}",
            encode(location),
            encode(email.as_str())
        ),
        None,
    )
}

pub(super) fn get(cfg: &CrmConfig, path: &str) -> HttpRequest {
    request(cfg, "GET", path, None)
}
