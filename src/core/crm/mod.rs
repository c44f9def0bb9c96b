//! CRM clients as data: each operation is a list of [`HttpRequest`]s the host sends with its
//! own `fetch`, and a parser for the responses. No I/O happens here.

mod activecampaign;
pub mod catalog;
mod drip;
mod highlevel;
mod hubspot;
mod keap;
mod kit;
mod mailchimp;
mod mailerlite;

use std::fmt;

use super::contact::{Contact, CrmKind, Secret, Tag};
use super::email::Email;
use super::json::{DecodeError, FromJson, IntoJson, Json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    /// Includes the CRM's auth header: hosts must never log a request's headers.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
    /// `Retry-After` in seconds, when the server sent one (Keap does not).
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

impl FromJson for ApiToken {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        String::from_json(v).map(ApiToken)
    }
}

crate::json_struct!(HttpRequest {
    method: "method"[required],
    url: "url"[required],
    headers: "headers"[required],
    body: "body"[some],
});

crate::json_struct!(HttpResponse {
    status: "status"[required],
    body: "body"[default],
    retry_after: "retryAfter"[default],
});

crate::json_struct!(
    #[from_only]
    CrmConfig {
        kind: "kind"[required],
        base_url: "baseUrl"[required],
        token: "token"[required],
        password_field: "passwordField"[default],
        password_field_max: "passwordFieldMax"[default],
        link_field: "linkField"[default],
        welcome_tag: "welcomeTag"[default],
        account_id: "accountId"[default],
    }
);

/// How memberwire reaches one CRM account.
#[derive(Debug, Clone)]
pub struct CrmConfig {
    pub kind: CrmKind,
    /// Keap: `https://api.infusionsoft.com/crm/rest`; ActiveCampaign:
    /// `https://ACCOUNT.api-us1.com/api/3`. Overridable for the sandbox and tests.
    pub base_url: String,
    pub token: ApiToken,
    /// Custom field id that holds the member's password (password mode `crm`).
    pub password_field: Option<String>,
    /// How many characters that field holds (Keap's legacy Password field: 20).
    pub password_field_max: Option<usize>,
    /// Custom field id that receives the set-password link (password mode `link`).
    pub link_field: Option<String>,
    /// The tag whose application starts the CRM's welcome email: its id (Keap, ActiveCampaign,
    /// Kit; a group id in MailerLite) or its name (Drip and HighLevel address tags by name).
    pub welcome_tag: Option<String>,
    /// The account the API addresses besides the token: HighLevel's location id (Drip's
    /// account id and MailerLite need none: the first is in the base URL).
    pub account_id: Option<String>,
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
        CrmKind::Kit => kit::load(cfg, contact_id),
        CrmKind::Drip => vec![drip::load(cfg, contact_id)],
        CrmKind::MailerLite => vec![mailerlite::load(cfg, contact_id)],
        CrmKind::HighLevel => vec![highlevel::load(cfg, contact_id)],
        CrmKind::HubSpot => hubspot::load(cfg, contact_id),
        CrmKind::Mailchimp => vec![mailchimp::load(cfg, contact_id)],
        CrmKind::Generic => Vec::new(),
    }
}

/// Which request of [`load_requests`] returns the contact's tags (the welcome tag is checked
/// with it alone).
pub fn tags_part(cfg: &CrmConfig) -> usize {
    match cfg.kind {
        CrmKind::ActiveCampaign | CrmKind::Kit | CrmKind::HubSpot => 1,
        _ => 0,
    }
}

/// Whether `tag` (as loaded from the CRM) is the configured tag `wanted`: by name where the CRM
/// addresses tags by name (Drip, HighLevel, Mailchimp), else by id.
pub fn tag_is(cfg: &CrmConfig, tag: &Tag, wanted: &str) -> bool {
    match cfg.kind {
        CrmKind::Drip | CrmKind::HighLevel | CrmKind::Mailchimp => tag
            .name
            .as_deref()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(wanted.trim())),
        _ => tag.id.as_deref() == Some(wanted),
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
        CrmKind::Kit => kit::parse_load(cfg, part, res, into),
        CrmKind::Drip => drip::parse_load(cfg, res, into),
        CrmKind::MailerLite => mailerlite::parse_load(cfg, res, into),
        CrmKind::HighLevel => highlevel::parse_load(cfg, res, into),
        CrmKind::HubSpot => hubspot::parse_load(cfg, part, res, into),
        CrmKind::Mailchimp => mailchimp::parse_load(cfg, res, into),
        CrmKind::Generic => Ok(()),
    }
}

