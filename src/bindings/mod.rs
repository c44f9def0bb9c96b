//! The one binding layer between the pure core and JavaScript hosts.
//!
//! Nothing else in the crate imports `wasm_bindgen`, `js_sys`, `web_sys` or `getrandom`
//! (`scripts/lint.sh` checks it). Values cross as JSON-shaped objects whose TypeScript types are
//! written by hand in [`TS_TYPES`]; errors cross as JS `Error` objects with a stable `code` and
//! the HTTP `status` a host should answer with.

mod admin;
mod directory;
#[cfg(target_arch = "wasm32")]
pub(crate) mod host;
mod parse;
mod workflow;

use wasm_bindgen::prelude::*;

use crate::core::error::Error;
use crate::core::json::{FromJson, ToJson};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A stable machine-readable error code (see the README's error table). */
export type ErrorCode =
  | "malformed_body" | "unsupported_content_type" | "body_too_large" | "missing_contact_id"
  | "invalid_contact_id" | "invalid_email" | "field_too_large" | "invalid_field"
  | "too_many_objects" | "unknown_source" | "password_rejected" | "invalid_config";

/** Errors thrown by memberwire functions are `Error`s with these two extra properties. */
export interface MemberwireError extends Error {
  code: ErrorCode;
  /** The HTTP status a host answers with. */
  status: number;
}

export type SourceName = "keap_post" | "keap_rest" | "activecampaign" | "kit" | "drip" | "mailerlite" | "highlevel" | "hubspot" | "mailchimp" | "json" | "mapped";
export type CrmKind = "keap" | "activecampaign" | "kit" | "drip" | "mailerlite" | "highlevel" | "hubspot" | "mailchimp" | "generic";

export interface ParseOptions {
  /** Which account of the CRM posts come from. Default "default". */
  account?: string;
  /** The field that carries the member's password, if the site uses one. */
  passwordField?: string | null;
  /** Bodies over this many bytes are refused with body_too_large. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Other fields kept with an event, by name (an allow-list; default none). */
  keepFields?: string[];
  /** The mapped source a post to /hooks/mapped/NAME is read with. */
  mapped?: MappedSource | null;
}

/** Where a webhook's JSON carries each part of a contact: paths of keys joined by dots (`data.subscriber.id`; a part of digits indexes an array). */
export interface JsonMapping {
  each?: string;
  contactId: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  tags?: string;
  password?: string;
  eventType?: string;
  fields?: string;
}

/** A source an owner defines: posts go to /hooks/mapped/NAME. */
export interface MappedSource {
  name: string;
  crm?: Exclude<CrmKind, "generic">;
  mapping: JsonMapping;
}

export interface Tag {
  id?: string;
  name?: string;
}

export interface Contact {
  crm: CrmKind;
  account: string;
  /** Exactly as the CRM wrote it: never a float. */
  contactId: string;
  /** Trimmed and lower-cased. */
  email?: string;
  firstName?: string;
  lastName?: string;
  /** Absent when the post said nothing about tags. */
  tags?: Tag[];
  /** True when the configured password field had a value; the value never crosses. */
  hasPassword?: true;
  fields?: Record<string, string>;
  /** The contact's id before an email change re-keyed it (Mailchimp's `upemail`). */
  previousId?: string;
}

export interface InboundEvent {
  source: SourceName;
  eventType: string;
  contact: Contact;
}

export interface HttpRequest {
  method: string;
  url: string;
  /** Carries the CRM's API token: never log it. */
  headers: [string, string][];
  body?: string;
}

export interface MemberView {
  id: string;
  email: string;
  contactId?: string;
  tags: Tag[];
}

/** A member as the directory stores it, without its password hash. */
export interface MemberRecord {
  id: string;
  version: number;
  email: string;
  contact?: { crm: CrmKind; account: string; contactId: string };
  firstName?: string;
  lastName?: string;
  tags: Tag[];
  credentials: "none" | "link_issued" | "password";
  welcome: "not_sent" | "pending" | "sent";
  hasPassword: boolean;
  createdBy?: string;
  createdAt: number;
  updatedAt: number;
}

export type DirOp =
  | { op: "get_by_contact"; key: string }
  | { op: "get_by_email"; email: string }
  | { op: "insert"; member: object }
  | { op: "update"; member: object }
  | { op: "put_token"; tokenHash: string; memberId: string; expiresAt: number }
  | { op: "consume_token"; tokenHash: string; now: number }
  | { op: "set_password"; memberId: string; passwordHash: string; now: number };

/** What the directory answers; `member` objects here include the stored hash. */
export type DirResult = { result: string; [field: string]: unknown };

/** A member as a SQL store keeps it (see migrations/): identity columns plus `data`. */
export interface StoredMember {
  /** The normalized email (the `email` identity). */
  email: string;
  /** `crm:account:id` (the `contact` identity), or null for a member with no contact. */
  contactKey: string | null;
  credentials: "none" | "link_issued" | "password";
  /** Lower-cased email, contact id and names, one per line, for the admin search. */
  search: string;
  /** Everything else as JSON text. */
  data: string;
}

export type DirChange =
  | { kind: "member"; member: object }
  | { kind: "token"; token: { tokenHash: string; memberId: string; expiresAt: number } };

export type Effect =
  | { type: "http"; purpose: "load_contact" | "check_welcome_tag" | "write_credentials" | "apply_welcome_tag"; request: HttpRequest }
  | { type: "directory"; op: DirOp }
  | { type: "random"; bytes: number }
  | { type: "sleep"; ms: number }
  | { type: "log"; record: { level: "info" | "warn"; event: string; message: string } };

export type EffectResult =
  | { type: "http"; response: { status: number; body: string; retryAfter?: number | null } }
  | { type: "http_failed"; message: string }
  | { type: "directory"; result: DirResult }
  | { type: "slept" }
  | { type: "logged" };

export type OutcomeKind = "created" | "linked" | "existing" | "updated" | "conflict";

export interface Outcome {
  outcome: OutcomeKind;
  event: string;
  member?: MemberView;
  conflict?: { reason: string; otherMember: string; member?: string };
  credentials: "unchanged" | "link_sent" | "crm_password" | "generated_password";
  welcome: "not_applicable" | "applied" | "already_applied";
}

export type Poll =
  | { state: "effect"; effect: Effect }
  | { state: "done"; outcome: Outcome }
  | { state: "pending"; code: string; reason: string };

export interface LogRecord {
  level: "info" | "warn";
  event: string;
  message: string;
}

/**
 * What `Workflow.step` returns: the next effect for the host to perform (never `random` or
 * `log`: those are answered inside wasm), or the end. `logs` are the records to write now;
 * `save`, when present, is the state the host must persist before it performs `effect` (a CRM
 * write; at the end it is always present).
 */
export type Step =
  | { state: "effect"; effect: Exclude<Effect, { type: "random" } | { type: "log" }>; logs?: LogRecord[]; save?: string }
  | { state: "done"; outcome: Outcome; logs?: LogRecord[]; save: string }
  | { state: "pending"; code: string; reason: string; logs?: LogRecord[]; save: string };

/** A new workflow's record for the event store, read in one call. */
export interface WorkflowRecord {
  eventId: string;
  contactKey: string;
  contact: Contact;
  state: string;
}

export interface CrmConfig {
  kind: Exclude<CrmKind, "generic">;
  baseUrl: string;
  token: string;
  passwordField?: string | null;
  passwordFieldMax?: number | null;
  linkField?: string | null;
  welcomeTag?: string | null;
  accountId?: string | null;
}

export interface RegistrarConfig {
  crm?: CrmConfig | null;
  passwordMode?: "link" | "crm";
  linkUrl?: string;
  linkTtlMs?: number;
  passwordLength?: number;
  minCrmPassword?: number;
  bcryptCost?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
  retryCapMs?: number;
  parse?: ParseOptions;
}

export type Accepted =
  | { kind: "events"; workflows: Workflow[]; records: WorkflowRecord[] }
  | { kind: "hook_verification" }
  | { kind: "ignored"; reason: string };

/** A level granted by tags: tag ids or names (names compare case-insensitively). */
export interface Rule {
  id: string;
  level: string;
  anyOf?: string[];
  allOf?: string[];
  noneOf?: string[];
}

export interface TagSyncPreview {
  add: Tag[];
  remove: Tag[];
  keep: Tag[];
  levelsGained: string[];
  levelsLost: string[];
}

export interface LevelImpact {
  level: string;
  before: number;
  after: number;
  gain: number;
  lose: number;
}

export interface CrmContact {
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  tags: Tag[];
  hasPassword: boolean;
}

export interface ImportPlan {
  counts: { created: number; linked: number; existing: number; updated: number; conflict: number; invalid: number };
  rows: { row: number; contactId: string; email: string; outcome: OutcomeKind; reason?: string; otherMember?: string }[];
  invalid: { row: number; message: string }[];
}

export type Inbound =
  | { kind: "events"; events: InboundEvent[] }
  /** Keap REST hook verification: answer 200 echoing the X-Hook-Secret header. */
  | { kind: "hook_verification" }
  | { kind: "ignored"; reason: string };
"#;

/// A core error as a JS `Error` with `code` and `status`.
pub(crate) fn js_error(err: &Error) -> JsValue {
    let e = js_sys::Error::new(&err.message);
    e.set_name("MemberwireError");
    let obj: &JsValue = e.as_ref();
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(obj, &"code".into(), &err.code.as_str().into());
    let _ = js_sys::Reflect::set(obj, &"status".into(), &err.code.http_status().into());
    e.into()
}

/// A Rust value as a plain JS object (through JSON: ids stay strings, maps stay objects).
pub(crate) fn to_js<T: ToJson + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    js_json(&crate::core::json::to_string(value))
}

