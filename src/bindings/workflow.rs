//! The registration workflow for JS hosts: a `Registrar` holds the site's settings (including
//! the CRM token, which never leaves wasm except in the requests it builds) and starts or
//! restores `Workflow`s; the host's driver loops `poll` → perform → `handle`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, js_json, parse_js, to_js};
use crate::core::contact::{Contact, ContactId, Secret};
use crate::core::directory::{
    stored_form, stored_member, DirOp, DirResult, StoredMember, StoredRow,
};
use crate::core::email::Email;
use crate::core::error::{Error, ErrorCode};
use crate::core::inbound::mapping::MappedSource;
use crate::core::inbound::{parse_post, Inbound, ParseOptions, PostMeta, Source};
use crate::core::json::{self, FromJson, Json, ToJson};
use crate::core::secrets;
use crate::core::workflow::{self, Config, Effect, EffectResult, LogRecord, Poll, Workflow};

/// `Workflow.step`'s answer: the poll, the directory write's stored form beside its effect
/// (`row`), the log records met on the way (`logs`) and the state to persist (`save`), each set
/// on the poll's object only when present (the state apart from the JSON: inside it, it would
/// be escaped and unescaped whole for nothing).
struct StepOut {
    poll: Poll,
    row: Option<Result<StoredMember, String>>,
    logs: Vec<LogRecord>,
}

impl StepOut {
    fn to_js(&self, save: Option<String>) -> Result<JsValue, JsValue> {
        // The poll's object with `row` and `logs` added before its closing brace: one parse.
        let mut text = json::to_string(&self.poll);
        text.pop();
        match &self.row {
            Some(Ok(row)) => {
                text.push_str(",\"row\":");
                row.write_json(&mut text);
            }
            Some(Err(reason)) => {
                text.push_str(",\"row\":{\"rejected\":");
                reason.write_json(&mut text);
                text.push('}');
            }
            None => {}
        }
        if !self.logs.is_empty() {
            text.push_str(",\"logs\":");
            self.logs.write_json(&mut text);
        }
        text.push('}');
        let out = js_json(&text)?;
        if let Some(state) = save {
            js_sys::Reflect::set(&out, &"save".into(), &state.into())?;
        }
        Ok(out)
    }
}

/// The registrar's settings: the workflow's (`Config`'s fields) plus the parser's (`parse`).
/// Read as two plain structs from the one object (`parse` is a field of its own).
struct RegistrarConfig {
    workflow: Config,
    parse: ParseOptions,
}

impl RegistrarConfig {
    fn from_js(config: &JsValue) -> Result<Self, JsValue> {
        let parse = if config.is_object() {
            js_sys::Reflect::get(config, &"parse".into())?
        } else {
            JsValue::UNDEFINED
        };
        Ok(RegistrarConfig {
            workflow: from_js(config, "config")?,
            parse: from_js(&parse, "config.parse")?,
        })
    }
}

#[wasm_bindgen]
pub struct Registrar {
    cfg: Rc<Config>,
    parse: ParseOptions,
    /// The owner's mapped sources, by name (`setSources`).
    sources: RefCell<Vec<MappedSource>>,
}

