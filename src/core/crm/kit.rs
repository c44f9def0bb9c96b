//! Kit (formerly ConvertKit) API v4 at `https://api.kit.com/v4`, authenticated with
//! `X-Kit-Api-Key`. A subscriber has an email, a first name and custom fields by key; its tags
//! come from a second request. Tags are addressed by id. See `docs/crm/kit.md`.

use super::super::json::Json;
use crate::json;

use super::{
    encode, json_value, object_field, set_person, BadResponse, CrmConfig, HttpRequest,
    HttpResponse, Loaded,
};
use crate::core::email::Email;

fn request(cfg: &CrmConfig, method: &str, path: &str, body: Option<Json<'static>>) -> HttpRequest {
    super::request(cfg, "X-Kit-Api-Key", method, path, body)
}

pub(super) fn load(cfg: &CrmConfig, id: &str) -> Vec<HttpRequest> {
    let id = encode(id);
    vec![
        request(cfg, "GET", &format!("subscribers/{id}"), None),
        request(
            cfg,
            "GET",
            &format!("subscribers/{id}/tags?per_page=1000"),
            None,
        ),
    ]
}

pub(super) fn parse_load(
    cfg: &CrmConfig,
    part: usize,
    res: &HttpResponse,
    into: &mut Loaded,
) -> Result<(), BadResponse> {
    let v = json_value(res)?;
    if part == 0 {
        let s = v
            .get("subscriber")
            .ok_or_else(|| BadResponse("Kit's answer has no `subscriber`".into()))?;
        let fields = s.get("fields");
        // Kit has no last name of its own: a custom field `last_name` is the usual place.
        set_person(
            into,
            "Kit's subscriber",
            s.get("email_address"),
            s.get("first_name"),
            fields.and_then(|f| f.get("last_name")),
        )?;
        if let Some(field) = cfg.password_field.as_deref() {
            into.password = object_field(fields, field);
        }
    } else {
        let list = v
            .get("tags")
            .filter(|t| t.as_array().is_some())
            .ok_or_else(|| BadResponse("Kit's answer has no `tags` list".into()))?;
        into.tags = Some(super::tags_of(Some(list)));
    }
    Ok(())
}

/// Kit's update asks for the subscriber's `email_address` (its current one) beside the fields.
pub(super) fn write_field(
    cfg: &CrmConfig,
    id: &str,
    field: &str,
    value: &str,
    email: Option<&Email>,
) -> HttpRequest {
    let body = match email {
        Some(e) => json!({"email_address": (e.as_str()), "fields": {field: value}}),
        None => json!({"fields": {field: value}}),
    };
    request(
        cfg,
        "PUT",
        &format!("subscribers/{}", encode(id)),
        Some(body),
    )
}

pub(super) fn apply_tag(cfg: &CrmConfig, id: &str, tag: &str) -> HttpRequest {
    request(
        cfg,
        "POST",
        &format!("tags/{}/subscribers/{}", encode(tag), encode(id)),
        Some(json!({})),
    )
}

pub(super) fn find_by_email(cfg: &CrmConfig, email: &Email) -> HttpRequest {
    request(
        cfg,
        "GET",
        &format!(
            "subscribers?email_address={}&status=all",
            encode(email.as_str())
        ),
        None,
    )
}

pub(super) fn get(cfg: &CrmConfig, path: &str) -> HttpRequest {
    request(cfg, "GET", path, None)
}
