//! A directory that keeps the members' passwords itself (WordPress) answers `token_stored` with
//! its own set-password link; in link mode that link, not memberwire's, goes into the CRM field.
//! A link that is not an http(s) URL is never written: memberwire's own link goes instead.
//! Runs natively and as wasm.

mod support;

use memberwire::core::crm::HttpResponse;
use memberwire::core::directory::{DirResult, MemoryDirectory};
use memberwire::core::workflow::{
    Config, Effect, EffectResult, OutcomeKind, PasswordMode, Poll, Workflow,
};

fn site() -> Config {
    Config {
        link_url: "https://members.example.com/set-password".into(),
        ..support::keap_site(PasswordMode::Link)
    }
}

/// Runs a registration whose directory adds `link` to `token_stored`; returns the outcome, the
/// body of the request that wrote the credentials field, and the log lines.
fn register(link: Option<&str>) -> (OutcomeKind, String, Vec<String>) {
    let cfg = site();
    let mut dir = MemoryDirectory::new();
    let mut wf = Workflow::new("ev_1", support::keap_purchase(), &cfg, 1_000).unwrap();
    let mut written = None;
    let mut logs = Vec::new();
    for _ in 0..200 {
        let effect = match wf.poll(&cfg) {
            Poll::Effect { effect } => effect,
            Poll::Done { outcome } => {
                return (
                    outcome.outcome,
                    written.expect("no credentials were written"),
                    logs,
                )
            }
            Poll::Pending { reason, .. } => panic!("parked: {reason}"),
        };
        let result = match effect {
            Effect::Directory { op } => {
                let mut r = dir.apply(op);
                if let DirResult::TokenStored { link: l, .. } = &mut r {
                    *l = link.map(str::to_owned);
                }
                EffectResult::Directory {
                    result: Box::new(r),
                }
            }
            Effect::Http { purpose, request } => {
                if purpose == "write_credentials" {
                    written = request.body.clone();
                }
                EffectResult::Http {
                    response: HttpResponse {
                        status: 200,
                        body: r#"{"id":101,"email_addresses":[{"email":"ada@example.com","field":"EMAIL1"}],"tag_ids":[91],"custom_fields":[]}"#.into(),
                        retry_after: None,
                    },
                }
            }
            Effect::Random { bytes } => EffectResult::Random {
                bytes: vec![9; bytes],
            },
            Effect::Sleep { .. } => EffectResult::Slept,
            Effect::Log { record } => {
                logs.push(record.message);
                EffectResult::Logged
            }
        };
        wf.handle(&cfg, result, 1_000);
    }
    panic!("the registration did not end");
}

const WP_LINK: &str = "https://site.example.com/wp-login.php?action=rp&key=Zq8p0dM3kLw9xYb2QeRt&login=ada%40example.com";

both_targets! {
    fn the_directorys_own_link_goes_to_the_crm_field() {
        let (outcome, body, _) = register(Some(WP_LINK));
        assert_eq!(outcome, OutcomeKind::Created);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(body.contains("wp-login.php?action=rp"), "{v}");
        assert!(!body.contains("#token="), "memberwire's own link must not be written too");
    }

    fn without_a_directory_link_memberwires_link_is_written() {
        let (_, body, _) = register(None);
        assert!(body.contains("https://members.example.com/set-password#token="));
    }

    fn a_link_that_is_not_an_http_url_is_never_written() {
        for bad in ["javascript:alert(1)", "https://site.example.com/a b", "ftp://x/y", "https://x/\u{7f}"] {
            let (outcome, body, logs) = register(Some(bad));
            assert_eq!(outcome, OutcomeKind::Created);
            assert!(body.contains("https://members.example.com/set-password#token="), "{bad}");
            assert!(!body.contains(bad), "{bad}");
            assert!(logs.iter().any(|l| l.contains("not an http(s) URL")), "{logs:?}");
            // The log never carries the link itself.
            assert!(logs.iter().all(|l| !l.contains("alert")), "{logs:?}");
        }
    }
}
