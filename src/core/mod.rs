//! The pure core: everything here is deterministic and free of I/O.

pub mod access;
pub mod contact;
pub mod crm;
pub mod directory;
pub mod email;
pub mod error;
pub mod form;
pub mod hashing;
pub mod inbound;
pub mod json;
pub mod member;
pub mod plan;
pub mod secrets;
pub mod text;
pub mod workflow;

pub use contact::{Contact, ContactId, CrmKind, Secret, Tag};
pub use email::Email;
pub use error::{Error, ErrorCode};
pub use inbound::{parse_post, Inbound, InboundEvent, ParseOptions, Source};
