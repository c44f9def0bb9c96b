//! A contact the CRM re-keys when its email changes (Mailchimp names a member by the MD5 of its
//! email; its `upemail` webhook names the old and the new address): the member linked to the old
//! id moves onto the new id and address, and is never made twice: not when a post for the new
//! address ran first (a conflict for an operator), and not when two changes arrive out of order
//! (the later one waits for the earlier one). Runs natively and as wasm.

mod support;

use memberwire::core::contact::{key_of, Contact, ContactId, CrmKind};
use memberwire::core::crm::{ApiToken, CrmConfig, HttpResponse};
use memberwire::core::directory::MemoryDirectory;
use memberwire::core::email::Email;
use memberwire::core::inbound::mailchimp::subscriber_hash;
use memberwire::core::inbound::{InboundEvent, Source};
use memberwire::core::workflow::{
    Config, Effect, EffectResult, Outcome, OutcomeKind, PasswordMode, Poll, Workflow,
    EMAIL_CHANGE_UNMATCHED,
};

const ACCOUNT: &str = "b7c1e0d2a4";

fn hash(email: &str) -> String {
    subscriber_hash(&Email::parse(email, "email").unwrap())
}

fn key(email: &str) -> String {
    key_of(CrmKind::Mailchimp, ACCOUNT, &hash(email))
}

/// A Mailchimp member as its webhooks name it: `subscribe` (no previous address) or `upemail`.
fn event(email: &str, previous: Option<&str>) -> InboundEvent {
    let mut c = Contact::new(
        CrmKind::Mailchimp,
        ACCOUNT,
        ContactId::parse(&hash(email), "data[email]", false).unwrap(),
    );
    c.email = Some(Email::parse(email, "data[email]").unwrap());
    c.previous_id = previous.map(|p| ContactId::parse(&hash(p), "data[old_email]", false).unwrap());
    InboundEvent {
        source: Source::Mailchimp,
        event_type: if previous.is_some() {
            "upemail"
        } else {
            "subscribe"
        }
        .into(),
        contact: c,
    }
}

/// Posts from a Mailchimp audience on a site with no CRM connection: nothing is loaded.
fn site() -> Config {
    Config::default()
}

/// Runs to the end or a park (`Err` with the workflow, parked, and its code); with `restore`, the
/// state is saved and restored after every directory op (a restart between the op and its result
/// being taken).
fn run(
    mut wf: Workflow,
    dir: &mut MemoryDirectory,
    restore: bool,
) -> Result<Outcome, (Box<Workflow>, String)> {
    let cfg = site();
    for _ in 0..100 {
        let result = match wf.poll(&cfg) {
            Poll::Done { outcome } => return Ok(outcome),
            Poll::Pending { code, .. } => return Err((Box::new(wf), code)),
            Poll::Effect { effect } => match effect {
                Effect::Http { request, .. } => panic!("no CRM to call: {}", request.url),
                Effect::Directory { op } => {
                    let result = dir.apply(op);
                    if restore {
                        wf = Workflow::restore(&wf.save()).unwrap();
                    }
                    EffectResult::Directory {
                        result: Box::new(result),
                    }
                }
                Effect::Random { bytes } => EffectResult::Random {
                    bytes: vec![9; bytes],
                },
                Effect::Sleep { .. } => EffectResult::Slept,
                Effect::Log { .. } => EffectResult::Logged,
            },
        };
        wf.handle(&cfg, result, 2);
    }
    panic!("did not finish");
}

fn post(n: u32, e: InboundEvent, dir: &mut MemoryDirectory) -> Outcome {
    post_restoring(n, e, dir, false)
}

fn post_restoring(n: u32, e: InboundEvent, dir: &mut MemoryDirectory, restore: bool) -> Outcome {
    let wf = Workflow::new(&format!("ev_{n}"), e, &site(), 1).unwrap();
    match run(wf, dir, restore) {
        Ok(outcome) => outcome,
        Err((_, code)) => panic!("parked: {code}"),
    }
}

/// A post that parks: the parked workflow, restored from its saved state as hosts keep it.
fn parked(n: u32, e: InboundEvent, dir: &mut MemoryDirectory) -> Workflow {
    let wf = Workflow::new(&format!("ev_{n}"), e, &site(), 1).unwrap();
    match run(wf, dir, false) {
        Ok(outcome) => panic!("ended {:?} instead of waiting", outcome.outcome),
        Err((wf, code)) => {
            assert_eq!(code, EMAIL_CHANGE_UNMATCHED);
            Workflow::restore(&wf.save()).unwrap()
        }
    }
}

/// The automatic retry of a parked workflow.
fn retried(mut wf: Workflow, dir: &mut MemoryDirectory) -> Outcome {
    wf.retry();
    match run(wf, dir, false) {
        Ok(outcome) => outcome,
        Err((_, code)) => panic!("parked again: {code}"),
    }
}

