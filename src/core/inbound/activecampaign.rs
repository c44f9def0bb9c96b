//! ActiveCampaign webhooks: every field is a form parameter (`type`, `date_time`,
//! `initiated_by`, `contact[id]`, `contact[email]`, `contact[first_name]`,
//! `contact[last_name]`, `contact[tags]`, `contact[fields][…]`, ...). Delivery is at least once
//! and never retried, so the receiver must be idempotent and must not lose what it got.

use super::super::contact::{
    self, keep_field, name_field, password_field, Contact, ContactId, CrmKind, Tag,
};
use super::super::email::Email;
use super::super::error::{Error, ErrorCode};
use super::super::form::Form;
use super::{Inbound, InboundEvent, ParseOptions, Source};

pub(super) fn parse(body: &[u8], options: &ParseOptions) -> Result<Inbound, Error> {
    let form = Form::parse(body);
    if form.is_empty() {
        return Err(Error::new(
            ErrorCode::MalformedBody,
            "the body has no form fields",
        ));
    }
    let mut read = vec![
        "contact[id]",
        "contact[email]",
        "contact[first_name]",
        "contact[last_name]",
        "contact[tags]",
    ];
    let password_key = options
        .password_field
        .as_deref()
        .map(|f| format!("contact[fields][{f}]"));
    read.extend(password_key.as_deref());
    if let Some(k) = form.conflicting(&read) {
        return Err(Error::new(
            ErrorCode::MalformedBody,
            format!("the field `{k}` appears more than once with different values"),
        ));
    }
    let raw_id = form.get("contact[id]").ok_or_else(|| {
        Error::new(
            ErrorCode::MissingContactId,
            "no contact id: ActiveCampaign webhooks carry it as `contact[id]`",
        )
    })?;
    let mut contact = Contact::new(
        CrmKind::ActiveCampaign,
        &options.account,
        ContactId::parse(raw_id, "contact[id]", true)?,
    );
    if let Some(raw) = form.get("contact[email]").filter(|v| !v.trim().is_empty()) {
        contact.email = Some(Email::parse(raw, "contact[email]")?);
    }
    contact.first_name = name_field(form.get("contact[first_name]"), "contact[first_name]")?;
    contact.last_name = name_field(form.get("contact[last_name]"), "contact[last_name]")?;
    if let Some(list) = form.get("contact[tags]") {
        contact.tags = Some(tag_names(list)?);
    }
    let password_key = options
        .password_field
        .as_deref()
        .map(|f| format!("contact[fields][{f}]"));
    if let Some(key) = password_key.as_deref() {
        contact.password = password_field(form.get(key), key)?;
    }

    for (k, v) in form.pairs() {
        let consumed = matches!(
            k,
            "contact[id]"
                | "contact[email]"
                | "contact[first_name]"
                | "contact[last_name]"
                | "contact[tags]"
                | "type"
        ) || Some(k) == password_key.as_deref();
        if consumed || v.is_empty() {
            continue;
        }
        // `contact[fields][Level]` is kept as `Level`, `contact[phone]` as `phone`, and
        // webhook metadata (`date_time`, `initiated_by`, ...) under its own name.
        let name = k
            .strip_prefix("contact[fields][")
            .or_else(|| k.strip_prefix("contact["))
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(k);
        keep_field(&mut contact.fields, name, v)?;
    }

    let event_type = form
        .get("type")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("webhook");
    contact::check_len(event_type, contact::MAX_NAME, "type")?;
    Ok(Inbound::Events {
        events: vec![InboundEvent {
            source: Source::ActiveCampaign,
            event_type: event_type.to_owned(),
            contact,
        }],
    })
}

/// `contact[tags]` is a comma-and-space list of tag names: `Gold Member, Newsletter`.
fn tag_names(list: &str) -> Result<Vec<Tag>, Error> {
    contact::tag_list(list, "contact[tags]", |name| {
        contact::check_len(name, contact::MAX_NAME, "contact[tags]")?;
        Ok(Tag::name(name))
    })
}
