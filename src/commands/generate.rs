//! `harness generate`: one LLM, live API, one recorded run.

use std::time::Duration;

use anyhow::Context;

use crate::cli::{GenerateArgs, GlobalArgs};
use crate::config::{Provider, Registry};
use crate::llm::OpenAiModel;
use crate::progress::Progress;
use crate::runs::{new_run_id, workspace_name};
use crate::session::{
    harness_info, now_rfc3339, run_session, toolchain_info, SessionConfig, SessionSummary,
};
use crate::transcript::{EndStatus, TRANSCRIPT_FILE};

use super::{UserError, EXIT_OK, EXIT_RUN_FAILED};

pub fn generate(global: &GlobalArgs, args: &GenerateArgs) -> anyhow::Result<u8> {
    // Everything that can be wrong with the input is checked before any work starts.
    let registry = Registry::load(global.registry.as_deref())?;
    let mut spec = registry.get(&args.llm)?.clone();
    if let Some(model) = &args.model {
        spec.model = model.clone();
    }
    if let Some(base_url) = &args.base_url {
        spec.base_url = Some(base_url.clone());
    }
    if spec.provider != Provider::Openai {
        return Err(UserError(format!(
            "`{}` uses the {} API, whose native client is not in this version yet; \
             the provider's OpenAI-compatible endpoint works through a registry entry with \
             `provider: openai` and its `base_url`",
            spec.id, spec.provider
        ))
        .into());
    }
    let key = spec.api_key(|var| std::env::var(var).ok())?;
    let target = crate::target::by_id(&args.target).map_err(UserError)?;

    let runs_dir = &global.runs_dir;
    let run_id = new_run_id(runs_dir, &spec.id, args.repeat, &now_rfc3339());
    let transcript_path = runs_dir.join(&run_id).join(TRANSCRIPT_FILE);
    let workspace_dir = global
        .generated_dir
        .join(workspace_name(&spec.id, args.repeat));
    let mut model = OpenAiModel::new(
        spec.base_url(),
        key,
        Duration::from_secs(args.request_timeout),
    )
    .context("could not set up the API client")?;

    let config = SessionConfig {
        run_id,
        target: target.as_ref(),
        llm: spec.clone(),
        repeat: args.repeat,
        max_iterations: args.max_iterations,
        workspace_dir,
        transcript_path,
        harness: harness_info(),
        toolchain: toolchain_info(std::path::Path::new(".")),
        replay_of: None,
        expected_outcomes: None,
    };
    let progress = Progress::new(&spec.id, args.max_iterations);
    let summary = run_session(&config, &mut model, &|i, p| progress.update(i, p));
    progress.finish();
    let summary = summary.context("the run could not be recorded")?;
    print_summary(&summary, target.id());
    Ok(if summary.status == EndStatus::Succeeded {
        EXIT_OK
    } else {
        EXIT_RUN_FAILED
    })
}

/// The run's summary on stdout.
pub(crate) fn print_summary(summary: &SessionSummary, target: &str) {
    let status = match summary.status {
        EndStatus::Succeeded => format!("succeeded after {} iteration(s)", summary.iterations),
        EndStatus::GaveUp => format!("gave up after {} iteration(s)", summary.iterations),
        EndStatus::Aborted => format!("aborted at iteration {}", summary.iterations),
    };
    println!(
        "run {}: {} on {target}: {status}",
        summary.run_id, summary.llm_id
    );
    for outcome in &summary.outcomes {
        if outcome.success {
            println!("  iteration {}: ok", outcome.iteration);
        } else {
            let mut names: Vec<&str> = outcome.errors.iter().map(|e| e.category.name()).collect();
            names.dedup();
            println!(
                "  iteration {}: {} ({} diagnostic(s))",
                outcome.iteration,
                names.join(", "),
                outcome.errors.len()
            );
        }
    }
    if let Some(reason) = &summary.reason {
        println!("  reason: {reason}");
    }
    println!("  transcript: {}", summary.transcript.display());
    println!("  crate: {}", summary.workspace.display());
}