fn member_id(o: &Outcome) -> String {
    o.member.as_ref().expect("a member").id.clone()
}

/// A site connected to the Mailchimp audience, in crm mode: the password merge field is where a
/// generated password goes.
fn mailchimp_site() -> Config {
    Config {
        crm: Some(CrmConfig {
            kind: CrmKind::Mailchimp,
            base_url: format!("https://us21.api.mailchimp.com/3.0/lists/{ACCOUNT}"),
            token: ApiToken::new("t"),
            password_field: Some("PASSWORD".into()),
            password_field_max: None,
            link_field: Some("SETPWLINK".into()),
            welcome_tag: Some("Welcome".into()),
            account_id: None,
        }),
        password_mode: PasswordMode::Crm,
        bcrypt_cost: 4,
        ..Config::default()
    }
}

both_targets! {
    fn an_email_change_moves_the_member_onto_the_new_id() {
        let mut dir = MemoryDirectory::new();
        let a = post(1, event("mia.wong@example.com", None), &mut dir);
        assert_eq!(a.outcome, OutcomeKind::Created);

        let b = post(2, event("Mia.Wong@Example.org", Some("mia.wong@example.com")), &mut dir);
        assert_eq!(b.outcome, OutcomeKind::Updated);
        assert_eq!(member_id(&b), member_id(&a), "the same member");
        assert_eq!(dir.len(), 1);
        let m = dir.get(&member_id(&a)).unwrap();
        assert_eq!(m.email.as_str(), "mia.wong@example.org");
        assert_eq!(m.contact.as_ref().unwrap().contact_id, hash("mia.wong@example.org"));
        assert!(dir.get_by_contact(&key("mia.wong@example.com")).is_none(), "the old id is released");

        // What Mailchimp sends next names the new address: the same member.
        let c = post(3, event("mia.wong@example.org", None), &mut dir);
        assert_eq!(c.outcome, OutcomeKind::Existing);
        assert_eq!(member_id(&c), member_id(&a));
        // The change delivered again finds the member under its new id.
        let d = post(4, event("mia.wong@example.org", Some("mia.wong@example.com")), &mut dir);
        assert_eq!(d.outcome, OutcomeKind::Existing);
        assert_eq!(dir.len(), 1);
        // Someone new may now subscribe with the old address.
        let e = post(5, event("mia.wong@example.com", None), &mut dir);
        assert_eq!(e.outcome, OutcomeKind::Created);
        assert_ne!(member_id(&e), member_id(&a));
    }

    fn an_email_change_survives_a_restart_between_the_lookup_and_the_move() {
        let mut dir = MemoryDirectory::new();
        let a = post(1, event("ann@example.com", None), &mut dir);
        let b = post_restoring(
            2,
            event("ann.new@example.com", Some("ann@example.com")),
            &mut dir,
            true,
        );
        assert_eq!(b.outcome, OutcomeKind::Updated);
        assert_eq!(member_id(&b), member_id(&a));
        assert_eq!(dir.len(), 1);
    }

    fn an_email_change_onto_an_id_or_address_another_member_holds_moves_nothing() {
        let mut dir = MemoryDirectory::new();
        let a = post(1, event("bo@example.com", None), &mut dir);
        // A post for the new address ran before the change (Mailchimp does not promise order):
        // it made a second member, which the change must not hide.
        let other = post(2, event("bo@example.net", None), &mut dir);
        let c = post(3, event("bo@example.net", Some("bo@example.com")), &mut dir);
        assert_eq!(c.outcome, OutcomeKind::Conflict);
        let conflict = c.conflict.expect("the conflict");
        assert_eq!(conflict.reason, "email_change_taken");
        assert_eq!(conflict.other_member, member_id(&other));
        assert_eq!(conflict.member.as_deref(), Some(member_id(&a).as_str()));
        assert_eq!(dir.get(&member_id(&a)).unwrap().email.as_str(), "bo@example.com");

        // The new address belongs to a member another source made: a conflict, never a merge.
        let mut form = Contact::new(
            CrmKind::Generic,
            "default",
            ContactId::parse("form-7", "contact_id", false).unwrap(),
        );
        form.email = Some(Email::parse("bo@example.org", "email").unwrap());
        let held = post(
            4,
            InboundEvent {
                source: Source::Json,
                event_type: "json".into(),
                contact: form,
            },
            &mut dir,
        );
        let d = post(5, event("bo@example.org", Some("bo@example.com")), &mut dir);
        assert_eq!(d.outcome, OutcomeKind::Conflict);
        let conflict = d.conflict.expect("the conflict");
        assert_eq!(conflict.reason, "email_change_taken");
        assert_eq!(conflict.other_member, member_id(&held));
        assert_eq!(conflict.member.as_deref(), Some(member_id(&a).as_str()));
        assert_eq!(dir.get(&member_id(&a)).unwrap().email.as_str(), "bo@example.com");
        assert_eq!(dir.len(), 3);
    }

    fn two_email_changes_out_of_order_still_move_the_one_member() {
        let mut dir = MemoryDirectory::new();
        let a = post(1, event("eve@example.com", None), &mut dir);
        // The second change (b -> c) runs first: nobody holds b or c yet, so it waits.
        let second = parked(2, event("eve@example.org", Some("eve@example.net")), &mut dir);
        assert_eq!(dir.len(), 1, "nothing registered while it waits");
        // The first change (a -> b) moves the member, without the CRM.
        let first = post(3, event("eve@example.net", Some("eve@example.com")), &mut dir);
        assert_eq!(first.outcome, OutcomeKind::Updated);
        // The retry finds the member under b and moves it on to c.
        let again = retried(second, &mut dir);
        assert_eq!(again.outcome, OutcomeKind::Updated);
        assert_eq!(member_id(&again), member_id(&a));
        assert_eq!(dir.len(), 1);
        assert_eq!(dir.get(&member_id(&a)).unwrap().email.as_str(), "eve@example.org");
        assert!(dir.get_by_contact(&key("eve@example.org")).is_some());
    }

    fn an_email_change_for_a_contact_with_no_member_waits_once_then_registers_the_new_address() {
        let mut dir = MemoryDirectory::new();
        let waiting = parked(1, event("cy.new@example.com", Some("cy@example.com")), &mut dir);
        assert_eq!(dir.len(), 0);
        let a = retried(waiting, &mut dir);
        assert_eq!(a.outcome, OutcomeKind::Created);
        let m = dir.get(&member_id(&a)).unwrap();
        assert_eq!(m.email.as_str(), "cy.new@example.com");
        assert_eq!(dir.get_by_contact(&key("cy.new@example.com")).map(|m| m.id.clone()), Some(member_id(&a)));
    }

    fn the_previous_id_is_kept_in_the_saved_state() {
        let wf = Workflow::new("ev_1", event("dee.new@example.com", Some("dee@example.com")), &site(), 1).unwrap();
        let saved = wf.save();
        assert!(saved.contains(&format!("\"previousId\":\"{}\"", hash("dee@example.com"))), "{saved}");
        // A state saved before the field existed still loads.
        let old = saved.replace(&format!(",\"previousId\":\"{}\"", hash("dee@example.com")), "");
        assert!(Workflow::restore(&old).is_ok());
    }

    fn an_email_change_that_comes_to_register_loads_the_contact_once_even_without_a_password() {
        // Crm mode wants the CRM's password field; this subscriber's record has none, so the
        // contact still "needs" it after the load: the load must not repeat.
        let cfg = mailchimp_site();
        let mut dir = MemoryDirectory::new();
        let mut wf = Workflow::new("ev_1", event("dan.new@example.com", Some("dan@example.com")), &cfg, 1).unwrap();
        let mut gets = 0;
        let mut parks = 0;
        let outcome = loop {
            let result = match wf.poll(&cfg) {
                Poll::Done { outcome } => break outcome,
                Poll::Pending { code, .. } => {
                    assert_eq!(code, EMAIL_CHANGE_UNMATCHED);
                    parks += 1;
                    assert_eq!(parks, 1, "it waits once");
                    wf = Workflow::restore(&wf.save()).unwrap();
                    wf.retry();
                    continue;
                }
                Poll::Effect { effect } => match effect {
                    Effect::Http { request, .. } => {
                        let body = if request.method == "GET" {
                            gets += 1;
                            assert!(gets <= 1, "the contact is loaded once");
                            format!(
                                r#"{{"id":"{}","email_address":"dan.new@example.com","status":"subscribed","merge_fields":{{"FNAME":"Dan"}},"tags":[{{"id":7,"name":"Gold"}}]}}"#,
                                hash("dan.new@example.com")
                            )
                        } else {
                            "{}".to_owned()
                        };
                        EffectResult::Http {
                            response: HttpResponse {
                                status: 200,
                                body,
                                retry_after: None,
                            },
                        }
                    }
                    Effect::Directory { op } => EffectResult::Directory {
                        result: Box::new(dir.apply(op)),
                    },
                    Effect::Random { bytes } => EffectResult::Random {
                        bytes: (0..bytes).map(|i| i as u8 ^ 0x5a).collect(),
                    },
                    Effect::Sleep { .. } => EffectResult::Slept,
                    Effect::Log { .. } => EffectResult::Logged,
                },
            };
            wf.handle(&cfg, result, 2);
        };
        assert_eq!(outcome.outcome, OutcomeKind::Created);
        assert_eq!(gets, 1);
        assert_eq!(dir.len(), 1);
        let m = dir.get(&member_id(&outcome)).unwrap();
        assert_eq!(m.tags.len(), 1, "the tags came from the load");
        assert!(m.password_hash.is_some(), "a generated password");
    }
}
