//! Bulk runs: read a contact list exported from a CRM (CSV), and plan it against the directory
//! — how many members would be created, linked, existing, updated, and which rows conflict —
//! with the same decision rules the registration workflow applies one event at a time.

use std::borrow::Cow;
use std::collections::HashMap;

use super::contact::{Contact, ContactId, CrmKind, Tag};
use super::directory::MemoryDirectory;
use super::email::Email;
use super::member::Member;
use super::workflow::OutcomeKind;

/// What the workflow would decide for `contact`, given the member holding its contact key and the
/// member holding its email (as the directory stands). The workflow reaches the same answer
/// through its lookups and atomic writes (`tests/plan_matches_workflow.rs` checks it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: OutcomeKind,
    pub reason: Option<&'static str>,
    pub other_member: Option<String>,
}

crate::json_struct!(
    #[to_only]
    Decision {
        outcome: "outcome"[required],
        reason: "reason"[some],
        other_member: "otherMember"[some],
    }
);

crate::json_struct!(
    #[to_only]
    InvalidRow {
        row: "row"[required],
        message: "message"[required],
    }
);

crate::json_struct!(
    #[to_only]
    Counts {
        created: "created"[required],
        linked: "linked"[required],
        existing: "existing"[required],
        updated: "updated"[required],
        conflict: "conflict"[required],
        invalid: "invalid"[required],
    }
);

// A planned row is written with its decision's fields beside its own (serde's `flatten`).
impl crate::core::json::ToJson for PlannedRow {
    fn write_json(&self, out: &mut String) {
        let mut o = crate::core::json::ObjectWriter::new(out);
        o.field("row", &self.row);
        o.field("contactId", &self.contact_id);
        o.field("email", &self.email);
        o.field("outcome", &self.decision.outcome);
        o.some("reason", &self.decision.reason);
        o.some("otherMember", &self.decision.other_member);
        o.end();
    }
}

crate::json_struct!(
    #[to_only]
    Plan {
        counts: "counts"[required],
        rows: "rows"[required],
        invalid: "invalid"[required],
    }
);

pub fn decide(
    contact: &Contact,
    by_contact: Option<&Member>,
    by_email: Option<&Member>,
) -> Decision {
    decide_on(
        contact.email.as_ref().map(Email::as_str),
        by_contact.map(Holder::from),
        by_email.map(Holder::from),
    )
}

/// What `decide` needs to know of a member.
#[derive(Debug, Clone, Copy)]
struct Holder<'a> {
    id: MemberRef<'a>,
    email: &'a str,
    has_contact: bool,
}

/// A member by its id, or the member a plan would create for one of its rows (which has no id
/// yet: it is shown as `planned-<row>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemberRef<'a> {
    Id(&'a str),
    PlannedRow(usize),
}

impl MemberRef<'_> {
    fn to_id(self) -> String {
        match self {
            MemberRef::Id(id) => id.to_owned(),
            MemberRef::PlannedRow(row) => format!("planned-{row}"),
        }
    }
}

impl<'a> From<&'a Member> for Holder<'a> {
    fn from(m: &'a Member) -> Self {
        Holder {
            id: MemberRef::Id(&m.id),
            email: m.email.as_str(),
            has_contact: m.contact.is_some(),
        }
    }
}

fn decide_on(
    email: Option<&str>,
    by_contact: Option<Holder>,
    by_email: Option<Holder>,
) -> Decision {
    judge(email, by_contact, || by_email).decision()
}

/// A decision before it owns anything: the other member is borrowed, so a plan that keeps only
/// the counts of most rows allocates nothing for them.
struct Judgement<'h> {
    outcome: OutcomeKind,
    reason: Option<&'static str>,
    other: Option<Holder<'h>>,
}

impl Judgement<'_> {
    fn decision(&self) -> Decision {
        Decision {
            outcome: self.outcome,
            reason: self.reason,
            other_member: self.other.map(|m| m.id.to_id()),
        }
    }
}

