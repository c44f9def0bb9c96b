//! The member directory port: atomic operations as data, and the in-memory adapter.
//!
//! Uniqueness is the directory's job, never the caller's: [`DirOp::Insert`] is an
//! insert-if-absent on both the contact key and the normalized email, and [`DirOp::Update`]
//! names the version it expects and re-checks both indexes. Two workflows that race for one
//! contact therefore cannot both create a member, whatever the interleaving.
//!
//! [`MemoryDirectory`] is the reference adapter: the simulation tests drive it, and the JS hosts
//! run it (compiled to wasm) behind their durable journals, so these rules exist once.

use super::hashing::KeyedMap;
use std::borrow::Cow;

use super::email::Email;
use super::json::{self, DecodeError, Fields, FromJson, Json, JsonError, ObjectWriter, ToJson};
use super::member::{Credentials, Member};

#[derive(Debug, Clone, PartialEq)]
pub enum DirOp {
    GetByContact {
        key: String,
    },
    GetByEmail {
        email: Email,
    },
    /// Insert if neither the contact key nor the email is taken. `member.id` and `version`
    /// are assigned by the directory.
    Insert {
        member: Member,
    },
    /// Replace the member whose id and version match; the contact key and email must still be
    /// free or its own.
    Update {
        member: Member,
    },
    /// Store a set-password token's digest for a member (replacing any earlier one); a member
    /// without credentials is marked `link_issued`.
    PutToken {
        token_hash: String,
        member_id: String,
        expires_at: u64,
    },
    /// Use up a token: succeeds once, before it expires.
    ConsumeToken {
        token_hash: String,
        now: u64,
    },
    /// Set a member's password hash (after a token was consumed, or by an administrator).
    SetPassword {
        member_id: String,
        password_hash: String,
        now: u64,
    },
}

impl DirOp {
    /// Whether the operation changes the directory (and so must be journaled by a host).
    pub fn mutates(&self) -> bool {
        !matches!(self, DirOp::GetByContact { .. } | DirOp::GetByEmail { .. })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DirResult {
    Found {
        member: Option<Member>,
    },
    Inserted {
        member: Member,
    },
    /// The insert found the contact key (`on: contact`) or the email (`on: email`) taken.
    Exists {
        on: Index,
        member: Member,
    },
    Updated {
        member: Member,
    },
    /// The member changed since it was read (or is gone): read it again.
    Stale {
        member: Option<Member>,
    },
    /// The update would take an email or contact key another member holds.
    Taken {
        on: Index,
        member: Member,
    },
    TokenStored {
        member: Member,
        /// A directory that keeps the members' passwords itself (WordPress) answers with its own
        /// set-password link (`wp-login.php?action=rp&key=…`): that link goes to the CRM instead
        /// of memberwire's. A secret, like the token: never saved, never logged.
        link: Option<String>,
    },
    TokenConsumed {
        member: Member,
    },
    /// Unknown, expired or already used.
    TokenInvalid,
    PasswordSet {
        member: Member,
    },
    NoSuchMember,
    /// The member data breaks a limit (an over-long name, an empty tag, too many tags).
    Rejected {
        reason: String,
    },
}

// The tagged enums are written with their tag first, as serde's internally tagged enums were.

impl FromJson for DirOp {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        let mut f = Fields::of(v, "an operation")?;
        Ok(match &*f.tag("op")? {
            "get_by_contact" => DirOp::GetByContact {
                key: f.take("key")?,
            },
            "get_by_email" => DirOp::GetByEmail {
                email: f.take("email")?,
            },
            "insert" => DirOp::Insert {
                member: f.take("member")?,
            },
            "update" => DirOp::Update {
                member: f.take("member")?,
            },
            "put_token" => DirOp::PutToken {
                token_hash: f.take("tokenHash")?,
                member_id: f.take("memberId")?,
                expires_at: f.take("expiresAt")?,
            },
            "consume_token" => DirOp::ConsumeToken {
                token_hash: f.take("tokenHash")?,
                now: f.take("now")?,
            },
            "set_password" => DirOp::SetPassword {
                member_id: f.take("memberId")?,
                password_hash: f.take("passwordHash")?,
                now: f.take("now")?,
            },
            other => return Err(DecodeError::unknown_variant(other, "op")),
        })
    }
}

impl ToJson for DirOp {
    fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        match self {
            DirOp::GetByContact { key } => {
                o.field("op", "get_by_contact");
                o.field("key", key);
            }
            DirOp::GetByEmail { email } => {
                o.field("op", "get_by_email");
                o.field("email", email);
            }
            DirOp::Insert { member } => {
                o.field("op", "insert");
                o.field("member", member);
            }
            DirOp::Update { member } => {
                o.field("op", "update");
                o.field("member", member);
            }
            DirOp::PutToken {
                token_hash,
                member_id,
                expires_at,
            } => {
                o.field("op", "put_token");
                o.field("tokenHash", token_hash);
                o.field("memberId", member_id);
                o.field("expiresAt", expires_at);
            }
            DirOp::ConsumeToken { token_hash, now } => {
                o.field("op", "consume_token");
                o.field("tokenHash", token_hash);
                o.field("now", now);
            }
            DirOp::SetPassword {
                member_id,
                password_hash,
                now,
            } => {
                o.field("op", "set_password");
                o.field("memberId", member_id);
                o.field("passwordHash", password_hash);
                o.field("now", now);
            }
        }
        o.end();
    }
}

