//! What the admin page and the admin API need from the core: access rules and their impact,
//! tag-sync previews, CSV planning, password verification and the CRM clients' requests.

use wasm_bindgen::prelude::*;

use super::directory::Directory;
use super::{from_js, js_error, js_json, parse_js, to_js};
use crate::core::access::{self, AccessIndex as CoreIndex, Rule};
use crate::core::contact::{CrmKind, Secret, Tag};
use crate::core::crm::catalog::Catalog;
use crate::core::crm::{self, CrmConfig, HttpResponse, Loaded};
use crate::core::email::Email;
use crate::core::error::{Error, ErrorCode};
use crate::core::json;
use crate::core::plan;
use crate::core::secrets;

fn rules(v: &JsValue) -> Result<Vec<Rule>, JsValue> {
    from_js(v, "rules")
}

fn tags(v: &JsValue) -> Result<Vec<Tag>, JsValue> {
    from_js(v, "tags")
}

/// The levels `tags` grant under `rules`.
#[wasm_bindgen(js_name = levelsFor, unchecked_return_type = "string[]")]
pub fn levels_for(
    #[wasm_bindgen(unchecked_param_type = "Rule[]")] rules_js: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Tag[]")] tags_js: JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&access::levels(&rules(&rules_js)?, &tags(&tags_js)?))
}

/// What replacing a member's tags with the CRM's would change.
#[wasm_bindgen(js_name = previewTagSync, unchecked_return_type = "TagSyncPreview")]
pub fn preview_tag_sync(
    #[wasm_bindgen(unchecked_param_type = "Tag[]")] current: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Tag[]")] crm_tags: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Rule[]")] rules_js: JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&access::preview_tag_sync(
        &tags(&current)?,
        &tags(&crm_tags)?,
        &rules(&rules_js)?,
    ))
}

/// Every member's tags, indexed once; `impact` recomputes rule changes over all of them.
#[wasm_bindgen]
pub struct AccessIndex {
    inner: CoreIndex,
}

struct TaggedMember {
    tags: Vec<Tag>,
}

crate::json_struct!(
    #[from_only]
    TaggedMember {
        tags: "tags"[default]
    }
);

#[wasm_bindgen]
impl AccessIndex {
    /// `names`: the CRM's catalog of tags (`[{id, name}]`), whose names fill in tags that carry
    /// only their id, so that rules naming a tag match them.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "{ id?: string; tags: Tag[] }[]")] members: JsValue,
        #[wasm_bindgen(unchecked_param_type = "{ id: string; name: string }[] | undefined")]
        names: JsValue,
    ) -> Result<AccessIndex, JsValue> {
        let mut list: Vec<TaggedMember> = from_js(&members, "members")?;
        if !names.is_undefined() && !names.is_null() {
            let catalog: Vec<Tag> = parse_js(&names, "names")?;
            let by_id: crate::core::hashing::KeyedMap<&str, &str> = catalog
                .iter()
                .filter_map(|t| Some((t.id.as_deref()?, t.name.as_deref()?)))
                .collect();
            for m in &mut list {
                for t in &mut m.tags {
                    if t.name.is_none() {
                        if let Some(name) = t.id.as_deref().and_then(|id| by_id.get(id)) {
                            t.name = Some((*name).to_owned());
                        }
                    }
                }
            }
        }
        Ok(AccessIndex {
            inner: CoreIndex::new(list.iter().map(|m| m.tags.as_slice())),
        })
    }

    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.inner.len()
    }

    /// Per level: members before, after, gaining and losing it.
    #[wasm_bindgen(unchecked_return_type = "{ members: number; levels: LevelImpact[] }")]
    pub fn impact(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Rule[]")] before: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Rule[]")] after: JsValue,
    ) -> Result<JsValue, JsValue> {
        let levels = self.inner.impact(&rules(&before)?, &rules(&after)?);
        js_json(&json::object_text(|o| {
            o.field("members", &self.inner.len());
            o.field("levels", &levels);
        }))
    }
}

