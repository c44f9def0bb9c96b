//! Native bulk matching: builds a directory from a members CSV and plans a contacts CSV against
//! it, with the same core functions the wasm build runs. bench/matching.mjs writes the files
//! and runs this beside the wasm and plain-JS implementations:
//!
//!   cargo bench --bench matching -- MEMBERS.csv CONTACTS.csv RUNS
//!
//! Prints one JSON line: load and plan times (median of RUNS plans) and the counts.

use std::time::Instant;

use memberwire::core::contact::CrmKind;
use memberwire::core::directory::MemoryDirectory;
use memberwire::core::plan;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [members, contacts, runs] = args.as_slice() else {
        eprintln!("usage: cargo bench --bench matching -- MEMBERS.csv CONTACTS.csv RUNS");
        std::process::exit(2);
    };
    let members = std::fs::read_to_string(members).expect("members csv");
    let contacts = std::fs::read_to_string(contacts).expect("contacts csv");
    let runs: usize = runs.parse().expect("runs");

    let t = Instant::now();
    let mut dir = MemoryDirectory::new();
    let loaded =
        plan::load_members(&mut dir, &members, CrmKind::Generic, "default").expect("members");
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;

    let mut times = Vec::new();
    let mut counts = None;
    for _ in 0..runs {
        let t = Instant::now();
        let p = plan::plan_csv(
            &dir,
            &contacts,
            CrmKind::Generic,
            "default",
            plan::Keep::Conflicts(100),
        )
        .expect("contacts");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        counts = Some(p.counts);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{}",
        serde_json::json!({
            "members": loaded,
            "loadMs": load_ms,
            "planMs": times[times.len() / 2],
            "planRunsMs": times,
            "counts": serde_json::from_str::<serde_json::Value>(&memberwire::core::json::to_string(&counts)).unwrap(),
        })
    );
}