impl FromJson for DirResult {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        let mut f = Fields::of(v, "a directory result")?;
        Ok(match &*f.tag("result")? {
            "found" => DirResult::Found {
                member: f.take("member")?,
            },
            "inserted" => DirResult::Inserted {
                member: f.take("member")?,
            },
            "exists" => DirResult::Exists {
                on: f.take("on")?,
                member: f.take("member")?,
            },
            "updated" => DirResult::Updated {
                member: f.take("member")?,
            },
            "stale" => DirResult::Stale {
                member: f.take("member")?,
            },
            "taken" => DirResult::Taken {
                on: f.take("on")?,
                member: f.take("member")?,
            },
            "token_stored" => DirResult::TokenStored {
                member: f.take("member")?,
                link: f.take("link")?,
            },
            "token_consumed" => DirResult::TokenConsumed {
                member: f.take("member")?,
            },
            "token_invalid" => DirResult::TokenInvalid,
            "password_set" => DirResult::PasswordSet {
                member: f.take("member")?,
            },
            "no_such_member" => DirResult::NoSuchMember,
            "rejected" => DirResult::Rejected {
                reason: f.take("reason")?,
            },
            other => return Err(DecodeError::unknown_variant(other, "result")),
        })
    }
}

impl ToJson for DirResult {
    fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        match self {
            DirResult::Found { member } => {
                o.field("result", "found");
                o.field("member", member);
            }
            DirResult::Inserted { member } => {
                o.field("result", "inserted");
                o.field("member", member);
            }
            DirResult::Exists { on, member } => {
                o.field("result", "exists");
                o.field("on", on);
                o.field("member", member);
            }
            DirResult::Updated { member } => {
                o.field("result", "updated");
                o.field("member", member);
            }
            DirResult::Stale { member } => {
                o.field("result", "stale");
                o.field("member", member);
            }
            DirResult::Taken { on, member } => {
                o.field("result", "taken");
                o.field("on", on);
                o.field("member", member);
            }
            DirResult::TokenStored { member, link } => {
                o.field("result", "token_stored");
                o.field("member", member);
                o.some("link", link);
            }
            DirResult::TokenConsumed { member } => {
                o.field("result", "token_consumed");
                o.field("member", member);
            }
            DirResult::TokenInvalid => o.field("result", "token_invalid"),
            DirResult::PasswordSet { member } => {
                o.field("result", "password_set");
                o.field("member", member);
            }
            DirResult::NoSuchMember => o.field("result", "no_such_member"),
            DirResult::Rejected { reason } => {
                o.field("result", "rejected");
                o.field("reason", reason);
            }
        }
        o.end();
    }
}

