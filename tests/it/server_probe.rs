//! What the harness asks a local server before a run (`GET /v1/models`, llama.cpp's
//! `GET /props`): the context size is recorded in the transcript header, and an entry whose
//! `max_tokens` is at least that context is warned about before the run starts.

use harness::llm::probe::ServerInfo;
use harness::transcript::read_transcript;
use serde_json::{json, Value};

use crate::e2e::{registry, FIXTURE, KEY};
use crate::support::harness::{Finished, Harness};
use crate::support::openai_server::{OpenAiServer, Scripted};

/// The start of the warning, whatever the numbers.
const WARNING: &str = "may write up to";

/// One run of the fixture entry (`max_tokens: 4096`) against a server whose `/props` answers
/// `props` (none: 404, as a server other than llama.cpp does). The reply is cut at the token
/// limit, which ends the one iteration without a build.
fn run_against(props: Option<Value>) -> (Finished, Option<ServerInfo>, String) {
    let server = OpenAiServer::start(vec![
        Scripted::reply("```rust\nfn main() {").finish_reason("length")
    ]);
    if let Some(props) = &props {
        server.serve_props(props);
    }
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY);
    let out = harness
        .run(&["generate", "--llm", FIXTURE, "--max-iterations", "1"])
        .expect_code(3);
    assert_eq!(server.requests().len(), 1, "the run went ahead");
    let transcript = read_transcript(&harness.only_run().join("transcript.yaml"))
        .expect("a readable transcript");
    (out, transcript.header.server, server.base_url())
}

/// llama.cpp's `/props`, trimmed to what the probe reads and a little more.
fn llama_cpp_props(n_ctx: u64) -> Value {
    json!({
        "default_generation_settings": {"n_ctx": n_ctx, "temperature": 0.8},
        "total_slots": 1,
        "model_path": "/srv/models/fixture-coder-q4_k_m.gguf",
        "chat_template": "{{ messages }}",
        "build_info": "b5000-fixture"
    })
}

#[test]
fn max_tokens_at_least_the_servers_context_is_warned_about_and_the_context_recorded() {
    let (out, server, base_url) = run_against(Some(llama_cpp_props(4096)));
    let expected = format!(
        "warning: `{FIXTURE}` may write up to 4096 tokens, but the server at {base_url} has a context of 4096 tokens in all"
    );
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    assert!(
        out.stderr.contains("lower the entry's max_tokens"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.matches(WARNING).count(), 1, "{}", out.stderr);
    assert!(!out.stdout.contains(WARNING), "warnings stay off stdout");
    assert_eq!(
        server,
        Some(ServerInfo {
            models: vec!["fixture-model".to_owned()],
            context_tokens: Some(4096),
            // The file's name, never the folder of the machine it was made on.
            model_path: Some("fixture-coder-q4_k_m.gguf".to_owned()),
            build: Some("b5000-fixture".to_owned()),
        })
    );
}

#[test]
fn max_tokens_below_the_servers_context_or_no_props_gives_no_warning() {
    let (out, server, _) = run_against(Some(llama_cpp_props(4097)));
    assert!(!out.stderr.contains(WARNING), "{}", out.stderr);
    assert_eq!(server.and_then(|s| s.context_tokens), Some(4097));

    // A server without `/props` (vLLM, Ollama) says no context here: nothing to warn about.
    let (out, server, _) = run_against(None);
    assert!(!out.stderr.contains(WARNING), "{}", out.stderr);
    let server = server.expect("the models are recorded all the same");
    assert_eq!(server.models, ["fixture-model"]);
    assert_eq!(server.context_tokens, None);
}
