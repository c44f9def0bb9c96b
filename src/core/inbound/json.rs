//! memberwire's generic JSON body, for Zapier, Make and every CRM without a parser of its own:
//!
//! ```json
//! {"contact_id": "123", "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
//!  "tags": ["Gold Member", 42, {"id": "7", "name": "VIP"}], "password": "..."}
//! ```
//!
//! The camelCase spellings (`contactId`, `firstName`, `lastName`) are accepted too. Strings in
//! `tags` are names, integers are ids. Every other top-level key is kept as a field.

use std::borrow::Cow;

use super::super::contact::{
    self, keep_field, name_field, password_field, Contact, ContactId, CrmKind, Tag,
};
use super::super::email::Email;
use super::super::error::{Error, ErrorCode};
use super::super::json::Json;
use super::{json_body, Inbound, InboundEvent, ParseOptions, Source};

const ID_KEYS: [&str; 2] = ["contact_id", "contactId"];
const FIRST_KEYS: [&str; 2] = ["first_name", "firstName"];
const LAST_KEYS: [&str; 2] = ["last_name", "lastName"];

/// An object's entries, when its keys are unique: a key sent twice is ambiguous (JSON parsers
/// disagree on which one wins), so the post is refused rather than read one way here and another
/// elsewhere. `Ok(None)` for anything but an object; the error is the repeated key.
pub(super) type Entries<'j, 'a> = &'j [(Cow<'a, str>, Json<'a>)];

pub(super) fn unique_object<'j, 'a>(v: &'j Json<'a>) -> Result<Option<Entries<'j, 'a>>, String> {
    let Some(entries) = v.as_object() else {
        return Ok(None);
    };
    match super::super::json::repeated_key(entries) {
        Some(k) => Err(format!("the key `{k}` appears more than once")),
        None => Ok(Some(entries)),
    }
}

/// The error for a body whose JSON is well formed but not of the shape a source sends.
pub(super) fn shape(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::MalformedBody,
        format!("the JSON does not have the expected shape: {why}"),
    )
}

pub(super) fn parse(body: &[u8], options: &ParseOptions) -> Result<Inbound, Error> {
    // Numbers are kept as written (a 20-digit id stays exact).
    let root = json_body(body)?;
    let object = unique_object(&root)
        .map_err(shape)?
        .ok_or_else(|| Error::new(ErrorCode::MalformedBody, "the body must be a JSON object"))?;
    let find = |key: &str| object.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let get = |keys: &[&'static str]| -> Option<(&'static str, &Json<'_>)> {
        keys.iter().find_map(|k| find(k).map(|v| (*k, v)))
    };

    let (id_key, raw_id) = get(&ID_KEYS).filter(|(_, v)| !v.is_null()).ok_or_else(|| {
        Error::new(
            ErrorCode::MissingContactId,
            "no contact id: send it as `contact_id` (or `contactId`)",
        )
    })?;
    let mut contact = Contact::new(
        CrmKind::Generic,
        &options.account,
        json_id(raw_id, id_key, false)?,
    );
    if let Some((k, v)) = get(&["email"]) {
        if let Some(s) = opt_string(v, k)? {
            if !s.trim().is_empty() {
                contact.email = Some(Email::parse(&s, k)?);
            }
        }
    }
    if let Some((k, v)) = get(&FIRST_KEYS) {
        contact.first_name = name_field(opt_string(v, k)?.as_deref(), k)?;
    }
    if let Some((k, v)) = get(&LAST_KEYS) {
        contact.last_name = name_field(opt_string(v, k)?.as_deref(), k)?;
    }
    if let Some((k, v)) = get(&["tags"]) {
        contact.tags = Some(tags(v, k, false)?);
    }
    let password_key = options.password_field.as_deref().unwrap_or("password");
    for key in [password_key, "password"] {
        if contact.password.is_none() {
            if let Some(v) = find(key) {
                contact.password = password_field(opt_string(v, key)?.as_deref(), key)?;
            }
        }
    }

    // In key order, as the post's other fields have always been kept.
    let mut rest: Vec<&(Cow<'_, str>, Json<'_>)> = object.iter().collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in rest {
        let consumed = ID_KEYS.contains(&&**k)
            || FIRST_KEYS.contains(&&**k)
            || LAST_KEYS.contains(&&**k)
            || matches!(&**k, "email" | "tags" | "password")
            || k == password_key;
        if consumed {
            continue;
        }
        match v {
            Json::Null => continue,
            Json::Str(s) => keep_field(&mut contact.fields, k, s)?,
            other => keep_field(&mut contact.fields, k, &other.to_text())?,
        }
    }

    Ok(Inbound::Events {
        events: vec![InboundEvent {
            source: Source::Json,
            event_type: "json".to_owned(),
            contact,
        }],
    })
}