#[wasm_bindgen]
impl Registrar {
    /// Validates the settings; throws `MemberwireError` (`invalid_config`) when they cannot work.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "RegistrarConfig")] config: JsValue,
    ) -> Result<Registrar, JsValue> {
        let c = RegistrarConfig::from_js(&config)?;
        c.workflow.validate().map_err(|e| js_error(&e))?;
        Ok(Registrar {
            cfg: Rc::new(c.workflow),
            parse: c.parse,
            sources: RefCell::new(Vec::new()),
        })
    }

    /// Replaces the mapped sources posts to `/hooks/mapped/NAME` are read with (the owner's
    /// list, from the settings). Every one is checked first: a bad one throws `invalid_field`
    /// naming it and its setting, and the old list stays.
    #[wasm_bindgen(js_name = setSources)]
    pub fn set_sources(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MappedSource[]")] sources: JsValue,
    ) -> Result<(), JsValue> {
        let list = check_sources(&sources)?;
        *self.sources.borrow_mut() = list;
        Ok(())
    }

    /// Parses one post and starts a workflow per contact it names, each with a new event id.
    /// `source` is a source name or a route. Throws `MemberwireError` for a bad post.
    /// `recordsOnly`: only the records (no `workflows`), for a host that runs the events
    /// elsewhere (a registration thread, a queue) and would free each workflow at once.
    #[wasm_bindgen(unchecked_return_type = "Accepted")]
    pub fn accept(
        &self,
        source: &str,
        headers: &web_sys::Headers,
        body: &[u8],
        now: f64,
        #[wasm_bindgen(js_name = recordsOnly)] records_only: Option<bool>,
    ) -> Result<JsValue, JsValue> {
        let route = source;
        let source = Source::from_name(source)
            .or_else(|| Source::from_route(source))
            .ok_or_else(|| js_error(&Error::new(ErrorCode::UnknownSource, "no such source")))?;
        let mapped;
        let options = if source == Source::Mapped {
            let name = Source::mapped_name(route).unwrap_or_default();
            let found = self
                .sources
                .borrow()
                .iter()
                .find(|s| s.name == name)
                .cloned();
            let Some(found) = found else {
                return Err(js_error(&Error::new(
                    ErrorCode::UnknownSource,
                    "no mapped source by that name: define it in the admin page (Settings → Sources)",
                )));
            };
            mapped = ParseOptions {
                mapped: Some(found),
                ..self.parse.clone()
            };
            &mapped
        } else {
            &self.parse
        };
        let content_type = headers.get("content-type")?;
        let hook_secret = headers.get("x-hook-secret")?;
        let meta = PostMeta {
            content_type: content_type.as_deref(),
            hook_secret: hook_secret.as_deref(),
        };
        let out = js_sys::Object::new();
        let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&out, &k.into(), v);
        match parse_post(source, meta, body, options).map_err(|e| js_error(&e))? {
            Inbound::HookVerification { .. } => {
                set("kind", &"hook_verification".into())?;
            }
            Inbound::Ignored { reason } => {
                set("kind", &"ignored".into())?;
                set("reason", &reason.into())?;
            }
            Inbound::Events { events } => {
                // Each workflow with its record for the event store (`Workflow.record()`), so
                // the host records a post without another call per event.
                let list = js_sys::Array::new();
                let records = js_sys::Array::new();
                for ev in events {
                    let id = new_event_id(now)?;
                    let wf =
                        Workflow::new(&id, ev, &self.cfg, now as u64).map_err(|e| js_error(&e))?;
                    records.push(&record_of(&wf)?);
                    if records_only != Some(true) {
                        list.push(&JsValue::from(self.running(wf)));
                    }
                }
                set("kind", &"events".into())?;
                set("workflows", &list)?;
                set("records", &records)?;
            }
        }
        Ok(out.into())
    }

    /// Starts a refresh of the member linked to contact `contactId` of the connected CRM (the
    /// administrator's "Refresh from CRM"): tags and names from the CRM, then new credentials and
    /// the welcome tag as asked. Throws `invalid_contact_id`, or `invalid_config` without a CRM.
    pub fn refresh(
        &self,
        #[wasm_bindgen(js_name = contactId)] contact_id: &str,
        credentials: bool,
        welcome: bool,
        now: f64,
    ) -> Result<RunningWorkflow, JsValue> {
        let contact = self.connected_contact(contact_id, "a refresh")?;
        let event_id = new_event_id(now)?;
        let wf = Workflow::refresh(
            &event_id,
            contact,
            &self.cfg,
            now as u64,
            credentials,
            welcome,
        )
        .map_err(|e| js_error(&e))?;
        Ok(self.running(wf))
    }

    /// Starts the registration of contact `contactId` of the connected CRM, as a post naming
    /// only that contact (and its email, when given) would: for the admin page's "add with a
    /// welcome" and the bulk runs, which have the contact in hand and no post to parse. Throws
    /// `invalid_contact_id`, `invalid_email`, or `invalid_config` without a CRM.
    pub fn register(
        &self,
        #[wasm_bindgen(js_name = contactId)] contact_id: &str,
        email: Option<String>,
        now: f64,
    ) -> Result<RunningWorkflow, JsValue> {
        let mut contact = self.connected_contact(contact_id, "a registration by contact id")?;
        if let Some(raw) = email.filter(|e| !e.trim().is_empty()) {
            contact.email = Some(Email::parse(&raw, "email").map_err(|e| js_error(&e))?);
        }
        let source = Source::of_crm(contact.crm);
        let event = crate::core::inbound::InboundEvent {
            source,
            event_type: "register".into(),
            contact,
        };
        let wf = Workflow::new(&new_event_id(now)?, event, &self.cfg, now as u64)
            .map_err(|e| js_error(&e))?;
        Ok(self.running(wf))
    }

    /// Restores a workflow from `Workflow.save()` (after a restart, or for a retry).
    pub fn restore(&self, state: &str) -> Result<RunningWorkflow, JsValue> {
        let wf = Workflow::restore(state).map_err(|e| js_error(&e))?;
        Ok(self.running(wf))
    }

    /// Checks a member's new password against the policy and returns its hash (salt drawn
    /// here). Throws `password_rejected` with the reason.
    #[wasm_bindgen(js_name = hashNewPassword)]
    pub fn hash_new_password(&self, password: &str) -> Result<String, JsValue> {
        self.check_new_password(password)?;
        let mut salt = [0u8; 16];
        fill_random(&mut salt)?;
        workflow::password_for_token(&Secret::new(password), salt, &self.cfg)
            .map_err(|why| self.rejected(why))
    }

    /// Checks a member's new password against the policy only (no hashing: cheap). Throws
    /// `password_rejected` with the reason.
    #[wasm_bindgen(js_name = checkNewPassword)]
    pub fn check_new_password(&self, password: &str) -> Result<(), JsValue> {
        crate::core::secrets::check_password(&Secret::new(password), self.cfg.min_crm_password)
            .map_err(|why| self.rejected(why))
    }
}

