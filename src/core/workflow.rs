//! The registration workflow: a sans-IO state machine that turns one inbound event into one
//! member, with credentials the CRM's welcome email can carry.
//!
//! The host drives it with two calls: [`Workflow::poll`] returns the next [`Effect`] to perform
//! (an HTTP request, a directory operation, entropy to draw, a pause, a log record) or the end;
//! [`Workflow::handle`] takes that effect's [`EffectResult`]. After each `handle` the host may
//! persist [`Workflow`] (it serializes without any secret) and resume it after a crash:
//!
//! - a generated password or set-password token lives only in memory; a workflow restored before
//!   it reached the CRM issues fresh ones (the member cannot have seen the old ones);
//! - a workflow restored at the welcome step, or whose welcome request failed ambiguously,
//!   asks the CRM whether the tag is already there before applying it;
//! - a workflow whose insert landed before the crash recognizes its own member by `created_by`.
//!
//! Time and entropy are inputs; the only state is this struct.

use super::contact::{Contact, Secret, Tag};
use super::crm::{self, CrmConfig, HttpRequest, HttpResponse, Loaded};
use super::directory::{DirOp, DirResult, Index};
use super::error::{Error, ErrorCode};
use super::inbound::{InboundEvent, Source};
use super::json::{DecodeError, Fields, FromJson, Json, ObjectWriter, ToJson};
use super::member::{ContactLink, Credentials, Member, MemberView, Welcome};
use super::secrets;

/// How a new member gets credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordMode {
    /// No password travels: a one-time set-password link is written into a CRM field.
    #[default]
    Link,
    /// The CRM's password field is used if acceptable, else a generated password is written
    /// into it (compatible with CustomerHub-style setups).
    Crm,
}

/// The site's registration settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The CRM account events come from; `None` for generic JSON sources with no API.
    pub crm: Option<CrmConfig>,
    pub password_mode: PasswordMode,
    /// The page that consumes set-password tokens; the token goes in the URL fragment
    /// (`…/set-password#token=…`) so it never reaches server logs or `Referer` headers.
    pub link_url: String,
    pub link_ttl_ms: u64,
    /// Length of generated passwords (at least 16; cut to the CRM field's limit).
    pub password_length: usize,
    /// Shortest CRM password accepted as is.
    pub min_crm_password: usize,
    pub bcrypt_cost: u32,
    /// Attempts per step before the event is left pending for a retry.
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_cap_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            crm: None,
            password_mode: PasswordMode::Link,
            link_url: "http://127.0.0.1:8787/set-password".to_owned(),
            link_ttl_ms: 7 * 24 * 3600 * 1000,
            password_length: 16,
            min_crm_password: 10,
            bcrypt_cost: 10,
            max_attempts: 6,
            retry_base_ms: 500,
            retry_cap_ms: 30_000,
        }
    }
}

impl Config {
    /// Rejects settings that would make a workflow do something unsafe.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::new(ErrorCode::InvalidConfig, m.to_owned()));
        if !(4..=14).contains(&self.bcrypt_cost) {
            return bad("bcryptCost must be between 4 and 14");
        }
        if self.max_attempts == 0 {
            return bad("maxAttempts must be at least 1");
        }
        if let Some(c) = &self.crm {
            if c.kind == crate::core::contact::CrmKind::HighLevel
                && c.account_id
                    .as_deref()
                    .map_or(true, |a| a.trim().is_empty())
            {
                return bad(
                    "HighLevel needs accountId, the location (sub-account) its API addresses",
                );
            }
            if c.welcome_tag.is_some() {
                let carrier = match self.password_mode {
                    PasswordMode::Link => c.link_field.is_some(),
                    PasswordMode::Crm => c.password_field.is_some(),
                };
                if !carrier {
                    return bad("a welcome tag needs the CRM field that carries the credentials (linkField for mode link, passwordField for mode crm): otherwise the welcome email would go out without them");
                }
            }
        }
        Ok(())
    }
}

/// A refresh an administrator asked for (WordPress's "Refresh from CRM" on a user's profile):
/// the member's tags and names from the CRM, then new credentials when `credentials` asks, and
/// the welcome tag only when `welcome` asks (and it was never sent). It never creates a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Refresh {
    pub credentials: bool,
    pub welcome: bool,
    /// What the refresh did to the member record (existing or updated), once it is known.
    pub outcome: Option<OutcomeKind>,
}

/// The pending code of a refresh for a contact no member holds.
pub const NOT_A_MEMBER: &str = "not_a_member";

/// What a workflow decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    Created,
    Linked,
    Existing,
    Updated,
    Conflict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// `email_taken_by_other_contact`, `email_change_taken`.
    pub reason: String,
    /// The member that holds what this contact needed.
    pub other_member: String,
    pub member: Option<String>,
}

/// How the member's credentials were handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CredentialsIssued {
    /// Not a new member, or nowhere to deliver them (a source without a CRM API).
    #[default]
    Unchanged,
    LinkSent,
    CrmPassword,
    GeneratedPassword,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WelcomeResult {
    #[default]
    NotApplicable,
    Applied,
    /// Found already applied when checking after a crash or an ambiguous failure.
    AlreadyApplied,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub outcome: OutcomeKind,
    pub event: String,
    pub member: Option<MemberView>,
    pub conflict: Option<Conflict>,
    pub credentials: CredentialsIssued,
    pub welcome: WelcomeResult,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub level: String,
    pub event: String,
    pub message: String,
}

/// The next thing the host must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send with the host's `fetch`; answer with `http` or `http_failed`. `purpose` is for
    /// logs and rate limiting; never log `request.headers`.
    Http {
        purpose: &'static str,
        request: HttpRequest,
    },
    /// Apply to the directory; answer with `directory`.
    Directory { op: DirOp },
    /// Draw `bytes` bytes from a CSPRNG; answer with `random`.
    Random { bytes: usize },
    /// Wait, then answer with `slept`.
    Sleep { ms: u64 },
    /// Record, then answer with `logged`.
    Log { record: LogRecord },
}

impl Effect {
    /// Whether the host must make the workflow's state durable before performing it: a CRM
    /// write (any request other than a read), which nothing here could see again after a crash.
    ///
    /// Nothing else needs it. A restart from an earlier state repeats reads and pauses, which
    /// nobody sees, and directory writes, which the workflow recognizes when it meets them again:
    /// its own insert by `created_by`, an update by the version it finds changed, and a token or
    /// password by issuing a fresh one before anything reaches the CRM. So a new member's state
    /// is saved twice before its end (before the credentials are written and before the welcome
    /// tag), not after each of its six writes.
    pub fn must_persist_before(&self) -> bool {
        match self {
            Effect::Http { request, .. } => !request.method.eq_ignore_ascii_case("GET"),
            Effect::Directory { .. }
            | Effect::Random { .. }
            | Effect::Sleep { .. }
            | Effect::Log { .. } => false,
        }
    }
}