/// A contact id given as a JSON string or an integer, kept exactly as written.
pub(super) fn json_id(raw: &Json<'_>, field: &str, numeric: bool) -> Result<ContactId, Error> {
    match raw {
        Json::Str(s) => ContactId::parse(s, field, numeric),
        Json::Null => Err(Error::new(
            ErrorCode::MissingContactId,
            format!("field `{field}` is null"),
        )),
        Json::Num(n) if n.bytes().all(|b| b.is_ascii_digit()) => {
            ContactId::parse(n, field, numeric)
        }
        _ => Err(Error::new(
            ErrorCode::InvalidContactId,
            format!("field `{field}` must be a string or a whole number"),
        )),
    }
}

pub(super) fn opt_string(raw: &Json<'_>, field: &str) -> Result<Option<String>, Error> {
    match raw {
        Json::Null => Ok(None),
        Json::Str(s) => Ok(Some(s.to_string())),
        _ => Err(Error::new(
            ErrorCode::InvalidField,
            format!("field `{field}` must be a string"),
        )),
    }
}

/// A list of tags: names (strings), ids (whole numbers) or `{"id", "name"}` objects; with
/// `comma_string`, also one string of comma-separated names (as HighLevel sends them).
pub(super) fn tags(raw: &Json<'_>, field: &str, comma_string: bool) -> Result<Vec<Tag>, Error> {
    if let (true, Json::Str(list)) = (comma_string, raw) {
        let names: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names.len() > contact::MAX_TAGS {
            return Err(too_many_tags(field));
        }
        let mut out: Vec<Tag> = Vec::with_capacity(names.len());
        for name in names {
            contact::check_len(name, contact::MAX_NAME, field)?;
            let tag = Tag::name(name);
            if !out.contains(&tag) {
                out.push(tag);
            }
        }
        return Ok(out);
    }
    // One `{"id", "name"}` object is one tag (MailerLite names the group an event is about).
    if let (true, Json::Obj(_)) = (comma_string, raw) {
        return tag_items(std::slice::from_ref(raw), field);
    }
    let Json::Arr(items) = raw else {
        return Err(Error::new(
            ErrorCode::InvalidField,
            if comma_string {
                format!("field `{field}` must be an array or a comma-separated string")
            } else {
                format!("field `{field}` must be an array")
            },
        ));
    };
    if items.len() > contact::MAX_TAGS {
        return Err(too_many_tags(field));
    }
    tag_items(items, field)
}

fn tag_items(items: &[Json<'_>], field: &str) -> Result<Vec<Tag>, Error> {
    let bad = || {
        Error::new(
            ErrorCode::InvalidField,
            format!("field `{field}` must hold tag names (strings), tag ids (whole numbers) or {{\"id\", \"name\"}} objects"),
        )
    };
    let text = |v: Option<&Json<'_>>| -> Result<Option<String>, Error> {
        match v {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Str(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(bad()),
        }
    };
    let mut out: Vec<Tag> = Vec::with_capacity(items.len());
    for item in items {
        let tag = match item {
            Json::Num(n) if n.bytes().all(|b| b.is_ascii_digit()) => Tag::id(n.as_ref()),
            Json::Str(s) if !s.trim().is_empty() => Tag::name(s.trim()),
            Json::Obj(_) => {
                let id = match item.get("id") {
                    Some(n @ Json::Num(_)) => match n.as_u64() {
                        Some(id) => Some(id.to_string()),
                        None => return Err(bad()),
                    },
                    other => text(other)?,
                };
                let name = text(item.get("name"))?;
                if id.is_none() && name.is_none() {
                    return Err(bad());
                }
                Tag { id, name }
            }
            _ => return Err(bad()),
        };
        for part in tag.id.iter().chain(tag.name.iter()) {
            contact::check_len(part, contact::MAX_NAME, field)?;
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

fn too_many_tags(field: &str) -> Error {
    Error::new(
        ErrorCode::FieldTooLarge,
        format!("field `{field}` has more than {} tags", contact::MAX_TAGS),
    )
}