/// Writes `value` into custom field `field` of the contact (Kit's update names the contact's
/// `email` too).
pub fn write_field(
    cfg: &CrmConfig,
    contact_id: &str,
    field: &str,
    value: &str,
    email: Option<&Email>,
) -> HttpRequest {
    match cfg.kind {
        CrmKind::ActiveCampaign => activecampaign::write_field(cfg, contact_id, field, value),
        CrmKind::Kit => kit::write_field(cfg, contact_id, field, value, email),
        CrmKind::Drip => drip::write_field(cfg, contact_id, field, value),
        CrmKind::MailerLite => mailerlite::write_field(cfg, contact_id, field, value),
        CrmKind::HighLevel => highlevel::write_field(cfg, contact_id, field, value),
        CrmKind::HubSpot => hubspot::write_field(cfg, contact_id, field, value),
        CrmKind::Mailchimp => mailchimp::write_field(cfg, contact_id, field, value),
        CrmKind::Keap | CrmKind::Generic => keap::write_field(cfg, contact_id, field, value),
    }
}

/// Applies tag `tag` to the contact.
pub fn apply_tag(cfg: &CrmConfig, contact_id: &str, tag: &str) -> HttpRequest {
    match cfg.kind {
        CrmKind::ActiveCampaign => activecampaign::apply_tag(cfg, contact_id, tag),
        CrmKind::Kit => kit::apply_tag(cfg, contact_id, tag),
        CrmKind::Drip => drip::apply_tag(cfg, contact_id, tag),
        CrmKind::MailerLite => mailerlite::apply_tag(cfg, contact_id, tag),
        CrmKind::HighLevel => highlevel::apply_tag(cfg, contact_id, tag),
        CrmKind::HubSpot => hubspot::apply_tag(cfg, contact_id, tag),
        CrmKind::Mailchimp => mailchimp::apply_tag(cfg, contact_id, tag),
        CrmKind::Keap | CrmKind::Generic => keap::apply_tag(cfg, contact_id, tag),
    }
}

/// Looks a contact up by email (the admin page's "find in CRM").
pub fn find_by_email(cfg: &CrmConfig, email: &Email) -> HttpRequest {
    match cfg.kind {
        CrmKind::ActiveCampaign => activecampaign::find_by_email(cfg, email),
        CrmKind::Kit => kit::find_by_email(cfg, email),
        CrmKind::Drip => drip::find_by_email(cfg, email),
        CrmKind::MailerLite => mailerlite::find_by_email(cfg, email),
        CrmKind::HighLevel => highlevel::find_by_email(cfg, email),
        CrmKind::HubSpot => hubspot::find_by_email(cfg, email),
        CrmKind::Mailchimp => mailchimp::find_by_email(cfg, email),
        CrmKind::Keap | CrmKind::Generic => keap::find_by_email(cfg, email),
    }
}