/// The result of an [`Effect`].
#[derive(Debug, Clone, PartialEq)]
pub enum EffectResult {
    Http {
        response: HttpResponse,
    },
    /// No answer: connection refused, timed out, aborted.
    HttpFailed {
        message: String,
    },
    Directory {
        result: Box<DirResult>,
    },
    Random {
        bytes: Vec<u8>,
    },
    Slept,
    Logged,
}

/// What [`Workflow::poll`] returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    Effect {
        effect: Effect,
    },
    Done {
        outcome: Outcome,
    },
    /// A step kept failing or the CRM refused it; the event stays pending until
    /// [`Workflow::retry`] (automatic later, or the admin page's retry button).
    Pending {
        code: String,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Load {
        part: usize,
    },
    FindByContact,
    /// Look up the member linked to the contact's previous id (the CRM re-keyed the contact when
    /// its email changed), to move that member onto the new id.
    FindByPrevious,
    FindByEmail,
    Insert,
    /// Write `draft` (linking, refreshing, or changing the email of a member). The draft is the
    /// step's own data; `None` only in a state saved by a version that kept it beside the step,
    /// which a restore starts again from the contact lookup.
    Update {
        purpose: OutcomeKind,
        draft: Option<Box<Member>>,
    },
    /// Draw entropy for a password (with its salt) or a token.
    Draw,
    StorePassword,
    StoreToken,
    WriteCrmField,
    MarkWelcome {
        state: Welcome,
    },
    /// Load the contact's tags to see whether the welcome tag is already there.
    CheckWelcome,
    ApplyWelcome,
    Done,
}

crate::json_enum!(PasswordMode {
    Link = "link",
    Crm = "crm",
});

crate::json_struct!(
    #[defaults]
    Config {
        crm: "crm",
        password_mode: "passwordMode",
        link_url: "linkUrl",
        link_ttl_ms: "linkTtlMs",
        password_length: "passwordLength",
        min_crm_password: "minCrmPassword",
        bcrypt_cost: "bcryptCost",
        max_attempts: "maxAttempts",
        retry_base_ms: "retryBaseMs",
        retry_cap_ms: "retryCapMs",
    }
);

crate::json_struct!(Refresh {
    credentials: "credentials"[required],
    welcome: "welcome"[required],
    outcome: "outcome"[some],
});

crate::json_enum!(OutcomeKind {
    Created = "created",
    Linked = "linked",
    Existing = "existing",
    Updated = "updated",
    Conflict = "conflict",
});

crate::json_struct!(Conflict {
    reason: "reason"[required],
    other_member: "otherMember"[required],
    member: "member"[some],
});

crate::json_enum!(CredentialsIssued {
    Unchanged = "unchanged",
    LinkSent = "link_sent",
    CrmPassword = "crm_password",
    GeneratedPassword = "generated_password",
});

crate::json_enum!(WelcomeResult {
    NotApplicable = "not_applicable",
    Applied = "applied",
    AlreadyApplied = "already_applied",
});

crate::json_struct!(Outcome {
    outcome: "outcome"[required],
    event: "event"[required],
    member: "member"[some],
    conflict: "conflict"[some],
    credentials: "credentials"[required],
    welcome: "welcome"[required],
});

crate::json_struct!(LogRecord {
    level: "level"[required],
    event: "event"[required],
    message: "message"[required],
});

// The tagged enums are written with their tag first, as serde's internally tagged enums were
// (saved states keep that form).

impl ToJson for Effect {
    fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        match self {
            Effect::Http { purpose, request } => {
                o.field("type", "http");
                o.field("purpose", purpose);
                o.field("request", request);
            }
            Effect::Directory { op } => {
                o.field("type", "directory");
                o.field("op", op);
            }
            Effect::Random { bytes } => {
                o.field("type", "random");
                o.field("bytes", bytes);
            }
            Effect::Sleep { ms } => {
                o.field("type", "sleep");
                o.field("ms", ms);
            }
            Effect::Log { record } => {
                o.field("type", "log");
                o.field("record", record);
            }
        }
        o.end();
    }
}

impl FromJson for EffectResult {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        let mut f = Fields::of(v, "an effect result")?;
        Ok(match &*f.tag("type")? {
            "http" => EffectResult::Http {
                response: f.take("response")?,
            },
            "http_failed" => EffectResult::HttpFailed {
                message: f.take("message")?,
            },
            "directory" => EffectResult::Directory {
                result: Box::new(f.take("result")?),
            },
            "random" => EffectResult::Random {
                bytes: f.take("bytes")?,
            },
            "slept" => EffectResult::Slept,
            "logged" => EffectResult::Logged,
            other => return Err(DecodeError::unknown_variant(other, "type")),
        })
    }
}

impl ToJson for Poll {
    fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        match self {
            Poll::Effect { effect } => {
                o.field("state", "effect");
                o.field("effect", effect);
            }
            Poll::Done { outcome } => {
                o.field("state", "done");
                o.field("outcome", outcome);
            }
            Poll::Pending { code, reason } => {
                o.field("state", "pending");
                o.field("code", code);
                o.field("reason", reason);
            }
        }
        o.end();
    }
}

impl FromJson for Step {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        let mut f = Fields::of(v, "a step")?;
        Ok(match &*f.tag("step")? {
            "load" => Step::Load {
                part: f.take("part")?,
            },
            "find_by_contact" => Step::FindByContact,
            "find_by_previous" => Step::FindByPrevious,
            "find_by_email" => Step::FindByEmail,
            "insert" => Step::Insert,
            "update" => Step::Update {
                purpose: f.take("purpose")?,
                draft: f.take::<Option<Member>>("draft")?.map(Box::new),
            },
            "draw" => Step::Draw,
            "store_password" => Step::StorePassword,
            "store_token" => Step::StoreToken,
            "write_crm_field" => Step::WriteCrmField,
            "mark_welcome" => Step::MarkWelcome {
                state: f.take("state")?,
            },
            "check_welcome" => Step::CheckWelcome,
            "apply_welcome" => Step::ApplyWelcome,
            "done" => Step::Done,
            other => return Err(DecodeError::unknown_variant(other, "step")),
        })
    }
}

impl ToJson for Step {
    fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        let name = match self {
            Step::Load { .. } => "load",
            Step::FindByContact => "find_by_contact",
            Step::FindByPrevious => "find_by_previous",
            Step::FindByEmail => "find_by_email",
            Step::Insert => "insert",
            Step::Update { .. } => "update",
            Step::Draw => "draw",
            Step::StorePassword => "store_password",
            Step::StoreToken => "store_token",
            Step::WriteCrmField => "write_crm_field",
            Step::MarkWelcome { .. } => "mark_welcome",
            Step::CheckWelcome => "check_welcome",
            Step::ApplyWelcome => "apply_welcome",
            Step::Done => "done",
        };
        o.field("step", name);
        match self {
            Step::Load { part } => o.field("part", part),
            Step::Update { purpose, draft } => {
                o.field("purpose", purpose);
                if let Some(d) = draft {
                    o.field("draft", &**d);
                }
            }
            Step::MarkWelcome { state } => o.field("state", state),
            _ => {}
        }
        o.end();
    }
}

