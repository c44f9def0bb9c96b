//! Mailchimp webhooks: form fields `type` (`subscribe`, `profile`, `upemail`, `unsubscribe`,
//! `cleaned`, `campaign`), `fired_at`, `data[email]`, `data[list_id]`, `data[merges][FNAME]`,
//! `data[merges][LNAME]`, `data[merges][NAME]`... Mailchimp names an audience member by the MD5
//! of its lower-cased email (`data[id]` is another id, which its API does not take), so that
//! hash is the contact id. The webhooks carry no tags: they are loaded through the API.
//!
//! `subscribe` and `profile` name a member to register; `upemail` changes the email, and with it
//! the id Mailchimp's API knows the member by, so it is acknowledged and not acted on (change the
//! member's email in memberwire's admin page); the other types name nobody to register.

use md5::{Digest, Md5};

use super::super::contact::CrmKind;
use super::super::contact::{self, keep_field, name_field, password_field, Contact, ContactId};
use super::super::email::Email;
use super::super::error::{Error, ErrorCode};
use super::super::form::Form;
use super::{Inbound, InboundEvent, ParseOptions, Source};

/// The id Mailchimp's API names an audience member by: the MD5 of its lower-cased email.
pub fn subscriber_hash(email: &Email) -> String {
    let digest = Md5::digest(email.as_str().to_lowercase().as_bytes());
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
        "upemail" => {
            return Ok(Inbound::Ignored {
                reason: "an email change: Mailchimp's id for the member changes with it, so memberwire does not act on it; change the member's email in the admin page".into(),
            })
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_mailchimps() {
        // The MD5 of the lower-cased address, as `md5sum` gives it.
        let e = Email::parse("Urist.McVankab@FreddiesJokes.com", "e").unwrap();
        assert_eq!(subscriber_hash(&e), "62eeb292278cc15f5817cb78f7790b08");
    }
}
