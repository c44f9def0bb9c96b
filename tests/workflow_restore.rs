//! A saved workflow restored under a configuration other than the one it was saved under (an
//! operator removed the welcome tag, switched the password mode, or switched or removed the
//! CRM while events were parked): `poll` never panics, on any saved step, under any of them. A
//! step the new configuration cannot continue parks the event with the stable code
//! `cannot_continue`. Runs natively and as wasm (where a panic aborts the whole instance).

mod support;

use memberwire::core::contact::{CrmKind, Tag};
use memberwire::core::crm::{ApiToken, CrmConfig, HttpResponse};
use memberwire::core::directory::MemoryDirectory;
use memberwire::core::inbound::InboundEvent;
use memberwire::core::workflow::{
    Config, Effect, EffectResult, PasswordMode, Poll, Workflow, CANNOT_CONTINUE,
};

fn crm(kind: CrmKind, welcome: Option<&str>) -> CrmConfig {
    CrmConfig {
        kind,
        base_url: "https://crm.invalid/api".into(),
        token: ApiToken::new("t"),
        password_field: Some("11".into()),
        password_field_max: None,
        link_field: Some("13".into()),
        welcome_tag: welcome.map(Into::into),
        account_id: None,
    }
}

fn config(crm: Option<CrmConfig>, mode: PasswordMode) -> Config {
    Config {
        crm,
        password_mode: mode,
        bcrypt_cost: 4,
        max_attempts: 2,
        retry_base_ms: 1,
        ..Config::default()
    }
}

/// The configuration events are saved under, and the ones they are restored under.
fn saved_under() -> Config {
    config(Some(crm(CrmKind::Keap, Some("95"))), PasswordMode::Link)
}

fn changed() -> Vec<(&'static str, Config)> {
    let mut no_link_field = saved_under();
    no_link_field.crm.as_mut().unwrap().link_field = None;
    vec![
        ("the same", saved_under()),
        ("no CRM", config(None, PasswordMode::Link)),
        (
            "no welcome tag",
            config(Some(crm(CrmKind::Keap, None)), PasswordMode::Link),
        ),
        (
            "another CRM",
            config(
                Some(crm(CrmKind::ActiveCampaign, Some("3"))),
                PasswordMode::Link,
            ),
        ),
        (
            "another CRM (HubSpot, two requests a load)",
            config(Some(crm(CrmKind::HubSpot, Some("13"))), PasswordMode::Link),
        ),
        (
            "another CRM (Drip, tags by name)",
            config(
                Some(crm(CrmKind::Drip, Some("Welcome"))),
                PasswordMode::Link,
            ),
        ),
        (
            "crm password mode",
            config(Some(crm(CrmKind::Keap, Some("95"))), PasswordMode::Crm),
        ),
        ("no link field", no_link_field),
    ]
}

fn event() -> InboundEvent {
    support::keap_purchase()
}

/// Answers an effect: the directory for real, the CRM with a plain 200 (a contact with the
/// welcome tag when its tags are read).
fn answer(effect: Effect, dir: &mut MemoryDirectory) -> EffectResult {
    match effect {
        Effect::Directory { op } => EffectResult::Directory {
            result: Box::new(dir.apply(op)),
        },
        Effect::Http { .. } => EffectResult::Http {
            response: HttpResponse {
                status: 200,
                body: r#"{"id":101,"email_addresses":[{"email":"ada@example.com","field":"EMAIL1"}],"tag_ids":[91,95],"custom_fields":[]}"#.into(),
                retry_after: None,
            },
        },
        Effect::Random { bytes } => EffectResult::Random {
            bytes: vec![9; bytes],
        },
        Effect::Sleep { .. } => EffectResult::Slept,
        Effect::Log { .. } => EffectResult::Logged,
    }
}

/// Runs to the end (done or parked); panics only if it never ends.
fn run(wf: &mut Workflow, cfg: &Config, dir: &mut MemoryDirectory) -> Poll {
    for _ in 0..200 {
        match wf.poll(cfg) {
            Poll::Effect { effect } => {
                let r = answer(effect, dir);
                wf.handle(cfg, r, 1_000);
            }
            end => return end,
        }
    }
    panic!("the workflow did not end");
}