/// Whether a set-password link a directory issued can go into a CRM field: an absolute http(s)
/// URL of printable ASCII, at most 2,000 characters (what a CRM field and an email link carry).
fn directory_link_usable(link: &str) -> bool {
    (link.starts_with("https://") || link.starts_with("http://"))
        && link.len() <= 2000
        && link.bytes().all(|b| b.is_ascii_graphic())
}

/// A secret held only in memory.
#[derive(Clone, Default)]
struct Held {
    value: Option<Secret>,
    /// The directory's own set-password link, when it issues one (link mode).
    link: Option<Secret>,
    /// Where a password came from.
    generated: bool,
    hash: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Workflow {
    event_id: String,
    contact: Contact,
    step: Step,
    /// Attempts of the current step's request.
    attempt: u32,
    /// A pause to take before the current step's effect.
    sleep_ms: u64,
    /// The member being worked on, as last read or written.
    member: Option<Member>,
    /// The member as it should be after an `Update` step.
    outcome: Option<OutcomeKind>,
    conflict: Option<Conflict>,
    credentials: CredentialsIssued,
    welcome: WelcomeResult,
    /// Re-reads after a lost race; bounded so a flapping directory cannot loop forever.
    restarts: u32,
    pending: Option<(String, String)>,
    /// Whether the welcome tag must be checked in the CRM before applying it.
    verify_welcome: bool,
    /// A re-keyed contact (an email change) that no member held under either id was parked once
    /// for an earlier change still on its way; on its retry it registers the new address.
    rekey_waited: bool,
    /// Set for a refresh of an existing member (not a registration).
    refresh: Option<Refresh>,
    now: u64,
    logs: Vec<LogRecord>,
    held: Held,
    /// Partial results of a multi-request contact load.
    loaded: Loaded,
    /// Whether `contact.password` was read in this process (passwords are never persisted,
    /// so a restored workflow must load it again before deciding on credentials).
    password_fresh: bool,
    /// Whether the contact was loaded from the CRM in this process (an email change that comes
    /// to register someone loads it once, however little the record holds).
    loaded_here: bool,
}

crate::json_struct!(Workflow {
    event_id: "eventId"[required],
    contact: "contact"[required],
    step: "step"[required],
    attempt: "attempt"[required],
    sleep_ms: "sleepMs"[default],
    member: "member"[required],
    outcome: "outcome"[required],
    conflict: "conflict"[required],
    credentials: "credentials"[required],
    welcome: "welcome"[required],
    restarts: "restarts"[required],
    pending: "pending"[required],
    verify_welcome: "verifyWelcome"[required],
    rekey_waited: "rekeyWaited"[iftrue],
    refresh: "refresh"[some],
    now: "now"[required],
    logs: "logs"[skip],
    held: "held"[skip],
    loaded: "loaded"[skip],
    password_fresh: "passwordFresh"[skip],
    loaded_here: "loadedHere"[skip],
});

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Held([redacted])")
    }
}

const MAX_RESTARTS: u32 = 8;

/// The pending code of an email change that matched no member yet (retried automatically).
pub const EMAIL_CHANGE_UNMATCHED: &str = "email_change_unmatched";

/// The pending code of an event whose saved state the current configuration cannot continue.
pub const CANNOT_CONTINUE: &str = "cannot_continue";

impl Workflow {
    /// Starts a workflow for one inbound event. `now` is the host's clock in ms.
    pub fn new(
        event_id: &str,
        event: InboundEvent,
        cfg: &Config,
        now: u64,
    ) -> Result<Workflow, Error> {
        let contact = event.contact;
        // Posts from a source other than the connected CRM (generic JSON from Zapier or Make,
        // say) register members without ever calling the CRM: there is nothing to load the
        // contact from, so the post must carry the email.
        let connected = cfg.crm.as_ref().is_some_and(|c| c.kind == contact.crm);
        if !connected && contact.email.is_none() {
            return Err(Error::new(
                ErrorCode::InvalidEmail,
                "field `email` is required: this source has no CRM API to load the contact from",
            ));
        }
        let mut wf = Workflow {
            event_id: event_id.to_owned(),
            contact,
            step: Step::FindByContact,
            attempt: 0,
            sleep_ms: 0,
            member: None,
            outcome: None,
            conflict: None,
            credentials: CredentialsIssued::Unchanged,
            welcome: WelcomeResult::NotApplicable,
            restarts: 0,
            pending: None,
            verify_welcome: false,
            rekey_waited: false,
            refresh: None,
            now,
            logs: Vec::new(),
            held: Held::default(),
            loaded: Loaded::default(),
            password_fresh: true,
            loaded_here: false,
        };
        // An email change that re-keys the contact carries all it needs to move the member, and
        // must not wait for the CRM: by the time it runs, the CRM may know the contact under a
        // later address. It loads only if it comes to register someone.
        if wf.needs_load(cfg) && wf.contact.previous_id.is_none() {
            wf.step = Step::Load { part: 0 };
        }
        Ok(wf)
    }

    /// Starts a refresh of the member holding `contact` (the connected CRM's contact, loaded from
    /// it): tags and names, then credentials and the welcome tag as `credentials` and `welcome`
    /// ask. A contact no member holds parks with [`NOT_A_MEMBER`].
    pub fn refresh(
        event_id: &str,
        contact: Contact,
        cfg: &Config,
        now: u64,
        credentials: bool,
        welcome: bool,
    ) -> Result<Workflow, Error> {
        if !cfg.crm.as_ref().is_some_and(|c| c.kind == contact.crm) {
            return Err(Error::new(
                ErrorCode::InvalidConfig,
                "a refresh loads the contact from the connected CRM, and this contact is not from it",
            ));
        }
        let event = InboundEvent {
            source: Source::Json,
            event_type: "refresh".into(),
            contact: Contact {
                tags: None,
                email: None,
                first_name: None,
                last_name: None,
                password: None,
                ..contact
            },
        };
        let mut wf = Workflow::new(event_id, event, cfg, now)?;
        wf.refresh = Some(Refresh {
            credentials,
            welcome,
            outcome: None,
        });
        wf.step = Step::Load { part: 0 };
        Ok(wf)
    }

    /// Restores a persisted workflow. Secrets held in memory are gone: the machine reissues
    /// what it needs, and checks the CRM before a welcome tag it may already have applied.
    pub fn restore(json: &str) -> Result<Workflow, Error> {
        let mut wf: Workflow = super::json::from_str(json).map_err(|e| {
            Error::new(
                ErrorCode::MalformedBody,
                format!("not a saved workflow: {e}"),
            )
        })?;
        wf.after_restore();
        Ok(wf)
    }

    pub fn save(&self) -> String {
        super::json::to_string(self)
    }