impl Registrar {
    /// Contact `contact_id` of the connected CRM (`what` needs one), its id checked as a post's is.
    fn connected_contact(&self, contact_id: &str, what: &str) -> Result<Contact, JsValue> {
        let Some(crm) = self.cfg.crm.as_ref() else {
            return Err(js_error(&Error::new(
                ErrorCode::InvalidConfig,
                format!("{what} needs a connected CRM"),
            )));
        };
        let numeric = crm.kind.numeric_ids();
        let id = ContactId::parse(contact_id, "contactId", numeric).map_err(|e| js_error(&e))?;
        Ok(Contact::new(crm.kind, &self.parse.account, id))
    }

    fn running(&self, wf: Workflow) -> RunningWorkflow {
        RunningWorkflow {
            wf,
            cfg: self.cfg.clone(),
        }
    }

    fn rejected(&self, why: crate::core::secrets::Rejected) -> JsValue {
        js_error(&Error::new(
            ErrorCode::PasswordRejected,
            format!(
                "the password is {}: use {} to 72 characters (at most 72 bytes), not all the same, with no space at either end",
                why.as_str().replace('_', " "),
                self.cfg.min_crm_password
            ),
        ))
    }
}

/// One running registration.
#[wasm_bindgen(js_name = Workflow)]
pub struct RunningWorkflow {
    wf: Workflow,
    cfg: Rc<Config>,
}

#[wasm_bindgen(js_class = Workflow)]
impl RunningWorkflow {
    #[wasm_bindgen(getter, js_name = eventId)]
    pub fn event_id(&self) -> String {
        self.wf.event_id().to_owned()
    }

    /// `crm:account:contactId`: hosts may use it to run one contact's workflows in order.
    #[wasm_bindgen(getter, js_name = contactKey)]
    pub fn contact_key(&self) -> String {
        self.wf.contact().key()
    }

    /// The contact as far as known (never its password).
    #[wasm_bindgen(getter, unchecked_return_type = "Contact")]
    pub fn contact(&self) -> Result<JsValue, JsValue> {
        to_js(self.wf.contact())
    }

    /// The next effect to perform, the outcome, or a pending state.
    #[wasm_bindgen(unchecked_return_type = "Poll")]
    pub fn poll(&mut self) -> Result<JsValue, JsValue> {
        to_js(&self.wf.poll(&self.cfg))
    }