/// The rules, with the member holding the email looked up only when they need it: a contact
/// whose member already has its email is `existing` whoever else there is.
fn judge<'h>(
    email: Option<&str>,
    by_contact: Option<Holder<'h>>,
    by_email: impl FnOnce() -> Option<Holder<'h>>,
) -> Judgement<'h> {
    let d = |outcome, reason, other| Judgement {
        outcome,
        reason,
        other,
    };
    if let Some(m) = by_contact {
        return match email {
            Some(e) if e != m.email => match by_email() {
                Some(o) if o.id != m.id => {
                    d(OutcomeKind::Conflict, Some("email_change_taken"), Some(o))
                }
                _ => d(OutcomeKind::Updated, None, None),
            },
            _ => d(OutcomeKind::Existing, None, None),
        };
    }
    match by_email() {
        None => d(OutcomeKind::Created, None, None),
        Some(m) if !m.has_contact => d(OutcomeKind::Linked, None, None),
        Some(m) => d(
            OutcomeKind::Conflict,
            Some("email_taken_by_other_contact"),
            Some(m),
        ),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRow {
    /// The row's number as a spreadsheet numbers it: the header is row 1, and a line break
    /// inside a quoted cell does not start a row.
    pub row: usize,
    pub message: String,
}

/// One data row of a contact export, as read: its cells borrow from the row (`'r`), and the id
/// and email also from the text itself (`'t`) when their cells were not quoted.
struct CsvContact<'t, 'r> {
    line: usize,
    id: &'r str,
    id_text: Option<&'t str>,
    id_header: &'r str,
    email: &'r str,
    email_text: Option<&'t str>,
    email_header: &'r str,
    first: &'r str,
    last: &'r str,
    /// The tags cell, where the export has one.
    tags: Option<&'r str>,
}

impl CsvContact<'_, '_> {
    /// The tags cell, split at commas: numbers are tag ids, anything else tag names.
    fn tags(&self) -> Option<Vec<Tag>> {
        self.tags.map(|cell| {
            cell.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| {
                    if t.bytes().all(|b| b.is_ascii_digit()) {
                        Tag::id(t)
                    } else {
                        Tag::name(t)
                    }
                })
                .collect()
        })
    }
}

/// A contact export: RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF, a UTF-8 BOM), with
/// the columns CRM exports name `Id`/`Contact Id`, `Email`, `First Name`, `Last Name` and
/// `Tags`/`Groups` (header names compare without case, spaces or punctuation). Blank rows are
/// skipped.
struct CsvContacts<'t> {
    rows: CsvRows<'t>,
    header: Vec<Cow<'t, str>>,
    id_col: usize,
    email_col: usize,
    first_col: Option<usize>,
    last_col: Option<usize>,
    tags_col: Option<usize>,
    /// Data rows read so far, blank ones included.
    read: usize,
}

impl<'t> CsvContacts<'t> {
    fn new(text: &'t str) -> Result<Self, String> {
        let mut rows = CsvRows::new(text.strip_prefix('\u{feff}').unwrap_or(text));
        let mut header = Vec::new();
        if !rows.next_into(&mut header) {
            return Err("the CSV is empty".into());
        }
        let norm = |h: &str| {
            let kept: String = h.chars().filter(|c| c.is_alphanumeric()).collect();
            super::text::lowercase(&kept)
        };
        let col = |names: &[&str]| {
            header
                .iter()
                .position(|h| names.contains(&norm(h).as_str()))
        };
        let id_col =
            col(&["id", "contactid", "contact"]).ok_or("the CSV has no Id (contact id) column")?;
        let email_col = col(&["email", "emailaddress", "email1", "primaryemail"])
            .ok_or("the CSV has no Email column")?;
        let first_col = col(&["firstname", "first", "givenname"]);
        let last_col = col(&["lastname", "last", "familyname", "surname"]);
        let tags_col = col(&["tags", "groups", "tagids", "tagnames"]);
        Ok(CsvContacts {
            rows,
            header,
            id_col,
            email_col,
            first_col,
            last_col,
            tags_col,
            read: 0,
        })
    }

