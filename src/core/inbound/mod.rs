//! Inbound CRM posts: route → source, body-size and content-type checks, and one parser per
//! format. Every parser turns a body into [`Inbound`]: events to process (one per contact), a
//! Keap REST hook verification request, or a delivery that carries nothing for memberwire.

mod activecampaign;
mod json;
mod keap_post;
mod keap_rest;

use serde::{Deserialize, Serialize};

use super::contact::{Contact, CrmKind};
use super::error::{Error, ErrorCode};

/// Where a post came from, chosen by the route it arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Keap "Send an HTTP post" (legacy action sets and campaign-builder HTTP post objects).
    KeapPost,
    /// Keap REST hook deliveries (JSON, ids only).
    KeapRest,
    /// ActiveCampaign webhooks (form fields).
    #[serde(rename = "activecampaign")]
    ActiveCampaign,
    /// memberwire's generic JSON body, for every other source.
    Json,
}

impl Source {
    pub const ALL: [Source; 4] = [
        Source::KeapPost,
        Source::KeapRest,
        Source::ActiveCampaign,
        Source::Json,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Source::KeapPost => "keap_post",
            Source::KeapRest => "keap_rest",
            Source::ActiveCampaign => "activecampaign",
            Source::Json => "json",
        }
    }

    /// The path this source is posted to.
    pub const fn route(self) -> &'static str {
        match self {
            Source::KeapPost => "/hooks/keap",
            Source::KeapRest => "/hooks/keap-rest",
            Source::ActiveCampaign => "/hooks/activecampaign",
            Source::Json => "/hooks/json",
        }
    }

    pub fn from_route(path: &str) -> Option<Source> {
        let path = path.strip_suffix('/').unwrap_or(path);
        Source::ALL.into_iter().find(|s| s.route() == path)
    }

    pub fn from_name(name: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub const fn crm(self) -> CrmKind {
        match self {
            Source::KeapPost | Source::KeapRest => CrmKind::Keap,
            Source::ActiveCampaign => CrmKind::ActiveCampaign,
            Source::Json => CrmKind::Generic,
        }
    }

    const fn media_type(self) -> MediaType {
        match self {
            Source::KeapPost | Source::ActiveCampaign => MediaType::Form,
            Source::KeapRest | Source::Json => MediaType::Json,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    Form,
    Json,
}

impl MediaType {
    const fn name(self) -> &'static str {
        match self {
            MediaType::Form => "application/x-www-form-urlencoded",
            MediaType::Json => "application/json",
        }
    }
}

/// What the parsers need from the site's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ParseOptions {
    /// Which account of the CRM posts arrive from (contact ids are unique only within one).
    pub account: String,
    /// The name of the field that carries the member's password, if the site uses one: a form
    /// key for Keap posts (`Password`, `_MemberPassword`), the name inside `contact[fields][…]`
    /// for ActiveCampaign, a top-level key for generic JSON (which also always reads
    /// `password`).
    pub password_field: Option<String>,
    /// Bodies larger than this are refused with `body_too_large` (413).
    pub max_body_bytes: usize,
}

pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            account: "default".to_owned(),
            password_field: None,
            max_body_bytes: DEFAULT_MAX_BODY,
        }
    }
}

/// What a post asks of memberwire.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inbound {
    /// Contacts to register, one event each, in body order.
    Events { events: Vec<InboundEvent> },
    /// Keap's REST hook verification: answer 200 echoing `X-Hook-Secret`.
    HookVerification {
        #[serde(skip)]
        secret: String,
    },
    /// A well-formed delivery that names nothing memberwire acts on.
    Ignored { reason: String },
}

/// One contact to register, as far as the post describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundEvent {
    pub source: Source,
    /// The CRM's name for what happened (`contact.add`, `subscribe`, `http_post`, ...).
    pub event_type: String,
    pub contact: Contact,
}

/// Request metadata the parsers look at besides the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostMeta<'a> {
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The `X-Hook-Secret` header, if any (Keap REST hook verification).
    pub hook_secret: Option<&'a str>,
}

/// Parses one post that arrived for `source`.
pub fn parse_post(
    source: Source,
    meta: PostMeta<'_>,
    body: &[u8],
    options: &ParseOptions,
) -> Result<Inbound, Error> {
    if body.len() > options.max_body_bytes {
        return Err(Error::new(
            ErrorCode::BodyTooLarge,
            format!(
                "the body is {} bytes; the limit is {} bytes",
                body.len(),
                options.max_body_bytes
            ),
        ));
    }
    if source == Source::KeapRest {
        if let Some(secret) = meta.hook_secret {
            return keap_rest::verification(secret);
        }
    }
    check_content_type(source, meta.content_type)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::new(
            ErrorCode::MalformedBody,
            format!(
                "the body is empty: {} expects an {} body",
                source.route(),
                source.media_type().name()
            ),
        ));
    }
    match source {
        Source::KeapPost => keap_post::parse(body, options),
        Source::KeapRest => keap_rest::parse(body, options),
        Source::ActiveCampaign => activecampaign::parse(body, options),
        Source::Json => json::parse(body, options),
    }
}

/// Accepts the route's media type with any parameters (`; charset=UTF-8`), and a missing
/// header (some senders omit it); anything else is `unsupported_content_type`.
fn check_content_type(source: Source, content_type: Option<&str>) -> Result<(), Error> {
    let Some(ct) = content_type else {
        return Ok(());
    };
    let essence = ct.split(';').next().unwrap_or("").trim();
    if essence.is_empty() || essence.eq_ignore_ascii_case(source.media_type().name()) {
        return Ok(());
    }
    // Generic JSON senders sometimes label JSON as text/plain or application/*+json.
    if source.media_type() == MediaType::Json
        && (essence.eq_ignore_ascii_case("text/plain")
            || essence.to_ascii_lowercase().ends_with("+json"))
    {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::UnsupportedContentType,
        format!(
            "{} accepts {} bodies, not `{}`",
            source.route(),
            source.media_type().name(),
            printable(essence, 100)
        ),
    ))
}

/// A header value made safe to quote in a message: printable ASCII, cut to `max` chars.
fn printable(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Parses a JSON body, mapping serde's errors to `malformed_body` with position.
fn json_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_data() {
            format!("the JSON does not have the expected shape: {e}")
        } else {
            format!("the body is not valid JSON: {e}")
        };
        Error::new(ErrorCode::MalformedBody, what)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_round_trip() {
        for s in Source::ALL {
            assert_eq!(Source::from_route(s.route()), Some(s));
            assert_eq!(Source::from_name(s.as_str()), Some(s));
        }
        assert_eq!(Source::from_route("/hooks/keap/"), Some(Source::KeapPost));
        assert_eq!(Source::from_route("/hooks/nope"), None);
    }

    #[test]
    fn content_types() {
        let form = Some("application/x-www-form-urlencoded; charset=UTF-8");
        assert!(check_content_type(Source::KeapPost, form).is_ok());
        assert!(check_content_type(Source::KeapPost, None).is_ok());
        let e = check_content_type(Source::KeapPost, Some("application/json")).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedContentType);
        assert_eq!(e.code.http_status(), 415);
        assert!(check_content_type(Source::Json, Some("Application/JSON")).is_ok());
        assert!(check_content_type(Source::Json, Some("application/vnd.api+json")).is_ok());
        assert!(check_content_type(Source::Json, Some("multipart/form-data; boundary=x")).is_err());
    }
}
