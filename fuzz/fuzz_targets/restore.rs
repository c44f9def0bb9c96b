#![no_main]
//! Workflow::restore on arbitrary saved states, then the workflow driven to its end under
//! several configurations: neither restore nor poll nor handle may panic (a panic aborts the
//! wasm instance that holds every workflow).
use libfuzzer_sys::fuzz_target;
use memberwire::core::contact::CrmKind;
use memberwire::core::crm::{ApiToken, CrmConfig, HttpResponse};
use memberwire::core::directory::MemoryDirectory;
use memberwire::core::workflow::{Config, Effect, EffectResult, PasswordMode, Poll, Workflow};

fn configs() -> Vec<Config> {
    let crm = |kind, welcome: Option<&str>| CrmConfig {
        kind,
        base_url: "https://crm.invalid/api".into(),
        token: ApiToken::new("t"),
        password_field: Some("11".into()),
        password_field_max: Some(20),
        link_field: Some("13".into()),
        welcome_tag: welcome.map(Into::into),
        account_id: None,
    };
    let base = Config {
        bcrypt_cost: 4,
        max_attempts: 2,
        retry_base_ms: 1,
        ..Config::default()
    };
    vec![
        Config {
            crm: Some(crm(CrmKind::Keap, Some("95"))),
            ..base.clone()
        },
        Config {
            crm: Some(crm(CrmKind::ActiveCampaign, None)),
            password_mode: PasswordMode::Crm,
            ..base.clone()
        },
        Config {
            crm: Some(crm(CrmKind::Kit, Some("5120003"))),
            ..base.clone()
        },
        Config {
            crm: Some(crm(CrmKind::HubSpot, Some("13"))),
            password_mode: PasswordMode::Crm,
            ..base.clone()
        },
        Config { crm: None, ..base },
    ]
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for cfg in configs() {
        let Ok(mut wf) = Workflow::restore(text) else {
            return;
        };
        wf.retry();
        let mut dir = MemoryDirectory::new();
        for step in 0..64u64 {
            let result = match wf.poll(&cfg) {
                Poll::Effect { effect } => match effect {
                    Effect::Directory { op } => EffectResult::Directory {
                        result: Box::new(dir.apply(op)),
                    },
                    Effect::Http { .. } => EffectResult::Http {
                        response: HttpResponse {
                            status: if step % 3 == 0 { 500 } else { 200 },
                            body: "{}".into(),
                            retry_after: None,
                        },
                    },
                    Effect::Random { bytes } => EffectResult::Random {
                        bytes: vec![7; bytes],
                    },
                    Effect::Sleep { .. } => EffectResult::Slept,
                    Effect::Log { .. } => EffectResult::Logged,
                },
                Poll::Done { .. } | Poll::Pending { .. } => break,
            };
            wf.handle(&cfg, result, step);
        }
        let _ = wf.save();
    }
});