    fn after_restore(&mut self) {
        self.sleep_ms = 0;
        match self.step {
            // The secret was lost with the process: issue a fresh one.
            Step::Draw | Step::StorePassword | Step::StoreToken | Step::WriteCrmField => {
                if self.credentials == CredentialsIssued::CrmPassword {
                    // The CRM's own password: load it again, then decide afresh.
                    self.step = Step::Load { part: 0 };
                } else {
                    self.step = Step::Draw;
                }
            }
            Step::Load { .. } => self.step = Step::Load { part: 0 },
            // Saved by a version that kept the draft beside the step: look the member up again
            // and draft anew (as after a stale write).
            Step::Update { draft: None, .. } => {
                self.member = None;
                self.step = Step::FindByContact;
            }
            // The tag may have been applied just before the crash: ask the CRM first.
            Step::ApplyWelcome => self.step = Step::CheckWelcome,
            _ => {}
        }
        if self.step
            == (Step::MarkWelcome {
                state: Welcome::Pending,
            })
        {
            self.verify_welcome = true;
        }
    }

    pub fn event_id(&self) -> &str {
        &self.event_id
    }

    pub fn contact(&self) -> &Contact {
        &self.contact
    }

    /// Un-parks a pending workflow: its current step starts again with a fresh attempt count.
    pub fn retry(&mut self) {
        if self.pending.take().is_some() {
            self.attempt = 0;
            self.sleep_ms = 0;
            self.after_restore();
        }
    }

    fn needs_load(&self, cfg: &Config) -> bool {
        let Some(crm) = self.crm(cfg) else {
            return false;
        };
        let c = &self.contact;
        c.email.is_none()
            || c.tags.is_none()
            || (cfg.password_mode == PasswordMode::Crm
                && crm.password_field.is_some()
                && c.password.is_none())
    }

    fn key(&self) -> String {
        self.contact.key()
    }

