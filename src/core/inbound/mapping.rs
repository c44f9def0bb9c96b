//! Reading a contact out of any JSON webhook by paths: `data.subscriber.id`, `contact.tags`,
//! `events.0.subscriber.email`. The CRMs without a parser of their own are read through a
//! [`JsonMapping`] (see `presets.rs`), and so is a source an owner defines for any other sender.
//!
//! A path is keys separated by dots; a segment of digits indexes an array. Every object on a
//! path must have unique keys (a key sent twice is ambiguous, as in the generic JSON parser), and
//! numbers are read exactly as written (a 20-digit id stays exact).

use super::super::contact::{self, keep_field, name_field, password_field, Contact, CrmKind};
use super::super::email::Email;
use super::super::error::{Error, ErrorCode};
use super::super::json::Json;
use super::json::{json_id, opt_string, tags, unique_object};
use super::{InboundEvent, Source};

/// Most segments in one path.
pub const MAX_PATH_SEGMENTS: usize = 12;
/// Most characters in one path.
pub const MAX_PATH: usize = 200;
/// Most contacts in one delivery read through `each`.
pub const MAX_EACH: usize = 1000;
/// Most characters in a mapped source's name.
pub const MAX_SOURCE_NAME: usize = 40;

/// A source an owner defines for a sender memberwire has no parser for: its name (posts go to
/// `/hooks/mapped/NAME`), the CRM whose contact ids it sends (none: ids of its own, and the
/// member is made from what the post carries), and where its JSON carries the contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedSource {
    pub name: String,
    pub crm: Option<CrmKind>,
    pub mapping: JsonMapping,
}

crate::json_struct!(
    #[deny_unknown_fields]
    MappedSource {
        name: "name"[required],
        crm: "crm"[some],
        mapping: "mapping"[required],
    }
);

impl MappedSource {
    /// Checks the name (lower-case letters, digits and dashes) and every path.
    pub fn validate(&self) -> Result<(), Error> {
        let n = &self.name;
        if n.is_empty()
            || n.len() > MAX_SOURCE_NAME
            || !n
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || n.starts_with('-')
        {
            return Err(Error::new(
                ErrorCode::InvalidField,
                format!("field `name`: a source's name is 1 to {MAX_SOURCE_NAME} lower-case letters, digits and dashes (it names the route /hooks/mapped/NAME)"),
            ));
        }
        if self.crm == Some(CrmKind::Generic) {
            return Err(Error::new(
                ErrorCode::InvalidField,
                "field `crm`: name a CRM, or leave it out for ids of the sender's own",
            ));
        }
        // Mailchimp's ids are the MD5 of the email, which no mapping reads.
        if self.crm == Some(CrmKind::Mailchimp) {
            return Err(Error::new(
                ErrorCode::InvalidField,
                "field `crm`: Mailchimp names members by the hash of their email; post Mailchimp's webhook to /hooks/mailchimp",
            ));
        }
        self.mapping.validate()
    }

    /// The crm whose contact ids the source sends (`generic` when none).
    pub fn crm_kind(&self) -> CrmKind {
        self.crm.unwrap_or(CrmKind::Generic)
    }
}

/// Where a webhook's JSON carries each part of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonMapping {
    /// The path of an array whose elements are one contact each (a batched delivery); the other
    /// paths are then read inside each element. Unset: the body is one contact.
    pub each: Option<String>,
    /// The contact id (a string or a whole number). Required.
    pub contact_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Tags: an array of names, ids or `{id, name}` objects, or one comma-separated string.
    pub tags: Option<String>,
    /// A password the CRM record carries (password mode `crm`).
    pub password: Option<String>,
    /// What happened (`subscriber.applied_tag`); unset: the source's own name.
    pub event_type: Option<String>,
    /// An object of custom fields (`{"name": "value"}`): the ones the site keeps (its allow-list)
    /// are kept with the event.
    pub fields: Option<String>,
}

crate::json_struct!(
    #[deny_unknown_fields]
    JsonMapping {
        each: "each"[some],
        contact_id: "contactId"[required],
        email: "email"[some],
        first_name: "firstName"[some],
        last_name: "lastName"[some],
        tags: "tags"[some],
        password: "password"[some],
        event_type: "eventType"[some],
        fields: "fields"[some],
    }
);