/// JSON text as the JS value it describes.
pub(crate) fn js_json(text: &str) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(text)
}

/// A plain JS value as a Rust value it must be (`what` names it in the `invalid_field` error).
pub(crate) fn parse_js<T: FromJson>(v: &JsValue, what: &str) -> Result<T, JsValue> {
    let text: String = js_sys::JSON::stringify(v)?.into();
    crate::core::json::from_str(&text).map_err(|e| {
        js_error(&Error::new(
            crate::core::error::ErrorCode::InvalidField,
            format!("not a valid {what}: {e}"),
        ))
    })
}

/// A plain JS object as a Rust value; `undefined`/`null` give the type's default.
pub(crate) fn from_js<T: FromJson + Default>(value: &JsValue, what: &str) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    let text: String = js_sys::JSON::stringify(value)?.into();
    crate::core::json::from_str(&text).map_err(|e| {
        js_error(&Error::new(
            crate::core::error::ErrorCode::InvalidField,
            format!("{what} is not valid: {e}"),
        ))
    })
}

/// Runs when the module is instantiated: it only tells the core where its hash keys come from
/// (nothing is drawn here: Workers refuses randomness outside a request).
#[wasm_bindgen(start)]
pub fn start() {
    crate::core::hashing::set_key_source(workflow::hash_keys);
}

/// memberwire's version, for `/health` answers and logs.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