    /// The result of the effect `poll` returned (for every effect but `random`).
    pub fn handle(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "EffectResult")] result: JsValue,
        now: f64,
    ) -> Result<(), JsValue> {
        let result: EffectResult = parse_js(&result, "effect result")?;
        self.wf.handle(&self.cfg, result, now as u64);
        Ok(())
    }

    /// Answers a `random` effect with bytes from the platform's CSPRNG, drawn here so the
    /// secrets made from them never pass through JS.
    #[wasm_bindgen(js_name = provideRandom)]
    pub fn provide_random(&mut self, bytes: usize, now: f64) -> Result<(), JsValue> {
        let mut buf = vec![0u8; bytes];
        fill_random(&mut buf)?;
        self.wf
            .handle(&self.cfg, EffectResult::Random { bytes: buf }, now as u64);
        Ok(())
    }

    /// One step of the driver loop in one call: takes the result of the effect the last step
    /// returned (`undefined` on the first call), then runs on inside wasm through every `random`
    /// (drawn here) and `log` (collected) until the next effect the host must perform, or the
    /// end. The answer carries the state to persist before that effect when it is a CRM write
    /// (`Effect::must_persist_before`), and always at the end; the directory writes carry their
    /// stored form (`row`, as `memberRow` gives it) so a SQL store needs no second call.
    #[wasm_bindgen(unchecked_return_type = "Step")]
    pub fn step(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "EffectResult | undefined")] result: JsValue,
        now: f64,
    ) -> Result<JsValue, JsValue> {
        if !result.is_undefined() {
            let result: EffectResult = match directory_result(&result)? {
                Some(r) => r,
                None => parse_js(&result, "effect result")?,
            };
            self.wf.handle(&self.cfg, result, now as u64);
        }
        let mut logs = Vec::new();
        loop {
            match self.wf.poll(&self.cfg) {
                Poll::Effect {
                    effect: Effect::Log { record },
                } => {
                    logs.push(record);
                    self.wf.handle(&self.cfg, EffectResult::Logged, now as u64);
                }
                Poll::Effect {
                    effect: Effect::Random { bytes },
                } => self.provide_random(bytes, now)?,
                Poll::Effect { effect } => {
                    let state = effect.must_persist_before().then(|| self.wf.save());
                    let row = match &effect {
                        Effect::Directory {
                            op: DirOp::Insert { member } | DirOp::Update { member },
                        } => Some(stored_form(member)),
                        _ => None,
                    };
                    return StepOut {
                        poll: Poll::Effect { effect },
                        row,
                        logs,
                    }
                    .to_js(state);
                }
                end => {
                    return StepOut {
                        poll: end,
                        row: None,
                        logs,
                    }
                    .to_js(Some(self.wf.save()))
                }
            }
        }
    }

    /// What the event store records of a new workflow, in one call.
    #[wasm_bindgen(unchecked_return_type = "WorkflowRecord")]
    pub fn record(&self) -> Result<JsValue, JsValue> {
        record_of(&self.wf)
    }

    /// The state to persist (it holds no secret).
    pub fn save(&self) -> String {
        self.wf.save()
    }

    /// Un-parks a pending workflow.
    pub fn retry(&mut self) {
        self.wf.retry();
    }
}

/// What the event store keeps of a new event: its id, contact key, contact and state.
fn record_of(wf: &Workflow) -> Result<JsValue, JsValue> {
    let out = js_json(&json::object_text(|o| {
        o.field("eventId", wf.event_id());
        o.field("contactKey", &wf.contact().key());
        o.field("contact", wf.contact());
    }))?;
    js_sys::Reflect::set(&out, &"state".into(), &wf.save().into())?;
    Ok(out)
}

/// A new event id: `ev_` + the time in base 36 + 64 random bits (sortable by arrival).
#[wasm_bindgen(js_name = newEventId)]
pub fn new_event_id(now: f64) -> Result<String, JsValue> {
    let mut r = [0u8; 8];
    fill_random(&mut r)?;
    let mut t = now.max(0.0) as u64;
    let mut time = String::new();
    loop {
        time.insert(0, char::from_digit((t % 36) as u32, 36).unwrap_or('0'));
        t /= 36;
        if t == 0 {
            break;
        }
    }
    let rand: String = r.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("ev_{time}_{rand}"))
}

/// Bytes of the platform CSPRNG drawn ahead of need, each handed out once and wiped as it goes:
/// one `crypto.getRandomValues` call serves many event ids, salts and tokens (a call costs far
/// more than its bytes: about 14 us each in a profile of the posts benchmark, a few a post).
struct EntropyPool {
    bytes: [u8; POOL_BYTES],
    /// How many of `bytes` are spent (all of them at first: nothing is drawn at module start).
    spent: usize,
}