/// The contact ids a find-by-email response names (none for a 404: Drip, MailerLite, HubSpot
/// and Mailchimp answer a lookup by email with 404 when nobody has it).
pub fn parse_find(cfg: &CrmConfig, res: &HttpResponse) -> Result<Vec<String>, BadResponse> {
    if res.status == 404 {
        return Ok(Vec::new());
    }
    let v = json_value(res)?;
    let ids_in = |list: Option<&Json<'_>>| -> Vec<String> {
        list.and_then(|c| c.as_array())
            .map(|list| {
                list.iter()
                    .filter_map(|c| c.get("id").and_then(id_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(match cfg.kind {
        // Keap and ActiveCampaign: {"contacts": [{"id"}]}.
        CrmKind::Keap | CrmKind::ActiveCampaign | CrmKind::Generic => ids_in(v.get("contacts")),
        // Kit and Drip: {"subscribers": [{"id"}]}.
        CrmKind::Kit | CrmKind::Drip => ids_in(v.get("subscribers")),
        // MailerLite: {"data": {"id"}}.
        CrmKind::MailerLite => v
            .get("data")
            .and_then(|d| d.get("id"))
            .and_then(id_string)
            .into_iter()
            .collect(),
        // HubSpot: the contact itself, {"id", "properties"}; Mailchimp: the member, whose id
        // is the hash it was looked up by.
        CrmKind::HubSpot | CrmKind::Mailchimp => {
            v.get("id").and_then(id_string).into_iter().collect()
        }
        // HighLevel's duplicate search: {"contact": {"id"} or null}.
        CrmKind::HighLevel => v
            .get("contact")
            .and_then(|c| c.get("id"))
            .and_then(id_string)
            .into_iter()
            .collect(),
    })
}

/// A JSON request to the CRM, authenticated with `auth_header: token`.
fn request(
    cfg: &CrmConfig,
    auth_header: &str,
    method: &str,
    path: &str,
    body: Option<Json<'static>>,
) -> HttpRequest {
    request_with(
        cfg,
        (auth_header, cfg.token.0.clone()),
        &[],
        method,
        path,
        body,
    )
}

/// A JSON request to the CRM with its `auth` header (name, value) and any `extra` headers.
fn request_with(
    cfg: &CrmConfig,
    auth: (&str, String),
    extra: &[(&str, &str)],
    method: &str,
    path: &str,
    body: Option<Json<'static>>,
) -> HttpRequest {
    let mut headers = vec![
        (auth.0.to_owned(), auth.1),
        ("Accept".to_owned(), "application/json".to_owned()),
    ];
    headers.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    if body.is_some() {
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    }
    HttpRequest {
        method: method.to_owned(),
        url: join(&cfg.base_url, path),
        headers,
        body: body.map(|b| b.to_text()),
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

fn json_value(res: &HttpResponse) -> Result<Json<'_>, BadResponse> {
    super::json::parse(&res.body).map_err(|e| {
        BadResponse(format!(
            "the CRM answered {} with a body that is not JSON: {e}",
            res.status
        ))
    })
}

/// The non-empty value of custom field `field` in a CRM's list of field values (Keap:
/// `custom_fields: [{id, content}]`; ActiveCampaign: `fieldValues: [{field, value}]`).
fn field_value(
    list: Option<&Json<'_>>,
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
fn id_string(v: &Json<'_>) -> Option<String> {
    match v {
        Json::Num(n) => Some(n.to_string()),
        Json::Str(s) if !s.is_empty() => Some(s.to_string()),
        _ => None,
    }
}

/// A JSON number for a numeric id (Keap's API wants numbers), else the string.
fn id_json(id: &str) -> Json<'static> {
    match id.parse::<u64>() {
        Ok(n) => n.into_json(),
        Err(_) => id.into_json(),
    }
}

/// Sets the loaded contact's email and names from a CRM's answer (`what` names the CRM in
/// errors). An empty email is no email.
fn set_person(
    into: &mut Loaded,
    what: &str,
    email: Option<&Json<'_>>,
    first: Option<&Json<'_>>,
    last: Option<&Json<'_>>,
) -> Result<(), BadResponse> {
    let bad = |e: crate::core::error::Error| BadResponse(format!("{what}: {}", e.message));
    if let Some(raw) = email
        .and_then(|e| e.as_str())
        .filter(|e| !e.trim().is_empty())
    {
        into.email = Some(Email::parse(raw, "email").map_err(bad)?);
    }
    into.first_name =
        super::contact::name_field(first.and_then(|n| n.as_str()), "first name").map_err(bad)?;
    into.last_name =
        super::contact::name_field(last.and_then(|n| n.as_str()), "last name").map_err(bad)?;
    Ok(())
}

/// A CRM's list of a contact's tags: names (`["Customer"]`: Drip, HighLevel) or objects
/// (`[{"id", "name"}]`: Kit, MailerLite's groups, Mailchimp). Empty names are skipped.
fn tags_of(list: Option<&Json<'_>>) -> Vec<Tag> {
    let Some(items) = list.and_then(|l| l.as_array()) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|t| {
            if let Some(name) = t.as_str() {
                return (!name.trim().is_empty()).then(|| Tag::name(name.trim()));
            }
            let id = t.get("id").and_then(id_string);
            let name = t
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
            (id.is_some() || name.is_some()).then_some(Tag { id, name })
        })
        .collect()
}

/// A JSON request authenticated with `Authorization: Bearer TOKEN` (MailerLite, HighLevel,
/// HubSpot), with any `extra` headers.
fn bearer(
    cfg: &CrmConfig,
    extra: &[(&str, &str)],
    method: &str,
    path: &str,
    body: Option<Json<'static>>,
) -> HttpRequest {
    request_with(
        cfg,
        ("Authorization", format!("Bearer {}", cfg.token.0)),
        extra,
        method,
        path,
        body,
    )
}

/// The non-empty string value of `field` in a `{"key": "value"}` object of custom fields.
fn object_field(fields: Option<&Json<'_>>, field: &str) -> Option<Secret> {
    fields?
        .get(field)?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(Secret::new)
}

/// A GET to the CRM's API with the CRM's own authentication (the catalogs' lists).
fn get(cfg: &CrmConfig, path: &str) -> HttpRequest {
    match cfg.kind {
        CrmKind::ActiveCampaign => activecampaign::get(cfg, path),
        CrmKind::Kit => kit::get(cfg, path),
        CrmKind::Drip => drip::get(cfg, path),
        CrmKind::MailerLite => mailerlite::get(cfg, path),
        CrmKind::HighLevel => highlevel::get(cfg, path),
        CrmKind::HubSpot => hubspot::get(cfg, path),
        CrmKind::Mailchimp => mailchimp::get(cfg, path),
        CrmKind::Keap | CrmKind::Generic => keap::get(cfg, path),
    }
}
