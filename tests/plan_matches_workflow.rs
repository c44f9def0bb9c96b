//! The bulk planner and the registration workflow must agree. For random directories and
//! contacts, the workflow's outcome (run without faults) is what `decide` predicted from the
//! directory as it stood; and for random exports, a plan of the whole export is what the
//! workflow does running its rows one after another. Runs natively and as wasm.

mod support;

use memberwire::core::contact::{Contact, ContactId, CrmKind, Tag};
use memberwire::core::directory::{DirOp, MemoryDirectory};
use memberwire::core::email::Email;
use memberwire::core::inbound::{InboundEvent, Source};
use memberwire::core::member::{ContactLink, Member};
use memberwire::core::plan::{decide, plan_csv, Keep};
use memberwire::core::workflow::{
    Config, Effect, EffectResult, Outcome, OutcomeKind, Poll, Workflow,
};

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

/// Runs the registration workflow for `c` against `dir`, without faults, as event `event` (each
/// event its own: a workflow takes a member its event created for its own).
fn register(
    dir: &mut MemoryDirectory,
    event: &str,
    c: Contact,
    cfg: &Config,
    round: usize,
) -> Outcome {
    let mut wf = Workflow::new(
        event,
        InboundEvent {
            source: Source::Json,
            event_type: "json".into(),
            contact: c,
        },
        cfg,
        0,
    )
    .unwrap();
    loop {
        let r = match wf.poll(cfg) {
            Poll::Done { outcome } => return outcome,
            Poll::Pending { reason, .. } => panic!("round {round}: pending {reason}"),
            Poll::Effect {
                effect: Effect::Directory { op },
            } => EffectResult::Directory {
                result: Box::new(dir.apply(op)),
            },
            Poll::Effect {
                effect: Effect::Log { .. },
            } => EffectResult::Logged,
            Poll::Effect { effect } => panic!("round {round}: unexpected {effect:?}"),
        };
        wf.handle(cfg, r, 0);
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
            let outcome = register(&mut dir, "e", c, &cfg, round);
            assert_eq!(outcome.outcome, expected.outcome, "round {round}: {expected:?}");
            assert_eq!(outcome.conflict.map(|c| c.other_member), expected.other_member, "round {round}");
        }
    }

    fn a_plan_is_the_workflow_row_by_row() {
        // Few contacts and emails, so that rows collide with the directory and with each other:
        // contacts listed twice, emails moving away and back, mixed case, quoted cells (which
        // the plan cannot borrow from the text), and rows that cannot be read.
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let cfg = Config::default();
        let mut seen = [0u32; 5];
        for round in 0..300 {
            let mut dir = MemoryDirectory::new();
            for i in 0..rng.below(5) {
                let contact = if rng.below(2) == 0 { Some(format!("{}", rng.below(5))) } else { None };
                let _ = dir.apply(DirOp::Insert { member: member(&format!("u{i}@example.com"), contact.as_deref()) });
            }
            let mut csv = String::from("Id,Email\n");
            let mut rows = Vec::new();
            for _ in 0..1 + rng.below(8) {
                let id = format!("{}", rng.below(5));
                let email = match rng.below(4) {
                    0 => format!("U{}@Example.com", rng.below(6)),
                    1 if rng.below(4) == 0 => String::new(),
                    _ => format!("u{}@example.com", rng.below(6)),
                };
                // Quoted with spaces inside, unquoted with spaces around, or as it is.
                let mut cell = |s: &str| match rng.below(4) {
                    0 => format!("\" {s} \""),
                    1 => format!(" {s} "),
                    _ => s.to_owned(),
                };
                let line = format!("{},{}\n", cell(&id), cell(&email));
                csv.push_str(&line);
                rows.push((id, email));
            }
            let plan = plan_csv(&dir, &csv, CrmKind::Generic, "default", Keep::All).unwrap();
            let mut planned = plan.rows.iter();
            // The member each planned-<row> became when the workflow ran that row.
            let mut made = std::collections::HashMap::new();
            for (n, (id, email)) in rows.iter().enumerate() {
                let line = n + 2;
                let Ok(email) = Email::parse(email, "e") else {
                    assert!(plan.invalid.iter().any(|r| r.row == line), "round {round}: row {line} is invalid");
                    continue;
                };
                let p = planned.next().unwrap_or_else(|| panic!("round {round}: row {line} is missing"));
                assert_eq!(p.row, line, "round {round}");
                let mut c = Contact::new(CrmKind::Generic, "default", ContactId::parse(id, "id", false).unwrap());
                c.email = Some(email);
                c.tags = Some(vec![Tag::name("t")]);
                let outcome = register(&mut dir, &format!("e{line}"), c, &cfg, round);
                assert_eq!(p.decision.outcome, outcome.outcome, "round {round}, row {line}:\n{csv}");
                let other = p.decision.other_member.as_ref().map(|m| made.get(m).cloned().unwrap_or_else(|| m.clone()));
                let conflict = outcome.conflict.map(|c| (c.reason, c.other_member));
                assert_eq!(p.decision.reason.map(str::to_owned), conflict.as_ref().map(|c| c.0.clone()), "round {round}, row {line}:\n{csv}");
                assert_eq!(other, conflict.map(|c| c.1), "round {round}, row {line}:\n{csv}");
                if outcome.outcome == OutcomeKind::Created {
                    made.insert(format!("planned-{line}"), outcome.member.expect("a created member").id);
                }
                seen[outcome.outcome as usize] += 1;
            }
            assert!(planned.next().is_none(), "round {round}");
            let c = plan.counts;
            let counted = c.created + c.linked + c.existing + c.updated + c.conflict;
            assert_eq!((counted as usize, c.invalid as usize), (plan.rows.len(), plan.invalid.len()), "round {round}");
        }
        // Every outcome came up, each more than a few times.
        assert!(seen.iter().all(|n| *n > 20), "{seen:?}");
    }
}
