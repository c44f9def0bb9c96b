//! An administrator's refresh of an existing member (WordPress's "Refresh from CRM" on a user's
//! profile): tags and names from the CRM; new credentials only when asked, even for a member
//! who has a password; the welcome tag only when asked; never a new member. Runs natively and as
//! wasm.

mod support;

use memberwire::core::contact::{Contact, ContactId, CrmKind, Tag};
use memberwire::core::crm::HttpResponse;
use memberwire::core::directory::MemoryDirectory;
use memberwire::core::email::Email;
use memberwire::core::inbound::{InboundEvent, Source};
use memberwire::core::member::Credentials;
use memberwire::core::workflow::{
    Config, CredentialsIssued, Effect, EffectResult, Outcome, OutcomeKind, PasswordMode, Poll,
    Workflow, NOT_A_MEMBER,
};

fn site(mode: PasswordMode) -> Config {
    support::keap_site(mode)
}

fn contact(id: &str) -> Contact {
    Contact::new(
        CrmKind::Keap,
        "default",
        ContactId::parse(id, "Id", true).unwrap(),
    )
}

/// The CRM's record of contact 101: tags 91 and `tags`, and whether the welcome tag is on.
struct Crm {
    tags: Vec<u32>,
    calls: Vec<&'static str>,
    /// Varies the host's random bytes from one draw to the next.
    draws: u8,
}

impl Crm {
    fn answer(&mut self, purpose: &'static str) -> HttpResponse {
        self.calls.push(purpose);
        let tags: Vec<String> = self.tags.iter().map(u32::to_string).collect();
        HttpResponse {
            status: 200,
            body: format!(
                r#"{{"id":101,"given_name":"Ada","email_addresses":[{{"email":"ada@example.com","field":"EMAIL1"}}],"tag_ids":[{}],"custom_fields":[]}}"#,
                tags.join(",")
            ),
            retry_after: None,
        }
    }
}

/// Runs `wf` to its end.
fn run(
    mut wf: Workflow,
    cfg: &Config,
    dir: &mut MemoryDirectory,
    crm: &mut Crm,
) -> Result<Outcome, String> {
    for _ in 0..200 {
        let effect = match wf.poll(cfg) {
            Poll::Effect { effect } => effect,
            Poll::Done { outcome } => return Ok(outcome),
            Poll::Pending { code, .. } => return Err(code),
        };
        let result = match effect {
            Effect::Directory { op } => EffectResult::Directory {
                result: Box::new(dir.apply(op)),
            },
            Effect::Http { purpose, .. } => EffectResult::Http {
                response: crm.answer(purpose),
            },
            Effect::Random { bytes } => {
                crm.draws += 1;
                EffectResult::Random {
                    bytes: (0..bytes)
                        .map(|i| (i as u8).wrapping_mul(crm.draws))
                        .collect(),
                }
            }
            Effect::Sleep { .. } => EffectResult::Slept,
            Effect::Log { .. } => EffectResult::Logged,
        };
        wf.handle(cfg, result, 2_000);
    }
    panic!("did not end");
}

/// Ada registered by a purchase (tags 91), with credentials and the welcome sent.
fn registered(cfg: &Config) -> (MemoryDirectory, Crm) {
    let mut dir = MemoryDirectory::new();
    let mut crm = Crm {
        tags: vec![91],
        calls: Vec::new(),
        draws: 0,
    };
    let mut c = contact("101");
    c.email = Some(Email::parse("ada@example.com", "Email").unwrap());
    c.tags = Some(vec![Tag::id("91")]);
    let event = InboundEvent {
        source: Source::KeapPost,
        event_type: "http_post".into(),
        contact: c,
    };
    let out = run(
        Workflow::new("ev_1", event, cfg, 1_000).unwrap(),
        cfg,
        &mut dir,
        &mut crm,
    )
    .unwrap();
    assert_eq!(out.outcome, OutcomeKind::Created);
    crm.calls.clear();
    (dir, crm)
}