    /// The CRM this workflow talks to: the connected one, when the event came from it.
    fn crm<'c>(&self, cfg: &'c Config) -> Option<&'c CrmConfig> {
        cfg.crm.as_ref().filter(|c| c.kind == self.contact.crm)
    }

    fn log(&mut self, level: &str, message: String) {
        self.logs.push(LogRecord {
            level: level.to_owned(),
            event: self.event_id.clone(),
            message,
        });
    }

    /// The next effect, or the end. Calling it again without `handle` returns the same effect.
    pub fn poll(&mut self, cfg: &Config) -> Poll {
        if let Some(record) = self.logs.first() {
            return Poll::Effect {
                effect: Effect::Log {
                    record: record.clone(),
                },
            };
        }
        if let Some((code, reason)) = &self.pending {
            return Poll::Pending {
                code: code.clone(),
                reason: reason.clone(),
            };
        }
        if self.sleep_ms > 0 {
            return Poll::Effect {
                effect: Effect::Sleep { ms: self.sleep_ms },
            };
        }
        match self.next_effect(cfg) {
            Ok(Some(effect)) => Poll::Effect { effect },
            Ok(None) => Poll::Done {
                outcome: self.outcome(),
            },
            Err(reason) => {
                // A saved state that this configuration cannot continue (the CRM or its welcome
                // tag was removed while the event was parked, say): the event is parked with a
                // stable code for an operator, never a panic that would take the instance down.
                self.park(CANNOT_CONTINUE, reason);
                self.poll(cfg)
            }
        }
    }

    /// The current step's effect (`None`: done), or why the step cannot go on under `cfg`.
    fn next_effect(&mut self, cfg: &Config) -> Result<Option<Effect>, String> {
        let crm = self.crm(cfg);
        let need_crm = |what: &str| {
            crm.ok_or_else(|| {
                format!(
                    "{what} needs the {} CRM, which is no longer configured",
                    self.contact.crm.as_str()
                )
            })
        };
        let id = self.contact.contact_id.as_str().to_owned();
        let effect = match &self.step {
            Step::Load { part } => {
                let Some(c) = crm else {
                    // Restored without a CRM to load from (a generic source): go on with what
                    // the post carried.
                    self.go(Step::FindByContact);
                    return self.next_effect(cfg);
                };
                let request = crm::load_requests(c, &id)
                    .into_iter()
                    .nth(*part)
                    .ok_or_else(|| format!("loading the contact has no part {part} in this CRM"))?;
                Effect::Http {
                    purpose: "load_contact",
                    request,
                }
            }
            Step::CheckWelcome => {
                let c = need_crm("checking the welcome tag")?;
                let request = crm::load_requests(c, &id)
                    .into_iter()
                    .nth(crm::tags_part(c))
                    .ok_or("this CRM cannot list a contact's tags")?;
                Effect::Http {
                    purpose: "check_welcome_tag",
                    request,
                }
            }
            Step::FindByContact => Effect::Directory {
                op: DirOp::GetByContact { key: self.key() },
            },
            Step::FindByPrevious => Effect::Directory {
                op: DirOp::GetByContact {
                    key: self
                        .contact
                        .previous_key()
                        .ok_or("the contact has no previous id to look up")?,
                },
            },
            Step::FindByEmail => Effect::Directory {
                op: DirOp::GetByEmail {
                    email: self
                        .contact
                        .email
                        .clone()
                        .ok_or("the contact has no email to look up")?,
                },
            },
            Step::Insert => Effect::Directory {
                op: DirOp::Insert {
                    member: self.new_member()?,
                },
            },
            Step::Update { draft, .. } => Effect::Directory {
                op: DirOp::Update {
                    member: draft
                        .as_deref()
                        .cloned()
                        .ok_or("the saved state has no member to write")?,
                },
            },
            Step::Draw => Effect::Random {
                bytes: self.draw_len(cfg),
            },
            Step::StorePassword => Effect::Directory {
                op: DirOp::SetPassword {
                    member_id: self.member_id()?,
                    password_hash: self.held.hash.clone().ok_or("no password hash is held")?,
                    now: self.now,
                },
            },
            Step::StoreToken => Effect::Directory {
                op: DirOp::PutToken {
                    token_hash: self.held.hash.clone().ok_or("no token digest is held")?,
                    member_id: self.member_id()?,
                    expires_at: self.now + cfg.link_ttl_ms,
                },
            },
            Step::WriteCrmField => {
                let c = need_crm("writing the credentials")?;
                let secret = self
                    .held
                    .value
                    .as_ref()
                    .ok_or("no secret is held")?
                    .expose();
                let (field, value) = match cfg.password_mode {
                    PasswordMode::Link => (
                        c.link_field.as_deref(),
                        match &self.held.link {
                            Some(link) => link.expose().to_owned(),
                            None => format!("{}#token={}", cfg.link_url, secret),
                        },
                    ),
                    PasswordMode::Crm => (c.password_field.as_deref(), secret.to_owned()),
                };
                let field = field.ok_or(
                    "no CRM field is configured for the credentials of this password mode",
                )?;
                let request = crm::write_field(c, &id, field, &value, self.contact.email.as_ref());
                Effect::Http {
                    purpose: "write_credentials",
                    request,
                }
            }
            Step::MarkWelcome { state } => {
                let mut m = self
                    .member
                    .clone()
                    .ok_or("the saved state has no member to mark")?;
                m.welcome = *state;
                m.updated_at = self.now;
                Effect::Directory {
                    op: DirOp::Update { member: m },
                }
            }
            Step::ApplyWelcome => {
                let c = need_crm("applying the welcome tag")?;
                let tag = c
                    .welcome_tag
                    .as_deref()
                    .ok_or("no welcome tag is configured any more")?;
                Effect::Http {
                    purpose: "apply_welcome_tag",
                    request: crm::apply_tag(c, &id, tag),
                }
            }
            Step::Done => return Ok(None),
        };
        Ok(Some(effect))
    }

    /// Takes the result of the effect [`Workflow::poll`] returned. `now` is the host's clock.
    pub fn handle(&mut self, cfg: &Config, result: EffectResult, now: u64) {
        self.now = self.now.max(now);
        match result {
            EffectResult::Logged => {
                if !self.logs.is_empty() {
                    self.logs.remove(0);
                }
            }
            EffectResult::Slept => self.sleep_ms = 0,
            EffectResult::Random { bytes } => self.on_random(cfg, bytes),
            EffectResult::Directory { result } => self.on_directory(cfg, *result),
            EffectResult::Http { response } => self.on_http(cfg, Ok(response)),
            EffectResult::HttpFailed { message } => self.on_http(cfg, Err(message)),
        }
    }

    fn member_id(&self) -> Result<String, String> {
        self.member
            .as_ref()
            .map(|m| m.id.clone())
            .ok_or_else(|| "the saved state has no member".to_owned())
    }

    fn new_member(&self) -> Result<Member, String> {
        let c = &self.contact;
        Ok(Member {
            id: String::new(),
            version: 0,
            email: c
                .email
                .clone()
                .ok_or("the contact has no email to register")?,
            contact: Some(self.link()),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            tags: c.tags.clone().unwrap_or_default(),
            credentials: Credentials::None,
            password_hash: None,
            welcome: Welcome::NotSent,
            created_by: Some(self.event_id.clone()),
            created_at: self.now,
            updated_at: self.now,
        })
    }

    fn link(&self) -> ContactLink {
        ContactLink {
            crm: self.contact.crm,
            account: self.contact.account.clone(),
            contact_id: self.contact.contact_id.as_str().to_owned(),
        }
    }

    fn draw_len(&self, cfg: &Config) -> usize {
        match cfg.password_mode {
            PasswordMode::Link => 32,
            PasswordMode::Crm => 16 + self.password_len(cfg),
        }
    }

    fn password_len(&self, cfg: &Config) -> usize {
        let limit = self.crm(cfg).and_then(|c| c.password_field_max);
        secrets::generated_length(cfg.password_length, limit)
    }

    fn go(&mut self, step: Step) {
        self.step = step;
        self.attempt = 0;
    }

    fn park(&mut self, code: &str, reason: String) {
        self.log("warn", format!("pending ({code}): {reason}"));
        self.pending = Some((code.to_owned(), reason));
    }

    fn finish(&mut self, outcome: OutcomeKind) {
        // A refresh reports what it did to the record, never "created".
        let outcome = match self.refresh {
            Some(r) if outcome == OutcomeKind::Created => {
                r.outcome.unwrap_or(OutcomeKind::Existing)
            }
            _ => outcome,
        };
        self.outcome = Some(outcome);
        self.log(
            "info",
            format!(
                "{} member {}",
                outcome_word(outcome),
                self.member.as_ref().map(|m| m.id.as_str()).unwrap_or("-")
            ),
        );
        self.go(Step::Done);
    }

    pub fn outcome(&self) -> Outcome {
        Outcome {
            outcome: self.outcome.unwrap_or(OutcomeKind::Conflict),
            event: self.event_id.clone(),
            member: self.member.as_ref().map(MemberView::from),
            conflict: self.conflict.clone(),
            credentials: self.credentials,
            welcome: self.welcome,
        }
    }

    // ----- directory results -----

    fn on_directory(&mut self, cfg: &Config, result: DirResult) {
        match (&self.step, result) {
            (Step::FindByContact, DirResult::Found { member: Some(m) }) => {
                if self.contact.previous_id.is_some()
                    && self.refresh.is_none()
                    && m.created_by.as_deref() != Some(self.event_id.as_str())
                {
                    // A member holds the new id already: the old id must not name another.
                    self.member = Some(m);
                    self.go(Step::FindByPrevious);
                } else {
                    self.on_found_by_contact(cfg, m)
                }
            }
            (Step::FindByContact, DirResult::Found { member: None }) => {
                if self.refresh.is_some() {
                    self.park(
                        NOT_A_MEMBER,
                        "no member is linked to this contact: link the contact to the member first"
                            .into(),
                    );
                } else if self.contact.previous_id.is_some() {
                    self.go(Step::FindByPrevious);
                } else {
                    self.find_by_email();
                }
            }
            (Step::FindByPrevious, DirResult::Found { member: Some(old) })
                if self.member.as_ref().is_some_and(|m| m.id != old.id) =>
            {
                // Two members: one under the new id (made by a post for the new address that ran
                // first), one under the old. Merging is an operator's call: nothing moves.
                let holder = self.member.take().map(|m| m.id).unwrap_or_default();
                self.conflict = Some(Conflict {
                    reason: "email_change_taken".into(),
                    other_member: holder,
                    member: Some(old.id.clone()),
                });
                self.member = Some(old);
                self.finish(OutcomeKind::Conflict);
            }
            (Step::FindByPrevious, DirResult::Found { member: Some(m) })
                if self.member.is_none()
                    && m.contact.as_ref().map(|c| c.key()) == self.contact.previous_key() =>
            {
                // The member the contact's old id names moves onto the new id (and address).
                let mut d = m.clone();
                d.contact = Some(self.link());
                if let Some(e) = &self.contact.email {
                    d.email = e.clone();
                }
                self.refresh_into(&m, &mut d);
                self.member = Some(m);
                self.log(
                    "info",
                    "the CRM re-keyed the contact (an email change): its member moves to the new id"
                        .into(),
                );
                self.go(Step::Update {
                    purpose: OutcomeKind::Updated,
                    draft: Some(Box::new(d)),
                });
            }
            (Step::FindByPrevious, DirResult::Found { .. }) => match self.member.take() {
                // Only the new id is held (the change was applied before): as any post for it.
                Some(m) => self.on_found_by_contact(cfg, m),
                None => self.find_by_email(),
            },
            (Step::FindByEmail, DirResult::Found { member: None }) => self.register_new(cfg),
            (Step::FindByEmail, DirResult::Found { member: Some(m) }) => match &m.contact {
                None => {
                    let mut d = m.clone();
                    d.contact = Some(self.link());
                    self.refresh_into(&m, &mut d);
                    self.member = Some(m);
                    self.go(Step::Update {
                        purpose: OutcomeKind::Linked,
                        draft: Some(Box::new(d)),
                    });
                }
                Some(other) if other.key() == self.key() => self.restart(), // linked meanwhile
                Some(_) => {
                    self.conflict = Some(Conflict {
                        reason: "email_taken_by_other_contact".into(),
                        other_member: m.id.clone(),
                        member: None,
                    });
                    self.member = None;
                    self.finish(OutcomeKind::Conflict);
                }
            },
            (Step::Insert, DirResult::Inserted { member }) => {
                self.member = Some(member);
                self.begin_credentials(cfg);
            }
            (Step::Insert, DirResult::Exists { member, .. }) => {
                if member.created_by.as_deref() == Some(self.event_id.as_str()) {
                    // Our own insert, replayed after a crash.
                    self.member = Some(member);
                    self.begin_own_credentials(cfg);
                } else {
                    self.restart();
                }
            }
            (Step::Update { purpose, .. }, DirResult::Updated { member }) => {
                let purpose = *purpose;
                self.member = Some(member);
                self.member_refreshed(cfg, purpose);
            }
            (Step::Update { purpose, .. }, DirResult::Taken { on, member: holder }) => {
                if *purpose == OutcomeKind::Updated && on == Index::Email {
                    self.conflict = Some(Conflict {
                        reason: "email_change_taken".into(),
                        other_member: holder.id,
                        member: self.member.as_ref().map(|m| m.id.clone()),
                    });
                    self.finish(OutcomeKind::Conflict);
                } else {
                    self.restart();
                }
            }
            (Step::Update { .. }, DirResult::Stale { .. }) => self.restart(),
            (Step::StorePassword, DirResult::PasswordSet { member }) => {
                self.member = Some(member);
                if self.held.generated {
                    self.go(Step::WriteCrmField);
                } else {
                    self.held = Held::default();
                    self.begin_welcome(cfg);
                }
            }
            (Step::StoreToken, DirResult::TokenStored { member, link }) => {
                self.member = Some(member);
                self.held.link = match link {
                    Some(l) if directory_link_usable(&l) => Some(Secret::new(l)),
                    Some(_) => {
                        self.log("warn", "the directory's set-password link is not an http(s) URL; memberwire's own link is sent instead".into());
                        None
                    }
                    None => None,
                };
                if self.crm(cfg).is_some_and(|c| c.link_field.is_some()) {
                    self.go(Step::WriteCrmField);
                } else {
                    self.held = Held::default();
                    self.finish(OutcomeKind::Created);
                }
            }
            (Step::MarkWelcome { state }, DirResult::Updated { member }) => {
                let state = *state;
                self.member = Some(member);
                match state {
                    Welcome::Pending if self.verify_welcome => self.go(Step::CheckWelcome),
                    Welcome::Pending => self.go(Step::ApplyWelcome),
                    _ => self.finish(OutcomeKind::Created),
                }
            }
            (
                Step::MarkWelcome { state },
                DirResult::Stale {
                    member: Some(current),
                },
            ) => {
                // Someone refreshed the member meanwhile: write our flag onto the new version.
                let state = *state;
                if current.welcome == Welcome::Sent {
                    self.member = Some(current);
                    self.finish(OutcomeKind::Created);
                } else {
                    self.member = Some(current);
                    self.step = Step::MarkWelcome { state };
                }
            }
            (_, DirResult::NoSuchMember) | (_, DirResult::Stale { member: None }) => {
                self.park(
                    "member_deleted",
                    "the member was removed while its registration was running".into(),
                );
            }
            (_, DirResult::Rejected { reason }) => {
                // A limit the member breaks (too many tags, an over-long name from the CRM).
                self.park(
                    "member_rejected",
                    format!("the directory refused the member: {}", clip(&reason)),
                );
            }
            (step, other) => {
                // Names only: a result or a draft holds members (emails, password hashes).
                let msg = format!(
                    "the directory answered {} to {}",
                    dir_result_name(&other),
                    step_name(step)
                );
                self.park("directory_protocol", msg);
            }
        }
    }

    /// Nobody holds the contact or its email: insert a member. An email change (a re-keyed
    /// contact) that matched nobody first waits once, parked for an automatic retry: an earlier
    /// change of the same contact may not have landed yet (Mailchimp does not promise order),
    /// and registering now would make a second member beside the one it is about to move. On
    /// the retry it looks again, and registers the new address if still nobody holds it.
    fn register_new(&mut self, cfg: &Config) {
        if self.contact.previous_id.is_some() && self.refresh.is_none() {
            if !self.rekey_waited {
                self.rekey_waited = true;
                self.go(Step::FindByContact);
                self.park(
                    EMAIL_CHANGE_UNMATCHED,
                    "an email change for a contact no member holds under its old id or its new one: it is retried shortly (an earlier change may still be on its way), then registers the new address".into(),
                );
                return;
            }
            if !self.loaded_here && self.needs_load(cfg) {
                // It skipped the load to move a member; a new member needs the contact's record.
                self.go(Step::Load { part: 0 });
                return;
            }
        }
        self.go(Step::Insert);
    }

    /// No member holds the contact: look for one with its email, or park when it has none.
    fn find_by_email(&mut self) {
        if self.contact.email.is_some() {
            self.go(Step::FindByEmail);
        } else {
            self.park(
                "no_email",
                "the contact has no email address in the CRM, so no account can be created".into(),
            );
        }
    }

    fn on_found_by_contact(&mut self, cfg: &Config, m: Member) {
        if m.created_by.as_deref() == Some(self.event_id.as_str())
            && m.welcome != Welcome::Sent
            && self.outcome.is_none()
        {
            // Our own member from before a crash, whose credentials step did not finish.
            self.member = Some(m);
            self.begin_own_credentials(cfg);
            return;
        }
        let mut d = m.clone();
        let email_change = match &self.contact.email {
            Some(e) if *e != m.email => Some(e.clone()),
            _ => None,
        };
        if let Some(e) = email_change {
            d.email = e;
            self.refresh_into(&m, &mut d);
            self.member = Some(m);
            self.go(Step::Update {
                purpose: OutcomeKind::Updated,
                draft: Some(Box::new(d)),
            });
            return;
        }
        self.refresh_into(&m, &mut d);
        self.member = Some(m.clone());
        if d == m {
            self.member_refreshed(cfg, OutcomeKind::Existing);
        } else {
            self.go(Step::Update {
                purpose: OutcomeKind::Existing,
                draft: Some(Box::new(d)),
            });
        }
    }

    /// An existing member's record is up to date: done, or (a refresh that asks for them) on to
    /// new credentials.
    fn member_refreshed(&mut self, cfg: &Config, outcome: OutcomeKind) {
        match &mut self.refresh {
            Some(r) if r.credentials && outcome != OutcomeKind::Conflict => {
                r.outcome = Some(outcome);
                self.begin_credentials(cfg);
            }
            Some(r) => {
                r.outcome = Some(outcome);
                self.finish(outcome);
            }
            None => self.finish(outcome),
        }
    }

    /// Copies tags and names from the contact onto `m` (never credentials).
    /// Copies what the contact says into `m` (a draft of `original`); a draft that differs from
    /// `original` in any way (tags, names, or what the caller changed) is stamped as updated now.
    fn refresh_into(&self, original: &Member, m: &mut Member) {
        let c = &self.contact;
        // The same tags, however named (a store may have kept the CRM catalog's names beside
        // the ids), are no change.
        if let Some(tags) = &c.tags {
            if !same_tags(&m.tags, tags) {
                m.tags = tags.clone();
            }
        }
        if c.first_name.is_some() && m.first_name != c.first_name {
            m.first_name = c.first_name.clone();
        }
        if c.last_name.is_some() && m.last_name != c.last_name {
            m.last_name = c.last_name.clone();
        }
        if m != original {
            m.updated_at = self.now;
        }
    }

    fn restart(&mut self) {
        self.restarts += 1;
        if self.restarts > MAX_RESTARTS {
            self.park(
                "directory_contended",
                "the directory kept changing under this registration".into(),
            );
            return;
        }
        self.member = None;
        self.go(Step::FindByContact);
    }

    // ----- credentials and welcome -----

    /// Credentials for the member this workflow inserted before a crash, met again on replay.
    /// Its state was saved last before any credentials reached the CRM (it is saved before each
    /// CRM write), so whatever the member holds came from this workflow and was never delivered:
    /// a password stored then must not pass for credentials the member has. Issue them again.
    fn begin_own_credentials(&mut self, cfg: &Config) {
        self.begin_credentials_as(cfg, true);
    }

    fn begin_credentials(&mut self, cfg: &Config) {
        self.begin_credentials_as(cfg, false);
    }

    fn begin_credentials_as(&mut self, cfg: &Config, replayed: bool) {
        let Some(crm) = self.crm(cfg) else {
            // No CRM to deliver credentials through. A password the post carried is used when
            // the site takes passwords from its source and it is acceptable; otherwise the
            // member sets one with the site's lost-password form.
            let usable = cfg.password_mode == PasswordMode::Crm
                && self.password_fresh
                && self
                    .contact
                    .password
                    .as_ref()
                    .is_some_and(|p| secrets::check_password(p, cfg.min_crm_password).is_ok());
            if usable {
                self.credentials = CredentialsIssued::CrmPassword;
                self.go(Step::Draw);
            } else {
                self.log("info", "no CRM to deliver credentials through: the member sets a password with the site's lost-password form".into());
                self.finish(OutcomeKind::Created);
            }
            return;
        };
        let reissue = replayed || self.refresh.is_some_and(|r| r.credentials);
        if !reissue
            && self.member.as_ref().is_some_and(|m| {
                m.credentials == Credentials::Password && m.password_hash.is_some()
            })
        {
            self.begin_welcome(cfg);
            return;
        }
        match cfg.password_mode {
            PasswordMode::Link => {
                if crm.link_field.is_none() {
                    self.log("warn", "no CRM field is configured for the set-password link; the member was created without credentials".into());
                    self.finish(OutcomeKind::Created);
                    return;
                }
                self.credentials = CredentialsIssued::LinkSent;
                self.go(Step::Draw);
            }
            PasswordMode::Crm => {
                if !self.password_fresh && crm.password_field.is_some() {
                    self.go(Step::Load { part: 0 });
                    return;
                }
                let acceptable = match &self.contact.password {
                    Some(p) => match secrets::check_password(p, cfg.min_crm_password) {
                        Ok(()) => true,
                        Err(why) => {
                            self.log(
                                "info",
                                format!(
                                    "the CRM's password was not accepted ({}); generating one",
                                    why.as_str()
                                ),
                            );
                            false
                        }
                    },
                    None => false,
                };
                if crm.password_field.is_none() && !acceptable {
                    self.log("warn", "no CRM password field is configured; the member was created without credentials".into());
                    self.finish(OutcomeKind::Created);
                    return;
                }
                self.credentials = if acceptable {
                    CredentialsIssued::CrmPassword
                } else {
                    CredentialsIssued::GeneratedPassword
                };
                self.go(Step::Draw);
            }
        }
    }

    fn on_random(&mut self, cfg: &Config, bytes: Vec<u8>) {
        if self.step != Step::Draw || bytes.len() < self.draw_len(cfg) {
            self.park("entropy", "the host returned too few random bytes".into());
            return;
        }
        match cfg.password_mode {
            PasswordMode::Link => {
                let mut t = [0u8; 32];
                t.copy_from_slice(&bytes[..32]);
                let token = secrets::token_from(&t);
                self.held = Held {
                    hash: Some(secrets::token_digest(token.expose())),
                    value: Some(token),
                    generated: true,
                    link: None,
                };
                self.go(Step::StoreToken);
            }
            PasswordMode::Crm => {
                let mut salt = [0u8; 16];
                salt.copy_from_slice(&bytes[..16]);
                let (password, generated) = match (&self.contact.password, self.credentials) {
                    (Some(p), CredentialsIssued::CrmPassword) => (p.clone(), false),
                    _ => (
                        secrets::generate_password(&bytes[16..16 + self.password_len(cfg)]),
                        true,
                    ),
                };
                self.held = Held {
                    hash: Some(secrets::hash_password(&password, salt, cfg.bcrypt_cost)),
                    value: Some(password),
                    generated,
                    link: None,
                };
                self.go(Step::StorePassword);
            }
        }
    }

    fn begin_welcome(&mut self, cfg: &Config) {
        if self.refresh.is_some_and(|r| !r.welcome) {
            self.finish(OutcomeKind::Created);
            return;
        }
        let has_tag = self.crm(cfg).is_some_and(|c| c.welcome_tag.is_some());
        let state = self.member.as_ref().map(|m| m.welcome).unwrap_or_default();
        match (has_tag, state) {
            (false, _) => self.finish(OutcomeKind::Created),
            (true, Welcome::Sent) => self.finish(OutcomeKind::Created),
            (true, Welcome::Pending) => {
                // Marked pending by an earlier run of this workflow: it may have applied it.
                self.verify_welcome = true;
                self.go(Step::CheckWelcome);
            }
            (true, Welcome::NotSent) => self.go(Step::MarkWelcome {
                state: Welcome::Pending,
            }),
        }
    }

    // ----- HTTP results -----

    fn on_http(&mut self, cfg: &Config, res: Result<HttpResponse, String>) {
        let Some(crm) = self.crm(cfg) else {
            self.park(
                CANNOT_CONTINUE,
                "a CRM answer arrived for a CRM that is no longer configured".into(),
            );
            return;
        };
        let res = match res {
            Ok(r)
                if (200..300).contains(&r.status)
                    || (r.status == 404 && matches!(self.step, Step::Load { .. })) =>
            {
                r
            }
            Ok(r) if r.status == 429 || r.status >= 500 || r.status == 408 => {
                let wait = r.retry_after.map(|s| s * 1000);
                return self.retry_later(cfg, format!("the CRM answered {}", r.status), wait);
            }
            Ok(r) => {
                let code = if r.status == 401 || r.status == 403 {
                    "crm_auth"
                } else {
                    "crm_rejected"
                };
                return self.park(
                    code,
                    format!(
                        "the CRM refused {} with status {}",
                        step_word(&self.step),
                        r.status
                    ),
                );
            }
            Err(message) => {
                if self.step == Step::ApplyWelcome {
                    // The tag may have been applied before the answer was lost.
                    self.verify_welcome = true;
                }
                return self.retry_later(
                    cfg,
                    format!("no answer from the CRM: {}", clip(&message)),
                    None,
                );
            }
        };
        match self.step.clone() {
            Step::Load { part } => {
                let mut loaded = std::mem::take(&mut self.loaded);
                if let Err(e) = crm::parse_load(crm, part, &res, &mut loaded) {
                    return self.park("crm_bad_response", e.0);
                }
                if loaded.missing {
                    return self.park(
                        "crm_contact_missing",
                        format!(
                            "contact {} does not exist in the CRM",
                            self.contact.contact_id
                        ),
                    );
                }
                if part + 1 < crm::load_requests(crm, self.contact.contact_id.as_str()).len() {
                    self.loaded = loaded;
                    self.go(Step::Load { part: part + 1 });
                } else {
                    if !self.password_fresh {
                        self.contact.password = None;
                        self.password_fresh = true;
                    }
                    // Kit's field update names the subscriber's email: the one Kit has now, not
                    // an older one a delayed webhook carried, which the update would write back.
                    if crm.kind == crate::core::contact::CrmKind::Kit && loaded.email.is_some() {
                        self.contact.email = loaded.email.take();
                    }
                    loaded.merge_into(&mut self.contact);
                    self.loaded_here = true;
                    self.go(Step::FindByContact);
                }
            }
            Step::CheckWelcome => {
                let mut loaded = Loaded::default();
                if let Err(e) = crm::parse_load(crm, crm::tags_part(crm), &res, &mut loaded) {
                    return self.park("crm_bad_response", e.0);
                }
                let present = crm.welcome_tag.as_deref().is_some_and(|tag| {
                    loaded
                        .tags
                        .unwrap_or_default()
                        .iter()
                        .any(|t| crm::tag_is(crm, t, tag))
                });
                self.verify_welcome = false;
                if present {
                    self.welcome = WelcomeResult::AlreadyApplied;
                    self.go(Step::MarkWelcome {
                        state: Welcome::Sent,
                    });
                } else {
                    self.go(Step::ApplyWelcome);
                }
            }
            Step::WriteCrmField => {
                self.held = Held::default();
                self.begin_welcome(cfg);
            }
            Step::ApplyWelcome => {
                self.welcome = WelcomeResult::Applied;
                self.go(Step::MarkWelcome {
                    state: Welcome::Sent,
                });
            }
            other => {
                let step = step_name(&other);
                self.park("protocol", format!("unexpected HTTP result at {step}"))
            }
        }
    }

    fn retry_later(&mut self, cfg: &Config, why: String, server_wait_ms: Option<u64>) {
        self.attempt += 1;
        if self.attempt >= cfg.max_attempts {
            let reason = format!(
                "{} failed {} times; last: {why}",
                step_word(&self.step),
                self.attempt
            );
            return self.park("crm_unavailable", reason);
        }
        if self.verify_welcome && self.step == Step::ApplyWelcome {
            self.step = Step::CheckWelcome;
        }
        let backoff = backoff_ms(cfg, self.attempt, &self.event_id);
        self.sleep_ms = server_wait_ms
            .map_or(backoff, |w| w.max(backoff))
            .min(cfg.retry_cap_ms.max(1));
        self.log(
            "info",
            format!(
                "{}: {why}; retry {} in {} ms",
                step_word(&self.step),
                self.attempt,
                self.sleep_ms
            ),
        );
    }
}