const POOL_BYTES: usize = 1024;

thread_local! {
    static POOL: RefCell<EntropyPool> = const {
        RefCell::new(EntropyPool {
            bytes: [0; POOL_BYTES],
            spent: POOL_BYTES,
        })
    };
}

fn draw(buf: &mut [u8]) -> Result<(), JsValue> {
    getrandom::fill(buf)
        .map_err(|e| JsValue::from(js_sys::Error::new(&format!("no randomness available: {e}"))))
}

/// The keys of the core's SipHash maps (`core::hashing`), drawn from the CSPRNG at the first map
/// made, inside a request: a host without randomness cannot run memberwire safely, so it traps.
pub(crate) fn hash_keys() -> (u64, u64) {
    let mut k = [0u8; 16];
    if fill_random(&mut k).is_err() {
        panic!("no randomness for hash keys");
    }
    let (a, b) = k.split_at(8);
    let keys = (
        u64::from_le_bytes(a.try_into().expect("8 bytes")),
        u64::from_le_bytes(b.try_into().expect("8 bytes")),
    );
    k.fill(0);
    keys
}

/// Fills `buf` from the platform CSPRNG (`crypto.getRandomValues`), through the pool. Only ever
/// called inside a request handler, never at module start (Workers refuses randomness outside a
/// handler), so the pool is first filled by the first request that needs it.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), JsValue> {
    if buf.len() > POOL_BYTES / 4 {
        return draw(buf);
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if POOL_BYTES - pool.spent < buf.len() {
            draw(&mut pool.bytes)?;
            pool.spent = 0;
        }
        let (from, to) = (pool.spent, pool.spent + buf.len());
        buf.copy_from_slice(&pool.bytes[from..to]);
        pool.bytes[from..to].fill(0);
        pool.spent = to;
        Ok(())
    })
}

/// A new access key for the hook URLs. Returns the key (show it once) and the digest to store.
#[wasm_bindgen(js_name = generateAccessKey, unchecked_return_type = "{ key: string; digest: string }")]
pub fn generate_access_key() -> Result<JsValue, JsValue> {
    let mut r = [0u8; 32];
    fill_random(&mut r)?;
    let key = secrets::access_key_from(&r);
    let out = js_sys::Object::new();
    js_sys::Reflect::set(
        &out,
        &"digest".into(),
        &secrets::access_key_digest(key.expose()).into(),
    )?;
    js_sys::Reflect::set(&out, &"key".into(), &key.expose().into())?;
    Ok(out.into())
}

/// The digest stored for an access key.
#[wasm_bindgen(js_name = accessKeyDigest)]
pub fn access_key_digest(key: &str) -> String {
    secrets::access_key_digest(key)
}

/// Whether `presented` is the key whose digest is `digest`, compared in constant time.
#[wasm_bindgen(js_name = accessKeyMatches)]
pub fn access_key_matches(presented: &str, digest: &str) -> bool {
    secrets::access_key_matches(presented, digest)
}

/// The digest under which a set-password token is stored.
#[wasm_bindgen(js_name = tokenDigest)]
pub fn token_digest(token: &str) -> String {
    secrets::token_digest(token)
}

/// Reads and checks a list of mapped sources: each valid, names unique.
fn check_sources(value: &JsValue) -> Result<Vec<MappedSource>, JsValue> {
    let list: Vec<MappedSource> = parse_js(value, "sources")?;
    for (i, s) in list.iter().enumerate() {
        s.validate().map_err(|e| {
            js_error(&Error::new(
                e.code,
                format!("source {} (`{}`): {}", i + 1, s.name, e.message),
            ))
        })?;
        if list[..i].iter().any(|o| o.name == s.name) {
            return Err(js_error(&Error::new(
                ErrorCode::InvalidField,
                format!("two sources are named `{}`", s.name),
            )));
        }
    }
    Ok(list)
}

/// Checks a list of mapped sources as `Registrar.setSources` would, without a registrar (the
/// admin API validates what it saves). Throws `invalid_field` naming the source and setting.
#[wasm_bindgen(js_name = checkSources)]
pub fn check_sources_js(
    #[wasm_bindgen(unchecked_param_type = "MappedSource[]")] sources: JsValue,
) -> Result<(), JsValue> {
    check_sources(&sources).map(|_| ())
}

