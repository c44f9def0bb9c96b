//! The contact model: what memberwire knows of one CRM contact after reading a post (and,
//! later, after loading it through the CRM's API).

use std::collections::BTreeMap;
use std::fmt;

use super::email::Email;
use super::error::{Error, ErrorCode};
use super::json::{DecodeError, FromJson, Json, ToJson};

/// Longest contact id accepted. Keap and ActiveCampaign ids are integers, but they are kept as
/// strings of any length (a 20-digit id must not lose its last digits to a float).
pub const MAX_CONTACT_ID: usize = 64;
/// Longest first or last name, tag name or field name.
pub const MAX_NAME: usize = 255;
/// Longest value of one remaining field.
pub const MAX_FIELD_VALUE: usize = 16 * 1024;
/// Longest password accepted from a CRM field.
pub const MAX_PASSWORD: usize = 1024;
/// Most tags on one contact.
pub const MAX_TAGS: usize = 2000;
/// Most remaining fields kept from one post.
pub const MAX_FIELDS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CrmKind {
    Keap,
    ActiveCampaign,
    /// Kit, formerly ConvertKit (API v4).
    Kit,
    /// Drip (API v2).
    Drip,
    /// MailerLite (the API at connect.mailerlite.com; groups are its tags).
    MailerLite,
    /// HighLevel (LeadConnector API v2).
    HighLevel,
    /// HubSpot (CRM API v3; static lists are its tags).
    HubSpot,
    /// Mailchimp (Marketing API 3.0, one audience).
    Mailchimp,
    /// Any other source posting memberwire's generic JSON (Zapier, Make, other CRMs).
    Generic,
}

impl CrmKind {
    pub const ALL: [CrmKind; 9] = [
        CrmKind::Keap,
        CrmKind::ActiveCampaign,
        CrmKind::Kit,
        CrmKind::Drip,
        CrmKind::MailerLite,
        CrmKind::HighLevel,
        CrmKind::HubSpot,
        CrmKind::Mailchimp,
        CrmKind::Generic,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            CrmKind::Keap => "keap",
            CrmKind::ActiveCampaign => "activecampaign",
            CrmKind::Kit => "kit",
            CrmKind::Drip => "drip",
            CrmKind::MailerLite => "mailerlite",
            CrmKind::HighLevel => "highlevel",
            CrmKind::HubSpot => "hubspot",
            CrmKind::Mailchimp => "mailchimp",
            CrmKind::Generic => "generic",
        }
    }

    pub fn from_name(name: &str) -> Option<CrmKind> {
        CrmKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The sustained request rate the CRM's documented limit allows, per second (0: none).
    /// Keap: 10/s per token; ActiveCampaign: 5/s per account; Kit: 120 per rolling minute per
    /// API key; Drip: 3,600 per hour per account; MailerLite: 120 per minute; HighLevel: 100
    /// per 10 s per location (burst) and 200,000 a day; HubSpot: 100 per 10 s for a private
    /// app (190 on Professional and Enterprise); Mailchimp: 10 connections at once, no rate (10/s
    /// keeps well within it). Hosts run 10% under it.
    pub const fn requests_per_second(self) -> f64 {
        match self {
            CrmKind::Keap => 10.0,
            CrmKind::ActiveCampaign => 5.0,
            CrmKind::Kit => 2.0,
            CrmKind::Drip => 1.0,
            CrmKind::MailerLite => 2.0,
            CrmKind::HighLevel => 10.0,
            CrmKind::HubSpot => 10.0,
            CrmKind::Mailchimp => 10.0,
            CrmKind::Generic => 0.0,
        }
    }

    /// Whether the CRM's contact ids are digits only (Keap, ActiveCampaign, Kit, MailerLite and
    /// HubSpot number them; Drip and HighLevel use letters and digits, Mailchimp a hash; a generic source may send
    /// anything).
    pub const fn numeric_ids(self) -> bool {
        matches!(
            self,
            CrmKind::Keap
                | CrmKind::ActiveCampaign
                | CrmKind::Kit
                | CrmKind::MailerLite
                | CrmKind::HubSpot
        )
    }
}

/// A CRM contact id, kept exactly as the CRM wrote it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContactId(String);

impl ContactId {
    /// Validates `raw` (trimmed). `numeric` asks for digits only, as Keap and ActiveCampaign
    /// ids are. `field` names the input field in the error.
    pub fn parse(raw: &str, field: &str, numeric: bool) -> Result<ContactId, Error> {
        Self::check(raw, field, numeric).map(|id| ContactId(id.to_owned()))
    }