fn crm_kind(name: &str) -> Result<CrmKind, JsValue> {
    CrmKind::from_name(name).ok_or_else(|| {
        js_error(&Error::new(
            ErrorCode::InvalidField,
            "crm must be keap, activecampaign, kit, drip, mailerlite, highlevel, hubspot, mailchimp or generic",
        ))
    })
}

#[wasm_bindgen]
impl Directory {
    /// Plans a CSV import against this directory (nothing is changed).
    #[wasm_bindgen(js_name = planImport, unchecked_return_type = "ImportPlan")]
    pub fn plan_import(&self, csv: &str, crm: &str, account: &str) -> Result<JsValue, JsValue> {
        let p = plan::plan_csv(self.inner(), csv, crm_kind(crm)?, account, plan::Keep::All)
            .map_err(|m| js_error(&Error::new(ErrorCode::MalformedBody, m)))?;
        to_js(&p)
    }
}

#[wasm_bindgen]
impl Directory {
    /// Plans a CSV import and returns only the counts and the first 100 conflicts (for lists
    /// too large to send every row back to JS).
    #[wasm_bindgen(js_name = planImportCounts, unchecked_return_type = "{ counts: ImportPlan['counts']; conflicts: ImportPlan['rows'] }")]
    pub fn plan_import_counts(
        &self,
        csv: &str,
        crm: &str,
        account: &str,
    ) -> Result<JsValue, JsValue> {
        let p = plan::plan_csv(
            self.inner(),
            csv,
            crm_kind(crm)?,
            account,
            plan::Keep::Conflicts(100),
        )
        .map_err(|m| js_error(&Error::new(ErrorCode::MalformedBody, m)))?;
        let conflicts = p.rows;
        js_json(&json::object_text(|o| {
            o.field("counts", &p.counts);
            o.field("conflicts", &conflicts);
        }))
    }

    /// Builds the directory from a CSV export, one member per row (taken contacts or emails are
    /// skipped). This bypasses a host's journal: it is for offline planning and benchmarks, not
    /// for a durable directory. Returns how many members were inserted.
    #[wasm_bindgen(js_name = bulkLoadUnjournaled)]
    pub fn bulk_load_unjournaled(
        &mut self,
        csv: &str,
        crm: &str,
        account: &str,
    ) -> Result<usize, JsValue> {
        plan::load_members(self.inner_mut(), csv, crm_kind(crm)?, account)
            .map_err(|m| js_error(&Error::new(ErrorCode::MalformedBody, m)))
    }
}

/// Whether `password` matches a stored `$2y$` hash.
#[wasm_bindgen(js_name = verifyPassword)]
pub fn verify_password(password: &str, hash: &str) -> bool {
    secrets::verify_password(&Secret::new(password), hash)
}

fn crm_config(v: &JsValue) -> Result<CrmConfig, JsValue> {
    let text: String = js_sys::JSON::stringify(v)?.into();
    crate::core::json::from_str(&text).map_err(|e| {
        js_error(&Error::new(
            ErrorCode::InvalidConfig,
            format!("not a CRM config: {e}"),
        ))
    })
}

fn catalog(what: &str) -> Result<Catalog, JsValue> {
    Catalog::from_name(what).ok_or_else(|| {
        js_error(&Error::new(
            ErrorCode::InvalidField,
            "a catalog is `tags` or `fields`",
        ))
    })
}

/// The request for one page of the CRM's tags or custom fields (`page`: where the previous
/// page said the next starts), or `null` for a source without a CRM API.
#[wasm_bindgen(js_name = crmListRequest, unchecked_return_type = "HttpRequest | null")]
pub fn crm_list_request(
    #[wasm_bindgen(unchecked_param_type = "CrmConfig")] config: JsValue,
    #[wasm_bindgen(unchecked_param_type = "\"tags\" | \"fields\"")] what: &str,
    page: Option<String>,
) -> Result<JsValue, JsValue> {
    match crm::catalog::list_request(&crm_config(&config)?, catalog(what)?, page.as_deref()) {
        Some(r) => to_js(&r),
        None => Ok(JsValue::NULL),
    }
}

