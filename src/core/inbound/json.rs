//! memberwire's generic JSON body, for Zapier, Make and every CRM without a parser of its own:
//!
//! ```json
//! {"contact_id": "123", "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
//!  "tags": ["Gold Member", 42, {"id": "7", "name": "VIP"}], "password": "..."}
//! ```
//!
//! The camelCase spellings (`contactId`, `firstName`, `lastName`) are accepted too. Strings in
//! `tags` are names, integers are ids. Every other top-level key is kept as a field.

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::Value;

use super::super::contact::{
    self, keep_field, name_field, password_field, Contact, ContactId, CrmKind, Tag,
};
use super::super::email::Email;
use super::super::error::{Error, ErrorCode};
use super::{json_body, Inbound, InboundEvent, ParseOptions, Source};

const ID_KEYS: [&str; 2] = ["contact_id", "contactId"];
const FIRST_KEYS: [&str; 2] = ["first_name", "firstName"];
const LAST_KEYS: [&str; 2] = ["last_name", "lastName"];

/// A JSON object whose keys are unique: a key sent twice is ambiguous (JSON parsers disagree on
/// which one wins), so the post is refused rather than read one way here and another elsewhere.
pub(super) struct UniqueObject<'a>(pub(super) BTreeMap<String, &'a RawValue>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for UniqueObject<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = UniqueObject<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Self::Value, M::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!(
                            "the key `{k}` appears more than once"
                        )));
                    }
                    out.insert(k, v);
                }
                Ok(UniqueObject(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

pub(super) fn parse(body: &[u8], options: &ParseOptions) -> Result<Inbound, Error> {
    // Borrowed raw values keep numbers exactly as written (a 20-digit id stays exact).
    let UniqueObject(object) = json_body(body).map_err(|e| {
        if e.message.contains("expected a map") || e.message.contains("invalid type") {
            Error::new(ErrorCode::MalformedBody, "the body must be a JSON object")
        } else {
            e
        }
    })?;
    let get = |keys: &[&'static str]| -> Option<(&'static str, &RawValue)> {
        keys.iter().find_map(|k| object.get(*k).map(|v| (*k, *v)))
    };

    let (id_key, raw_id) = get(&ID_KEYS)
        .filter(|(_, v)| v.get() != "null")
        .ok_or_else(|| {
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
            if let Some(v) = object.get(key) {
                contact.password = password_field(opt_string(v, key)?.as_deref(), key)?;
            }
        }
    }

    for (k, v) in &object {
        let consumed = ID_KEYS.contains(&k.as_str())
            || FIRST_KEYS.contains(&k.as_str())
            || LAST_KEYS.contains(&k.as_str())
            || matches!(k.as_str(), "email" | "tags" | "password")
            || k == password_key;
        if consumed {
            continue;
        }
        let value = match serde_json::from_str::<Value>(v.get()) {
            Ok(Value::Null) => continue,
            Ok(Value::String(s)) => s,
            _ => v.get().to_owned(),
        };
        keep_field(&mut contact.fields, k, &value)?;
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
pub(super) fn json_id(raw: &RawValue, field: &str, numeric: bool) -> Result<ContactId, Error> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        let s: String = serde_json::from_str(text).map_err(|_| {
            Error::new(
                ErrorCode::InvalidContactId,
                format!("field `{field}` is not a valid string"),
            )
        })?;
        return ContactId::parse(&s, field, numeric);
    }
    if text == "null" {
        return Err(Error::new(
            ErrorCode::MissingContactId,
            format!("field `{field}` is null"),
        ));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return ContactId::parse(text, field, numeric);
    }
    Err(Error::new(
        ErrorCode::InvalidContactId,
        format!("field `{field}` must be a string or a whole number"),
    ))
}

pub(super) fn opt_string(raw: &RawValue, field: &str) -> Result<Option<String>, Error> {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::Null) => Ok(None),
        Ok(Value::String(s)) => Ok(Some(s)),
        _ => Err(Error::new(
            ErrorCode::InvalidField,
            format!("field `{field}` must be a string"),
        )),
    }
}

/// A list of tags: names (strings), ids (whole numbers) or `{"id", "name"}` objects; with
/// `comma_string`, also one string of comma-separated names (as HighLevel sends them).
pub(super) fn tags(raw: &RawValue, field: &str, comma_string: bool) -> Result<Vec<Tag>, Error> {
    let text = raw.get().trim();
    if comma_string && text.starts_with('"') {
        let list = opt_string(raw, field)?.unwrap_or_default();
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
    if comma_string && text.starts_with('{') {
        let one: [&RawValue; 1] = [raw];
        return tag_items(&one, field);
    }
    let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|_| {
        Error::new(
            ErrorCode::InvalidField,
            if comma_string {
                format!("field `{field}` must be an array or a comma-separated string")
            } else {
                format!("field `{field}` must be an array")
            },
        )
    })?;
    if items.len() > contact::MAX_TAGS {
        return Err(too_many_tags(field));
    }
    tag_items(&items, field)
}

fn tag_items(items: &[&RawValue], field: &str) -> Result<Vec<Tag>, Error> {
    let bad = || {
        Error::new(
            ErrorCode::InvalidField,
            format!("field `{field}` must hold tag names (strings), tag ids (whole numbers) or {{\"id\", \"name\"}} objects"),
        )
    };
    let mut out: Vec<Tag> = Vec::with_capacity(items.len());
    for &item in items {
        let text = item.get().trim();
        let tag = if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
            Tag::id(text)
        } else {
            match serde_json::from_str::<Value>(text).map_err(|_| bad())? {
                Value::String(s) if !s.trim().is_empty() => Tag::name(s.trim()),
                Value::Object(map) => {
                    let id = match map.get("id") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                        Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
                        Some(_) => return Err(bad()),
                    };
                    let name = match map.get("name") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                        Some(_) => return Err(bad()),
                    };
                    if id.is_none() && name.is_none() {
                        return Err(bad());
                    }
                    Tag { id, name }
                }
                _ => return Err(bad()),
            }
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