    /// Validates `raw` as [`ContactId::parse`] does, returning the trimmed id without copying it.
    pub fn check<'a>(raw: &'a str, field: &str, numeric: bool) -> Result<&'a str, Error> {
        let id = raw.trim();
        let bad = |why: &str| {
            Error::new(
                ErrorCode::InvalidContactId,
                format!("field `{field}` is not a usable contact id: {why}"),
            )
        };
        if id.is_empty() {
            return Err(Error::new(
                ErrorCode::MissingContactId,
                format!("field `{field}` is empty: a contact id is required"),
            ));
        }
        if id.starts_with('~') && id.ends_with('~') {
            return Err(bad("it is an unmerged merge field (check the HTTP post's name/value pairs, e.g. contactId=~Contact.Id~)"));
        }
        if id.len() > MAX_CONTACT_ID {
            return Err(bad("it is longer than 64 characters"));
        }
        if numeric {
            if !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("it must be a whole number"));
            }
        } else if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        {
            return Err(bad("only letters, digits and - _ . : are allowed"));
        }
        Ok(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag as a CRM names it: by id (Keap groups, ActiveCampaign v3), by name (ActiveCampaign
/// webhooks), or both once resolved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    pub id: Option<String>,
    pub name: Option<String>,
}

impl Tag {
    pub fn id(id: impl Into<String>) -> Tag {
        Tag {
            id: Some(id.into()),
            name: None,
        }
    }
    pub fn name(name: impl Into<String>) -> Tag {
        Tag {
            id: None,
            name: Some(name.into()),
        }
    }
}

/// A secret value (a password from a CRM field). Its `Debug` and `Display` never show it, it
/// never serializes (persisted state must not hold it), and it is compared in constant time.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The value itself, for the few places that must hash or send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// One CRM contact as memberwire sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub crm: CrmKind,
    /// Which account of that CRM (a Keap app, an ActiveCampaign account): contact ids are
    /// only unique within one.
    pub account: String,
    pub contact_id: ContactId,
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `None`: the source said nothing about tags (load them); `Some(empty)`: it has none.
    pub tags: Option<Vec<Tag>>,
    /// The value of the configured password field. Serialized only as `hasPassword: true`, and
    /// never read back: persisted state holds no password.
    pub password: Option<Secret>,
    /// The other fields the source sent that the site keeps (`ParseOptions::keep_fields`, an
    /// allow-list), by their name there. Fields whose name says they hold a password are never
    /// kept, even when listed.
    pub fields: BTreeMap<String, String>,
    /// The id the CRM knew this contact by before an email change that re-keyed it (Mailchimp
    /// names a member by the hash of its email): the member linked to it is moved onto
    /// `contact_id` rather than a second member made.
    pub previous_id: Option<ContactId>,
}

crate::json_enum!(CrmKind by as_str, from_name);

impl FromJson for ContactId {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        String::from_json(v).map(ContactId)
    }
}

impl ToJson for ContactId {
    fn write_json(&self, out: &mut String) {
        self.0.write_json(out);
    }
}

crate::json_struct!(Tag {
    id: "id"[some],
    name: "name"[some],
});

crate::json_struct!(Contact {
    crm: "crm"[required],
    account: "account"[required],
    contact_id: "contactId"[required],
    email: "email"[some],
    first_name: "firstName"[some],
    last_name: "lastName"[some],
    tags: "tags"[some],
    password: "hasPassword"[presence],
    fields: "fields"[nonempty],
    previous_id: "previousId"[some],
});

impl Contact {
    pub fn new(crm: CrmKind, account: &str, contact_id: ContactId) -> Contact {
        Contact {
            crm,
            account: account.to_owned(),
            contact_id,
            email: None,
            first_name: None,
            last_name: None,
            tags: None,
            password: None,
            fields: BTreeMap::new(),
            previous_id: None,
        }
    }

    /// The key under which the directory indexes this contact: ids are namespaced by CRM and
    /// account, so Keap contact 7 and ActiveCampaign contact 7 are different people.
    pub fn key(&self) -> String {
        key_of(self.crm, &self.account, self.contact_id.as_str())
    }

    /// The key of [`Contact::previous_id`], when the contact was re-keyed.
    pub fn previous_key(&self) -> Option<String> {
        self.previous_id
            .as_ref()
            .map(|p| key_of(self.crm, &self.account, p.as_str()))
    }
}

/// `crm:account:id`, built without the formatting machinery (it runs once per row of a bulk
/// plan).
pub fn key_of(crm: CrmKind, account: &str, id: &str) -> String {
    let mut k = String::new();
    key_into(&mut k, crm, account, id);
    k
}

/// [`key_of`] into a reused buffer.
pub fn key_into(k: &mut String, crm: CrmKind, account: &str, id: &str) {
    k.clear();
    k.push_str(crm.as_str());
    k.push(':');
    k.push_str(account);
    k.push(':');
    k.push_str(id);
}

/// Whether a field name says it holds a password (such fields are never kept in `fields`).
pub fn is_password_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("password") || n.contains("passwd") || n.contains("passcode")
}

