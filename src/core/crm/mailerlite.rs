//! MailerLite's API at `https://connect.mailerlite.com/api`, authenticated with a bearer token.
//! Groups are its tags (addressed by id); custom fields are an object by key, with the names in
//! `name` and `last_name`. See `docs/crm/mailerlite.md`.

use super::super::json::Json;
use super::{
    encode, json_value, object_field, set_person, BadResponse, CrmConfig, HttpRequest,
    HttpResponse, Loaded,
};
use crate::core::email::Email;
use crate::json;

fn request(cfg: &CrmConfig, method: &str, path: &str, body: Option<Json<'static>>) -> HttpRequest {
    super::bearer(cfg, &[], method, path, body)
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
        .get("data")
        .ok_or_else(|| BadResponse("MailerLite's answer has no `data`".into()))?;
    let fields = s.get("fields");
    set_person(
        into,
        "MailerLite's subscriber",
        s.get("email"),
        fields.and_then(|f| f.get("name")),
        fields.and_then(|f| f.get("last_name")),
    )?;
    into.tags = Some(super::tags_of(s.get("groups")));
    if let Some(field) = cfg.password_field.as_deref() {
        into.password = object_field(fields, field);
    }
    Ok(())
}

pub(super) fn write_field(cfg: &CrmConfig, id: &str, field: &str, value: &str) -> HttpRequest {
    let body = json!({"fields": {field: value}});
    request(
        cfg,
        "PUT",
        &format!("subscribers/{}", encode(id)),
        Some(body),
    )
}

pub(super) fn apply_tag(cfg: &CrmConfig, id: &str, group: &str) -> HttpRequest {
    request(
        cfg,
        "POST",
        &format!("subscribers/{}/groups/{}", encode(id), encode(group)),
        None,
    )
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
