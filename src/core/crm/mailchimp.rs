//! Mailchimp's Marketing API 3.0, one audience: the base URL names it,
//! `https://DC.api.mailchimp.com/3.0/lists/LIST_ID` (DC is the API key's suffix, `us6`), and the
//! key goes as HTTP Basic's password. A member is named by the MD5 of its lower-cased email
//! (the contact id memberwire keeps); custom fields are merge fields by tag (`PASSWORD`), which
//! hold at most 255 characters; tags are applied by name. See `docs/crm/mailchimp.md`.

use super::super::json::Json;
use crate::json;
use base64::Engine;

use super::{
    encode, json_value, set_person, BadResponse, CrmConfig, HttpRequest, HttpResponse, Loaded,
};
use crate::core::contact::Secret;
use crate::core::email::Email;
use crate::core::inbound::mailchimp::subscriber_hash;

fn request(cfg: &CrmConfig, method: &str, path: &str, body: Option<Json<'static>>) -> HttpRequest {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("memberwire:{}", cfg.token.0));
    super::request_with(
        cfg,
        ("Authorization", format!("Basic {basic}")),
        &[],
        method,
        path,
        body,
    )
}

pub(super) fn load(cfg: &CrmConfig, id: &str) -> HttpRequest {
    request(cfg, "GET", &format!("members/{}", encode(id)), None)
}

pub(super) fn parse_load(
    cfg: &CrmConfig,
    res: &HttpResponse,
    into: &mut Loaded,
) -> Result<(), BadResponse> {
    let v = json_value(res)?;
    let merges = v.get("merge_fields");
    set_person(
        into,
        "Mailchimp's member",
        v.get("email_address"),
        merges.and_then(|m| m.get("FNAME")),
        merges.and_then(|m| m.get("LNAME")),
    )?;
    into.tags = Some(super::tags_of(v.get("tags")));
    if let Some(field) = cfg.password_field.as_deref() {
        into.password = merges
            .and_then(|m| m.get(field))
            .and_then(|p| p.as_str())
            .filter(|s| !s.is_empty())
            .map(Secret::new);
    }
    Ok(())
}

pub(super) fn write_field(cfg: &CrmConfig, id: &str, field: &str, value: &str) -> HttpRequest {
    let body = json!({"merge_fields": {field: value}});
    request(cfg, "PATCH", &format!("members/{}", encode(id)), Some(body))
}

pub(super) fn apply_tag(cfg: &CrmConfig, id: &str, tag: &str) -> HttpRequest {
    let body = json!({"tags": [{"name": tag, "status": "active"}]});
    request(
        cfg,
        "POST",
        &format!("members/{}/tags", encode(id)),
        Some(body),
    )
}

pub(super) fn find_by_email(cfg: &CrmConfig, email: &Email) -> HttpRequest {
    request(
        cfg,
        "GET",
        &format!("members/{}", subscriber_hash(email)),
        None,
    )
}

pub(super) fn get(cfg: &CrmConfig, path: &str) -> HttpRequest {
    request(cfg, "GET", path, None)
}
