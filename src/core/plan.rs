//! Bulk runs: read a contact list exported from a CRM (CSV), and plan it against the directory
//! — how many members would be created, linked, existing, updated, and which rows conflict —
//! with the same decision rules the registration workflow applies one event at a time.

use std::collections::HashMap;

use serde::Serialize;

use super::contact::{Contact, ContactId, CrmKind, Tag};
use super::directory::MemoryDirectory;
use super::email::Email;
use super::member::Member;
use super::workflow::OutcomeKind;

/// What the workflow would decide for `contact`, given the member holding its contact key and the
/// member holding its email (as the directory stands). The workflow reaches the same answer
/// through its lookups and atomic writes (`tests/plan_matches_workflow.rs` checks it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub outcome: OutcomeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_member: Option<String>,
}

pub fn decide(
    contact: &Contact,
    by_contact: Option<&Member>,
    by_email: Option<&Member>,
) -> Decision {
    let d = |outcome, reason, other: Option<&Member>| Decision {
        outcome,
        reason,
        other_member: other.map(|m| m.id.clone()),
    };
    if let Some(m) = by_contact {
        return match &contact.email {
            Some(e) if *e != m.email => match by_email {
                Some(o) if o.id != m.id => {
                    d(OutcomeKind::Conflict, Some("email_change_taken"), Some(o))
                }
                _ => d(OutcomeKind::Updated, None, None),
            },
            _ => d(OutcomeKind::Existing, None, None),
        };
    }
    match by_email {
        None => d(OutcomeKind::Created, None, None),
        Some(m) if m.contact.is_none() => d(OutcomeKind::Linked, None, None),
        Some(m) => d(
            OutcomeKind::Conflict,
            Some("email_taken_by_other_contact"),
            Some(m),
        ),
    }
}

/// A contact list read from CSV.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactList {
    pub contacts: Vec<(usize, Contact)>,
    pub invalid: Vec<InvalidRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvalidRow {
    /// 1-based line of the CSV (the header is line 1).
    pub row: usize,
    pub message: String,
}

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF, a UTF-8 BOM), reading the
/// columns CRM exports name `Id`/`Contact Id`, `Email`, `First Name`, `Last Name` and
/// `Tags`/`Groups` (header names compare without case, spaces or punctuation).
pub fn parse_contacts_csv(csv: &str, crm: CrmKind, account: &str) -> Result<ContactList, String> {
    let rows = csv_rows(csv.strip_prefix('\u{feff}').unwrap_or(csv));
    let mut rows = rows.into_iter().enumerate();
    let Some((_, header)) = rows.next() else {
        return Err("the CSV is empty".into());
    };
    let norm = |h: &str| {
        h.chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase()
    };
    let col = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.contains(&norm(h).as_str()))
    };
    let id_col = col(&["id", "contactid", "contact"]);
    let email_col = col(&["email", "emailaddress", "email1", "primaryemail"])
        .ok_or("the CSV has no Email column")?;
    let first_col = col(&["firstname", "first", "givenname"]);
    let last_col = col(&["lastname", "last", "familyname", "surname"]);
    let tags_col = col(&["tags", "groups", "tagids", "tagnames"]);
    let id_col = id_col.ok_or("the CSV has no Id (contact id) column")?;

    let mut list = ContactList::default();
    for (i, row) in rows {
        let line = i + 1;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).map(|s| s.trim()).unwrap_or("");
        let numeric = crm != CrmKind::Generic;
        let id = match ContactId::parse(cell(Some(id_col)), &header[id_col], numeric) {
            Ok(id) => id,
            Err(e) => {
                list.invalid.push(InvalidRow {
                    row: line,
                    message: e.message,
                });
                continue;
            }
        };
        let email = match Email::parse(cell(Some(email_col)), &header[email_col]) {
            Ok(e) => e,
            Err(e) => {
                list.invalid.push(InvalidRow {
                    row: line,
                    message: e.message,
                });
                continue;
            }
        };
        let mut c = Contact::new(crm, account, id);
        c.email = Some(email);
        c.first_name = Some(cell(first_col))
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        c.last_name = Some(cell(last_col))
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if tags_col.is_some() {
            c.tags = Some(
                cell(tags_col)
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| {
                        if t.bytes().all(|b| b.is_ascii_digit()) {
                            Tag::id(t)
                        } else {
                            Tag::name(t)
                        }
                    })
                    .collect(),
            );
        }
        list.contacts.push((line, c));
    }
    Ok(list)
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: u32,
    pub linked: u32,
    pub existing: u32,
    pub updated: u32,
    pub conflict: u32,
    pub invalid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRow {
    pub row: usize,
    pub contact_id: String,
    pub email: String,
    #[serde(flatten)]
    pub decision: Decision,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub counts: Counts,
    pub rows: Vec<PlannedRow>,
    pub invalid: Vec<InvalidRow>,
}