#[wasm_bindgen]
extern "C" {
    /// What the driver hands `step`, `{ type, result }`, and a directory's answer in it,
    /// `{ result, member, on, link }`: read by property, each read one call.
    type Answer;
    #[wasm_bindgen(method, getter = type)]
    fn kind(this: &Answer) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn result(this: &Answer) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn member(this: &Answer) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn on(this: &Answer) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn link(this: &Answer) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn reason(this: &Answer) -> JsValue;

    /// A members row as a SQL store reads it (`sqlDirectory`'s answers with `{ rows: true }`).
    type Row;
    #[wasm_bindgen(method, getter)]
    fn seq(this: &Row) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn version(this: &Row) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn email(this: &Row) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn credentials(this: &Row) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn password_hash(this: &Row) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn created_at(this: &Row) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn updated_at(this: &Row) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn data(this: &Row) -> JsValue;
}

/// A directory effect's result, read field by field: a SQL store answers with the member's row
/// (`{ seq, version, email, credentials, password_hash, created_at, updated_at, data }`, as
/// `sqlDirectory` gives it with `{ rows: true }`), whose columns come across as they are and whose
/// `data` column is the only JSON text read (`directory::stored_member`); an answer without a
/// member (`found` nothing, `no_such_member`, `rejected` with its reason) is read the same way.
/// `None`: anything else (not a directory result, or a member given as a record, as the
/// WordPress and in-memory directories answer), which the caller reads from its JSON.
fn directory_result(v: &JsValue) -> Result<Option<EffectResult>, JsValue> {
    if !v.is_object() {
        return Ok(None);
    }
    let outer: &Answer = v.unchecked_ref();
    if outer.kind().as_string().as_deref() != Some("directory") {
        return Ok(None);
    }
    let answer = outer.result();
    if !answer.is_object() {
        return Ok(None);
    }
    let answer: &Answer = answer.unchecked_ref();
    let member = answer.member();
    // A member given as a record (the WordPress and in-memory directories): the caller reads it.
    let row = if member.is_object() {
        let row: &Row = member.unchecked_ref();
        match row.data().as_string() {
            Some(data) => Some((row, data)),
            None => return Ok(None),
        }
    } else {
        None
    };
    let Some(kind) = answer.result().as_string() else {
        return Err(not_valid());
    };
    // The row's strings, which the tree below borrows.
    let (email, credentials, hash, data);
    let mut entries = vec![(Cow::Borrowed("result"), Json::Str(Cow::Owned(kind)))];
    if let Some((row, text)) = row {
        let (Some(e), Some(c)) = (row.email().as_string(), row.credentials().as_string()) else {
            return Err(not_valid());
        };
        (email, credentials, hash, data) = (e, c, row.password_hash().as_string(), text);
        let stored = StoredRow {
            seq: count(row.seq())?,
            version: count(row.version())?,
            email: &email,
            credentials: &credentials,
            password_hash: hash.as_deref(),
            created_at: count(row.created_at())?,
            updated_at: count(row.updated_at())?,
            data: &data,
        };
        let tree = stored_member(&stored).map_err(|_| not_valid())?;
        entries.push((Cow::Borrowed("member"), tree));
    } else if member.is_null() {
        entries.push((Cow::Borrowed("member"), Json::Null));
    }
    for (k, v) in [
        ("on", answer.on()),
        ("link", answer.link()),
        ("reason", answer.reason()),
    ] {
        if let Some(s) = v.as_string() {
            entries.push((Cow::Borrowed(k), Json::Str(Cow::Owned(s))));
        }
    }
    let result = DirResult::from_json(Json::Obj(entries)).map_err(|_| not_valid())?;
    Ok(Some(EffectResult::Directory {
        result: Box::new(result),
    }))
}

/// A row's whole-number column.
fn count(v: JsValue) -> Result<u64, JsValue> {
    match v.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => Ok(n as u64),
        _ => Err(not_valid()),
    }
}

fn not_valid() -> JsValue {
    js_error(&Error::new(
        ErrorCode::InvalidField,
        "not a valid effect result: a directory answer with a member row the store cannot have written",
    ))
}