/// A trimmed optional name; empty means absent; over [`MAX_NAME`] characters is an error.
pub fn name_field(value: Option<&str>, field: &str) -> Result<Option<String>, Error> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    check_len(v, MAX_NAME, field)?;
    // NUL, CR, LF and other controls end up in emails and screens; U+FFFD is what bytes that
    // were not UTF-8 became (a charset the post did not declare): neither is a name.
    if v.chars().any(|c| c.is_control()) {
        return Err(Error::new(
            ErrorCode::InvalidField,
            format!("field `{field}` contains control characters"),
        ));
    }
    if v.contains('\u{FFFD}') {
        return Err(Error::new(
            ErrorCode::InvalidField,
            format!("field `{field}` is not valid UTF-8: send UTF-8, or declare the charset (ISO-8859-1 is read too)"),
        ));
    }
    Ok(Some(v.to_owned()))
}

pub fn check_len(value: &str, max_chars: usize, field: &str) -> Result<(), Error> {
    // Byte length bounds char count from above: only count chars when it could matter.
    if value.len() > max_chars && value.chars().count() > max_chars {
        return Err(Error::new(
            ErrorCode::FieldTooLarge,
            format!("field `{field}` is longer than {max_chars} characters"),
        ));
    }
    Ok(())
}

/// A comma list of tags (`Groups`, `contact[tags]`), each made by `make`, deduplicated in order,
/// with at most [`MAX_TAGS`] of them.
pub fn tag_list(
    list: &str,
    field: &str,
    make: impl Fn(&str) -> Result<Tag, Error>,
) -> Result<Vec<Tag>, Error> {
    let mut seen = super::hashing::KeyedSet::default();
    let mut tags = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let tag = make(part)?;
        if seen.insert(part) {
            tags.push(tag);
        }
        if tags.len() > MAX_TAGS {
            return Err(Error::new(
                ErrorCode::FieldTooLarge,
                format!("field `{field}` has more than {MAX_TAGS} tags"),
            ));
        }
    }
    Ok(tags)
}

/// Reads the configured password field's value, if any.
pub fn password_field(value: Option<&str>, field: &str) -> Result<Option<Secret>, Error> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    check_len(v, MAX_PASSWORD, field)?;
    Ok(Some(Secret::new(v)))
}

/// Adds one remaining field, enforcing the limits and dropping password-like names.
pub fn keep_field(
    fields: &mut BTreeMap<String, String>,
    name: &str,
    value: &str,
) -> Result<(), Error> {
    // Password-like names are never kept; names with control characters or invalid UTF-8
    // are junk no CRM sends on purpose, and are dropped rather than failing the post.
    if is_password_like(name) || name.chars().any(|c| c.is_control() || c == '\u{FFFD}') {
        return Ok(());
    }
    check_len(name, MAX_NAME, "field name")?;
    check_len(value, MAX_FIELD_VALUE, name)?;
    if fields.len() >= MAX_FIELDS && !fields.contains_key(name) {
        return Err(Error::new(
            ErrorCode::FieldTooLarge,
            format!("the post has more than {MAX_FIELDS} fields"),
        ));
    }
    fields
        .entry(name.to_owned())
        .or_insert_with(|| value.to_owned());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_ids_keep_every_digit() {
        let id = ContactId::parse(" 98765432109876543210 ", "Id", true).unwrap();
        assert_eq!(id.as_str(), "98765432109876543210");
    }

    #[test]
    fn contact_id_errors() {
        let e = ContactId::parse("", "contactId", true).unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingContactId);
        let e = ContactId::parse("~Contact.Id~", "contactId", true).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidContactId);
        assert!(e.message.contains("merge field"));
        assert!(ContactId::parse("12a", "Id", true).is_err());
        assert!(ContactId::parse("cus_12-a.b:c", "contact_id", false).is_ok());
        assert!(ContactId::parse("a b", "contact_id", false).is_err());
        assert!(ContactId::parse(&"1".repeat(65), "Id", true).is_err());
    }

    #[test]
    fn secrets_never_print_or_serialize() {
        let mut c = Contact::new(
            CrmKind::Keap,
            "default",
            ContactId::parse("1", "Id", true).unwrap(),
        );
        c.password = Some(Secret::new("hunter2hunter2"));
        assert!(!format!("{c:?}").contains("hunter2"));
        let json = crate::core::json::to_string(&c);
        assert!(!json.contains("hunter2"));
        assert!(json.contains(r#""hasPassword":true"#));
        let back: Contact = crate::core::json::from_str(&json).unwrap();
        assert!(back.password.is_none());
    }

    #[test]
    fn password_like_fields_are_dropped() {
        let mut f = BTreeMap::new();
        keep_field(&mut f, "_MemberPassword", "x").unwrap();
        keep_field(&mut f, "Phone1", "555").unwrap();
        assert_eq!(f.len(), 1);
    }
}