/// Plans `contacts` in order against the directory: later rows see what earlier rows would do
/// (a contact listed twice is `created` then `existing`). Index lookups only: O(rows).
pub fn plan(dir: &MemoryDirectory, list: ContactList) -> Plan {
    // Members the plan would create or change, over the directory.
    let mut by_key: HashMap<String, Member> = HashMap::new();
    let mut by_email: HashMap<Email, Member> = HashMap::new();
    let mut out = Plan {
        invalid: list.invalid,
        ..Plan::default()
    };
    out.counts.invalid = out.invalid.len() as u32;
    for (row, c) in list.contacts {
        let key = c.key();
        let email = c.email.clone().expect("parsed rows have emails");
        let m_contact = by_key
            .get(&key)
            .cloned()
            .or_else(|| dir.get_by_contact(&key).cloned());
        let m_email = by_email
            .get(&email)
            .cloned()
            .or_else(|| dir.get_by_email(&email).cloned());
        let decision = decide(&c, m_contact.as_ref(), m_email.as_ref());
        let link = super::member::ContactLink {
            crm: c.crm,
            account: c.account.clone(),
            contact_id: c.contact_id.as_str().to_owned(),
        };
        let after = match decision.outcome {
            OutcomeKind::Created => Some(Member {
                id: format!("planned-{row}"),
                version: 0,
                email: email.clone(),
                contact: Some(link),
                first_name: None,
                last_name: None,
                tags: vec![],
                credentials: Default::default(),
                password_hash: None,
                welcome: Default::default(),
                created_by: None,
                created_at: 0,
                updated_at: 0,
            }),
            OutcomeKind::Linked => m_email.clone().map(|mut m| {
                m.contact = Some(link);
                m
            }),
            OutcomeKind::Updated => m_contact.clone().map(|mut m| {
                by_email.remove(&m.email);
                m.email = email.clone();
                m
            }),
            _ => None,
        };
        if let Some(m) = after {
            by_key.insert(key, m.clone());
            by_email.insert(m.email.clone(), m);
        }
        let counts = &mut out.counts;
        match decision.outcome {
            OutcomeKind::Created => counts.created += 1,
            OutcomeKind::Linked => counts.linked += 1,
            OutcomeKind::Existing => counts.existing += 1,
            OutcomeKind::Updated => counts.updated += 1,
            OutcomeKind::Conflict => counts.conflict += 1,
        }
        out.rows.push(PlannedRow {
            row,
            contact_id: c.contact_id.as_str().to_owned(),
            email: email.to_string(),
            decision,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_crlf_bom_and_headers() {
        let csv = "\u{feff}Id,First Name,Last Name,Email,Tags\r\n1,Ann,\"O\"\"Neil\",Ann@Example.com,\"91, Gold Member\"\r\n2,,,not-an-email,\r\n\r\n3,Bo,\"Lee, Jr.\",bo@example.com,";
        let list = parse_contacts_csv(csv, CrmKind::Keap, "default").unwrap();
        assert_eq!(list.contacts.len(), 2);
        let (row, ann) = &list.contacts[0];
        assert_eq!(*row, 2);
        assert_eq!(ann.last_name.as_deref(), Some("O\"Neil"));
        assert_eq!(ann.email.as_ref().unwrap().as_str(), "ann@example.com");
        assert_eq!(
            ann.tags.as_ref().unwrap(),
            &[Tag::id("91"), Tag::name("Gold Member")]
        );
        assert_eq!(list.contacts[1].1.last_name.as_deref(), Some("Lee, Jr."));
        assert_eq!(list.invalid.len(), 1);
        assert_eq!(list.invalid[0].row, 3);
        assert!(parse_contacts_csv("Name,Phone\nx,y", CrmKind::Keap, "d").is_err());
    }

    #[test]
    fn plans_duplicates_within_the_list() {
        let csv = "Id,Email\n1,a@example.com\n1,a@example.com\n2,A@example.com\n3,c@example.com\n3,c2@example.com";
        let list = parse_contacts_csv(csv, CrmKind::Keap, "default").unwrap();
        let p = plan(&MemoryDirectory::new(), list);
        let kinds: Vec<OutcomeKind> = p.rows.iter().map(|r| r.decision.outcome).collect();
        assert_eq!(
            kinds,
            [
                OutcomeKind::Created,
                OutcomeKind::Existing,
                OutcomeKind::Conflict,
                OutcomeKind::Created,
                OutcomeKind::Updated
            ]
        );
        assert_eq!(
            p.counts,
            Counts {
                created: 2,
                linked: 0,
                existing: 1,
                updated: 1,
                conflict: 1,
                invalid: 0
            }
        );
    }
}
