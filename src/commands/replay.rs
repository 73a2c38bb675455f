//! `harness replay`: re-drives recorded runs strictly, or recounts them with `--no-exec`.

use std::path::{Path, PathBuf};

use crate::cli::{GlobalArgs, ReplayArgs};
use crate::llm::retry::RetryPolicy;
use crate::progress::Progress;
use crate::report::{charged_rounds, counted_outcomes};
use crate::runs::{crate_differences, final_files, find_transcripts, FINAL_CRATE_DIR};
use crate::sandbox::Isolation;
use crate::session::ReplayModel;
use crate::session::{
    harness_info, machine_info, run_session, toolchain_info, Budget, SessionConfig, SessionError,
    BUDGET_REASON_PREFIX,
};
use crate::transcript::{read_transcript, EndStatus, OutcomeEvent, Transcript, TRANSCRIPT_FILE};

use super::{isolation, warn_if_unconfined, UserError, EXIT_DRIFT, EXIT_OK};

/// Where replays build, inside the generated folder (never over a real run's crate).
const REPLAY_DIR: &str = ".replay";

pub fn replay(global: &GlobalArgs, args: &ReplayArgs) -> anyhow::Result<u8> {
    let paths = if args.runs.is_empty() {
        vec![global.runs_dir.clone()]
    } else {
        // A run id names a folder of the runs folder, as for `diff` and `--resume`.
        args.runs
            .iter()
            .map(|run| match global.runs_dir.join(run) {
                by_id if !run.exists() && by_id.exists() => by_id,
                _ => run.clone(),
            })
            .collect()
    };
    let files = find_transcripts(&paths).map_err(UserError)?;
    // Read them all first: a malformed file fails before anything runs.
    let mut transcripts = Vec::new();
    for file in &files {
        transcripts.push(read_complete(file)?);
    }
    // Only re-execution runs generated code; a recount needs no sandbox.
    let isolation = if args.no_exec {
        None
    } else {
        Some(isolation(global)?)
    };
    let mut code = EXIT_OK;
    for transcript in &transcripts {
        let verdict = match (kept_crate_differs(transcript)?, &isolation) {
            (Some(report), _) => Err(report),
            // A chat has no API replies to re-drive and no program the harness built: its
            // recorded rounds are all there is, so it is recounted.
            (None, _) if transcript.header.imported.is_some() => recount(transcript).map(|line| {
                let source = transcript
                    .header
                    .imported
                    .as_ref()
                    .map_or("-", |import| import.source_file.as_str());
                format!("{line}; imported from the chat export {source}, so nothing is re-executed")
            }),
            (None, None) => recount(transcript),
            (None, Some(isolation)) => replay_one(global, isolation, transcript)?,
        };
        match verdict {
            Ok(line) => println!("{line}"),
            Err(report) => {
                println!("{report}");
                code = EXIT_DRIFT;
            }
        }
    }
    Ok(code)
}

/// Where the run folder keeps its final crate (`crate/`), it must hold exactly the files the
/// transcript ends with; a report of what differs when it does not.
fn kept_crate_differs(transcript: &Transcript) -> anyhow::Result<Option<String>> {
    let Some(dir) = transcript.path.parent().map(|d| d.join(FINAL_CRATE_DIR)) else {
        return Ok(None);
    };
    if !dir.is_dir() {
        return Ok(None);
    }
    let differences = crate_differences(&dir, &final_files(transcript)?);
    Ok((!differences.is_empty()).then(|| {
        format!(
            "{}: {} does not hold the files the transcript ends with: {}",
            transcript.run_id(),
            dir.display(),
            differences.join("; ")
        )
    }))
}

fn read_complete(path: &Path) -> anyhow::Result<Transcript> {
    let transcript = read_transcript(path)?;
    if let Some(line) = transcript.partial_tail_line {
        return Err(UserError(format!(
            "{}:{line}: the last event is incomplete (the run was interrupted while writing it)",
            path.display()
        ))
        .into());
    }
    if transcript.end().is_none() {
        return Err(UserError(format!(
            "{}: the run has no end event (it was interrupted), so it cannot be replayed",
            path.display()
        ))
        .into());
    }
    Ok(transcript)
}

