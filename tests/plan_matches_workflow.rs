//! The bulk planner's `decide` and the registration workflow must agree: for random directories
//! and contacts, the workflow's outcome (run without faults) is what `decide` predicted from the
//! directory as it stood. Runs natively and as wasm.

mod support;

use memberwire::core::contact::{Contact, ContactId, CrmKind, Tag};
use memberwire::core::directory::{DirOp, MemoryDirectory};
use memberwire::core::email::Email;
use memberwire::core::inbound::{InboundEvent, Source};
use memberwire::core::member::{ContactLink, Member};
use memberwire::core::plan::decide;
use memberwire::core::workflow::{Config, Effect, EffectResult, Poll, Workflow};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn member(email: &str, contact: Option<&str>) -> Member {
    Member {
        id: String::new(),
        version: 0,
        email: Email::parse(email, "e").unwrap(),
        contact: contact.map(|c| ContactLink {
            crm: CrmKind::Generic,
            account: "default".into(),
            contact_id: c.into(),
        }),
        first_name: None,
        last_name: None,
        tags: vec![],
        credentials: Default::default(),
        password_hash: None,
        welcome: Default::default(),
        created_by: None,
        created_at: 0,
        updated_at: 0,
    }
}

both_targets! {
    fn decide_predicts_the_workflow() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let cfg = Config::default();
        for round in 0..400 {
            let mut dir = MemoryDirectory::new();
            for i in 0..rng.below(4) {
                let contact = if rng.below(2) == 0 { Some(format!("c{}", rng.below(4))) } else { None };
                let _ = dir.apply(DirOp::Insert { member: member(&format!("u{i}@example.com"), contact.as_deref()) });
            }
            let id = format!("c{}", rng.below(4));
            let email = Email::parse(&format!("u{}@example.com", rng.below(5)), "e").unwrap();
            let mut c = Contact::new(CrmKind::Generic, "default", ContactId::parse(&id, "id", false).unwrap());
            c.email = Some(email.clone());
            c.tags = Some(vec![Tag::name("t")]);
            let expected = decide(&c, dir.get_by_contact(&c.key()), dir.get_by_email(&email));
            let mut wf = Workflow::new("e", InboundEvent { source: Source::Json, event_type: "json".into(), contact: c }, &cfg, 0).unwrap();
            let outcome = loop {
                let r = match wf.poll(&cfg) {
                    Poll::Done { outcome } => break outcome,
                    Poll::Pending { reason, .. } => panic!("round {round}: pending {reason}"),
                    Poll::Effect { effect: Effect::Directory { op } } => EffectResult::Directory { result: Box::new(dir.apply(op)) },
                    Poll::Effect { effect: Effect::Log { .. } } => EffectResult::Logged,
                    Poll::Effect { effect } => panic!("round {round}: unexpected {effect:?}"),
                };
                wf.handle(&cfg, r, 0);
            };
            assert_eq!(outcome.outcome, expected.outcome, "round {round}: {expected:?}");
            assert_eq!(outcome.conflict.map(|c| c.other_member), expected.other_member, "round {round}");
        }
    }
}
