//! HubSpot's CRM API v3 at `https://api.hubapi.com`, authenticated with a private app's bearer
//! token. HubSpot has no tags: memberwire reads a contact's static lists as its tags (by list
//! id; the catalog gives their names), and the welcome "tag" is a static list the contact is
//! added to, which HubSpot workflows can start from. Custom fields are contact properties, by
//! internal name. See `docs/crm/hubspot.md`.

use super::super::json::Json;
use crate::json;

use super::{
    encode, id_string, json_value, set_person, BadResponse, CrmConfig, HttpRequest, HttpResponse,
    Loaded,
};
use crate::core::contact::{Secret, Tag};
use crate::core::email::Email;

fn request(cfg: &CrmConfig, method: &str, path: &str, body: Option<Json<'static>>) -> HttpRequest {
    super::bearer(cfg, &[], method, path, body)
}

/// The properties a load asks for: the names, the email and the password field.
fn properties(cfg: &CrmConfig) -> String {
    let mut p = "email,firstname,lastname".to_owned();
    if let Some(f) = cfg.password_field.as_deref() {
        p.push(',');
        p.push_str(&encode(f));
    }
    p
}

pub(super) fn load(cfg: &CrmConfig, id: &str) -> Vec<HttpRequest> {
    let id = encode(id);
    vec![
        request(
            cfg,
            "GET",
            &format!(
                "crm/v3/objects/contacts/{id}?properties={}",
                properties(cfg)
            ),
            None,
        ),
        // 0-1 is HubSpot's object type id for contacts.
        request(
            cfg,
            "GET",
            &format!("crm/v3/lists/records/0-1/{id}/memberships"),
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
        let p = v
            .get("properties")
            .ok_or_else(|| BadResponse("HubSpot's contact has no `properties`".into()))?;
        set_person(
            into,
            "HubSpot's contact",
            p.get("email"),
            p.get("firstname"),
            p.get("lastname"),
        )?;
        if let Some(field) = cfg.password_field.as_deref() {
            into.password = p
                .get(field)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(Secret::new);
        }
    } else {
        let list = v
            .get("results")
            .and_then(|r| r.as_array())
            .ok_or_else(|| BadResponse("HubSpot's list memberships have no `results`".into()))?;
        into.tags = Some(
            list.iter()
                .filter_map(|m| m.get("listId").and_then(id_string))
                .map(Tag::id)
                .collect(),
        );
    }
    Ok(())
}

pub(super) fn write_field(cfg: &CrmConfig, id: &str, field: &str, value: &str) -> HttpRequest {
    let body = json!({"properties": {field: value}});
    request(
        cfg,
        "PATCH",
        &format!("crm/v3/objects/contacts/{}", encode(id)),
        Some(body),
    )
}

/// Adds the contact to static list `list` (adding never removes anything else).
pub(super) fn apply_tag(cfg: &CrmConfig, id: &str, list: &str) -> HttpRequest {
    request(
        cfg,
        "PUT",
        &format!("crm/v3/lists/{}/memberships/add", encode(list)),
        Some(json!([id])),
    )
}

pub(super) fn find_by_email(cfg: &CrmConfig, email: &Email) -> HttpRequest {
    request(
        cfg,
        "GET",
        &format!(
            "crm/v3/objects/contacts/{}?idProperty=email",
            encode(email.as_str())
        ),
        None,
    )
}

pub(super) fn get(cfg: &CrmConfig, path: &str) -> HttpRequest {
    request(cfg, "GET", path, None)
}

/// One page of the account's static lists (the tags memberwire can read and apply), from
/// `offset`.
pub(super) fn list_search(cfg: &CrmConfig, offset: &str) -> HttpRequest {
    let offset: u64 = offset.parse().unwrap_or(0);
    request(
        cfg,
        "POST",
        "crm/v3/lists/search",
        Some(
            json!({"query": "", "count": 500, "offset": offset, "processingTypes": ["MANUAL", "SNAPSHOT"]}),
        ),
    )
}
