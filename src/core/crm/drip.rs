//! Drip API v2 at `https://api.getdrip.com/v2/{account_id}` (the account id is part of the base
//! URL), authenticated with HTTP Basic (the API token as the user name, no password). Drip asks
//! every client to send a User-Agent. Tags are names; a subscriber is read and written in
//! `{"subscribers": [...]}` lists. See `docs/crm/drip.md`.

use super::super::json::Json;
use crate::json;
use base64::Engine;

use super::{
    encode, json_value, object_field, set_person, BadResponse, CrmConfig, HttpRequest,
    HttpResponse, Loaded,
};
use crate::core::email::Email;

fn request(cfg: &CrmConfig, method: &str, path: &str, body: Option<Json<'static>>) -> HttpRequest {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:", cfg.token.0));
    super::request_with(
        cfg,
        ("Authorization", format!("Basic {basic}")),
        &[("User-Agent", "memberwire")],
        method,
        path,
        body,
    )
}

pub(super) fn load(cfg: &CrmConfig, id: &str) -> HttpRequest {
    request(cfg, "GET", &format!("subscribers/{}", encode(id)), None)
}

pub(super) fn parse_load(
    cfg: &CrmConfig,
    res: &HttpResponse,
    into: &mut Loaded,
) -> Result<(), BadResponse> {
    let v = json_value(res)?;
    let s = v
        .get("subscribers")
        .and_then(|l| l.as_array())
        .and_then(|l| l.first())
        .ok_or_else(|| BadResponse("Drip's answer has no `subscribers`".into()))?;
    // Names are top-level fields, or custom fields in accounts that keep them there.
    let custom = s.get("custom_fields");
    let name = |key: &str| {
        s.get(key)
            .filter(|v| v.as_str().is_some_and(|n| !n.is_empty()))
            .or_else(|| custom.and_then(|c| c.get(key)))
    };
    set_person(
        into,
        "Drip's subscriber",
        s.get("email"),
        name("first_name"),
        name("last_name"),
    )?;
    into.tags = Some(super::tags_of(s.get("tags")));
    if let Some(field) = cfg.password_field.as_deref() {
        into.password = object_field(custom, field);
    }
    Ok(())
}

pub(super) fn write_field(cfg: &CrmConfig, id: &str, field: &str, value: &str) -> HttpRequest {
    let body = json!({"subscribers": [{"id": id, "custom_fields": {field: value}}]});
    request(cfg, "POST", "subscribers", Some(body))
}

/// Drip applies tags through the subscriber's own update (`tags` adds, never replaces).
pub(super) fn apply_tag(cfg: &CrmConfig, id: &str, tag: &str) -> HttpRequest {
    let body = json!({"subscribers": [{"id": id, "tags": [tag]}]});
    request(cfg, "POST", "subscribers", Some(body))
}

pub(super) fn find_by_email(cfg: &CrmConfig, email: &Email) -> HttpRequest {
    request(
        cfg,
        "GET",
        &format!("subscribers/{}", encode(email.as_str())),
        None,
    )
}

pub(super) fn get(cfg: &CrmConfig, path: &str) -> HttpRequest {
    request(cfg, "GET", path, None)
}
