//! Mailchimp webhooks: form fields `type` (`subscribe`, `profile`, `upemail`, `unsubscribe`,
//! `cleaned`, `campaign`), `fired_at`, `data[email]`, `data[list_id]`, `data[merges][FNAME]`,
//! `data[merges][LNAME]`, `data[merges][NAME]`... Mailchimp names an audience member by the MD5
//! of its lower-cased email (`data[id]` is another id, which its API does not take), so that
//! hash is the contact id. The webhooks carry no tags: they are loaded through the API.
//!
//! `subscribe` and `profile` name a member to register. `upemail` (`data[old_email]`,
//! `data[new_email]`) changes the email, and with it the id Mailchimp's API knows the member by:
//! it is read as the contact under its new id with the old one as
//! [`Contact::previous_id`], so the workflow moves the member onto the new id instead of making
//! a second one. The other types name nobody to register.

use md5::{Digest, Md5};

use super::super::contact::CrmKind;
use super::super::contact::{self, keep_field, name_field, password_field, Contact, ContactId};
use super::super::email::Email;
use super::super::error::{Error, ErrorCode};
use super::super::form::Form;
use super::{Inbound, InboundEvent, ParseOptions, Source};

/// The id Mailchimp's API names an audience member by: the MD5 of its lower-cased email.
pub fn subscriber_hash(email: &Email) -> String {
    let digest = Md5::digest(crate::core::text::lowercase(email.as_str()).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn parse(body: &[u8], options: &ParseOptions) -> Result<Inbound, Error> {
    let form = Form::parse(body);
    if form.is_empty() {
        return Err(Error::new(
            ErrorCode::MalformedBody,
            "the body has no form fields",
        ));
    }
    let password_key = options
        .password_field
        .as_deref()
        .map(|f| format!("data[merges][{f}]"));
    let mut read = vec![
        "type",
        "data[email]",
        "data[merges][FNAME]",
        "data[merges][LNAME]",
    ];
    read.extend(password_key.as_deref());
    if let Some(k) = form.conflicting(&read) {
        return Err(Error::new(
            ErrorCode::MalformedBody,
            format!("the field `{k}` appears more than once with different values"),
        ));
    }
    let kind = form.get("type").map(str::trim).unwrap_or_default();
    contact::check_len(kind, contact::MAX_NAME, "type")?;
    match kind {
        "subscribe" | "profile" => {}
        "upemail" => return email_change(&form, options),
        "" => {
            return Err(Error::new(
                ErrorCode::MalformedBody,
                "field `type` is missing: Mailchimp webhooks name their event",
            ))
        }
        other => {
            return Ok(Inbound::Ignored {
                reason: format!("a `{}` event names nobody to register", other),
            })
        }
    }
    let raw = form
        .get("data[email]")
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::MissingContactId,
                "no email: a Mailchimp member is named by `data[email]` (its id is the hash of it)",
            )
        })?;
    let email = Email::parse(raw, "data[email]")?;
    let id = ContactId::parse(&subscriber_hash(&email), "data[email]", false)?;
    let mut contact = Contact::new(CrmKind::Mailchimp, &options.account, id);
    contact.email = Some(email);
    contact.first_name = name_field(form.get("data[merges][FNAME]"), "data[merges][FNAME]")?;
    contact.last_name = name_field(form.get("data[merges][LNAME]"), "data[merges][LNAME]")?;
    if let Some(key) = password_key.as_deref() {
        contact.password = password_field(form.get(key), key)?;
    }
    for (k, v) in form.pairs() {
        if v.is_empty() || Some(k) == password_key.as_deref() {
            continue;
        }
        // Merge fields are kept by their tag (`data[merges][LEVEL]` as `LEVEL`), when asked for.
        if let Some(tag) = k
            .strip_prefix("data[merges][")
            .and_then(|r| r.strip_suffix(']'))
        {
            if !matches!(tag, "EMAIL" | "FNAME" | "LNAME") {
                keep_field(&mut contact.fields, tag, v)?;
            }
        }
    }
    Ok(Inbound::Events {
        events: vec![InboundEvent {
            source: Source::Mailchimp,
            event_type: kind.to_owned(),
            contact,
        }],
    })
}

/// `upemail`: the member's id moves from the hash of `data[old_email]` to the hash of
/// `data[new_email]`. Both are required: without the old address the member cannot be found.
fn email_change(form: &Form, options: &ParseOptions) -> Result<Inbound, Error> {
    let read = ["data[new_email]", "data[old_email]"];
    if let Some(k) = form.conflicting(&read) {
        return Err(Error::new(
            ErrorCode::MalformedBody,
            format!("the field `{k}` appears more than once with different values"),
        ));
    }
    let address = |field: &str| -> Result<Email, Error> {
        let raw = form
            .get(field)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::MissingContactId,
                    format!(
                        "no `{field}`: a Mailchimp email change names the old and the new address"
                    ),
                )
            })?;
        Email::parse(raw, field)
    };
    let new = address("data[new_email]")?;
    let old = address("data[old_email]")?;
    let id = ContactId::parse(&subscriber_hash(&new), "data[new_email]", false)?;
    let mut contact = Contact::new(CrmKind::Mailchimp, &options.account, id);
    let previous = subscriber_hash(&old);
    if previous != contact.contact_id.as_str() {
        contact.previous_id = Some(ContactId::parse(&previous, "data[old_email]", false)?);
    }
    contact.email = Some(new);
    Ok(Inbound::Events {
        events: vec![InboundEvent {
            source: Source::Mailchimp,
            event_type: "upemail".to_owned(),
            contact,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_mailchimps() {
        // The MD5 of the lower-cased address, as `md5sum` gives it.
        let e = Email::parse("Urist.McVankab@FreddiesJokes.com", "e").unwrap();
        assert_eq!(subscriber_hash(&e), "62eeb292278cc15f5817cb78f7790b08");
    }

    fn options() -> ParseOptions {
        ParseOptions {
            account: "b7c1e0d2a4".into(),
            ..ParseOptions::default()
        }
    }

    fn one(body: &str) -> Contact {
        match parse(body.as_bytes(), &options()).unwrap() {
            Inbound::Events { mut events } => events.remove(0).contact,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_email_change_names_the_new_id_and_the_old_one() {
        let c = one("type=upemail&data[new_id]=51aa6d4f2e&data[new_email]=Mia%40Example.org&data[old_email]=mia%40example.com");
        let hash = |e: &str| subscriber_hash(&Email::parse(e, "e").unwrap());
        assert_eq!(c.contact_id.as_str(), hash("mia@example.org"));
        assert_eq!(c.previous_id.unwrap().as_str(), hash("mia@example.com"));
        assert_eq!(c.email.unwrap().as_str(), "mia@example.org");
        // A change of case alone keeps the id: nothing to move.
        let same =
            one("type=upemail&data[new_email]=MIA%40example.com&data[old_email]=mia%40example.com");
        assert_eq!(same.previous_id, None);
    }

    #[test]
    fn an_email_change_without_both_addresses_is_refused() {
        for (body, field) in [
            (
                "type=upemail&data[new_email]=a%40example.com",
                "data[old_email]",
            ),
            (
                "type=upemail&data[old_email]=a%40example.com",
                "data[new_email]",
            ),
        ] {
            let e = parse(body.as_bytes(), &options()).unwrap_err();
            assert_eq!(e.code, ErrorCode::MissingContactId);
            assert!(e.message.contains(field), "{}", e.message);
        }
        let e = parse(
            b"type=upemail&data[new_email]=nope&data[old_email]=a%40example.com",
            &options(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidEmail);
    }
}
