//! ActiveCampaign API v3, authenticated with `Api-Token`. Loading a contact takes three
//! requests (the contact, its tags, its custom field values).

use super::super::json::Json;
use crate::json;

use super::{
    encode, id_string, json_value, BadResponse, CrmConfig, HttpRequest, HttpResponse, Loaded,
};
use crate::core::contact::{name_field, Tag};
use crate::core::email::Email;

fn request(cfg: &CrmConfig, method: &str, path: &str, body: Option<Json<'static>>) -> HttpRequest {
    super::request(cfg, "Api-Token", method, path, body)
}

pub(super) fn load(cfg: &CrmConfig, id: &str) -> Vec<HttpRequest> {
    let id = encode(id);
    let mut out = vec![
        request(cfg, "GET", &format!("contacts/{id}"), None),
        request(cfg, "GET", &format!("contacts/{id}/contactTags"), None),
    ];
    if cfg.password_field.is_some() {
        out.push(request(
            cfg,
            "GET",
            &format!("contacts/{id}/fieldValues"),
            None,
        ));
    }
    out
}

pub(super) fn parse_load(
    cfg: &CrmConfig,
    part: usize,
    res: &HttpResponse,
    into: &mut Loaded,
) -> Result<(), BadResponse> {
    let v = json_value(res)?;
    match part {
        0 => {
            let c = v
                .get("contact")
                .ok_or_else(|| BadResponse("ActiveCampaign's answer has no `contact`".into()))?;
            if let Some(raw) = c
                .get("email")
                .and_then(|e| e.as_str())
                .filter(|e| !e.trim().is_empty())
            {
                into.email = Some(Email::parse(raw, "email").map_err(|e| BadResponse(e.message))?);
            }
            into.first_name = name_field(c.get("firstName").and_then(|n| n.as_str()), "firstName")
                .map_err(|e| BadResponse(e.message))?;
            into.last_name = name_field(c.get("lastName").and_then(|n| n.as_str()), "lastName")
                .map_err(|e| BadResponse(e.message))?;
        }
        1 => {
            let list = v.get("contactTags").and_then(|t| t.as_array());
            into.tags = Some(
                list.map(|l| {
                    l.iter()
                        .filter_map(|ct| ct.get("tag").and_then(id_string))
                        .map(Tag::id)
                        .collect()
                })
                .unwrap_or_default(),
            );
        }
        _ => {
            let field = cfg.password_field.as_deref().unwrap_or_default();
            into.password = super::field_value(v.get("fieldValues"), "field", "value", field);
        }
    }
    Ok(())
}

pub(super) fn write_field(cfg: &CrmConfig, id: &str, field: &str, value: &str) -> HttpRequest {
    let body = json!({"fieldValue": {"contact": id, "field": field, "value": value}});
    request(cfg, "POST", "fieldValues", Some(body))
}

pub(super) fn apply_tag(cfg: &CrmConfig, id: &str, tag: &str) -> HttpRequest {
    let body = json!({"contactTag": {"contact": id, "tag": tag}});
    request(cfg, "POST", "contactTags", Some(body))
}

pub(super) fn find_by_email(cfg: &CrmConfig, email: &Email) -> HttpRequest {
    request(
        cfg,
        "GET",
        &format!("contacts?email={}", encode(email.as_str())),
        None,
    )
}

pub(super) fn get(cfg: &CrmConfig, path: &str) -> HttpRequest {
    request(cfg, "GET", path, None)
}