    /// Reads the next row that is not blank into `row` (a buffer the caller reuses: a row
    /// allocates only for its quoted cells); its line, or `None` at the end.
    fn next_into(&mut self, row: &mut Vec<Cow<'t, str>>) -> Option<usize> {
        while self.rows.next_into(row) {
            self.read += 1;
            if !row.iter().all(|c| c.trim().is_empty()) {
                // Numbered as `InvalidRow::row` is: the header is 1.
                return Some(self.read + 1);
            }
        }
        None
    }

    /// The contact in a row that [`Self::next_into`] read.
    fn contact<'r>(&'r self, line: usize, row: &'r [Cow<'t, str>]) -> CsvContact<'t, 'r> {
        let cell = |c: Option<usize>| {
            c.and_then(|c| row.get(c))
                .map(|s| s.as_ref().trim())
                .unwrap_or("")
        };
        let in_text = |c: usize| match row.get(c) {
            Some(Cow::Borrowed(s)) => Some(s.trim()),
            Some(Cow::Owned(_)) => None,
            None => Some(""),
        };
        CsvContact {
            line,
            id: cell(Some(self.id_col)),
            id_text: in_text(self.id_col),
            id_header: &self.header[self.id_col],
            email: cell(Some(self.email_col)),
            email_text: in_text(self.email_col),
            email_header: &self.header[self.email_col],
            first: cell(self.first_col),
            last: cell(self.last_col),
            tags: self.tags_col.map(|c| cell(Some(c))),
        }
    }
}

fn opt(s: &str) -> Option<String> {
    Some(s).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Builds members from an export, one per row (an empty id: a member without a contact). Rows
/// whose contact or email is taken, or that cannot be read, are skipped. This is for building a
/// directory outside any workflow (offline planning, benchmarks); it returns how many members
/// were inserted.
pub fn load_members(
    dir: &mut MemoryDirectory,
    csv: &str,
    crm: CrmKind,
    account: &str,
) -> Result<usize, String> {
    use super::directory::{DirOp, DirResult};
    let mut inserted = 0;
    let mut csv = CsvContacts::new(csv)?;
    let mut row = Vec::new();
    while let Some(line) = csv.next_into(&mut row) {
        let r = csv.contact(line, &row);
        let Ok(email) = Email::parse(r.email, r.email_header) else {
            continue;
        };
        let contact = match r.id {
            "" => None,
            id => match ContactId::parse(id, r.id_header, crm.numeric_ids()) {
                Ok(id) => Some(super::member::ContactLink {
                    crm,
                    account: account.to_owned(),
                    contact_id: id.as_str().to_owned(),
                }),
                Err(_) => continue,
            },
        };
        let member = Member {
            id: String::new(),
            version: 0,
            email,
            contact,
            first_name: opt(r.first),
            last_name: opt(r.last),
            tags: r.tags().unwrap_or_default(),
            credentials: Default::default(),
            password_hash: None,
            welcome: Default::default(),
            created_by: None,
            created_at: 0,
            updated_at: 0,
        };
        if matches!(
            dir.apply(DirOp::Insert { member }),
            DirResult::Inserted { .. }
        ) {
            inserted += 1;
        }
    }
    Ok(inserted)
}

/// The rows of CSV text, one at a time; unquoted fields borrow from the text.
struct CsvRows<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> CsvRows<'a> {
    fn new(text: &'a str) -> Self {
        CsvRows { text, at: 0 }
    }
}

