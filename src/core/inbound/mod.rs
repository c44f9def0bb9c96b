//! Inbound CRM posts: route → source, body-size and content-type checks, and one parser per
//! format. Every parser turns a body into [`Inbound`]: events to process (one per contact), a
//! Keap REST hook verification request, or a delivery that carries nothing for memberwire.

mod activecampaign;
mod json;
mod keap_post;
mod keap_rest;
pub mod mailchimp;
pub mod mapping;
mod presets;

use super::json::{Json, ObjectWriter, ToJson};

use super::contact::{Contact, CrmKind};
use super::error::{Error, ErrorCode};

/// Where a post came from, chosen by the route it arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Keap "Send an HTTP post" (legacy action sets and campaign-builder HTTP post objects).
    KeapPost,
    /// Keap REST hook deliveries (JSON, ids only).
    KeapRest,
    /// ActiveCampaign webhooks (form fields).
    ActiveCampaign,
    /// Kit webhooks (JSON, `subscriber`).
    Kit,
    /// Drip webhooks (JSON, `data.subscriber`).
    Drip,
    /// MailerLite webhooks (JSON, one event or a batch of `events`).
    MailerLite,
    /// HighLevel workflow webhooks (JSON, `contact_id`).
    HighLevel,
    /// HubSpot workflow webhooks (one contact) and app webhooks (an array of events).
    HubSpot,
    /// Mailchimp webhooks (form fields, `data[email]`).
    Mailchimp,
    /// memberwire's generic JSON body, for every other source.
    Json,
    /// A source an owner defined by mapping its JSON (`/hooks/mapped/NAME`, the mapping in
    /// [`ParseOptions::mapped`]).
    Mapped,
}

impl Source {
    /// The sources with a route of their own (mapped sources have one each, under
    /// [`Source::MAPPED_PREFIX`]).
    pub const ALL: [Source; 10] = [
        Source::KeapPost,
        Source::KeapRest,
        Source::ActiveCampaign,
        Source::Kit,
        Source::Drip,
        Source::MailerLite,
        Source::HighLevel,
        Source::HubSpot,
        Source::Mailchimp,
        Source::Json,
    ];

    /// Where mapped sources are posted: the prefix, then the source's name.
    pub const MAPPED_PREFIX: &'static str = "/hooks/mapped/";

    pub const fn as_str(self) -> &'static str {
        match self {
            Source::KeapPost => "keap_post",
            Source::KeapRest => "keap_rest",
            Source::ActiveCampaign => "activecampaign",
            Source::Kit => "kit",
            Source::Drip => "drip",
            Source::MailerLite => "mailerlite",
            Source::HighLevel => "highlevel",
            Source::HubSpot => "hubspot",
            Source::Mailchimp => "mailchimp",
            Source::Json => "json",
            Source::Mapped => "mapped",
        }
    }

    /// The path this source is posted to.
    pub const fn route(self) -> &'static str {
        match self {
            Source::KeapPost => "/hooks/keap",
            Source::KeapRest => "/hooks/keap-rest",
            Source::ActiveCampaign => "/hooks/activecampaign",
            Source::Kit => "/hooks/kit",
            Source::Drip => "/hooks/drip",
            Source::MailerLite => "/hooks/mailerlite",
            Source::HighLevel => "/hooks/highlevel",
            Source::HubSpot => "/hooks/hubspot",
            Source::Mailchimp => "/hooks/mailchimp",
            Source::Json => "/hooks/json",
            Source::Mapped => "/hooks/mapped",
        }
    }

    pub fn from_route(path: &str) -> Option<Source> {
        let path = path.strip_suffix('/').unwrap_or(path);
        if Source::mapped_name(path).is_some() {
            return Some(Source::Mapped);
        }
        Source::ALL.into_iter().find(|s| s.route() == path)
    }

    /// The mapped source's name in a route `/hooks/mapped/NAME`.
    pub fn mapped_name(path: &str) -> Option<&str> {
        let path = path.strip_suffix('/').unwrap_or(path);
        path.strip_prefix(Source::MAPPED_PREFIX)
            .filter(|n| !n.is_empty() && !n.contains('/'))
    }

    pub fn from_name(name: &str) -> Option<Source> {
        if name == "mapped" {
            return Some(Source::Mapped);
        }
        Source::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub const fn crm(self) -> CrmKind {
        match self {
            Source::KeapPost | Source::KeapRest => CrmKind::Keap,
            Source::ActiveCampaign => CrmKind::ActiveCampaign,
            Source::Kit => CrmKind::Kit,
            Source::Drip => CrmKind::Drip,
            Source::MailerLite => CrmKind::MailerLite,
            Source::HighLevel => CrmKind::HighLevel,
            Source::HubSpot => CrmKind::HubSpot,
            Source::Mailchimp => CrmKind::Mailchimp,
            Source::Json | Source::Mapped => CrmKind::Generic,
        }
    }

    /// The source a registration started without a post (the admin page, a bulk run) is
    /// recorded under: the CRM's own webhook.
    pub const fn of_crm(crm: CrmKind) -> Source {
        match crm {
            CrmKind::Keap => Source::KeapPost,
            CrmKind::ActiveCampaign => Source::ActiveCampaign,
            CrmKind::Kit => Source::Kit,
            CrmKind::Drip => Source::Drip,
            CrmKind::MailerLite => Source::MailerLite,
            CrmKind::HighLevel => Source::HighLevel,
            CrmKind::HubSpot => Source::HubSpot,
            CrmKind::Mailchimp => Source::Mailchimp,
            CrmKind::Generic => Source::Json,
        }
    }

    const fn media_type(self) -> MediaType {
        match self {
            Source::KeapPost | Source::ActiveCampaign | Source::Mailchimp => MediaType::Form,
            Source::KeapRest
            | Source::Kit
            | Source::Drip
            | Source::MailerLite
            | Source::HighLevel
            | Source::HubSpot
            | Source::Json
            | Source::Mapped => MediaType::Json,
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

crate::json_enum!(Source by as_str, from_name);

/// What the parsers need from the site's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The other fields a post may carry that memberwire keeps with its event (by their name
    /// there): an allow-list, empty by default. Everything else is read, checked against the
    /// limits and dropped, so a password under a name nobody thought of (`Passwort`, `pwd`,
    /// `_MemberPwd`) is never stored.
    pub keep_fields: Vec<String>,
    /// The source a post to `/hooks/mapped/NAME` is read with (set by the host per post).
    pub mapped: Option<mapping::MappedSource>,
}

pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            account: "default".to_owned(),
            password_field: None,
            max_body_bytes: DEFAULT_MAX_BODY,
            keep_fields: Vec::new(),
            mapped: None,
        }
    }
}

