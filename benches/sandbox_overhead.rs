//! Measures what the sandbox adds to a warm build and to a smoke run of the rust-tiny target;
//! prints figures.
//!
//! Run with `cargo bench --bench sandbox_overhead` (needs bubblewrap). The crate is the
//! committed fixture run's last iteration. Each round rewrites its files (as every iteration
//! does, so cargo rebuilds the binary against a warm cache), builds, then runs the smoke input:
//! once unconfined, once inside the sandbox, alternating so that both see the same machine load.

use std::path::Path;
use std::time::Instant;

use harness::sandbox::{Isolation, Sandbox};
use harness::target::{RustTiny, Target};
use harness::transcript::read_transcript;
use harness::workspace::Workspace;

const ROUNDS: u32 = 15;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let sandbox = match Sandbox::detect() {
        Ok(sandbox) => sandbox,
        Err(error) => {
            println!("sandbox overhead: not measured ({error})");
            return;
        }
    };
    let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runs/fixture-scripted-stats/transcript.yaml");
    let files = read_transcript(&committed).unwrap().files_at(3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let setups = [
        ("unconfined", Isolation::Unconfined),
        ("sandboxed", Isolation::Sandboxed(Box::new(sandbox.clone()))),
    ];
    let mut builds = vec![Vec::new(); setups.len()];
    let mut runs = vec![Vec::new(); setups.len()];
    let targets: Vec<(RustTiny, Workspace)> = setups
        .iter()
        .map(|(name, isolation)| {
            let target = RustTiny::new(isolation.clone());
            let workspace = Workspace::reset(&dir.path().join(name)).unwrap();
            workspace
                .write(&files, &target.build_files(&files))
                .unwrap();
            // The first build fills the cache; it is not counted.
            assert!(target.build(&workspace, 0).program.is_some());
            (target, workspace)
        })
        .collect();
    for round in 1..=ROUNDS {
        for (i, (target, workspace)) in targets.iter().enumerate() {
            workspace
                .write(&files, &target.build_files(&files))
                .unwrap();
            let started = Instant::now();
            let build = target.build(workspace, round);
            builds[i].push(started.elapsed().as_secs_f64() * 1000.0);
            let program = build.program.expect("the fixture builds");
            let started = Instant::now();
            let run = target.smoke_run(workspace, &program);
            runs[i].push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(run.errors.is_empty(), "{:?}", run.errors);
        }
    }
    println!(
        "rust-tiny, median of {ROUNDS} rounds ({}):",
        sandbox.description()
    );
    for (i, (name, _)) in setups.iter().enumerate() {
        println!(
            "  {name:<10}  warm build {:7.1} ms   smoke run {:6.1} ms",
            median(builds[i].clone()),
            median(runs[i].clone())
        );
    }
    println!(
        "  overhead    warm build {:+7.1} ms   smoke run {:+6.1} ms",
        median(builds[1].clone()) - median(builds[0].clone()),
        median(runs[1].clone()) - median(runs[0].clone())
    );
}
