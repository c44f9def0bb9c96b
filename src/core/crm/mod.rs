//! CRM clients as data: each operation is a list of [`HttpRequest`]s the host sends with its
//! own `fetch`, and a parser for the responses. No I/O happens here.

mod activecampaign;
mod keap;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::contact::{Contact, CrmKind, Secret, Tag};
use super::email::Email;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    /// Includes the CRM's auth header: hosts must never log a request's headers.
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status: u16,
    #[serde(default)]
    pub body: String,
    /// `Retry-After` in seconds, when the server sent one (Keap does not).
    #[serde(default)]
    pub retry_after: Option<u64>,
}

/// The CRM API token. Read from configuration, never serialized, never printed.
#[derive(Clone, Default)]
pub struct ApiToken(String);

impl ApiToken {
    pub fn new(t: impl Into<String>) -> Self {
        ApiToken(t.into())
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken([redacted])")
    }
}

impl<'de> Deserialize<'de> for ApiToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(ApiToken)
    }
}

/// How memberwire reaches one CRM account.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrmConfig {
    pub kind: CrmKind,
    /// Keap: `https://api.infusionsoft.com/crm/rest`; ActiveCampaign:
    /// `https://ACCOUNT.api-us1.com/api/3`. Overridable for the sandbox and tests.
    pub base_url: String,
    pub token: ApiToken,
    /// Custom field id that holds the member's password (password mode `crm`).
    #[serde(default)]
    pub password_field: Option<String>,
    /// How many characters that field holds (Keap's legacy Password field: 20).
    #[serde(default)]
    pub password_field_max: Option<usize>,
    /// Custom field id that receives the set-password link (password mode `link`).
    #[serde(default)]
    pub link_field: Option<String>,
    /// Tag id whose application starts the CRM's welcome email.
    #[serde(default)]
    pub welcome_tag: Option<String>,
}

/// What loading a contact through the API yields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub password: Option<Secret>,
    /// Set when the contact does not exist in the CRM.
    pub missing: bool,
}

impl Loaded {
    /// Fills what the post did not carry; what the post carried wins (it is newer than a
    /// read-after-write from the API can be trusted to be).
    pub fn merge_into(self, c: &mut Contact) {
        if c.email.is_none() {
            c.email = self.email;
        }
        if c.first_name.is_none() {
            c.first_name = self.first_name;
        }
        if c.last_name.is_none() {
            c.last_name = self.last_name;
        }
        if c.tags.is_none() {
            c.tags = self.tags;
        }
        if c.password.is_none() {
            c.password = self.password;
        }
    }
}

/// A response the client could not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadResponse(pub String);

/// Requests that load a contact, in order; [`parse_load`] reads each response.
pub fn load_requests(cfg: &CrmConfig, contact_id: &str) -> Vec<HttpRequest> {
    match cfg.kind {
        CrmKind::Keap => vec![keap::load(cfg, contact_id)],
        CrmKind::ActiveCampaign => activecampaign::load(cfg, contact_id),
        CrmKind::Generic => Vec::new(),
    }
}

/// Reads the response to request `part` of [`load_requests`] into `into`.
pub fn parse_load(
    cfg: &CrmConfig,
    part: usize,
    res: &HttpResponse,
    into: &mut Loaded,
) -> Result<(), BadResponse> {
    if res.status == 404 {
        into.missing = true;
        return Ok(());
    }
    match cfg.kind {
        CrmKind::Keap => keap::parse_load(cfg, res, into),
        CrmKind::ActiveCampaign => activecampaign::parse_load(cfg, part, res, into),
        CrmKind::Generic => Ok(()),
    }
}

/// Writes `value` into custom field `field` of the contact.
pub fn write_field(cfg: &CrmConfig, contact_id: &str, field: &str, value: &str) -> HttpRequest {
    match cfg.kind {
        CrmKind::ActiveCampaign => activecampaign::write_field(cfg, contact_id, field, value),
        _ => keap::write_field(cfg, contact_id, field, value),
    }
}

/// Applies tag `tag` to the contact.
pub fn apply_tag(cfg: &CrmConfig, contact_id: &str, tag: &str) -> HttpRequest {
    match cfg.kind {
        CrmKind::ActiveCampaign => activecampaign::apply_tag(cfg, contact_id, tag),
        _ => keap::apply_tag(cfg, contact_id, tag),
    }
}

/// Looks a contact up by email (the admin page's "find in CRM").
pub fn find_by_email(cfg: &CrmConfig, email: &Email) -> HttpRequest {
    match cfg.kind {
        CrmKind::ActiveCampaign => activecampaign::find_by_email(cfg, email),
        _ => keap::find_by_email(cfg, email),
    }
}

/// The contact ids a find-by-email response names: both CRMs answer `{"contacts": [{"id"}]}`.
pub fn parse_find(res: &HttpResponse) -> Result<Vec<String>, BadResponse> {
    let v = json_value(res)?;
    Ok(v.get("contacts")
        .and_then(|c| c.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|c| c.get("id").and_then(id_string))
                .collect()
        })
        .unwrap_or_default())
}

/// A JSON request to the CRM, authenticated with `auth_header: token`.
fn request(
    cfg: &CrmConfig,
    auth_header: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> HttpRequest {
    let mut headers = vec![
        (auth_header.to_owned(), cfg.token.0.clone()),
        ("Accept".to_owned(), "application/json".to_owned()),
    ];
    if body.is_some() {
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    }
    HttpRequest {
        method: method.to_owned(),
        url: join(&cfg.base_url, path),
        headers,
        body: body.map(|b| b.to_string()),
    }
}

fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Percent-encodes a query value or path segment (RFC 3986 unreserved characters pass).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn json_value(res: &HttpResponse) -> Result<serde_json::Value, BadResponse> {
    serde_json::from_str(&res.body).map_err(|e| {
        BadResponse(format!(
            "the CRM answered {} with a body that is not JSON: {e}",
            res.status
        ))
    })
}

/// The non-empty value of custom field `field` in a CRM's list of field values (Keap:
/// `custom_fields: [{id, content}]`; ActiveCampaign: `fieldValues: [{field, value}]`).
fn field_value(
    list: Option<&serde_json::Value>,
    id_key: &str,
    value_key: &str,
    field: &str,
) -> Option<Secret> {
    list?
        .as_array()?
        .iter()
        .find(|f| f.get(id_key).and_then(id_string).as_deref() == Some(field))?
        .get(value_key)?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(Secret::new)
}

/// A JSON id (number or string) as a string.
fn id_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A JSON number for a numeric id (Keap's API wants numbers), else the string.
fn id_json(id: &str) -> serde_json::Value {
    match id.parse::<u64>() {
        Ok(n) => serde_json::Value::from(n),
        Err(_) => serde_json::Value::from(id),
    }
}
