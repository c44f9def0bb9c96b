//! Members: the accounts of the membership site.

use super::contact::{CrmKind, Tag};
use super::email::Email;

/// How a member can log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Credentials {
    /// Nothing yet (a workflow is about to issue them, or the member was added by hand).
    #[default]
    None,
    /// A one-time set-password link was issued and not used yet.
    LinkIssued,
    /// The member has a password (its slow salted hash is in `password_hash`).
    Password,
}

/// Whether the CRM's welcome email was triggered for this member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Welcome {
    /// Not triggered by memberwire (an existing account, or no welcome tag configured).
    #[default]
    NotSent,
    /// The welcome tag is about to be applied; after a crash, check the CRM before applying.
    Pending,
    /// The welcome tag was applied: never apply it again.
    Sent,
}

/// The CRM contact a member is linked to. Ids are unique only within one CRM account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactLink {
    pub crm: CrmKind,
    pub account: String,
    pub contact_id: String,
}

crate::json_enum!(Credentials {
    None = "none",
    LinkIssued = "link_issued",
    Password = "password",
});

crate::json_enum!(Welcome {
    NotSent = "not_sent",
    Pending = "pending",
    Sent = "sent",
});

crate::json_struct!(ContactLink {
    crm: "crm"[required],
    account: "account"[required],
    contact_id: "contactId"[required],
});

crate::json_struct!(Member {
    id: "id"[default],
    version: "version"[default],
    email: "email"[required],
    contact: "contact"[some],
    first_name: "firstName"[some],
    last_name: "lastName"[some],
    tags: "tags"[default],
    credentials: "credentials"[default],
    password_hash: "passwordHash"[some],
    welcome: "welcome"[default],
    created_by: "createdBy"[some],
    created_at: "createdAt"[default],
    updated_at: "updatedAt"[default],
});

crate::json_struct!(MemberView {
    id: "id"[required],
    email: "email"[required],
    contact_id: "contactId"[some],
    tags: "tags"[required],
});

impl ContactLink {
    pub fn key(&self) -> String {
        super::contact::key_of(self.crm, &self.account, &self.contact_id)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Assigned by the directory on insert.
    pub id: String,
    /// Incremented by every update; updates name the version they expect.
    pub version: u64,
    pub email: Email,
    pub contact: Option<ContactLink>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub tags: Vec<Tag>,
    pub credentials: Credentials,
    /// A WordPress-compatible slow salted hash (`$2y$…`); never the password.
    pub password_hash: Option<String>,
    pub welcome: Welcome,
    /// The event whose workflow created this member: lets that workflow recognize its own
    /// insert when it is replayed after a crash.
    pub created_by: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
}

/// What hosts may show of a member: everything but the password hash.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    pub id: String,
    pub email: Email,
    pub contact_id: Option<String>,
    pub tags: Vec<Tag>,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        MemberView {
            id: m.id.clone(),
            email: m.email.clone(),
            contact_id: m.contact.as_ref().map(|c| c.contact_id.clone()),
            tags: m.tags.clone(),
        }
    }
}
