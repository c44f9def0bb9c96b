//! Parsing inbound posts from JS.

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::core::error::{Error, ErrorCode};
use crate::core::inbound::{parse_post, ParseOptions, PostMeta, Source};

/// The source that posts to `path` (`/hooks/keap` → `"keap_post"`), or `undefined`.
#[wasm_bindgen(js_name = sourceForRoute, unchecked_return_type = "SourceName | undefined")]
pub fn source_for_route(path: &str) -> Option<String> {
    Source::from_route(path).map(|s| s.as_str().to_owned())
}

/// The hook routes, by the name after `/hooks/` (`keap`, `keap-rest`, ...): those of CRM
/// `crm` and the generic JSON route, or with no CRM named every route.
#[wasm_bindgen(js_name = hookRoutes, unchecked_return_type = "string[]")]
pub fn hook_routes(crm: Option<String>) -> Vec<String> {
    Source::ALL
        .into_iter()
        .filter(|s| match crm.as_deref() {
            None => true,
            Some(kind) => s.crm().as_str() == kind || *s == Source::Json,
        })
        .map(|s| s.route().trim_start_matches("/hooks/").to_owned())
        .collect()
}

/// Parses one CRM post. `source` is a source name or a route path; `headers` are the request's
/// headers (only `Content-Type` and `X-Hook-Secret` are read). Throws a `MemberwireError`.
#[wasm_bindgen(js_name = parsePost, unchecked_return_type = "Inbound")]
pub fn parse_post_js(
    #[wasm_bindgen(unchecked_param_type = "SourceName | string")] source: &str,
    headers: &web_sys::Headers,
    body: &[u8],
    #[wasm_bindgen(unchecked_optional_param_type = "ParseOptions")] options: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let source = Source::from_name(source)
        .or_else(|| Source::from_route(source))
        .ok_or_else(|| {
            js_error(&Error::new(
                ErrorCode::UnknownSource,
                "no such source: use keap_post, keap_rest, activecampaign or json",
            ))
        })?;
    let options: ParseOptions = from_js(&options.unwrap_or(JsValue::UNDEFINED), "options")?;
    let content_type = headers.get("content-type")?;
    let hook_secret = headers.get("x-hook-secret")?;
    let meta = PostMeta {
        content_type: content_type.as_deref(),
        hook_secret: hook_secret.as_deref(),
    };
    let inbound = parse_post(source, meta, body, &options).map_err(|e| js_error(&e))?;
    to_js(&inbound)
}
