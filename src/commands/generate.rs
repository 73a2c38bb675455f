//! `harness generate`: one LLM, live API, one recorded run.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::cli::{GenerateArgs, GlobalArgs};
use crate::config::{LlmSpec, Provider, Registry};
use crate::llm::{ChatModel, OpenAiModel, ReferenceModel};
use crate::progress::Progress;
use crate::runs::{new_run_id, resolve_run, workspace_name};
use crate::session::{
    harness_info, now_rfc3339, resume_session, run_session, toolchain_info, SessionConfig,
    SessionError, SessionSummary,
};
use crate::transcript::{read_transcript, EndStatus, TRANSCRIPT_FILE};

use super::{isolation, warn_if_unconfined, UserError, EXIT_OK, EXIT_RUN_FAILED};

pub fn generate(global: &GlobalArgs, args: &GenerateArgs) -> anyhow::Result<u8> {
    if let Some(run) = &args.resume {
        return resume(global, run, args);
    }
    // Everything that can be wrong with the input is checked before any work starts.
    let registry = Registry::load(global.registry.as_deref())?;
    let id = args.llm.as_deref().unwrap_or_default();
    let mut spec = registry.get(id)?.clone();
    if let Some(model) = &args.model {
        spec.model = model.clone();
    }
    if let Some(base_url) = &args.base_url {
        spec.base_url = Some(base_url.clone());
    }
    let mut model = client_for(&spec, args.request_timeout)?;
    let isolation = isolation(global)?;
    let target = super::target_for(&args.target, global, &isolation)?;

    let runs_dir = &global.runs_dir;
    let run_id = new_run_id(runs_dir, &spec.id, args.repeat, &now_rfc3339());
    let config = SessionConfig {
        transcript_path: runs_dir.join(&run_id).join(TRANSCRIPT_FILE),
        run_id,
        target: target.as_ref(),
        llm: spec.clone(),
        repeat: args.repeat,
        max_iterations: args.max_iterations,
        workspace_dir: global
            .generated_dir
            .join(workspace_name(&spec.id, args.repeat)),
        harness: harness_info(),
        toolchain: toolchain_info(Path::new(".")),
        replay_of: None,
        sandbox: Some(target.isolation_description()),
        retry: args.retry.policy(),
        expected_outcomes: None,
    };
    warn_if_unconfined(target.as_ref());
    let progress = Progress::new(&spec.id, args.max_iterations);
    let summary = run_session(&config, model.as_mut(), &|i, p| progress.update(i, p));
    progress.finish();
    finish(summary, target.id())
}

/// `generate --resume RUN`: the LLM, target and cap come from the transcript.
fn resume(global: &GlobalArgs, run: &Path, args: &GenerateArgs) -> anyhow::Result<u8> {
    let path = resolve_run(&global.runs_dir, run).map_err(UserError)?;
    let transcript = read_transcript(&path)?;
    if let Some(line) = transcript.partial_tail_line {
        eprintln!(
            "note: {}:{line}: the last event was cut short by the interruption; it is ignored and its bytes are kept in {}.partial",
            path.display(),
            path.display()
        );
    }
    if let Some(end) = transcript.end() {
        return Err(UserError(format!(
            "{}: the run already ended ({:?}); there is nothing to resume",
            path.display(),
            end.status
        ))
        .into());
    }
    let header = &transcript.header;
    let isolation = isolation(global)?;
    let target = super::target_for(&header.target.id, global, &isolation)?;
    if target.templates().hashes() != header.target.templates {
        return Err(UserError(format!(
            "{}: the prompt templates of `{}` changed since this run started; resuming would send different text, so start a new run instead",
            path.display(),
            header.target.id
        ))
        .into());
    }
    let mut model = client_for(&header.llm, args.request_timeout)?;
    let config = SessionConfig {
        run_id: header.run_id.clone(),
        target: target.as_ref(),
        llm: header.llm.clone(),
        repeat: header.repeat,
        max_iterations: header.max_iterations,
        workspace_dir: global
            .generated_dir
            .join(workspace_name(&header.llm.id, header.repeat)),
        transcript_path: path.clone(),
        harness: harness_info(),
        toolchain: toolchain_info(Path::new(".")),
        replay_of: None,
        sandbox: Some(target.isolation_description()),
        retry: args.retry.policy(),
        expected_outcomes: None,
    };
    warn_if_unconfined(target.as_ref());
    let progress = Progress::new(&header.llm.id, header.max_iterations);
    let summary = resume_session(&config, &transcript, model.as_mut(), &|i, p| {
        progress.update(i, p)
    });
    progress.finish();
    let summary = match summary {
        Err(error @ SessionError::AlreadyFinished { .. }) => {
            return Err(UserError(error.to_string()).into())
        }
        other => other,
    };
    finish(summary, target.id())
}

/// The API client for an entry; fails, naming the variable, when its key is missing.
fn client_for(spec: &LlmSpec, request_timeout: u64) -> anyhow::Result<Box<dyn ChatModel>> {
    if spec.provider == Provider::Reference {
        return Ok(Box::new(ReferenceModel));
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
    let model = OpenAiModel::new(spec.base_url(), key, Duration::from_secs(request_timeout))
        .context("could not set up the API client")?;
    Ok(Box::new(model))
}

fn finish(summary: Result<SessionSummary, SessionError>, target: &str) -> anyhow::Result<u8> {
    let summary = summary.context("the run could not be recorded")?;
    print_summary(&summary, target);
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