/// Every saved state of one registration under the configuration it started with: the state
/// after each effect, with the directory as it stood then.
fn saved_states() -> Vec<(String, MemoryDirectory, String)> {
    let cfg = saved_under();
    let mut wf = Workflow::new("ev_1", event(), &cfg, 1_000).unwrap();
    let mut dir = MemoryDirectory::new();
    let mut out = Vec::new();
    for _ in 0..200 {
        match wf.poll(&cfg) {
            Poll::Effect { effect } => {
                let purpose = match &effect {
                    Effect::Http { purpose, .. } => (*purpose).to_owned(),
                    Effect::Directory { op } => format!("{op:?}").chars().take(20).collect(),
                    other => format!("{other:?}").chars().take(12).collect(),
                };
                out.push((wf.save(), dir.clone(), purpose));
                let r = answer(effect, &mut dir);
                wf.handle(&cfg, r, 1_000);
            }
            Poll::Done { .. } => return out,
            Poll::Pending { reason, .. } => panic!("the original run parked: {reason}"),
        }
    }
    panic!("the original run did not end");
}

both_targets! {
    fn a_workflow_saved_at_the_welcome_and_restored_without_a_crm_parks_instead_of_panicking() {
        let states = saved_states();
        let (json, mut dir, _) = states
            .iter()
            .find(|(_, _, p)| p == "apply_welcome_tag")
            .cloned()
            .expect("the run applies the welcome tag");
        let cfg = config(None, PasswordMode::Link);
        let mut wf = Workflow::restore(&json).unwrap();
        match run(&mut wf, &cfg, &mut dir) {
            Poll::Pending { code, reason } => {
                assert_eq!(code, CANNOT_CONTINUE);
                assert!(reason.contains("keap"), "{reason}");
            }
            other => panic!("expected the event to park, got {other:?}"),
        }
        // The parked state saves and restores, and parks again (no panic) until the CRM is back.
        let mut again = Workflow::restore(&wf.save()).unwrap();
        again.retry();
        assert!(matches!(run(&mut again, &cfg, &mut dir), Poll::Pending { .. }));
        again.retry();
        assert!(matches!(run(&mut again, &saved_under(), &mut dir), Poll::Done { .. }));
    }

    fn every_saved_step_restored_under_every_changed_configuration_ends_without_a_panic() {
        let states = saved_states();
        assert!(states.len() >= 8, "the run has its steps: {}", states.len());
        for (json, dir, purpose) in &states {
            for (name, cfg) in changed() {
                let mut dir = dir.clone();
                let mut wf = Workflow::restore(json).unwrap();
                match run(&mut wf, &cfg, &mut dir) {
                    Poll::Done { .. } => {}
                    Poll::Pending { code, reason } => assert!(
                        code == CANNOT_CONTINUE || !reason.is_empty(),
                        "restored at {purpose} under {name}: {code}"
                    ),
                    Poll::Effect { .. } => unreachable!(),
                }
                if name == "the same" {
                    assert!(
                        matches!(wf.poll(&cfg), Poll::Done { .. }),
                        "restored at {purpose} under the same configuration, it finishes"
                    );
                }
            }
        }
    }

    fn a_state_saved_at_an_update_by_the_earlier_format_restores_and_finishes() {
        let cfg = saved_under();
        let mut dir = MemoryDirectory::new();
        let mut first = Workflow::new("ev_1", event(), &cfg, 1_000).unwrap();
        assert!(matches!(run(&mut first, &cfg, &mut dir), Poll::Done { .. }));
        // The contact gains a tag: the next post updates the member.
        let mut changed = event();
        changed.contact.tags = Some(vec![Tag::id("91"), Tag::id("93")]);
        let mut wf = Workflow::new("ev_2", changed, &cfg, 2_000).unwrap();
        let saved = loop {
            match wf.poll(&cfg) {
                Poll::Effect { effect: Effect::Directory { op } } if format!("{op:?}").starts_with("Update") => break wf.save(),
                Poll::Effect { effect } => {
                    let r = answer(effect, &mut dir);
                    wf.handle(&cfg, r, 2_000);
                }
                other => panic!("no update step: {other:?}"),
            }
        };
        // The draft lives in the step now; the earlier format kept it beside the step.
        let mut v: serde_json::Value = serde_json::from_str(&saved).unwrap();
        let draft = v["step"]["draft"].take();
        assert!(draft.is_object(), "the step carries its draft: {saved}");
        v["step"].as_object_mut().unwrap().remove("draft");
        v["draft"] = draft;
        let mut legacy = Workflow::restore(&v.to_string()).unwrap();
        assert!(matches!(run(&mut legacy, &cfg, &mut dir), Poll::Done { .. }));
        let m = dir.members().next().unwrap();
        assert_eq!(m.tags, vec![Tag::id("91"), Tag::id("93")]);
        assert_eq!(dir.members().count(), 1);
    }
}
