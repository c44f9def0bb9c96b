//! Posts from a source other than the connected CRM (generic JSON) never call the CRM, and a
//! password they carry is used in `crm` mode. Runs natively and as wasm.

mod support;

use memberwire::core::contact::{Contact, ContactId, CrmKind, Secret};
use memberwire::core::directory::MemoryDirectory;
use memberwire::core::email::Email;
use memberwire::core::inbound::{InboundEvent, Source};
use memberwire::core::member::Credentials;
use memberwire::core::secrets;
use memberwire::core::workflow::{
    Config, CredentialsIssued, Effect, EffectResult, OutcomeKind, PasswordMode, Poll, Workflow,
};

fn generic(id: &str, email: Option<&str>, password: Option<&str>) -> InboundEvent {
    let mut c = Contact::new(
        CrmKind::Generic,
        "default",
        ContactId::parse(id, "contact_id", false).unwrap(),
    );
    c.email = email.map(|e| Email::parse(e, "email").unwrap());
    c.password = password.map(Secret::new);
    InboundEvent {
        source: Source::Json,
        event_type: "json".into(),
        contact: c,
    }
}

/// Runs to the end; panics on any HTTP effect (there must be none).
fn run(wf: &mut Workflow, cfg: &Config, dir: &mut MemoryDirectory) -> OutcomeKind {
    for _ in 0..100 {
        let result = match wf.poll(cfg) {
            Poll::Done { outcome } => return outcome.outcome,
            Poll::Pending { reason, .. } => panic!("pending: {reason}"),
            Poll::Effect { effect } => match effect {
                Effect::Http { request, .. } => panic!(
                    "a generic post called the CRM: {} {}",
                    request.method, request.url
                ),
                Effect::Directory { op } => EffectResult::Directory {
                    result: Box::new(dir.apply(op)),
                },
                Effect::Random { bytes } => EffectResult::Random {
                    bytes: vec![7; bytes],
                },
                Effect::Sleep { .. } => EffectResult::Slept,
                Effect::Log { .. } => EffectResult::Logged,
            },
        };
        wf.handle(cfg, result, 1);
    }
    panic!("did not finish");
}

both_targets! {
    fn generic_posts_work_on_a_keap_site_without_calling_it() {
        let cfg = support::keap_site(PasswordMode::Link);
        let mut dir = MemoryDirectory::new();
        let mut wf = Workflow::new("e1", generic("zap-1", Some("Zed@Example.com"), None), &cfg, 0).unwrap();
        assert_eq!(run(&mut wf, &cfg, &mut dir), OutcomeKind::Created);
        let m = dir.members().next().unwrap();
        assert_eq!(m.email.as_str(), "zed@example.com");
        assert_eq!(m.credentials, Credentials::None, "no link: there is no CRM field to carry it");
        assert_eq!(wf.outcome().credentials, CredentialsIssued::Unchanged);
    }

    fn a_generic_posts_password_is_used_in_crm_mode() {
        let cfg = support::keap_site(PasswordMode::Crm);
        let mut dir = MemoryDirectory::new();
        let mut wf = Workflow::new("e1", generic("zap-2", Some("pw@example.com"), Some("a-Good-passw0rd")), &cfg, 0).unwrap();
        assert_eq!(run(&mut wf, &cfg, &mut dir), OutcomeKind::Created);
        let m = dir.members().next().unwrap();
        assert_eq!(m.credentials, Credentials::Password);
        assert!(secrets::verify_password(&Secret::new("a-Good-passw0rd"), m.password_hash.as_ref().unwrap()));
    }

    fn a_generic_post_without_email_is_refused() {
        let cfg = support::keap_site(PasswordMode::Link);
        let err = Workflow::new("e1", generic("zap-3", None, None), &cfg, 0).unwrap_err();
        assert_eq!(err.code.as_str(), "invalid_email");
    }
}
