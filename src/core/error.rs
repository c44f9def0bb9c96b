//! Errors for malformed input and broken invariants.
//!
//! Domain outcomes (a duplicate, a conflict, nothing to do) are values elsewhere; an [`Error`]
//! means the input itself could not be used. Every error has a stable machine-readable
//! [`ErrorCode`] and a human message that names the offending field. Messages never contain
//! the value of a secret.

use std::fmt;

/// Stable error codes. The string forms are part of memberwire's public API: hosts put them in
/// `{"error": {"code": ...}}` bodies and JS `Error.code`, so never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The body could not be decoded as the format the route expects.
    MalformedBody,
    /// The request's content type is not one the route accepts.
    UnsupportedContentType,
    /// The body is larger than the configured limit.
    BodyTooLarge,
    /// No contact id under any of the names the format allows.
    MissingContactId,
    /// A contact id that is not a plain identifier (empty, fractional, too long, ...).
    InvalidContactId,
    /// An email that is missing where required or not a valid address.
    InvalidEmail,
    /// One field is larger than its limit.
    FieldTooLarge,
    /// A field has the wrong type or an unusable value.
    InvalidField,
    /// A REST hook delivery with more objects than Keap ever sends.
    TooManyObjects,
    /// The route names no known source.
    UnknownSource,
    /// A new password that does not meet the policy (too short, too long, weak).
    PasswordRejected,
    /// Settings that cannot work together.
    InvalidConfig,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedBody => "malformed_body",
            ErrorCode::UnsupportedContentType => "unsupported_content_type",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::MissingContactId => "missing_contact_id",
            ErrorCode::InvalidContactId => "invalid_contact_id",
            ErrorCode::InvalidEmail => "invalid_email",
            ErrorCode::FieldTooLarge => "field_too_large",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::TooManyObjects => "too_many_objects",
            ErrorCode::UnknownSource => "unknown_source",
            ErrorCode::PasswordRejected => "password_rejected",
            ErrorCode::InvalidConfig => "invalid_config",
        }
    }

    /// The HTTP status a host answers with for this error.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::BodyTooLarge => 413,
            ErrorCode::UnsupportedContentType => 415,
            ErrorCode::UnknownSource => 404,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