impl JsonMapping {
    /// Checks every path; the error names the setting and what is wrong with it.
    pub fn validate(&self) -> Result<(), Error> {
        check_path("contactId", &self.contact_id)?;
        for (name, path) in [
            ("each", &self.each),
            ("email", &self.email),
            ("firstName", &self.first_name),
            ("lastName", &self.last_name),
            ("tags", &self.tags),
            ("password", &self.password),
            ("eventType", &self.event_type),
            ("fields", &self.fields),
        ] {
            if let Some(p) = path {
                check_path(name, p)?;
            }
        }
        Ok(())
    }

    /// Reads the contacts of one body's JSON. `crm` and `numeric_ids` say what the ids are;
    /// `event_type` is the default event name.
    pub fn read(
        &self,
        root: &Json<'_>,
        source: Source,
        crm: CrmKind,
        account: &str,
        event_type: &str,
        password_path: Option<&str>,
    ) -> Result<Vec<InboundEvent>, Error> {
        let items: &[Json<'_>] = match &self.each {
            None => {
                if root.as_object().is_none() {
                    return Err(Error::new(
                        ErrorCode::MalformedBody,
                        "the body must be a JSON object",
                    ));
                }
                std::slice::from_ref(root)
            }
            Some(path) => {
                let (_, list) = at_any(root, path)?.ok_or_else(|| {
                    Error::new(
                        ErrorCode::MalformedBody,
                        format!("the body has no list of contacts at `{path}`"),
                    )
                })?;
                let items = list.as_array().ok_or_else(|| {
                    Error::new(
                        ErrorCode::MalformedBody,
                        format!("`{path}` must be an array of contacts"),
                    )
                })?;
                if items.len() > MAX_EACH {
                    return Err(Error::new(
                        ErrorCode::TooManyObjects,
                        format!(
                            "`{path}` has {} entries; at most {MAX_EACH} are read from one delivery",
                            items.len()
                        ),
                    ));
                }
                items
            }
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let named = |p: &str| match &self.each {
                    Some(each) => p
                        .split('|')
                        .map(|alt| format!("{each}.{i}.{alt}"))
                        .collect::<Vec<_>>()
                        .join("|"),
                    None => p.to_owned(),
                };
                self.read_one(
                    item,
                    source,
                    crm,
                    account,
                    event_type,
                    password_path,
                    &named,
                )
            })
            .collect()
    }

    /// Reads one contact from `item`; `named` gives a path as errors name it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn read_one(
        &self,
        item: &Json<'_>,
        source: Source,
        crm: CrmKind,
        account: &str,
        event_type: &str,
        password_path: Option<&str>,
        named: &dyn Fn(&str) -> String,
    ) -> Result<InboundEvent, Error> {
        let (id_at, raw_id) = at_any(item, &self.contact_id)?.ok_or_else(|| {
            Error::new(
                ErrorCode::MissingContactId,
                format!("no contact id at `{}`", named(&self.contact_id)),
            )
        })?;
        let id = json_id(raw_id, &named(id_at), crm.numeric_ids())?;
        let mut contact = Contact::new(crm, account, id);
        let text = |path: &Option<String>| -> Result<Option<(String, String)>, Error> {
            let Some(p) = path else { return Ok(None) };
            match at_any(item, p)? {
                None => Ok(None),
                Some((alt, v)) => {
                    let field = named(alt);
                    Ok(opt_string(v, &field)?.map(|s| (field, s)))
                }
            }
        };
        if let Some((field, s)) = text(&self.email)? {
            if !s.trim().is_empty() {
                contact.email = Some(Email::parse(&s, &field)?);
            }
        }
        if let Some((field, s)) = text(&self.first_name)? {
            contact.first_name = name_field(Some(&s), &field)?;
        }
        if let Some((field, s)) = text(&self.last_name)? {
            contact.last_name = name_field(Some(&s), &field)?;
        }
        if let Some(p) = &self.tags {
            if let Some((alt, v)) = at_any(item, p)? {
                contact.tags = Some(tags(v, &named(alt), true)?);
            }
        }
        let password = password_path.map(str::to_owned).or(self.password.clone());
        if let Some((field, s)) = text(&password)? {
            contact.password = password_field(Some(&s), &field)?;
        }
        let event = match text(&self.event_type)? {
            Some((field, s)) => {
                let s = s.trim().to_owned();
                contact::check_len(&s, contact::MAX_NAME, &field)?;
                if s.is_empty() {
                    event_type.to_owned()
                } else {
                    s
                }
            }
            None => event_type.to_owned(),
        };
        if let Some(p) = &self.fields {
            if let Some((fields_at, v)) = at_any(item, p)? {
                // The password is read above and never kept with the event.
                let is_password = |k: &str| {
                    password.as_deref().is_some_and(|pw| {
                        pw.split('|').any(|alt| alt == format!("{fields_at}.{k}"))
                    })
                };
                if let Ok(Some(object)) = unique_object(v) {
                    for (k, v) in object {
                        if is_password(k) {
                            continue;
                        }
                        match v {
                            Json::Str(s) => keep_field(&mut contact.fields, k, s)?,
                            Json::Null => {}
                            other => keep_field(&mut contact.fields, k, &other.to_text())?,
                        }
                    }
                }
            }
        }
        Ok(InboundEvent {
            source,
            event_type: event,
            contact,
        })
    }
}