/// Exponential backoff with full jitter. The jitter is derived from the event id and the
/// attempt (deterministic, so simulations replay), which is enough to spread workflows apart:
/// it needs no secrecy.
pub fn backoff_ms(cfg: &Config, attempt: u32, event_id: &str) -> u64 {
    let ceiling = cfg
        .retry_base_ms
        .saturating_mul(1u64 << attempt.min(20))
        .min(cfg.retry_cap_ms)
        .max(1);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in event_id.bytes().chain(attempt.to_le_bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ceiling / 2 + h % (ceiling / 2 + 1)
}

fn outcome_word(o: OutcomeKind) -> &'static str {
    match o {
        OutcomeKind::Created => "created",
        OutcomeKind::Linked => "linked contact to",
        OutcomeKind::Existing => "refreshed",
        OutcomeKind::Updated => "changed the email of",
        OutcomeKind::Conflict => "conflict; left unchanged",
    }
}

/// A step's name, as saved (never its data: a draft holds a member).
fn step_name(s: &Step) -> &'static str {
    match s {
        Step::Load { .. } => "load",
        Step::FindByContact => "find_by_contact",
        Step::FindByPrevious => "find_by_previous",
        Step::FindByEmail => "find_by_email",
        Step::Insert => "insert",
        Step::Update { .. } => "update",
        Step::Draw => "draw",
        Step::StorePassword => "store_password",
        Step::StoreToken => "store_token",
        Step::WriteCrmField => "write_crm_field",
        Step::MarkWelcome { .. } => "mark_welcome",
        Step::CheckWelcome => "check_welcome",
        Step::ApplyWelcome => "apply_welcome",
        Step::Done => "done",
    }
}