crate::json_enum!(Index {
    Contact = "contact",
    Email = "email",
});

crate::json_struct!(TokenRecord {
    token_hash: "tokenHash"[required],
    member_id: "memberId"[required],
    expires_at: "expiresAt"[required],
});

impl FromJson for Change {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        let mut f = Fields::of(v, "a change")?;
        Ok(match &*f.tag("kind")? {
            "member" => Change::Member {
                member: f.take("member")?,
            },
            "token" => Change::Token {
                token: f.take("token")?,
            },
            other => return Err(DecodeError::unknown_variant(other, "kind")),
        })
    }
}

impl ToJson for Change {
    fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        match self {
            Change::Member { member } => {
                o.field("kind", "member");
                o.field("member", member);
            }
            Change::Token { token } => {
                o.field("kind", "token");
                o.field("token", token);
            }
        }
        o.end();
    }
}

crate::json_struct!(StoredMember {
    email: "email"[required],
    contact_key: "contactKey"[default],
    credentials: "credentials"[required],
    search: "search"[required],
    data: "data"[required],
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Contact,
    Email,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_hash: String,
    pub member_id: String,
    pub expires_at: u64,
}

/// What one operation changed, for a host's journal: replaying these with
/// [`MemoryDirectory::restore`] and [`MemoryDirectory::restore_token`] rebuilds the directory.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Member {
        member: Member,
    },
    /// A token stored (or, with an empty `member_id`, removed).
    Token {
        token: TokenRecord,
    },
}

/// The limits every stored member keeps, whoever writes it (a workflow, the admin API, a
/// replayed journal is trusted as written).
pub fn check_member(m: &Member) -> Result<(), String> {
    use super::contact::{MAX_NAME, MAX_TAGS};
    let long = |s: &Option<String>| s.as_ref().is_some_and(|s| s.chars().count() > MAX_NAME);
    if long(&m.first_name) || long(&m.last_name) {
        return Err(format!("names are limited to {MAX_NAME} characters"));
    }
    if m.tags.len() > MAX_TAGS {
        return Err(format!("a member has at most {MAX_TAGS} tags"));
    }
    for t in &m.tags {
        let blank = |s: &Option<String>| !s.as_ref().is_some_and(|s| !s.trim().is_empty());
        if blank(&t.id) && blank(&t.name) {
            return Err("every tag needs an id or a name".into());
        }
        if long(&t.id) || long(&t.name) {
            return Err(format!(
                "tag ids and names are limited to {MAX_NAME} characters"
            ));
        }
    }
    Ok(())
}

/// A member as a SQL store keeps it (`migrations/`): the columns the store indexes or changes on
/// its own, and `data`, the JSON of everything else. Built here so that every store derives
/// the identity keys and the limits from the one definition.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMember {
    /// The normalized email: the `email` identity.
    pub email: String,
    /// `crm:account:id`: the `contact` identity.
    pub contact_key: Option<String>,
    pub credentials: Credentials,
    /// Lower-cased email, contact id and names, one per line: what the admin search matches.
    pub search: String,
    /// The contact link, names, tags, welcome state and creating event, as JSON text.
    pub data: String,
}

/// The stored form of a member, or why it breaks the directory's limits.
pub fn stored_form(m: &Member) -> Result<StoredMember, String> {
    check_member(m)?;
    let mut search = m.email.as_str().to_owned();
    if let Some(c) = &m.contact {
        search.push('\n');
        search.push_str(&super::text::lowercase(&c.contact_id));
    }
    for n in [&m.first_name, &m.last_name].into_iter().flatten() {
        search.push('\n');
        search.push_str(&super::text::lowercase(n));
    }
    Ok(StoredMember {
        email: m.email.as_str().to_owned(),
        contact_key: m.contact.as_ref().map(|c| c.key()),
        credentials: m.credentials,
        search,
        data: stored_data(m),
    })
}

