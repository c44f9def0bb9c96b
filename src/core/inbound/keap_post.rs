//! Keap / Infusionsoft "Send an HTTP post to another server".
//!
//! Two shapes arrive on the same route: the full field dump of legacy action sets (`Id`,
//! `Email`, `FirstName`, `LastName`, `Groups`, custom fields with a leading underscore, ...),
//! and the minimal campaign-builder post, where the user typed the pairs themselves
//! (`contactId=~Contact.Id~`). The contact id may come under any of [`ID_KEYS`]; a post with
//! only an id is fine: the workflow loads the rest through the API.

use super::super::contact::{
    self, keep_field, name_field, password_field, Contact, ContactId, CrmKind, Tag,
};
use super::super::email::Email;
use super::super::error::{Error, ErrorCode};
use super::super::form::Form;
use super::{Inbound, InboundEvent, ParseOptions, Source};

pub(super) const ID_KEYS: [&str; 5] = ["contactId", "ContactId", "Id", "Contact0Id", "contact_id"];
const EMAIL_KEYS: [&str; 3] = ["Email", "email", "Contact0Email"];
const FIRST_KEYS: [&str; 3] = ["FirstName", "first_name", "Contact0FirstName"];
const LAST_KEYS: [&str; 3] = ["LastName", "last_name", "Contact0LastName"];
const TAG_KEY: &str = "Groups";

pub(super) fn parse(body: &[u8], options: &ParseOptions) -> Result<Inbound, Error> {
    let form = Form::parse(body);
    if form.is_empty() {
        return Err(Error::new(
            ErrorCode::MalformedBody,
            "the body has no form fields",
        ));
    }
    // A field memberwire reads, sent twice with two different values, is refused, not guessed.
    let mut read: Vec<&str> = [
        &ID_KEYS[..],
        &EMAIL_KEYS,
        &FIRST_KEYS,
        &LAST_KEYS,
        &[TAG_KEY],
    ]
    .concat();
    read.extend(options.password_field.as_deref());
    if let Some(k) = form.conflicting(&read) {
        return Err(Error::new(
            ErrorCode::MalformedBody,
            format!("the field `{k}` appears more than once with different values"),
        ));
    }
    let Some((id_key, raw_id)) = form.first_of(&ID_KEYS) else {
        return Err(Error::new(
            ErrorCode::MissingContactId,
            format!(
                "no contact id: send it as one of {} (in a campaign HTTP post, add contactId=~Contact.Id~)",
                ID_KEYS.map(|k| format!("`{k}`")).join(", ")
            ),
        ));
    };
    let mut contact = Contact::new(
        CrmKind::Keap,
        &options.account,
        ContactId::parse(raw_id, id_key, true)?,
    );

    if let Some((key, raw)) = form.first_of(&EMAIL_KEYS) {
        contact.email = Some(Email::parse(raw, key)?);
    }
    contact.first_name = first_named(&form, &FIRST_KEYS)?;
    contact.last_name = first_named(&form, &LAST_KEYS)?;
    if let Some(groups) = form.get(TAG_KEY) {
        contact.tags = Some(tag_ids(groups)?);
    }
    if let Some(field) = options.password_field.as_deref() {
        contact.password = password_field(form.get(field), field)?;
    }

    let consumed = |k: &str| {
        ID_KEYS.contains(&k)
            || EMAIL_KEYS.contains(&k)
            || FIRST_KEYS.contains(&k)
            || LAST_KEYS.contains(&k)
            || k == TAG_KEY
            || Some(k) == options.password_field.as_deref()
    };
    for (k, v) in form.pairs() {
        if !consumed(k) && !v.is_empty() {
            keep_field(&mut contact.fields, k, v)?;
        }
    }

    Ok(Inbound::Events {
        events: vec![InboundEvent {
            source: Source::KeapPost,
            event_type: "http_post".to_owned(),
            contact,
        }],
    })
}

fn first_named(form: &Form, keys: &[&str]) -> Result<Option<String>, Error> {
    match form.first_of(keys) {
        Some((k, v)) => name_field(Some(v), k),
        None => Ok(None),
    }
}

/// `Groups` is a comma list of tag ids (`12,34,56`); empty means no tags.
fn tag_ids(groups: &str) -> Result<Vec<Tag>, Error> {
    contact::tag_list(groups, TAG_KEY, |part| {
        if !part.bytes().all(|b| b.is_ascii_digit()) || part.len() > 20 {
            return Err(Error::new(
                ErrorCode::InvalidField,
                "field `Groups` must be a comma-separated list of tag ids",
            ));
        }
        Ok(Tag::id(part))
    })
}