impl<'a> CsvRows<'a> {
    /// Reads the next row into `row` (cleared first); false at the end of the text.
    fn next_into(&mut self, row: &mut Vec<Cow<'a, str>>) -> bool {
        row.clear();
        let text = self.text;
        let b = text.as_bytes();
        let sep = |from: usize| {
            b[from..]
                .iter()
                .position(|c| matches!(c, b',' | b'\n'))
                .map_or(b.len(), |p| from + p)
        };
        if self.at >= b.len() {
            return false;
        }
        let mut i = self.at;
        loop {
            if i < b.len() && b[i] == b'"' {
                // Quoted: "" is a quote; the field ends at the closing quote.
                let mut field = String::new();
                let mut j = i + 1;
                let mut from = j;
                loop {
                    match b[j..].iter().position(|c| *c == b'"') {
                        None => {
                            field.push_str(&text[from..]);
                            j = b.len();
                            break;
                        }
                        Some(p) => {
                            field.push_str(&text[from..j + p]);
                            if b.get(j + p + 1) == Some(&b'"') {
                                field.push('"');
                                j += p + 2;
                                from = j;
                            } else {
                                j += p + 1;
                                break;
                            }
                        }
                    }
                }
                let end = sep(j);
                // Text between the closing quote and the separator is kept, as spreadsheets do.
                field.push_str(text[j..end].trim_end_matches('\r'));
                row.push(Cow::Owned(field));
                i = end;
            } else {
                let end = sep(i);
                row.push(Cow::Borrowed(text[i..end].trim_end_matches('\r')));
                i = end;
            }
            if i >= b.len() || b[i] == b'\n' {
                self.at = i + 1;
                return true;
            }
            i += 1;
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub created: u32,
    pub linked: u32,
    pub existing: u32,
    pub updated: u32,
    pub conflict: u32,
    pub invalid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRow {
    pub row: usize,
    pub contact_id: String,
    pub email: String,
    pub decision: Decision,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub counts: Counts,
    pub rows: Vec<PlannedRow>,
    pub invalid: Vec<InvalidRow>,
}

/// Which planned rows a plan keeps besides its counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every row (the admin page's dry run lists them).
    All,
    /// The first `n` conflicts only (a count of a large export shows a few of them).
    Conflicts(usize),
}

/// Plans a contact export against the directory, row by row, without changing it: later rows
/// see what earlier rows would do (a contact listed twice is `created` then `existing`). Index
/// lookups only: O(rows). Keeps the rows `keep` asks for.
pub fn plan_csv<'k>(
    dir: &'k MemoryDirectory,
    csv: &'k str,
    crm: CrmKind,
    account: &str,
    keep: Keep,
) -> Result<Plan, String> {
    let mut csv = CsvContacts::new(csv)?;
    let mut planner = Planner {
        dir,
        crm,
        account,
        keep,
        key: String::new(),
        overlay: Overlay::default(),
        out: Plan::default(),
    };
    let mut row = Vec::new();
    let mut email = String::new();
    while let Some(line) = csv.next_into(&mut row) {
        let r = csv.contact(line, &row);
        let checked = ContactId::check(r.id, r.id_header, crm.numeric_ids())
            .and_then(|_| Email::normalize_into(r.email, r.email_header, &mut email));
        match checked {
            Ok(()) => planner.row(&r, &email),
            Err(e) => planner.out.invalid.push(InvalidRow {
                row: line,
                message: e.message,
            }),
        }
    }
    let mut out = planner.out;
    out.counts.invalid = out.invalid.len() as u32;
    Ok(out)
}

/// A plan under way.
struct Planner<'k, 'a> {
    dir: &'k MemoryDirectory,
    crm: CrmKind,
    account: &'a str,
    keep: Keep,
    /// Scratch for the directory's contact key of a row.
    key: String,
    overlay: Overlay<'k>,
    out: Plan,
}

impl<'k> Planner<'k, '_> {
    /// Decides one readable row (its email normalized), over what earlier rows would do.
    fn row(&mut self, r: &CsvContact<'k, '_>, email: &str) {
        let Planner {
            dir,
            crm,
            account,
            keep,
            key,
            overlay,
            out,
        } = self;
        let (dir, keep) = (*dir, *keep);
        let id = r.id;
        // The plan's own members first, then the directory's.
        let planned_contact = overlay.by_contact.get(id).copied();
        let dir_contact = match planned_contact {
            Some(_) => None,
            None => {
                super::contact::key_into(key, *crm, account, id);
                dir.get_by_contact(key)
            }
        };
        let m_contact = match planned_contact {
            Some(i) => Some(overlay.holder(i)),
            None => dir_contact.map(Holder::from),
        };
        // Where the email is, when the rules ask (most rows are members as they are).
        let mut dir_email = None;
        let judged = judge(Some(email), m_contact, || {
            match overlay.by_email.get(email) {
                Some(held) => held.map(|i| overlay.holder(i)),
                None => {
                    dir_email = dir.get_by_email_str(email);
                    dir_email.map(Holder::from)
                }
            }
        });
        let outcome = judged.outcome;
        let kept = match keep {
            Keep::All => true,
            Keep::Conflicts(n) => outcome == OutcomeKind::Conflict && out.rows.len() < n,
        };
        // Owned only for a row the plan keeps (before the overlay changes under the borrow).
        let decision = kept.then(|| judged.decision());
        let counts = &mut out.counts;
        match outcome {
            OutcomeKind::Created => counts.created += 1,
            OutcomeKind::Linked => counts.linked += 1,
            OutcomeKind::Existing => counts.existing += 1,
            OutcomeKind::Updated => counts.updated += 1,
            OutcomeKind::Conflict => counts.conflict += 1,
        }
        if matches!(
            outcome,
            OutcomeKind::Created | OutcomeKind::Linked | OutcomeKind::Updated
        ) {
            // Keys borrow from the export where the row's cells are as normalized; the
            // directory's strings are borrowed as they are.
            let new_email = match r.email_text {
                Some(t) if t == email => Cow::Borrowed(t),
                _ => Cow::Owned(email.to_owned()),
            };
            match (outcome, planned_contact) {
                // The contact's planned member changes its email.
                (OutcomeKind::Updated, Some(i)) => {
                    let old = std::mem::replace(&mut overlay.planned[i].email, new_email.clone());
                    overlay.by_email.insert(old, None);
                    overlay.by_email.insert(new_email, Some(i));
                }
                _ => {
                    let (member, freed) = match (outcome, dir_contact, dir_email) {
                        (OutcomeKind::Updated, Some(m), _) => {
                            (MemberRef::Id(&m.id), Some(Cow::Borrowed(m.email.as_str())))
                        }
                        (OutcomeKind::Linked, _, Some(m)) => (MemberRef::Id(&m.id), None),
                        _ => (MemberRef::PlannedRow(r.line), None),
                    };
                    let contact = match r.id_text {
                        Some(t) => Cow::Borrowed(t),
                        None => Cow::Owned(id.to_owned()),
                    };
                    overlay.add(member, contact, new_email, freed);
                }
            }
        }
        if let Some(decision) = decision {
            out.rows.push(PlannedRow {
                row: r.line,
                contact_id: id.to_owned(),
                email: email.to_owned(),
                decision,
            });
        }
    }
}