/// What a post asks of memberwire.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Contacts to register, one event each, in body order.
    Events { events: Vec<InboundEvent> },
    /// Keap's REST hook verification: answer 200 echoing `X-Hook-Secret`.
    HookVerification { secret: String },
    /// A well-formed delivery that names nothing memberwire acts on.
    Ignored { reason: String },
}

/// One contact to register, as far as the post describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEvent {
    pub source: Source,
    /// The CRM's name for what happened (`contact.add`, `subscribe`, `http_post`, ...).
    pub event_type: String,
    pub contact: Contact,
}

crate::json_struct!(
    #[defaults]
    ParseOptions {
        account: "account",
        password_field: "passwordField",
        max_body_bytes: "maxBodyBytes",
        keep_fields: "keepFields",
        mapped: "mapped",
    }
);

impl ToJson for Inbound {
    fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        match self {
            Inbound::Events { events } => {
                o.field("kind", "events");
                o.field("events", events);
            }
            Inbound::HookVerification { .. } => o.field("kind", "hook_verification"),
            Inbound::Ignored { reason } => {
                o.field("kind", "ignored");
                o.field("reason", reason);
            }
        }
        o.end();
    }
}

crate::json_struct!(InboundEvent {
    source: "source"[required],
    event_type: "eventType"[required],
    contact: "contact"[required],
});

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
    let transcoded;
    let body = match declared_charset(meta.content_type) {
        None => body,
        Some(cs) if is_utf8(&cs) => body,
        Some(cs) if is_latin1(&cs) && source.media_type() == MediaType::Form => {
            transcoded = latin1_form_to_utf8(body);
            transcoded.as_bytes()
        }
        Some(cs) => {
            return Err(Error::new(
                ErrorCode::UnsupportedContentType,
                format!(
                    "the charset `{}` is not supported: send UTF-8{}",
                    printable(&cs, 40),
                    if source.media_type() == MediaType::Form {
                        " (or ISO-8859-1)"
                    } else {
                        ""
                    }
                ),
            ))
        }
    };
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
    let mut inbound = match source {
        Source::KeapPost => keap_post::parse(body, options),
        Source::KeapRest => keap_rest::parse(body, options),
        Source::ActiveCampaign => activecampaign::parse(body, options),
        Source::Mailchimp => mailchimp::parse(body, options),
        Source::Kit | Source::Drip | Source::MailerLite | Source::HighLevel | Source::HubSpot => {
            presets::parse(source, body, options)
        }
        Source::Json => json::parse(body, options),
        Source::Mapped => {
            let m = options.mapped.as_ref().ok_or_else(|| {
                Error::new(ErrorCode::UnknownSource, "no mapped source by that name")
            })?;
            // The mapping names its own password path, if the sender carries one. A source
            // without a CRM has ids of its own: they are keyed by the source, so two senders'
            // contact "1" are two contacts.
            let account = match m.crm {
                Some(_) => options.account.clone(),
                None => format!("mapped-{}", m.name),
            };
            m.mapping
                .read(
                    &json_body(body)?,
                    source,
                    m.crm_kind(),
                    &account,
                    &m.name,
                    None,
                )
                .map(|events| Inbound::Events { events })
        }
    }?;
    // Only the fields the site asked for are kept (an allow-list, not a list of bad names).
    if let Inbound::Events { events } = &mut inbound {
        for e in events {
            e.contact
                .fields
                .retain(|name, _| options.keep_fields.iter().any(|k| k == name));
        }
    }
    Ok(inbound)
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