/// A directory result's name (never the members it carries).
fn dir_result_name(r: &DirResult) -> &'static str {
    match r {
        DirResult::Found { .. } => "found",
        DirResult::Inserted { .. } => "inserted",
        DirResult::Exists { .. } => "exists",
        DirResult::Updated { .. } => "updated",
        DirResult::Stale { .. } => "stale",
        DirResult::Taken { .. } => "taken",
        DirResult::TokenStored { .. } => "token_stored",
        DirResult::TokenConsumed { .. } => "token_consumed",
        DirResult::TokenInvalid => "token_invalid",
        DirResult::PasswordSet { .. } => "password_set",
        DirResult::NoSuchMember => "no_such_member",
        DirResult::Rejected { .. } => "rejected",
    }
}

fn step_word(s: &Step) -> &'static str {
    match s {
        Step::Load { .. } => "loading the contact",
        Step::CheckWelcome => "checking the welcome tag",
        Step::WriteCrmField => "writing the credentials field",
        Step::ApplyWelcome => "applying the welcome tag",
        _ => "this step",
    }
}

/// Error texts from hosts are cut and kept to printable ASCII before they reach a log.
fn clip(s: &str) -> String {
    s.chars()
        .take(200)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Whether two tag lists name the same tags: by id where both have one, else by name.
fn same_tags(a: &[Tag], b: &[Tag]) -> bool {
    let key = |t: &Tag| match (&t.id, &t.name) {
        (Some(id), _) => format!("#{id}"),
        (None, Some(n)) => super::text::lowercase(n.trim()),
        (None, None) => String::new(),
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}

/// Used by hosts to answer set-password requests: checks and hashes a new password.
pub fn password_for_token(
    password: &Secret,
    salt: [u8; 16],
    cfg: &Config,
) -> Result<String, secrets::Rejected> {
    secrets::check_password(password, cfg.min_crm_password)?;
    Ok(secrets::hash_password(password, salt, cfg.bcrypt_cost))
}
