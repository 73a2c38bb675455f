//! The program that runs is built from exactly this iteration's files, whatever was built
//! before in the same folder: going back to an earlier iteration brings its failure back.

use harness::target::{RustTiny, Target};
use harness::taxonomy::Category;
use harness::transcript::read_transcript;
use harness::workspace::Workspace;

use crate::e2e::committed_run;
use crate::support::isolation;

#[test]
fn replaying_iteration_2_after_iteration_3_brings_back_its_failure() {
    let transcript = read_transcript(&committed_run().join("transcript.yaml")).unwrap();
    let target = RustTiny::new(isolation());
    let dir = tempfile::tempdir().unwrap();
    let workspace = Workspace::reset(&dir.path().join("crate")).unwrap();

    let mut hashes = Vec::new();
    for iteration in [3, 2, 3, 2] {
        let files = transcript.files_at(iteration).unwrap();
        workspace
            .write(&files, &target.build_files(&files))
            .unwrap();
        let build = target.build(&workspace, iteration);
        let program = build
            .program
            .unwrap_or_else(|| panic!("iteration {iteration} builds: {:?}", build.errors));
        let run = target.smoke_run(&workspace, &program);
        let categories: Vec<_> = run.errors.iter().map(|e| e.category).collect();
        match iteration {
            3 => assert_eq!(categories, [], "iteration 3 works"),
            _ => assert_eq!(
                categories,
                [Category::PanicOther],
                "iteration 2's panic is back"
            ),
        }
        hashes.push(program.sha256);
    }
    assert_ne!(
        hashes[0], hashes[1],
        "a different program was built for each iteration"
    );
    assert_eq!(
        hashes[0], hashes[2],
        "the same files build the same program"
    );
    assert_eq!(hashes[1], hashes[3]);
}