/// The `charset` parameter of a Content-Type, lower-cased and unquoted.
fn declared_charset(content_type: Option<&str>) -> Option<String> {
    content_type?.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    })
}

fn is_utf8(cs: &str) -> bool {
    matches!(cs, "utf-8" | "utf8" | "us-ascii" | "ascii")
}

/// ISO-8859-1 and its usual names (windows-1252 is read as ISO-8859-1: they differ only in
/// 0x80-0x9F, which names never hold).
fn is_latin1(cs: &str) -> bool {
    matches!(
        cs,
        "iso-8859-1"
            | "iso8859-1"
            | "iso_8859-1"
            | "latin1"
            | "latin-1"
            | "l1"
            | "windows-1252"
            | "cp1252"
    )
}

/// A form whose percent-decoded bytes are ISO-8859-1, re-encoded as the UTF-8 form it means.
fn latin1_form_to_utf8(body: &[u8]) -> String {
    fn decode(part: &[u8]) -> String {
        let mut out = String::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            let b = part[i];
            let hex = |c: u8| (c as char).to_digit(16);
            if b == b'%' && i + 2 < part.len() {
                if let (Some(h), Some(l)) = (hex(part[i + 1]), hex(part[i + 2])) {
                    out.push(char::from((h * 16 + l) as u8));
                    i += 3;
                    continue;
                }
            }
            out.push(if b == b'+' { ' ' } else { char::from(b) });
            i += 1;
        }
        out
    }
    fn encode(text: &str, out: &mut String) {
        for b in text.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'*' => {
                    out.push(char::from(b))
                }
                b' ' => out.push('+'),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789ABCDEF";
                    out.push('%');
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 15)]));
                }
            }
        }
    }
    let mut out = String::with_capacity(body.len() + body.len() / 4);
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        if !out.is_empty() {
            out.push('&');
        }
        encode(&decode(k), &mut out);
        out.push('=');
        encode(&decode(v), &mut out);
    }
    out
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

/// Parses a JSON body; a syntax error is `malformed_body`, with where the parser stopped.
pub(crate) fn json_body(body: &[u8]) -> Result<Json<'_>, Error> {
    let text = std::str::from_utf8(body).map_err(|e| {
        Error::new(
            ErrorCode::MalformedBody,
            format!(
                "the body is not valid JSON: it is not UTF-8 at byte {}",
                e.valid_up_to()
            ),
        )
    })?;
    super::json::parse(text).map_err(|e| {
        Error::new(
            ErrorCode::MalformedBody,
            format!("the body is not valid JSON: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_forms_are_read_as_what_they_mean() {
        let utf8 = latin1_form_to_utf8(b"FirstName=J%FCrgen&LastName=M\xfcller+Sohn&x=%zz");
        let form = super::super::form::Form::parse(utf8.as_bytes());
        assert_eq!(form.get("FirstName"), Some("J\u{fc}rgen"));
        assert_eq!(form.get("LastName"), Some("M\u{fc}ller Sohn"));
        assert_eq!(form.get("x"), Some("%zz"));
        assert_eq!(
            declared_charset(Some(
                "application/x-www-form-urlencoded; Charset=\"ISO-8859-1\""
            ))
            .as_deref(),
            Some("iso-8859-1")
        );
    }

    #[test]
    fn kept_fields_that_are_not_strings_are_kept_as_compact_json() {
        let options = ParseOptions {
            keep_fields: vec!["plan".into(), "extra".into()],
            ..ParseOptions::default()
        };
        let body = br#"{"contact_id": "1", "plan": [1, 2], "extra": {"a": "\u00e9", "b": null}}"#;
        let Inbound::Events { events } = parse_post(
            Source::Json,
            PostMeta {
                content_type: Some("application/json"),
                hook_secret: None,
            },
            body,
            &options,
        )
        .unwrap() else {
            panic!("events");
        };
        let fields = &events[0].contact.fields;
        assert_eq!(fields["plan"], "[1,2]");
        assert_eq!(fields["extra"], "{\"a\":\"\u{e9}\",\"b\":null}");
    }

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