/// The recorded outcomes, summarised without building or running anything.
fn recount(transcript: &Transcript) -> Result<String, String> {
    let end = transcript.end().expect("checked by read_complete");
    // Counted as the error table counts (docs/methodology.md, K1 and K2).
    let rounds = charged_rounds(transcript);
    let diagnostics: usize = counted_outcomes(transcript)
        .iter()
        .map(|o| {
            o.errors
                .iter()
                .filter(|e| e.category.charged_to_llm())
                .count()
        })
        .sum();
    Ok(format!(
        "{}: {} {:?} after {} iteration(s), {rounds} round(s) and {diagnostics} diagnostic(s) charged to the LLM (recorded outcomes, not re-executed)",
        transcript.run_id(),
        transcript.llm_id(),
        end.status,
        end.iterations
    ))
}

/// Replays one run; `Ok(Err(report))` when it drifted.
fn replay_one(
    global: &GlobalArgs,
    isolation: &Isolation,
    recorded: &Transcript,
) -> anyhow::Result<Result<String, String>> {
    let header = &recorded.header;
    let target = super::target_for(&header.target.id, global, isolation)
        .map_err(|e| e.context(format!("{}: cannot replay", recorded.path.display())))?;
    let mut model = ReplayModel::from_transcript(recorded)?;
    let dir: PathBuf = global.generated_dir.join(REPLAY_DIR).join(&header.run_id);
    // The replay's own transcript is rewritten each time; the replay starts from a pristine
    // build like any run (`Workspace::fresh`, `Target::start_run`).
    match std::fs::remove_file(dir.join(TRANSCRIPT_FILE)) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error.into()),
        _ => {}
    }
    let toolchain = toolchain_info(Path::new("."));
    if toolchain != header.toolchain {
        eprintln!(
            "note: {} was recorded with {} and is replayed with {}; compiler messages may differ",
            header.run_id, header.toolchain.rustc, toolchain.rustc
        );
    }
    let config = SessionConfig {
        run_id: header.run_id.clone(),
        target: target.as_ref(),
        llm: header.llm.clone(),
        repeat: header.repeat,
        max_iterations: header.max_iterations,
        workspace_dir: dir.join("crate"),
        transcript_path: dir.join(TRANSCRIPT_FILE),
        harness: harness_info(),
        toolchain,
        replay_of: Some(header.run_id.clone()),
        sandbox: Some(target.isolation_description()),
        machine: Some(machine_info(target.libtorch_version())),
        server: header.server.clone(),
        // A recorded failure is replayed as it was: once, without waiting.
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
        // A run a budget stopped stops at the same point; no other limit applies.
        budget: recorded
            .end()
            .filter(|end| end.status == EndStatus::Aborted)
            .and_then(|end| {
                let reason = end.reason.clone()?;
                reason
                    .starts_with(BUDGET_REASON_PREFIX)
                    .then(|| Budget::replaying_stop(end.iterations, reason))
            })
            .unwrap_or_else(Budget::unlimited),
        expected_outcomes: Some(recorded.outcomes().cloned().collect()),
    };
    warn_if_unconfined(target.as_ref());
    let progress = Progress::new(&format!("replay {}", header.run_id), header.max_iterations);
    let summary = run_session(&config, &mut model, &|i, p| progress.update(i, p));
    progress.finish();
    let summary = match summary {
        Ok(summary) => summary,
        Err(SessionError::Drift(drift)) => {
            return Ok(Err(format!("{}: {drift}", recorded.run_id())));
        }
        Err(error) => return Err(error.into()),
    };
    let recorded_outcomes: Vec<&OutcomeEvent> = recorded.outcomes().collect();
    let end = recorded.end().expect("checked by read_complete");
    if summary.status != end.status || summary.outcomes.len() != recorded_outcomes.len() {
        return Ok(Err(format!(
            "{}: replay ended {:?} after {} iteration(s), the recording {:?} after {}",
            recorded.run_id(),
            summary.status,
            summary.outcomes.len(),
            end.status,
            recorded_outcomes.len()
        )));
    }
    Ok(Ok(format!(
        "{}: {} replayed identically: {:?} after {} iteration(s)",
        recorded.run_id(),
        recorded.llm_id(),
        summary.status,
        summary.iterations
    )))
}