/// What a plan would change, over the directory: the members it would create, link or move,
/// and the contact ids and emails that lead to them. Its strings borrow from the export or the
/// directory wherever they can, so most rows allocate nothing.
#[derive(Default)]
struct Overlay<'k> {
    planned: Vec<Planned<'k>>,
    /// Contact id (the plan's CRM and account) -> its planned member.
    by_contact: OverlayMap<'k, usize>,
    /// Email -> the planned member now holding it, or `None` where the plan freed it.
    by_email: OverlayMap<'k, Option<usize>>,
}

impl<'k> Overlay<'k> {
    fn holder(&self, i: usize) -> Holder<'_> {
        let p = &self.planned[i];
        Holder {
            id: p.id,
            email: &p.email,
            has_contact: true,
        }
    }

    /// `member` now belongs to `contact` and holds `email`; its old email, if any, is freed.
    fn add(
        &mut self,
        member: MemberRef<'k>,
        contact: Cow<'k, str>,
        email: Cow<'k, str>,
        freed: Option<Cow<'k, str>>,
    ) {
        let i = self.planned.len();
        if let Some(old) = freed {
            self.by_email.insert(old, None);
        }
        self.by_email.insert(email.clone(), Some(i));
        self.by_contact.insert(contact, i);
        self.planned.push(Planned { id: member, email });
    }
}

