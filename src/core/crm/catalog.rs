//! A CRM's catalog: its tags and its custom fields, listed page by page, so that the admin page
//! can show tag names where the CRM addresses tags by id, offer pickers for the credentials
//! field and the welcome tag, and let access rules name tags either way.
//!
//! Each item's `id` is what memberwire's settings use for it (the tag `apply_tag` sends, the
//! field `write_field` writes: an id, a key or a name, depending on the CRM), and `name` is what
//! a person reads.

use super::super::json::Json;

use super::{encode, id_string, json_value, BadResponse, CrmConfig, HttpRequest, HttpResponse};
use crate::core::contact::CrmKind;

/// What a catalog lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalog {
    Tags,
    Fields,
}

impl Catalog {
    pub fn from_name(name: &str) -> Option<Catalog> {
        match name {
            "tags" => Some(Catalog::Tags),
            "fields" => Some(Catalog::Fields),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    pub id: String,
    pub name: String,
}

/// One page of a catalog, and where the next one starts (a page token, cursor, offset or page
/// number, as the CRM pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogPage {
    pub items: Vec<CatalogItem>,
    pub next: Option<String>,
}

crate::json_struct!(CatalogItem {
    id: "id"[required],
    name: "name"[required],
});

crate::json_struct!(CatalogPage {
    items: "items"[required],
    next: "next"[some],
});

/// Page sizes asked for: each CRM's documented maximum.
const KEAP_PAGE: usize = 1000;
const AC_PAGE: usize = 100;
const KIT_PAGE: usize = 1000;
const ML_PAGE: usize = 100;
const MC_PAGE: usize = 1000;

/// The request for the page of `what` that starts at `page` (none: the first); `None` when the
/// CRM has no such list (a generic source).
pub fn list_request(cfg: &CrmConfig, what: Catalog, page: Option<&str>) -> Option<HttpRequest> {
    let q = |p: Option<&str>| p.map(encode).unwrap_or_default();
    let location = || encode(cfg.account_id.as_deref().unwrap_or_default());
    let path = match (cfg.kind, what) {
        (CrmKind::Keap, Catalog::Tags) => match page {
            Some(t) => format!("v2/tags?page_size={KEAP_PAGE}&page_token={}", encode(t)),
            None => format!("v2/tags?page_size={KEAP_PAGE}"),
        },
        (CrmKind::Keap, Catalog::Fields) => "v2/contacts/model".to_owned(),
        (CrmKind::ActiveCampaign, Catalog::Tags) => {
            format!("tags?limit={AC_PAGE}&offset={}", page.unwrap_or("0"))
        }
        (CrmKind::ActiveCampaign, Catalog::Fields) => {
            format!("fields?limit={AC_PAGE}&offset={}", page.unwrap_or("0"))
        }
        (CrmKind::Kit, Catalog::Tags) => match page {
            Some(_) => format!("tags?per_page={KIT_PAGE}&after={}", q(page)),
            None => format!("tags?per_page={KIT_PAGE}"),
        },
        (CrmKind::Kit, Catalog::Fields) => match page {
            Some(_) => format!("custom_fields?per_page={KIT_PAGE}&after={}", q(page)),
            None => format!("custom_fields?per_page={KIT_PAGE}"),
        },
        (CrmKind::Drip, Catalog::Tags) => "tags".to_owned(),
        (CrmKind::Drip, Catalog::Fields) => "custom_field_identifiers".to_owned(),
        (CrmKind::MailerLite, Catalog::Tags) => {
            format!("groups?limit={ML_PAGE}&page={}", page.unwrap_or("1"))
        }
        (CrmKind::MailerLite, Catalog::Fields) => {
            format!("fields?limit={ML_PAGE}&page={}", page.unwrap_or("1"))
        }
        (CrmKind::HighLevel, Catalog::Tags) => format!("locations/{}/tags", location()),
        (CrmKind::HighLevel, Catalog::Fields) => {
            format!("locations/{}/customFields?model=contact", location())
        }
        // HubSpot's static lists are searched with a POST.
        (CrmKind::HubSpot, Catalog::Tags) => {
            return Some(super::hubspot::list_search(cfg, page.unwrap_or("0")))
        }
        (CrmKind::HubSpot, Catalog::Fields) => "crm/v3/properties/contacts".to_owned(),
        // Mailchimp's tags are static segments of the audience, applied by name.
        (CrmKind::Mailchimp, Catalog::Tags) => {
            format!("tag-search?count={MC_PAGE}&offset={}", page.unwrap_or("0"))
        }
        (CrmKind::Mailchimp, Catalog::Fields) => {
            format!(
                "merge-fields?count={MC_PAGE}&offset={}",
                page.unwrap_or("0")
            )
        }
        (CrmKind::Generic, _) => return None,
    };
    Some(super::get(cfg, &path))
}

/// Reads one page of `what` (the answer to [`list_request`] for `page`).
pub fn parse_list(
    cfg: &CrmConfig,
    what: Catalog,
    page: Option<&str>,
    res: &HttpResponse,
) -> Result<CatalogPage, BadResponse> {
    if !(200..300).contains(&res.status) {
        return Err(BadResponse(format!(
            "the CRM answered {} to the list of its {}",
            res.status,
            match what {
                Catalog::Tags => "tags",
                Catalog::Fields => "custom fields",
            }
        )));
    }
    let v = json_value(res)?;
    let list = |key: &str| -> Result<&[Json<'_>], BadResponse> {
        v.get(key)
            .and_then(|l| l.as_array())
            .ok_or_else(|| BadResponse(format!("the CRM's list has no `{key}`")))
    };
    // Items `{idKey, nameKey}`; an item without either is skipped.
    let items =
        |key: &str, id_key: &str, name_key: &str| -> Result<Vec<CatalogItem>, BadResponse> {
            Ok(list(key)?
                .iter()
                .filter_map(|item| {
                    let id = item.get(id_key).and_then(id_string)?;
                    let name = item
                        .get(name_key)
                        .and_then(|n| n.as_str())
                        .filter(|n| !n.trim().is_empty())
                        .map(str::to_owned)
                        .unwrap_or_else(|| id.clone());
                    Some(CatalogItem { id, name })
                })
                .collect())
        };
    // Plain strings: the name is the id (Drip addresses tags and fields by name).
    let names = |key: &str| -> Result<Vec<CatalogItem>, BadResponse> {
        Ok(list(key)?
            .iter()
            .filter_map(|n| n.as_str())
            .filter(|n| !n.trim().is_empty())
            .map(|n| CatalogItem {
                id: n.to_owned(),
                name: n.to_owned(),
            })
            .collect())
    };
    // Offset paging: the next offset while fewer than the total were listed (ActiveCampaign's
    // `meta.total`, Mailchimp's `total_items`).
    let by_offset = |got: usize| -> Option<String> {
        let offset: usize = page.and_then(|p| p.parse().ok()).unwrap_or(0);
        let total = v
            .get("meta")
            .and_then(|m| m.get("total"))
            .or_else(|| v.get("total_items"))
            .and_then(id_string)
            .and_then(|t| t.parse::<usize>().ok())?;
        (got > 0 && offset + got < total).then(|| (offset + got).to_string())
    };
    // Kit's cursor.
    let cursor = || -> Option<String> {
        let p = v.get("pagination")?;
        if p.get("has_next_page")?.as_bool()? {
            p.get("end_cursor")?.as_str().map(str::to_owned)
        } else {
            None
        }
    };
    // MailerLite's page numbers.
    let next_page = || -> Option<String> {
        let meta = v.get("meta")?;
        let current = meta.get("current_page")?.as_u64()?;
        let last = meta.get("last_page")?.as_u64()?;
        (current < last).then(|| (current + 1).to_string())
    };
    Ok(match (cfg.kind, what) {
        (CrmKind::Keap, Catalog::Tags) => CatalogPage {
            items: items("tags", "id", "name")?,
            next: v
                .get("next_page_token")
                .and_then(|t| t.as_str())
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        },
        (CrmKind::Keap, Catalog::Fields) => CatalogPage {
            items: items("custom_fields", "id", "label")?,
            next: None,
        },
        (CrmKind::ActiveCampaign, Catalog::Tags) => {
            let items = items("tags", "id", "tag")?;
            let next = by_offset(items.len());
            CatalogPage { items, next }
        }
        (CrmKind::ActiveCampaign, Catalog::Fields) => {
            let items = items("fields", "id", "title")?;
            let next = by_offset(items.len());
            CatalogPage { items, next }
        }
        (CrmKind::Kit, Catalog::Tags) => CatalogPage {
            items: items("tags", "id", "name")?,
            next: cursor(),
        },
        // Kit writes fields by key; the label is what the account shows.
        (CrmKind::Kit, Catalog::Fields) => CatalogPage {
            items: items("custom_fields", "key", "label")?,
            next: cursor(),
        },
        (CrmKind::Drip, Catalog::Tags) => CatalogPage {
            items: names("tags")?,
            next: None,
        },
        (CrmKind::Drip, Catalog::Fields) => CatalogPage {
            items: names("custom_field_identifiers")?,
            next: None,
        },
        (CrmKind::MailerLite, Catalog::Tags) => CatalogPage {
            items: items("data", "id", "name")?,
            next: next_page(),
        },
        (CrmKind::MailerLite, Catalog::Fields) => CatalogPage {
            items: items("data", "key", "name")?,
            next: next_page(),
        },
        // HighLevel applies tags by name.
        (CrmKind::HighLevel, Catalog::Tags) => CatalogPage {
            items: items("tags", "name", "name")?,
            next: None,
        },
        (CrmKind::HighLevel, Catalog::Fields) => CatalogPage {
            items: items("customFields", "id", "name")?,
            next: None,
        },
        (CrmKind::HubSpot, Catalog::Tags) => CatalogPage {
            items: items("lists", "listId", "name")?,
            next: v
                .get("hasMore")
                .and_then(|h| h.as_bool())
                .filter(|h| *h)
                .and_then(|_| v.get("offset").and_then(id_string)),
        },
        (CrmKind::HubSpot, Catalog::Fields) => CatalogPage {
            items: items("results", "name", "label")?,
            next: None,
        },
        (CrmKind::Mailchimp, Catalog::Tags) => {
            let items = items("tags", "name", "name")?;
            let next = by_offset(items.len());
            CatalogPage { items, next }
        }
        (CrmKind::Mailchimp, Catalog::Fields) => {
            let items = items("merge_fields", "tag", "name")?;
            let next = by_offset(items.len());
            CatalogPage { items, next }
        }
        (CrmKind::Generic, _) => CatalogPage {
            items: Vec::new(),
            next: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::crm::ApiToken;

    fn cfg(kind: CrmKind) -> CrmConfig {
        CrmConfig {
            kind,
            base_url: "https://crm.test/api".into(),
            token: ApiToken::new("t"),
            password_field: None,
            password_field_max: None,
            link_field: None,
            welcome_tag: None,
            account_id: Some("loc 1".into()),
        }
    }

    fn res(body: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            body: body.into(),
            retry_after: None,
        }
    }

    #[test]
    fn pages_follow_each_crms_paging() {
        let keap = cfg(CrmKind::Keap);
        let p = parse_list(
            &keap,
            Catalog::Tags,
            None,
            &res(r#"{"tags":[{"id":91,"name":"Gold"},{"id":93}],"next_page_token":"abc"}"#),
        )
        .unwrap();
        assert_eq!(p.items[0].name, "Gold");
        assert_eq!(p.items[1].name, "93");
        assert_eq!(p.next.as_deref(), Some("abc"));
        let url = list_request(&keap, Catalog::Tags, Some("a b")).unwrap().url;
        assert!(
            url.ends_with("v2/tags?page_size=1000&page_token=a%20b"),
            "{url}"
        );

        let ac = cfg(CrmKind::ActiveCampaign);
        let p = parse_list(
            &ac,
            Catalog::Tags,
            Some("100"),
            &res(r#"{"tags":[{"id":"1","tag":"Gold"}],"meta":{"total":"150"}}"#),
        )
        .unwrap();
        assert_eq!(p.next.as_deref(), Some("101"));
        let p = parse_list(
            &ac,
            Catalog::Tags,
            Some("149"),
            &res(r#"{"tags":[{"id":"1","tag":"Gold"}],"meta":{"total":"150"}}"#),
        )
        .unwrap();
        assert_eq!(p.next, None);

        let kit = cfg(CrmKind::Kit);
        let p = parse_list(&kit, Catalog::Fields, None, &res(r#"{"custom_fields":[{"id":1,"key":"password","label":"Password"}],"pagination":{"has_next_page":true,"end_cursor":"WzFd"}}"#)).unwrap();
        assert_eq!(
            p.items,
            [CatalogItem {
                id: "password".into(),
                name: "Password".into()
            }]
        );
        assert_eq!(p.next.as_deref(), Some("WzFd"));

        let drip = cfg(CrmKind::Drip);
        let p = parse_list(
            &drip,
            Catalog::Tags,
            None,
            &res(r#"{"tags":["Customer",""]}"#),
        )
        .unwrap();
        assert_eq!(p.items.len(), 1);
        assert_eq!(p.items[0].id, "Customer");

        let ml = cfg(CrmKind::MailerLite);
        let p = parse_list(
            &ml,
            Catalog::Tags,
            Some("1"),
            &res(
                r#"{"data":[{"id":"1028","name":"Gold"}],"meta":{"current_page":1,"last_page":3}}"#,
            ),
        )
        .unwrap();
        assert_eq!(p.next.as_deref(), Some("2"));

        let hl = cfg(CrmKind::HighLevel);
        let url = list_request(&hl, Catalog::Tags, None).unwrap().url;
        assert!(url.ends_with("locations/loc%201/tags"), "{url}");
        assert!(list_request(&cfg(CrmKind::Generic), Catalog::Tags, None).is_none());
        let err = parse_list(
            &hl,
            Catalog::Tags,
            None,
            &HttpResponse {
                status: 401,
                body: "{}".into(),
                retry_after: None,
            },
        )
        .unwrap_err();
        assert!(err.0.contains("401"));
    }
}