/// Reads one page of the CRM's tags or custom fields: `{items: [{id, name}], next?}`.
#[wasm_bindgen(js_name = crmParseList, unchecked_return_type = "{ items: { id: string; name: string }[]; next?: string }")]
pub fn crm_parse_list(
    #[wasm_bindgen(unchecked_param_type = "CrmConfig")] config: JsValue,
    #[wasm_bindgen(unchecked_param_type = "\"tags\" | \"fields\"")] what: &str,
    page: Option<String>,
    #[wasm_bindgen(unchecked_param_type = "{ status: number; body: string }")] response: JsValue,
) -> Result<JsValue, JsValue> {
    let cfg = crm_config(&config)?;
    let res: HttpResponse = parse_js(&response, "response")?;
    let page = crm::catalog::parse_list(&cfg, catalog(what)?, page.as_deref(), &res)
        .map_err(|e| js_error(&Error::new(ErrorCode::MalformedBody, e.0)))?;
    to_js(&page)
}

/// The CRM's documented request rate, per second (0 for a kind without a CRM).
#[wasm_bindgen(js_name = crmRateLimit)]
pub fn crm_rate_limit(kind: &str) -> Result<f64, JsValue> {
    Ok(crm_kind(kind)?.requests_per_second())
}

/// The request that finds contacts by email.
#[wasm_bindgen(js_name = crmFindByEmail, unchecked_return_type = "HttpRequest")]
pub fn crm_find_by_email(
    #[wasm_bindgen(unchecked_param_type = "CrmConfig")] config: JsValue,
    email: &str,
) -> Result<JsValue, JsValue> {
    let email = Email::parse(email, "email").map_err(|e| js_error(&e))?;
    to_js(&crm::find_by_email(&crm_config(&config)?, &email))
}

/// The contact ids in a find-by-email response.
#[wasm_bindgen(js_name = crmParseFind, unchecked_return_type = "string[]")]
pub fn crm_parse_find(
    #[wasm_bindgen(unchecked_param_type = "CrmConfig")] config: JsValue,
    #[wasm_bindgen(unchecked_param_type = "{ status: number; body: string }")] response: JsValue,
) -> Result<JsValue, JsValue> {
    let cfg = crm_config(&config)?;
    let res: HttpResponse = parse_js(&response, "response")?;
    let ids = crm::parse_find(&cfg, &res)
        .map_err(|e| js_error(&Error::new(ErrorCode::MalformedBody, e.0)))?;
    to_js(&ids)
}

/// The requests that load a contact, in order.
#[wasm_bindgen(js_name = crmLoadContact, unchecked_return_type = "HttpRequest[]")]
pub fn crm_load_contact(
    #[wasm_bindgen(unchecked_param_type = "CrmConfig")] config: JsValue,
    contact_id: &str,
) -> Result<JsValue, JsValue> {
    to_js(&crm::load_requests(&crm_config(&config)?, contact_id))
}

/// Reads the responses to `crmLoadContact`'s requests: the contact without its password.
#[wasm_bindgen(js_name = crmParseContact, unchecked_return_type = "CrmContact | null")]
pub fn crm_parse_contact(
    #[wasm_bindgen(unchecked_param_type = "CrmConfig")] config: JsValue,
    #[wasm_bindgen(unchecked_param_type = "{ status: number; body: string }[]")] responses: JsValue,
) -> Result<JsValue, JsValue> {
    let cfg = crm_config(&config)?;
    let list: Vec<HttpResponse> = parse_js(&responses, "response")?;
    let mut loaded = Loaded::default();
    for (part, res) in list.iter().enumerate() {
        crm::parse_load(&cfg, part, res, &mut loaded)
            .map_err(|e| js_error(&Error::new(ErrorCode::MalformedBody, e.0)))?;
    }
    if loaded.missing {
        return Ok(JsValue::NULL);
    }
    js_json(&json::object_text(|o| {
        o.field("email", &loaded.email);
        o.field("firstName", &loaded.first_name);
        o.field("lastName", &loaded.last_name);
        o.field("tags", &loaded.tags.unwrap_or_default());
        o.field("hasPassword", &loaded.password.is_some());
    }))
}