fn check_path(name: &str, path: &str) -> Result<(), Error> {
    let bad = |why: &str| {
        Error::new(
            ErrorCode::InvalidField,
            format!("mapping `{name}`: {why} (a path is keys separated by dots, such as `data.subscriber.id`; `a|b` reads the first of two that is there)"),
        )
    };
    if path.chars().count() > MAX_PATH {
        return Err(bad(&format!(
            "the path is longer than {MAX_PATH} characters"
        )));
    }
    if path.chars().any(char::is_control) {
        return Err(bad("the path holds a control character"));
    }
    for alt in path.split('|') {
        let segments: Vec<&str> = alt.split('.').collect();
        if segments.len() > MAX_PATH_SEGMENTS {
            return Err(bad(&format!(
                "the path has more than {MAX_PATH_SEGMENTS} parts"
            )));
        }
        if segments.iter().any(|s| s.trim().is_empty()) {
            return Err(bad("the path has an empty part"));
        }
    }
    Ok(())
}

/// The first of `path`'s alternatives (`a|b`) that is there, with the alternative's own path.
pub(super) fn at_any<'j, 'a, 'p>(
    root: &'j Json<'a>,
    path: &'p str,
) -> Result<Option<(&'p str, &'j Json<'a>)>, Error> {
    for alt in path.split('|') {
        if let Some(v) = at(root, alt)? {
            return Ok(Some((alt, v)));
        }
    }
    Ok(None)
}

