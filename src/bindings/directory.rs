//! The in-memory directory adapter for JS hosts; durable hosts journal the `changes` of every
//! mutating operation and replay them with `restore`/`restoreToken` at start.

use wasm_bindgen::prelude::*;

use super::{js_error, js_json, parse_js, to_js};
use crate::core::directory::{stored_form, Change, DirOp, MemoryDirectory, TokenRecord};
use crate::core::error::{Error, ErrorCode};
use crate::core::json::{self, ObjectWriter, ToJson};
use crate::core::member::Member;

#[wasm_bindgen]
#[derive(Default)]
pub struct Directory {
    inner: MemoryDirectory,
}

impl Directory {
    pub(crate) fn inner(&self) -> &MemoryDirectory {
        &self.inner
    }

    pub(crate) fn inner_mut(&mut self) -> &mut MemoryDirectory {
        &mut self.inner
    }
}

#[wasm_bindgen]
impl Directory {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Directory {
        Directory::default()
    }

    /// Performs one operation atomically: `{result, changes}`; a host journals `changes`
    /// (durably) before handing `result` back.
    #[wasm_bindgen(unchecked_return_type = "{ result: DirResult; changes: DirChange[] }")]
    pub fn apply(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "DirOp")] op: JsValue,
    ) -> Result<JsValue, JsValue> {
        let op: DirOp = parse_js(&op, "directory operation")?;
        let (result, changes) = self.inner.apply_journaled(op);
        js_json(&json::object_text(|o| {
            o.field("result", &result);
            o.field("changes", &changes);
        }))
    }

    /// Replays one journaled change.
    pub fn replay(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "DirChange")] change: JsValue,
    ) -> Result<(), JsValue> {
        match parse_js::<Change>(&change, "directory change")? {
            Change::Member { member } => self.inner.restore(member),
            Change::Token { token } => self.inner.restore_token(token),
        }
        Ok(())
    }

    /// Loads members stored elsewhere (a JSON array of member records, as a SQL store reads
    /// them back), for planning against that store: one crossing for the whole list. Returns
    /// how many were loaded.
    #[wasm_bindgen(js_name = loadMembersJson)]
    pub fn load_members_json(&mut self, json: &str) -> Result<usize, JsValue> {
        let members: Vec<Member> = crate::core::json::from_str(json).map_err(|e| {
            js_error(&Error::new(
                ErrorCode::InvalidField,
                format!("not a list of member records: {e}"),
            ))
        })?;
        let n = members.len();
        for m in members {
            self.inner.restore(m);
        }
        Ok(n)
    }

    /// Every member and live token as changes: a host's snapshot.
    #[wasm_bindgen(unchecked_return_type = "DirChange[]")]
    pub fn snapshot(&self) -> Result<JsValue, JsValue> {
        let mut all: Vec<Change> = self
            .inner
            .members()
            .map(|m| Change::Member { member: m.clone() })
            .collect();
        all.sort_by(|a, b| match (a, b) {
            (Change::Member { member: x }, Change::Member { member: y }) => x.id.cmp(&y.id),
            _ => std::cmp::Ordering::Equal,
        });
        all.extend(
            self.inner
                .tokens()
                .map(|t: &TokenRecord| Change::Token { token: t.clone() }),
        );
        to_js(&all)
    }

    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.inner.len()
    }

    /// Every member's id and tags as JSON text (`[{"id", "tags"}]`), for the admin page's
    /// rule-impact index: one pass, no per-member JS objects on the server.
    #[wasm_bindgen(js_name = accessIndexJson)]
    pub fn access_index_json(&self) -> String {
        let mut out = String::from("[");
        for (i, m) in self.inner.members().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut o = ObjectWriter::new(&mut out);
            o.field("id", &m.id);
            o.field("tags", &m.tags);
            o.end();
        }
        out.push(']');
        out
    }

    /// A member as hosts may show it (no password hash), or `undefined`.
    #[wasm_bindgen(unchecked_return_type = "MemberRecord | undefined")]
    pub fn get(&self, id: &str) -> Result<JsValue, JsValue> {
        match self.inner.get(id) {
            Some(m) => to_js(&Public(m)),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// The members whose email, name or contact id contains `query` (case-insensitive), newest
    /// first, `limit` from `offset`: `{total, members}`.
    #[wasm_bindgen(unchecked_return_type = "{ total: number; members: MemberRecord[] }")]
    pub fn search(&self, query: &str, offset: usize, limit: usize) -> Result<JsValue, JsValue> {
        let q = crate::core::text::lowercase(query.trim());
        let mut hits: Vec<&Member> = self
            .inner
            .members()
            .filter(|m| {
                q.is_empty()
                    || m.email.as_str().contains(&q)
                    || m.contact
                        .as_ref()
                        .is_some_and(|c| c.contact_id.contains(&q))
                    || m.first_name
                        .as_deref()
                        .is_some_and(|n| crate::core::text::lowercase(n).contains(&q))
                    || m.last_name
                        .as_deref()
                        .is_some_and(|n| crate::core::text::lowercase(n).contains(&q))
            })
            .collect();
        hits.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| natural(&b.id).cmp(&natural(&a.id)))
        });
        let total = hits.len();
        let page: Vec<Public> = hits
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(Public)
            .collect();
        js_json(&json::object_text(|o| {
            o.field("total", &total);
            o.field("members", &page);
        }))
    }
}

/// The stored form of a member for a SQL store (`StoredMember`), or `{ rejected: reason }`
/// when it breaks the directory's limits (the store then answers `rejected`, as the in-memory
/// directory does).
#[wasm_bindgen(js_name = memberRow, unchecked_return_type = "StoredMember | { rejected: string }")]
pub fn member_row(
    #[wasm_bindgen(unchecked_param_type = "MemberRecord")] member: JsValue,
) -> Result<JsValue, JsValue> {
    let member: Member = parse_js(&member, "member record")?;
    match stored_form(&member) {
        Ok(row) => to_js(&row),
        Err(reason) => rejected(&reason),
    }
}

fn natural(id: &str) -> u64 {
    id.trim_start_matches('m').parse().unwrap_or(0)
}

/// `{ rejected: reason }`.
pub(super) fn rejected(reason: &str) -> Result<JsValue, JsValue> {
    js_json(&json::object_text(|o| {
        o.field("rejected", reason);
    }))
}

/// A member as hosts may show it: without its password hash, with `hasPassword` instead.
struct Public<'a>(&'a Member);

impl ToJson for Public<'_> {
    fn write_json(&self, out: &mut String) {
        let m = self.0;
        let mut o = ObjectWriter::new(out);
        o.field("id", &m.id);
        o.field("version", &m.version);
        o.field("email", &m.email);
        o.some("contact", &m.contact);
        o.some("firstName", &m.first_name);
        o.some("lastName", &m.last_name);
        o.field("tags", &m.tags);
        o.field("credentials", &m.credentials);
        o.field("welcome", &m.welcome);
        o.some("createdBy", &m.created_by);
        o.field("createdAt", &m.created_at);
        o.field("updatedAt", &m.updated_at);
        o.field("hasPassword", &m.password_hash.is_some());
        o.end();
    }
}