/// A member the plan would create or change.
struct Planned<'k> {
    id: MemberRef<'k>,
    email: Cow<'k, str>,
}

/// A fast, unkeyed hasher for the plan's own overlay maps, which hold only the rows the plan
/// would change, for as long as one plan runs. Their keys come from the administrator's upload,
/// a CRM export, whose emails the contacts chose: crafted ones could slow a plan down (each of
/// them probing past the others), never change its answers. SipHash here would cost the
/// 1M-row plan several percent; the directory's maps, which live on and whose keys webhooks
/// choose, are keyed (`super::hashing`).
#[derive(Default, Clone, Copy)]
struct OverlayHasher(u64);

impl std::hash::Hasher for OverlayHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ *b as u64).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type OverlayMap<'k, V> = HashMap<Cow<'k, str>, V, std::hash::BuildHasherDefault<OverlayHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of `csv` planned against an empty directory.
    fn plan_all(csv: &str) -> Plan {
        plan_csv(
            &MemoryDirectory::new(),
            csv,
            CrmKind::Keap,
            "default",
            Keep::All,
        )
        .unwrap()
    }

    #[test]
    fn csv_quotes_crlf_bom_and_headers() {
        let csv = "\u{feff}Id,First Name,Last Name,Email,Tags\r\n1,Ann,\"O\"\"Neil\",Ann@Example.com,\"91, Gold Member\"\r\n2,,,not-an-email,\r\n\r\n3,Bo,\"Lee, Jr.\",bo@example.com,";
        let p = plan_all(csv);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].row, 2);
        assert_eq!(p.rows[0].email, "ann@example.com");
        assert_eq!(p.invalid.len(), 1);
        assert_eq!(p.invalid[0].row, 3);
        let mut dir = MemoryDirectory::new();
        assert_eq!(
            load_members(&mut dir, csv, CrmKind::Keap, "default").unwrap(),
            2
        );
        let ann = dir.get_by_email_str("ann@example.com").unwrap();
        assert_eq!(ann.last_name.as_deref(), Some("O\"Neil"));
        assert_eq!(ann.tags, [Tag::id("91"), Tag::name("Gold Member")]);
        let bo = dir.get_by_email_str("bo@example.com").unwrap();
        assert_eq!(bo.last_name.as_deref(), Some("Lee, Jr."));
        assert!(plan_csv(&dir, "Name,Phone\nx,y", CrmKind::Keap, "d", Keep::All).is_err());
    }

    #[test]
    fn a_count_keeps_its_first_conflicts_only() {
        // Rows 2-4 conflict (their emails belong to contacts 1 and 9); row 5 is created.
        let csv = "Id,Email\n1,a@example.com\n9,b@example.com\n2,a@example.com\n3,b@example.com\n4,A@example.com\n5,e@example.com";
        let dir = MemoryDirectory::new();
        let all = plan_csv(&dir, csv, CrmKind::Keap, "default", Keep::All).unwrap();
        let two = plan_csv(&dir, csv, CrmKind::Keap, "default", Keep::Conflicts(2)).unwrap();
        assert_eq!(all.counts, two.counts);
        assert_eq!(all.counts.conflict, 3);
        assert_eq!(all.counts.created, 3);
        let conflicts: Vec<&PlannedRow> = all
            .rows
            .iter()
            .filter(|r| r.decision.outcome == OutcomeKind::Conflict)
            .collect();
        assert_eq!(two.rows.len(), 2);
        assert_eq!(two.rows[0], *conflicts[0]);
        assert_eq!(two.rows[1], *conflicts[1]);
        assert_eq!(
            two.rows[0].decision.other_member.as_deref(),
            Some("planned-2")
        );
        assert!(
            plan_csv(&dir, csv, CrmKind::Keap, "default", Keep::Conflicts(0))
                .unwrap()
                .rows
                .is_empty()
        );
    }

    #[test]
    fn plans_duplicates_within_the_list() {
        let csv = "Id,Email\n1,a@example.com\n1,a@example.com\n2,A@example.com\n3,c@example.com\n3,c2@example.com";
        let p = plan_all(csv);
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
