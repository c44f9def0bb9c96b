//! Members: the accounts of the membership site.

use serde::{Deserialize, Serialize};

use super::contact::{CrmKind, Tag};
use super::email::Email;

/// How a member can log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactLink {
    pub crm: CrmKind,
    pub account: String,
    pub contact_id: String,
}

impl ContactLink {
    pub fn key(&self) -> String {
        super::contact::key_of(self.crm, &self.account, &self.contact_id)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Assigned by the directory on insert.
    #[serde(default)]
    pub id: String,
    /// Incremented by every update; updates name the version they expect.
    #[serde(default)]
    pub version: u64,
    pub email: Email,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub credentials: Credentials,
    /// A WordPress-compatible slow salted hash (`$2y$…`); never the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default)]
    pub welcome: Welcome,
    /// The event whose workflow created this member: lets that workflow recognize its own
    /// insert when it is replayed after a crash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default)]
    pub created_at: u64,
    #[serde(default)]
    pub updated_at: u64,
}

/// What hosts may show of a member: everything but the password hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub id: String,
    pub email: Email,
    #[serde(skip_serializing_if = "Option::is_none")]
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