both_targets! {
    fn a_refresh_without_credentials_copies_the_tags_and_writes_nothing_to_the_crm() {
        let cfg = site(PasswordMode::Crm);
        let (mut dir, mut crm) = registered(&cfg);
        crm.tags = vec![91, 93];
        let before = dir.members().next().unwrap().password_hash.clone();
        let out = run(Workflow::refresh("ev_2", contact("101"), &cfg, 2_000, false, false).unwrap(), &cfg, &mut dir, &mut crm).unwrap();
        assert_eq!(out.outcome, OutcomeKind::Existing);
        assert_eq!(out.credentials, CredentialsIssued::Unchanged);
        assert_eq!(crm.calls, ["load_contact"]);
        let m = dir.members().next().unwrap();
        assert_eq!(m.tags, vec![Tag::id("91"), Tag::id("93")]);
        assert_eq!(m.password_hash, before);
        assert_eq!(dir.members().count(), 1);
    }

    fn a_refresh_with_credentials_issues_new_ones_even_to_a_member_with_a_password_and_no_welcome() {
        let cfg = site(PasswordMode::Crm);
        let (mut dir, mut crm) = registered(&cfg);
        let before = dir.members().next().unwrap().password_hash.clone();
        assert!(before.is_some());
        let out = run(Workflow::refresh("ev_2", contact("101"), &cfg, 2_000, true, false).unwrap(), &cfg, &mut dir, &mut crm).unwrap();
        assert_eq!(out.outcome, OutcomeKind::Existing);
        assert_eq!(out.credentials, CredentialsIssued::GeneratedPassword);
        assert_eq!(crm.calls, ["load_contact", "write_credentials"], "no welcome tag unless asked");
        let m = dir.members().next().unwrap();
        assert_eq!(m.credentials, Credentials::Password);
        assert_ne!(m.password_hash, before);
    }

    fn a_refresh_in_link_mode_sends_a_new_link() {
        let cfg = site(PasswordMode::Link);
        let (mut dir, mut crm) = registered(&cfg);
        let out = run(Workflow::refresh("ev_2", contact("101"), &cfg, 2_000, true, false).unwrap(), &cfg, &mut dir, &mut crm).unwrap();
        assert_eq!(out.credentials, CredentialsIssued::LinkSent);
        assert_eq!(crm.calls, ["load_contact", "write_credentials"]);
    }

    fn the_welcome_tag_only_when_asked_and_only_if_never_sent() {
        let cfg = site(PasswordMode::Crm);
        // Added by hand (no welcome yet), then refreshed with the welcome asked for.
        let mut dir = MemoryDirectory::new();
        let mut crm = Crm { tags: vec![91], calls: Vec::new(), draws: 0 };
        let m: memberwire::core::member::Member = memberwire::core::json::from_str(
            r#"{"email":"ada@example.com","contact":{"crm":"keap","account":"default","contactId":"101"},"createdAt":1000,"updatedAt":1000}"#,
        )
        .unwrap();
        let _ = dir.apply(memberwire::core::directory::DirOp::Insert { member: m });
        let out = run(Workflow::refresh("ev_2", contact("101"), &cfg, 2_000, true, true).unwrap(), &cfg, &mut dir, &mut crm).unwrap();
        assert_eq!(crm.calls, ["load_contact", "write_credentials", "apply_welcome_tag"]);
        // The tags and the name came from the CRM: the record was refreshed.
        assert_eq!(out.outcome, OutcomeKind::Existing);
        assert_eq!(dir.members().next().unwrap().first_name.as_deref(), Some("Ada"));
        // Asked again: the welcome was sent, so it is not applied twice.
        crm.calls.clear();
        run(Workflow::refresh("ev_3", contact("101"), &cfg, 3_000, true, true).unwrap(), &cfg, &mut dir, &mut crm).unwrap();
        assert_eq!(crm.calls, ["load_contact", "write_credentials"]);
    }

    fn a_refresh_never_creates_a_member() {
        let cfg = site(PasswordMode::Crm);
        let mut dir = MemoryDirectory::new();
        let mut crm = Crm { tags: vec![91], calls: Vec::new(), draws: 0 };
        let err = run(Workflow::refresh("ev_2", contact("101"), &cfg, 2_000, true, true).unwrap(), &cfg, &mut dir, &mut crm).unwrap_err();
        assert_eq!(err, NOT_A_MEMBER);
        assert_eq!(dir.members().count(), 0);
    }

    fn a_refresh_survives_a_save_and_restore_between_its_steps() {
        let cfg = site(PasswordMode::Crm);
        let (mut dir, mut crm) = registered(&cfg);
        let mut wf = Workflow::refresh("ev_2", contact("101"), &cfg, 2_000, true, false).unwrap();
        // Each kind of step is crashed after once (a crash loop at one step would never end, for
        // a registration too: a restored workflow reloads the CRM's password it never saved).
        let mut crashed = std::collections::HashSet::new();
        for _ in 0..100 {
            let effect = match wf.poll(&cfg) {
                Poll::Effect { effect } => effect,
                Poll::Done { outcome } => {
                    assert_eq!(outcome.outcome, OutcomeKind::Existing);
                    assert!(!crm.calls.contains(&"apply_welcome_tag"));
                    return;
                }
                Poll::Pending { reason, .. } => panic!("parked: {reason}"),
            };
            let kind: String = format!("{effect:?}").chars().take(24).collect();
            let restore = crashed.insert(kind);
            let result = match effect {
                Effect::Directory { op } => EffectResult::Directory { result: Box::new(dir.apply(op)) },
                Effect::Http { purpose, .. } => EffectResult::Http { response: crm.answer(purpose) },
                Effect::Random { bytes } => EffectResult::Random { bytes: vec![3; bytes] },
                Effect::Sleep { .. } => EffectResult::Slept,
                Effect::Log { .. } => EffectResult::Logged,
            };
            wf.handle(&cfg, result, 2_000);
            if restore {
                let saved = wf.save();
                assert!(saved.contains("\"refresh\""), "the refresh is part of the saved state");
                wf = Workflow::restore(&saved).unwrap();
            }
        }
        panic!("did not end");
    }

    fn a_refused_update_parks_with_a_reason_that_holds_no_member_data() {
        let cfg = site(PasswordMode::Crm);
        let (mut dir, mut crm) = registered(&cfg);
        crm.tags = vec![91, 93];
        let hash = dir.members().next().unwrap().password_hash.clone().unwrap();
        let mut wf = Workflow::refresh("ev_2", contact("101"), &cfg, 2_000, false, false).unwrap();
        for _ in 0..50 {
            let effect = match wf.poll(&cfg) {
                Poll::Effect { effect } => effect,
                Poll::Pending { code, reason } => {
                    assert_eq!(code, "member_rejected");
                    assert!(reason.contains("too long for this test"), "{reason}");
                    // The reason goes to logs and the Activity screen: names only, no member data.
                    assert!(!reason.contains(&hash) && !reason.contains("$2y$"), "a password hash in the reason");
                    assert!(!reason.contains("ada@example.com"), "an email in the reason");
                    return;
                }
                Poll::Done { .. } => panic!("the update was refused: it cannot be done"),
            };
            let result = match effect {
                Effect::Directory { op } if format!("{op:?}").starts_with("Update") => EffectResult::Directory {
                    result: Box::new(memberwire::core::directory::DirResult::Rejected { reason: "a name too long for this test".into() }),
                },
                Effect::Directory { op } => EffectResult::Directory { result: Box::new(dir.apply(op)) },
                Effect::Http { purpose, .. } => EffectResult::Http { response: crm.answer(purpose) },
                Effect::Random { bytes } => EffectResult::Random { bytes: vec![5; bytes] },
                Effect::Sleep { .. } => EffectResult::Slept,
                Effect::Log { .. } => EffectResult::Logged,
            };
            wf.handle(&cfg, result, 2_000);
        }
        panic!("did not end");
    }
}
