//! What the fuzz targets share: an inbound post checked against the parser's invariants.

use memberwire::core::contact::Contact;
use memberwire::core::email::Email;
use memberwire::core::inbound::mapping::MappedSource;
use memberwire::core::inbound::{parse_post, Inbound, ParseOptions, PostMeta, Source};

/// The content types a target tries (the first byte of the input picks one).
const CONTENT_TYPES: [Option<&str>; 5] = [
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/json; charset=utf-8"),
    Some("application/x-www-form-urlencoded; charset=ISO-8859-1"),
    Some("text/plain"),
];

/// Parses `data` as a post to `source` and checks, beyond "does not panic":
/// - every parsed contact serializes to JSON and reads back to the same contact (its password
///   aside, which is never serialized);
/// - every email is already normalized: normalizing it again changes nothing;
/// - the contact key is the one its parts make.
pub fn check_post(source: Source, data: &[u8]) {
    check_post_with(source, data, None)
}

/// The webhooks of the CRMs added after Keap and ActiveCampaign: the first byte picks Kit, Drip,
/// MailerLite, HighLevel, HubSpot, Mailchimp or a mapped source (its paths from the fixed
/// mapping below), the rest is the post.
pub fn check_webhook(data: &[u8]) {
    let Some((pick, rest)) = data.split_first() else {
        return;
    };
    let sources = [
        Source::Kit,
        Source::Drip,
        Source::MailerLite,
        Source::HighLevel,
        Source::Mapped,
        Source::HubSpot,
        Source::Mailchimp,
    ];
    let source = sources[usize::from(*pick) % sources.len()];
    let mapped: MappedSource = memberwire::core::json::from_str(
        r#"{"name":"fuzz","crm":"kit","mapping":{"each":"events|list","contactId":"data.id|id|0.id","email":"data.email|email","firstName":"name.first","lastName":"name.last","tags":"tags|data.tags","password":"secret","eventType":"type","fields":"fields"}}"#,
    )
    .expect("the fuzz mapping reads");
    mapped.validate().expect("the fuzz mapping is valid");
    check_post_with(source, rest, Some(mapped))
}

fn check_post_with(source: Source, data: &[u8], mapped: Option<MappedSource>) {
    let (ct, body) = match data.split_first() {
        Some((b, rest)) => (CONTENT_TYPES[usize::from(*b) % CONTENT_TYPES.len()], rest),
        None => (None, data),
    };
    let options = ParseOptions {
        password_field: Some("Password".into()),
        keep_fields: vec!["_MemberLevel".into(), "City".into()],
        mapped,
        ..ParseOptions::default()
    };
    let meta = PostMeta {
        content_type: ct,
        hook_secret: None,
    };
    let Ok(Inbound::Events { events }) = parse_post(source, meta, body, &options) else {
        return;
    };
    for e in events {
        let mut c = e.contact;
        c.password = None;
        let json = memberwire::core::json::to_string(&c);
        let back: Contact =
            memberwire::core::json::from_str(&json).expect("a serialized contact reads back");
        // serde_json, a second parser, reads the same text.
        serde_json::from_str::<serde_json::Value>(&json).expect("serde_json reads a contact");
        assert_eq!(back, c, "a contact changed through JSON: {json}");
        if let Some(email) = &c.email {
            let again = Email::parse(email.as_str(), "email").expect("a parsed email parses again");
            assert_eq!(&again, email, "an email was not normalized");
        }
        assert!(c.key().ends_with(c.contact_id.as_str()));
    }
}

/// memberwire's JSON parser and writer against serde_json's, on any text:
/// - both accept it or both refuse it, nesting depth included (but for numbers beyond a float's
///   range, which serde_json refuses and memberwire keeps as written);
/// - what both accept, they read alike: the same strings, numbers of the same value, the same
///   keys (the last of a key written twice wins in both);
/// - what memberwire writes, serde_json reads back as the same value, and memberwire's escaping
///   of every string it read is byte for byte serde_json's.
pub fn check_json(data: &[u8]) {
    use memberwire::core::json::{self, Json};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = json::parse(text);
    let theirs = serde_json::from_str::<serde_json::Value>(text);
    let (ours, theirs) = match (ours, theirs) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(_), Err(_)) => return,
        (Ok(_), Err(e)) if e.to_string().starts_with("number out of range") => return,
        (a, b) => panic!("the parsers disagree on {text:?}: memberwire {a:?}, serde_json {b:?}"),
    };
    fn same(a: &Json<'_>, b: &serde_json::Value) -> bool {
        use serde_json::Value as V;
        match (a, b) {
            (Json::Null, V::Null) => true,
            (Json::Bool(x), V::Bool(y)) => x == y,
            (Json::Num(n), V::Number(m)) => {
                serde_json::from_str::<serde_json::Value>(n).ok().as_ref() == Some(b)
                    || n.parse::<f64>().ok() == m.as_f64()
            }
            (Json::Str(s), V::String(t)) => s == t,
            (Json::Arr(xs), V::Array(ys)) => {
                xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(x, y))
            }
            (Json::Obj(entries), V::Object(map)) => {
                entries.iter().all(|(k, _)| map.contains_key(k.as_ref()))
                    && map.iter().all(|(k, v)| a.get(k).is_some_and(|x| same(x, v)))
            }
            _ => false,
        }
    }
    assert!(same(&ours, &theirs), "read differently: {text:?}");
    let written = ours.to_text();
    let back: serde_json::Value =
        serde_json::from_str(&written).expect("serde_json reads what memberwire writes");
    assert!(same(&ours, &back), "written differently: {text:?} became {written:?}");
    fn strings<'j>(v: &'j Json<'_>, out: &mut Vec<&'j str>) {
        match v {
            Json::Str(s) => out.push(s),
            Json::Arr(xs) => xs.iter().for_each(|x| strings(x, out)),
            Json::Obj(entries) => entries.iter().for_each(|(k, x)| {
                out.push(k);
                strings(x, out)
            }),
            _ => {}
        }
    }
    let mut all = Vec::new();
    strings(&ours, &mut all);
    for s in all {
        assert_eq!(
            json::to_string(s),
            serde_json::to_string(s).expect("a string serializes"),
            "escaped differently"
        );
    }
}
