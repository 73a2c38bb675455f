//! Runs never influence each other: a new run in a crate folder starts from a pristine build,
//! whatever an earlier run's code left in it.

use crate::e2e::{registry, scripted_conversation, FIXTURE, KEY};
use crate::support::harness::Harness;
use crate::support::openai_server::OpenAiServer;

#[test]
fn a_new_run_in_the_same_crate_folder_sees_nothing_an_earlier_run_left_in_its_build() {
    let mut script = scripted_conversation();
    script.extend(scripted_conversation());
    let server = OpenAiServer::start(script);
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY);
    harness.run(&["generate", "--llm", FIXTURE]).expect_code(0);
    let krate = harness
        .generated_dir()
        .join("rust-tiny")
        .join(format!("{FIXTURE}-r1"));
    let build = krate.join("target");
    assert!(build.is_dir(), "the first run built in {}", build.display());
    // What a build script of the first run could have written into its build folder.
    let planted = build.join("debug").join("planted-by-run-1");
    std::fs::write(&planted, "poison").unwrap();
    harness.run(&["generate", "--llm", FIXTURE]).expect_code(0);
    assert!(
        !planted.exists(),
        "the second run's build must not see the first run's leftovers"
    );
}