/// The `data` column: the member's fields that have no column of their own, in the order they
/// were always stored (by name, as a sorted map wrote them).
fn stored_data(m: &Member) -> String {
    let mut out = String::with_capacity(128);
    let mut o = ObjectWriter::new(&mut out);
    if let Some(c) = &m.contact {
        let mut link = ObjectWriter::new(o.key("contact"));
        link.field("account", &c.account);
        link.field("contactId", &c.contact_id);
        link.field("crm", &c.crm);
        link.end();
    }
    o.some("createdBy", &m.created_by);
    o.some("firstName", &m.first_name);
    o.some("lastName", &m.last_name);
    o.field("tags", &m.tags);
    o.field("welcome", &m.welcome);
    o.end();
    out
}

/// The fields a SQL store keeps in columns of their own (everything else goes in `data`).
const COLUMN_FIELDS: [&str; 7] = [
    "id",
    "version",
    "email",
    "credentials",
    "passwordHash",
    "createdAt",
    "updatedAt",
];

/// A member's row as a SQL store reads it back (`migrations/`: the `members` table): the columns,
/// and `data` as [`stored_form`] wrote it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredRow<'a> {
    pub seq: u64,
    pub version: u64,
    pub email: &'a str,
    pub credentials: &'a str,
    /// `None` or empty: no password.
    pub password_hash: Option<&'a str>,
    pub created_at: u64,
    pub updated_at: u64,
    pub data: &'a str,
}

/// The member a stored row holds, as the JSON tree [`Member`]'s reader takes (the inverse of
/// [`stored_form`]): the `data` column's fields, and the columns in place of any field of theirs
/// (`id` is `m` and the row's `seq`, as every SQL store names its members). A SQL store's
/// answers reach the workflow this way, field by field, with no JSON text but the column's.
pub fn stored_member<'a>(row: &StoredRow<'a>) -> Result<Json<'a>, JsonError> {
    let mut entries = match json::parse(row.data).map_err(JsonError::Syntax)? {
        Json::Obj(entries) => entries,
        other => {
            return Err(JsonError::Decode(
                DecodeError::expected("an object", &other).in_field("data"),
            ))
        }
    };
    entries.retain(|(k, _)| !COLUMN_FIELDS.contains(&&**k));
    let num = |n: u64| Json::Num(Cow::Owned(n.to_string()));
    entries.push((
        Cow::Borrowed("id"),
        Json::Str(Cow::Owned(format!("m{}", row.seq))),
    ));
    entries.push((Cow::Borrowed("version"), num(row.version)));
    entries.push((Cow::Borrowed("email"), Json::Str(Cow::Borrowed(row.email))));
    entries.push((
        Cow::Borrowed("credentials"),
        Json::Str(Cow::Borrowed(row.credentials)),
    ));
    if let Some(hash) = row.password_hash.filter(|h| !h.is_empty()) {
        entries.push((
            Cow::Borrowed("passwordHash"),
            Json::Str(Cow::Borrowed(hash)),
        ));
    }
    entries.push((Cow::Borrowed("createdAt"), num(row.created_at)));
    entries.push((Cow::Borrowed("updatedAt"), num(row.updated_at)));
    Ok(Json::Obj(entries))
}

/// An in-memory directory with the port's atomic semantics. Members are never removed, so they
/// live in a `Vec` and the indexes hold positions.
#[derive(Debug, Default, Clone)]
pub struct MemoryDirectory {
    members: Vec<Member>,
    by_id: KeyedMap<String, usize>,
    by_contact: KeyedMap<String, usize>,
    by_email: KeyedMap<Email, usize>,
    tokens: KeyedMap<String, TokenRecord>,
    next_id: u64,
    changes: Vec<Change>,
    /// Whether `apply` records its changes (only `apply_journaled` reads them).
    journaling: bool,
}