/// The value at `path` inside `root`; `None` when a step is missing or the value is `null`. An
/// object on the way with a key sent twice is refused.
pub(super) fn at<'j, 'a>(root: &'j Json<'a>, path: &str) -> Result<Option<&'j Json<'a>>, Error> {
    let mut cur = root;
    for seg in path.split('.') {
        let next = match cur {
            Json::Obj(_) => unique_object(cur)
                .map_err(|e| Error::new(ErrorCode::MalformedBody, format!("at `{path}`: {e}")))?
                .and_then(|entries| entries.iter().find(|(k, _)| k == seg))
                .map(|(_, v)| v),
            Json::Arr(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return Ok(None),
        }
    }
    Ok((!cur.is_null()).then_some(cur))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> JsonMapping {
        JsonMapping {
            contact_id: "data.subscriber.id".into(),
            email: Some("data.subscriber.email".into()),
            first_name: Some("data.subscriber.first_name".into()),
            tags: Some("data.subscriber.tags".into()),
            event_type: Some("event".into()),
            ..JsonMapping::default()
        }
    }

    fn read(m: &JsonMapping, body: &str) -> Result<Vec<InboundEvent>, Error> {
        m.read(
            &super::super::json_body(body.as_bytes())?,
            Source::Json,
            CrmKind::Generic,
            "default",
            "json",
            None,
        )
    }

    #[test]
    fn reads_nested_paths_and_array_indexes() {
        let body = r#"{"event":"subscriber.applied_tag","data":{"subscriber":{"id":"z1tog","email":"Ann@Example.com","first_name":"Ann","tags":["Gold", "VIP"]}}}"#;
        let e = read(&mapping(), body).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].event_type, "subscriber.applied_tag");
        assert_eq!(e[0].contact.contact_id.as_str(), "z1tog");
        assert_eq!(
            e[0].contact.email.as_ref().unwrap().as_str(),
            "ann@example.com"
        );
        assert_eq!(e[0].contact.tags.as_ref().unwrap().len(), 2);
        let m = JsonMapping {
            contact_id: "contacts.1.id".into(),
            ..JsonMapping::default()
        };
        let e = read(&m, r#"{"contacts":[{"id":1},{"id":12345678901234567890}]}"#).unwrap();
        assert_eq!(e[0].contact.contact_id.as_str(), "12345678901234567890");
    }

    #[test]
    fn each_reads_a_batch_and_names_the_element_in_errors() {
        let m = JsonMapping {
            each: Some("events".into()),
            contact_id: "subscriber.id".into(),
            email: Some("subscriber.email".into()),
            ..JsonMapping::default()
        };
        let e = read(
            &m,
            r#"{"events":[{"subscriber":{"id":"1","email":"a@example.com"}},{"subscriber":{"id":"2"}}]}"#,
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        let err = read(
            &m,
            r#"{"events":[{"subscriber":{"id":"1"}},{"subscriber":{}}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::MissingContactId);
        assert!(
            err.message.contains("`events.1.subscriber.id`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_missing_id_names_the_path_and_duplicates_are_refused() {
        let err = read(
            &mapping(),
            r#"{"data":{"subscriber":{"email":"a@example.com"}}}"#,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::MissingContactId);
        assert!(err.message.contains("`data.subscriber.id`"));
        let err = read(&mapping(), r#"{"data":{"subscriber":{"id":"1","id":"2"}}}"#).unwrap_err();
        assert_eq!(err.code, ErrorCode::MalformedBody);
        assert!(err.message.contains("more than once"), "{}", err.message);
        let err = read(&mapping(), r#"[1,2]"#).unwrap_err();
        assert_eq!(err.code, ErrorCode::MalformedBody);
    }

    #[test]
    fn tags_as_a_comma_string() {
        let m = JsonMapping {
            contact_id: "contact_id".into(),
            tags: Some("tags".into()),
            ..JsonMapping::default()
        };
        let e = read(&m, r#"{"contact_id":"abc","tags":"gold member, vip,,"}"#).unwrap();
        let names: Vec<_> = e[0]
            .contact
            .tags
            .as_ref()
            .unwrap()
            .iter()
            .map(|t| t.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["gold member", "vip"]);
    }

    #[test]
    fn alternatives_read_the_first_path_that_is_there() {
        let m = JsonMapping {
            contact_id: "subscriber.id|id".into(),
            email: Some("subscriber.email|email".into()),
            tags: Some("subscriber.groups|group".into()),
            ..JsonMapping::default()
        };
        let flat = read(&m, r#"{"id":"7","email":"a@example.com"}"#).unwrap();
        assert_eq!(flat[0].contact.contact_id.as_str(), "7");
        let nested = read(
            &m,
            r#"{"subscriber":{"id":"8","email":"b@example.com"},"group":{"id":"5","name":"Gold"}}"#,
        )
        .unwrap();
        assert_eq!(nested[0].contact.contact_id.as_str(), "8");
        let tags = nested[0].contact.tags.as_ref().unwrap();
        assert_eq!(tags[0].id.as_deref(), Some("5"));
        assert_eq!(tags[0].name.as_deref(), Some("Gold"));
        let err = read(&m, r#"{"x":1}"#).unwrap_err();
        assert!(
            err.message.contains("`subscriber.id|id`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn paths_are_checked() {
        let mut m = mapping();
        assert!(m.validate().is_ok());
        m.email = Some("data..email".into());
        let e = m.validate().unwrap_err();
        assert!(e.message.contains("mapping `email`"), "{}", e.message);
        m.email = Some(["a"; 13].join("."));
        assert!(m.validate().is_err());
    }
}