impl MemoryDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Member> {
        self.by_id.get(id).map(|i| &self.members[*i])
    }

    pub fn get_by_contact(&self, key: &str) -> Option<&Member> {
        self.by_contact.get(key).map(|i| &self.members[*i])
    }

    pub fn get_by_email(&self, email: &Email) -> Option<&Member> {
        self.get_by_email_str(email.as_str())
    }

    /// By an already normalized email.
    pub fn get_by_email_str(&self, email: &str) -> Option<&Member> {
        self.by_email.get(email).map(|i| &self.members[*i])
    }

    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.iter()
    }

    pub fn tokens(&self) -> impl Iterator<Item = &TokenRecord> {
        self.tokens.values()
    }

    /// Loads a member record exactly as stored (a host replaying its journal). Replaces any
    /// record with the same id and keeps the indexes and the id counter right.
    pub fn restore(&mut self, member: Member) {
        if let Some(n) = member
            .id
            .strip_prefix('m')
            .and_then(|n| n.parse::<u64>().ok())
        {
            self.next_id = self.next_id.max(n);
        }
        match self.by_id.get(&member.id).copied() {
            Some(i) => self.replace(i, member),
            None => {
                self.push(member);
            }
        }
    }

    /// Loads or removes (when `member_id` is empty) a token record (journal replay).
    pub fn restore_token(&mut self, token: TokenRecord) {
        if token.member_id.is_empty() {
            self.tokens.remove(&token.token_hash);
        } else {
            self.tokens.insert(token.token_hash.clone(), token);
        }
    }

    fn push(&mut self, m: Member) -> usize {
        let i = self.members.len();
        if let Some(c) = &m.contact {
            self.by_contact.insert(c.key(), i);
        }
        self.by_email.insert(m.email.clone(), i);
        self.by_id.insert(m.id.clone(), i);
        self.members.push(m);
        i
    }

    fn replace(&mut self, i: usize, m: Member) {
        let old = &self.members[i];
        let old_key = old.contact.as_ref().map(|c| c.key());
        let new_key = m.contact.as_ref().map(|c| c.key());
        if old_key != new_key {
            if let Some(k) = old_key {
                self.by_contact.remove(&k);
            }
            if let Some(k) = new_key {
                self.by_contact.insert(k, i);
            }
        }
        if old.email != m.email {
            self.by_email.remove(&old.email);
            self.by_email.insert(m.email.clone(), i);
        }
        self.members[i] = m;
    }

    /// The member other than `m` holding `m`'s contact key or email.
    fn holder(&self, m: &Member) -> Option<(Index, &Member)> {
        let other = |i: &usize| self.members[*i].id != m.id;
        let by_contact = m
            .contact
            .as_ref()
            .and_then(|c| self.by_contact.get(&c.key()))
            .filter(|i| other(i))
            .map(|i| (Index::Contact, &self.members[*i]));
        by_contact.or_else(|| {
            self.by_email
                .get(&m.email)
                .filter(|i| other(i))
                .map(|i| (Index::Email, &self.members[*i]))
        })
    }

    /// Performs one operation atomically and returns what it changed, for a journal.
    pub fn apply_journaled(&mut self, op: DirOp) -> (DirResult, Vec<Change>) {
        self.changes.clear();
        self.journaling = true;
        let result = self.apply(op);
        self.journaling = false;
        (result, std::mem::take(&mut self.changes))
    }

    fn record(&mut self, c: Change) {
        if self.journaling {
            self.changes.push(c);
        }
    }

    fn changed(&mut self, member: &Member) {
        if self.journaling {
            self.changes.push(Change::Member {
                member: member.clone(),
            });
        }
    }

    /// Performs one operation atomically.
    pub fn apply(&mut self, op: DirOp) -> DirResult {
        match op {
            DirOp::GetByContact { key } => DirResult::Found {
                member: self.get_by_contact(&key).cloned(),
            },
            DirOp::GetByEmail { email } => DirResult::Found {
                member: self.get_by_email(&email).cloned(),
            },
            DirOp::Insert { mut member } => {
                if let Err(reason) = check_member(&member) {
                    return DirResult::Rejected { reason };
                }
                member.id = String::new();
                if let Some((on, holder)) = self.holder(&member) {
                    return DirResult::Exists {
                        on,
                        member: holder.clone(),
                    };
                }
                self.next_id += 1;
                member.id = format!("m{}", self.next_id);
                member.version = 1;
                self.changed(&member);
                let i = self.push(member);
                DirResult::Inserted {
                    member: self.members[i].clone(),
                }
            }
            DirOp::Update { mut member } => {
                if let Err(reason) = check_member(&member) {
                    return DirResult::Rejected { reason };
                }
                let current = match self.get(&member.id) {
                    Some(c) if c.version == member.version => c,
                    other => {
                        return DirResult::Stale {
                            member: other.cloned(),
                        }
                    }
                };
                // The password hash is only ever changed through SetPassword.
                member.password_hash = current.password_hash.clone();
                if let Some((on, holder)) = self.holder(&member) {
                    return DirResult::Taken {
                        on,
                        member: holder.clone(),
                    };
                }
                member.version += 1;
                self.changed(&member);
                let i = self.by_id[&member.id];
                self.replace(i, member.clone());
                DirResult::Updated { member }
            }
            DirOp::PutToken {
                token_hash,
                member_id,
                expires_at,
            } => {
                let Some(m) = self.by_id.get(&member_id).map(|i| &mut self.members[*i]) else {
                    return DirResult::NoSuchMember;
                };
                if m.credentials == Credentials::None {
                    m.credentials = Credentials::LinkIssued;
                    m.version += 1;
                }
                let member = m.clone();
                self.changed(&member);
                // One live link per member: a new one replaces the old.
                let old: Vec<String> = self
                    .tokens
                    .values()
                    .filter(|t| t.member_id == member_id)
                    .map(|t| t.token_hash.clone())
                    .collect();
                for hash in old {
                    self.tokens.remove(&hash);
                    self.record(Change::Token {
                        token: TokenRecord {
                            token_hash: hash,
                            member_id: String::new(),
                            expires_at: 0,
                        },
                    });
                }
                let token = TokenRecord {
                    token_hash: token_hash.clone(),
                    member_id,
                    expires_at,
                };
                self.tokens.insert(token_hash, token.clone());
                self.record(Change::Token { token });
                DirResult::TokenStored { member, link: None }
            }
            DirOp::ConsumeToken { token_hash, now } => {
                // The map lookup is by digest of a 256-bit random token: learning whether some
                // digest is present reveals nothing usable, so no constant-time scan is needed.
                let removed = self.tokens.remove(&token_hash);
                if removed.is_some() {
                    self.record(Change::Token {
                        token: TokenRecord {
                            token_hash: token_hash.clone(),
                            member_id: String::new(),
                            expires_at: 0,
                        },
                    });
                }
                match removed {
                    Some(t) if t.expires_at > now => match self.get(&t.member_id) {
                        Some(m) => DirResult::TokenConsumed { member: m.clone() },
                        None => DirResult::TokenInvalid,
                    },
                    _ => DirResult::TokenInvalid,
                }
            }
            DirOp::SetPassword {
                member_id,
                password_hash,
                now,
            } => match self.by_id.get(&member_id).map(|i| &mut self.members[*i]) {
                Some(m) => {
                    m.password_hash = Some(password_hash);
                    m.credentials = Credentials::Password;
                    m.version += 1;
                    m.updated_at = now;
                    let member = m.clone();
                    self.changed(&member);
                    DirResult::PasswordSet { member }
                }
                None => DirResult::NoSuchMember,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::contact::Tag;

    fn member(email: &str) -> Member {
        Member {
            id: String::new(),
            version: 0,
            email: Email::parse(email, "e").unwrap(),
            contact: None,
            first_name: None,
            last_name: None,
            tags: vec![],
            credentials: Credentials::None,
            password_hash: None,
            welcome: Default::default(),
            created_by: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn stored_form_keeps_identities_in_columns_and_the_rest_in_data() {
        let mut m = member("Ann.Lee@Example.COM");
        m.id = "m7".into();
        m.version = 3;
        m.first_name = Some("Ann".into());
        m.contact = Some(super::super::member::ContactLink {
            crm: crate::core::contact::CrmKind::Keap,
            account: "default".into(),
            contact_id: "X42".into(),
        });
        m.password_hash = Some("$2y$10$abc".into());
        let s = stored_form(&m).unwrap();
        assert_eq!(s.email, "ann.lee@example.com");
        assert_eq!(s.contact_key.as_deref(), Some("keap:default:X42"));
        assert_eq!(s.search, "ann.lee@example.com\nx42\nann");
        let data = crate::core::json::parse(&s.data).unwrap();
        for f in COLUMN_FIELDS {
            assert!(data.get(f).is_none(), "{f} is a column, not data");
        }
        assert_eq!(data.get("firstName").and_then(|v| v.as_str()), Some("Ann"));
        // The text stores have always kept: fields by name, the contact link's too.
        assert_eq!(
            s.data,
            r#"{"contact":{"account":"default","contactId":"X42","crm":"keap"},"firstName":"Ann","tags":[],"welcome":"not_sent"}"#
        );
        assert!(
            !s.data.contains("$2y$"),
            "the password hash never goes into data"
        );
        m.first_name = Some("x".repeat(5000));
        assert!(stored_form(&m).is_err());
    }

    #[test]
    fn a_stored_row_reads_back_as_the_member_it_stored() {
        let mut m = member("Ann.Lee@Example.COM");
        m.version = 4;
        m.first_name = Some("Ann \"A\" Lee".into());
        m.last_name = Some("Lée".into());
        m.tags = vec![Tag::id("95"), Tag::name("buyer")];
        m.contact = Some(super::super::member::ContactLink {
            crm: crate::core::contact::CrmKind::Keap,
            account: "default".into(),
            contact_id: "X42".into(),
        });
        m.credentials = Credentials::Password;
        m.password_hash = Some("$2y$10$abc".into());
        m.welcome = super::super::member::Welcome::Sent;
        m.created_by = Some("ev_1".into());
        m.created_at = 1_700_000_000_000;
        m.updated_at = 1_700_000_000_500;
        let s = stored_form(&m).unwrap();
        let credentials = json::to_string(&s.credentials);
        let row = StoredRow {
            seq: 7,
            version: 4,
            email: &s.email,
            credentials: credentials.trim_matches('"'),
            password_hash: m.password_hash.as_deref(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            data: &s.data,
        };
        let back = Member::from_json(stored_member(&row).unwrap()).unwrap();
        m.id = "m7".into();
        m.email = Email::parse("ann.lee@example.com", "e").unwrap();
        assert_eq!(back, m);
        // An empty hash column is no password; a column wins over a stray field of its name.
        let odd = StoredRow {
            password_hash: Some(""),
            data: r#"{"email":"x@y.z","tags":[],"id":"m1"}"#,
            ..row
        };
        let back = Member::from_json(stored_member(&odd).unwrap()).unwrap();
        assert_eq!(
            (back.id.as_str(), back.email.as_str(), back.password_hash),
            ("m7", "ann.lee@example.com", None)
        );
        // Not an object, not JSON: an error, never a member.
        assert!(stored_member(&StoredRow { data: "[]", ..row }).is_err());
        assert!(stored_member(&StoredRow { data: "{", ..row }).is_err());
    }

    #[test]
    fn member_data_limits_hold_for_every_writer() {
        let mut d = MemoryDirectory::new();
        let mut m = member("a@example.com");
        m.first_name = Some("x".repeat(5000));
        assert!(matches!(
            d.apply(DirOp::Insert { member: m }),
            DirResult::Rejected { .. }
        ));
        let mut m = member("a@example.com");
        m.tags = vec![Tag {
            id: None,
            name: None,
        }];
        assert!(matches!(
            d.apply(DirOp::Insert { member: m }),
            DirResult::Rejected { .. }
        ));
        let DirResult::Inserted { member: mut ok } = d.apply(DirOp::Insert {
            member: member("a@example.com"),
        }) else {
            panic!("insert");
        };
        ok.tags = vec![Tag::name("  ")];
        assert!(matches!(
            d.apply(DirOp::Update { member: ok }),
            DirResult::Rejected { .. }
        ));
        assert_eq!(d.len(), 1);
    }
}
