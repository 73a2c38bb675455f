//! `harness generate`: LLMs through the loop against their live APIs, each run recorded.
//!
//! One LLM or many (`--llm a,b`, `--all`, `--cohort`), each `--repeats` times, optionally only
//! one `--shard` of that plan. Everything that can be wrong with the input (an unknown LLM, a
//! missing key, a local server that does not answer) is found before any run starts. Runs go
//! `--jobs` at a time; requests to one provider pass through its gate (`llm::gate`), and builds
//! queue for the shared build cache on their own.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

use crate::cli::{BudgetArgs, GenerateArgs, GlobalArgs};
use crate::config::{LlmSpec, OpenAiApi, Provider, Registry};
use crate::interrupt;
use crate::llm::gate::{Gate, GatedModel};
use crate::llm::probe::{is_loopback, probe, ServerInfo};
use crate::llm::{
    AnthropicModel, ChatModel, GeminiModel, OpenAiModel, OpenAiResponsesModel, ReferenceModel,
};
use crate::progress::{Progress, ProgressGroup};
use crate::runs::{
    final_files, new_run_id, resolve_run, workspace_name, write_crate, FINAL_CRATE_DIR,
};
use crate::session::{
    harness_info, machine_info, now_rfc3339, resume_session, run_session, toolchain_info, Budget,
    InvocationBudget, Limits, SessionConfig, SessionError, SessionSummary,
};
use crate::target::Target;
use crate::transcript::{read_transcript, EndStatus, TRANSCRIPT_FILE};

use super::{isolation, warn_if_unconfined, UserError, EXIT_ABORTED, EXIT_OK, EXIT_RUN_FAILED};

/// How long a local server has to answer the probe before a run.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// One run to do: an LLM entry (overrides applied, seed offset) and its repeat number.
#[derive(Debug, Clone)]
struct Job {
    spec: LlmSpec,
    repeat: u32,
}

impl Job {
    fn label(&self) -> String {
        format!("{} r{}", self.spec.id, self.repeat)
    }
}

pub fn generate(global: &GlobalArgs, args: &GenerateArgs) -> anyhow::Result<u8> {
    interrupt::install();
    interrupt::set_message(interrupt::resume_message(&[]));
    if let Some(run) = &args.resume {
        return resume(global, run, args);
    }
    // Everything that can be wrong with the input is checked before any work starts.
    let registry = Registry::load(global.registry.as_deref())?;
    let specs = select(&registry, args)?;
    let jobs = plan(&specs, args);
    if jobs.is_empty() {
        let (i, n) = args.shard.unwrap_or((1, 1));
        println!(
            "shard {i}/{n} holds none of the {} run(s); nothing to do",
            specs.len() as u32 * args.repeats
        );
        return Ok(EXIT_OK);
    }
    for spec in &specs {
        check_client(spec)?;
        check_priced(spec, &args.budget)?;
    }
    let invocation_budget = InvocationBudget::new(Limits {
        cost_usd: args.budget.max_cost,
        tokens: args.budget.max_tokens,
    });
    let servers = probe_local_servers(&specs)?;
    let isolation = isolation(global)?;
    let target = super::target_for(&args.target, global, &isolation)?;
    warn_if_unconfined(target.as_ref());

    let gates: BTreeMap<String, Arc<Gate>> = specs
        .iter()
        .map(|spec| spec.base_url().to_owned())
        .map(|url| (url.clone(), Gate::new(url, args.per_provider as usize)))
        .collect();
    let group = ProgressGroup::stderr();
    let running = Mutex::new(Vec::<String>::new());
    let queue = Mutex::new(jobs.iter().cloned().enumerate().collect::<VecDeque<_>>());
    let results = Mutex::new(BTreeMap::new());
    let workers = (args.jobs as usize).min(jobs.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some((index, job)) =
                    queue.lock().ok().and_then(|mut queue| queue.pop_front())
                {
                    let context = RunContext {
                        global,
                        args,
                        target: target.as_ref(),
                        server: servers.get(job.spec.base_url()).cloned(),
                        gate: gates[job.spec.base_url()].clone(),
                        budget: Budget {
                            run: run_limits(&args.budget),
                            invocation: Some(invocation_budget.clone()),
                            recorded_stop: None,
                        },
                        group: &group,
                        running: &running,
                    };
                    let result = run_job(&context, &job);
                    if let Ok(summary) = &result {
                        group.println(&format!(
                            "{}: {} ({})",
                            job.label(),
                            describe(summary),
                            summary.transcript.display()
                        ));
                        // Why, and what to fix, for whoever reads only stderr (stdout piped
                        // into a file): a refused key says which variable to check.
                        if let (EndStatus::Aborted, Some(reason)) =
                            (summary.status, &summary.reason)
                        {
                            group.println(&format!("  reason: {reason}"));
                        }
                    }
                    if let Ok(mut results) = results.lock() {
                        results.insert(index, result);
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();
    let mut summaries = Vec::new();
    let mut failures = Vec::new();
    for (_, result) in results {
        match result {
            Ok(summary) => summaries.push(summary),
            Err(error) => failures.push(error),
        }
    }
    for summary in &summaries {
        print_summary(summary, target.id());
    }
    if let Some(error) = failures.into_iter().next() {
        return Err(error.context("a run could not be recorded"));
    }
    Ok(exit_code(&summaries))
}

/// The registry entries asked for, with `--model`, `--base-url` and `--weights-sha256` applied.
fn select(registry: &Registry, args: &GenerateArgs) -> anyhow::Result<Vec<LlmSpec>> {
    let specs: Vec<LlmSpec> = if args.all {
        registry
            .entries()
            .iter()
            .filter(|spec| matches!(spec.cohort.as_deref(), Some("2024" | "2025")))
            .filter(|spec| !spec.is_fixture() && !spec.is_reference())
            .cloned()
            .collect()
    } else if let Some(cohort) = &args.cohort {
        let specs: Vec<LlmSpec> = registry
            .entries()
            .iter()
            .filter(|spec| spec.cohort.as_deref() == Some(cohort.as_str()))
            .cloned()
            .collect();
        if specs.is_empty() {
            let mut cohorts: Vec<&str> = registry
                .entries()
                .iter()
                .filter_map(|spec| spec.cohort.as_deref())
                .collect();
            cohorts.sort_unstable();
            cohorts.dedup();
            return Err(UserError(format!(
                "no LLM in the registry has cohort `{cohort}`; the cohorts are {}",
                cohorts.join(", ")
            ))
            .into());
        }
        specs
    } else {
        let mut ids = args.llm.clone();
        ids.dedup();
        ids.iter()
            .map(|id| registry.get(id.trim()).cloned())
            .collect::<Result<_, _>>()?
    };
    // A chat-only entry named on its own is a mistake to explain; in a cohort it is skipped, and
    // said so, since its runs come from `import-chat`.
    if !args.all && args.cohort.is_none() {
        if let Some(spec) = specs.iter().find(|spec| spec.is_chat_only()) {
            return Err(UserError(chat_only(spec)).into());
        }
    }
    let (chat, api): (Vec<LlmSpec>, Vec<LlmSpec>) =
        specs.into_iter().partition(|spec| spec.is_chat_only());
    if !chat.is_empty() {
        let ids: Vec<&str> = chat.iter().map(|spec| spec.id.as_str()).collect();
        eprintln!(
            "skipped {} (chat window only, no API: `harness import-chat` reads their exports)",
            ids.join(", ")
        );
    }
    let mut specs = api;
    if specs.len() > 1 && (args.model.is_some() || args.base_url.is_some()) {
        return Err(UserError(
            "--model and --base-url apply to one LLM; for several, give each its own registry entry"
                .to_owned(),
        )
        .into());
    }
    for spec in &mut specs {
        if let Some(model) = &args.model {
            spec.model = model.clone();
        }
        if let Some(base_url) = &args.base_url {
            spec.base_url = Some(base_url.clone());
        }
        if let Some(hash) = &args.weights_sha256 {
            spec.weights_sha256 = Some(hash.trim().to_ascii_lowercase());
        }
    }
    Ok(specs)
}

/// Every (LLM, repeat) in a fixed order, then this shard's share of them: the same command on
/// every machine splits the same way.
fn plan(specs: &[LlmSpec], args: &GenerateArgs) -> Vec<Job> {
    let mut jobs = Vec::new();
    for spec in specs {
        for repeat in args.repeat..args.repeat + args.repeats {
            let mut spec = spec.clone();
            // Repeats must sample differently: a registry seed is offset by the repeat.
            if let Some(seed) = spec.params.seed.as_mut() {
                *seed += i64::from(repeat) - 1;
            }
            jobs.push(Job { spec, repeat });
        }
    }
    let (i, n) = args.shard.unwrap_or((1, 1));
    jobs.into_iter()
        .enumerate()
        .filter(|(index, _)| (*index as u32) % n == i - 1)
        .map(|(_, job)| job)
        .collect()
}

/// Fails, naming the variable, when a key is missing or the provider has no client here.
fn check_client(spec: &LlmSpec) -> anyhow::Result<()> {
    client_for(spec, "", 1).map(drop)
}

/// A cost limit needs a price: refused before any work where neither the registry nor the
/// provider can say what a reply cost.
fn check_priced(spec: &LlmSpec, budget: &BudgetArgs) -> anyhow::Result<()> {
    let wants_cost = budget.max_cost.is_some() || budget.max_run_cost.is_some();
    if wants_cost && spec.price.is_none() && !reports_cost(spec) {
        return Err(UserError(format!(
            "`{}` has no price in the registry, so --max-cost/--max-run-cost cannot be kept; add `price: {{input_per_mtok: .., output_per_mtok: ..}}` to its entry, or limit tokens with --max-tokens/--max-run-tokens",
            spec.id
        ))
        .into());
    }
    Ok(())
}

/// Servers that report each reply's cost themselves (OpenRouter's `usage.cost`).
fn reports_cost(spec: &LlmSpec) -> bool {
    spec.provider == Provider::Openai && spec.base_url().contains("openrouter")
}

/// The per-run limits asked for on the command line.
fn run_limits(budget: &BudgetArgs) -> Limits {
    Limits {
        cost_usd: budget.max_run_cost,
        tokens: budget.max_run_tokens,
    }
}

/// Each distinct loopback server of these entries, asked what it serves. One that does not
/// answer stops everything before any run folder exists.
fn probe_local_servers(specs: &[LlmSpec]) -> anyhow::Result<BTreeMap<String, ServerInfo>> {
    let mut servers = BTreeMap::new();
    for spec in specs {
        let url = spec.base_url();
        if spec.provider != Provider::Openai || !is_loopback(url) || servers.contains_key(url) {
            continue;
        }
        let info = probe(url, PROBE_TIMEOUT).map_err(|error| {
            UserError(format!(
                "`{}`: nothing usable answers at {url} ({}); start the server, or point the entry (or --base-url) at it",
                spec.id,
                crate::error_chain::error_chain(&error)
            ))
        })?;
        if let (Some(context), Some(max_tokens)) = (info.context_tokens, spec.params.max_tokens) {
            if u64::from(max_tokens) >= context {
                eprintln!(
                    "warning: `{}` may write up to {max_tokens} tokens, but the server at {url} has a context of {context} tokens in all (prompt included): long replies will be cut or refused; start the server with a larger context or lower the entry's max_tokens",
                    spec.id
                );
            }
        }
        servers.insert(url.to_owned(), info);
    }
    Ok(servers)
}

/// What one run needs besides its job.
struct RunContext<'a> {
    global: &'a GlobalArgs,
    args: &'a GenerateArgs,
    target: &'a dyn Target,
    server: Option<ServerInfo>,
    gate: Arc<Gate>,
    budget: Budget,
    group: &'a ProgressGroup,
    running: &'a Mutex<Vec<String>>,
}

fn run_job(context: &RunContext, job: &Job) -> anyhow::Result<SessionSummary> {
    let RunContext { global, args, .. } = *context;
    let inner = client_for(&job.spec, context.target.id(), args.request_timeout)?;
    let mut model = GatedModel::new(inner, context.gate.clone());
    let runs_dir = &global.runs_dir;
    let run_id = new_run_id(runs_dir, &job.spec.id, job.repeat, &now_rfc3339());
    let config = SessionConfig {
        transcript_path: runs_dir.join(&run_id).join(TRANSCRIPT_FILE),
        run_id,
        target: context.target,
        llm: job.spec.clone(),
        repeat: job.repeat,
        max_iterations: args.max_iterations,
        workspace_dir: global.generated_dir.join(workspace_name(
            context.target.id(),
            &job.spec.id,
            job.repeat,
        )),
        harness: harness_info(),
        toolchain: toolchain_info(Path::new(".")),
        replay_of: None,
        sandbox: Some(context.target.isolation_description()),
        machine: Some(machine_info(context.target.libtorch_version())),
        server: context.server.clone(),
        retry: args.retry.policy(),
        budget: context.budget.clone(),
        expected_outcomes: None,
    };
    let run_dir = runs_dir.join(&config.run_id).display().to_string();
    track(context.running, &run_dir, true);
    let progress = context.group.run(&job.label(), args.max_iterations);
    let summary = run_session(&config, &mut model, &|i, p| progress.update(i, p));
    progress.finish();
    track(context.running, &run_dir, false);
    let summary = summary.context("the run could not be recorded")?;
    keep_final_crate(&summary);
    Ok(summary)
}

/// Writes the run's final files into its folder's `crate/`, beside the transcript, so a run
/// folder holds what the LLM wrote without replaying it. A failure here loses nothing (the
/// transcript holds every file) and is only reported.
fn keep_final_crate(summary: &SessionSummary) {
    let Some(dir) = summary.transcript.parent() else {
        return;
    };
    let written = read_transcript(&summary.transcript)
        .map_err(anyhow::Error::from)
        .and_then(|transcript| Ok(final_files(&transcript)?))
        .and_then(|files| Ok(write_crate(&dir.join(FINAL_CRATE_DIR), &files)?));
    if let Err(error) = written {
        eprintln!(
            "warning: {}: the final crate could not be written beside the transcript ({}); `harness checkout {}` writes it from the transcript",
            summary.run_id,
            crate::error_chain::error_chain(error.as_ref()),
            dir.display()
        );
    }
}

/// Keeps the Ctrl-C message in step with the runs under way.
fn track(running: &Mutex<Vec<String>>, run: &str, started: bool) {
    if let Ok(mut running) = running.lock() {
        if started {
            running.push(run.to_owned());
        } else {
            running.retain(|r| r != run);
        }
        interrupt::set_message(interrupt::resume_message(&running));
    }
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
        if end.status != EndStatus::Aborted || transcript.header.replay_of.is_some() {
            return Err(UserError(format!(
                "{}: the run already ended ({:?}); there is nothing to resume (only a run aborted by the API or the machine can be resumed)",
                path.display(),
                end.status
            ))
            .into());
        }
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
    let mut model = client_for(&header.llm, &header.target.id, args.request_timeout)?;
    let config = SessionConfig {
        run_id: header.run_id.clone(),
        target: target.as_ref(),
        llm: header.llm.clone(),
        repeat: header.repeat,
        max_iterations: header.max_iterations,
        workspace_dir: global.generated_dir.join(workspace_name(
            &header.target.id,
            &header.llm.id,
            header.repeat,
        )),
        transcript_path: path.clone(),
        harness: harness_info(),
        toolchain: toolchain_info(Path::new(".")),
        replay_of: None,
        sandbox: Some(target.isolation_description()),
        machine: Some(machine_info(target.libtorch_version())),
        server: header.server.clone(),
        retry: args.retry.policy(),
        budget: Budget {
            run: run_limits(&args.budget),
            invocation: Some(InvocationBudget::new(Limits {
                cost_usd: args.budget.max_cost,
                tokens: args.budget.max_tokens,
            })),
            recorded_stop: None,
        },
        expected_outcomes: None,
    };
    warn_if_unconfined(target.as_ref());
    let run_dir = path.parent().map_or_else(
        || path.display().to_string(),
        |dir| dir.display().to_string(),
    );
    interrupt::set_message(interrupt::resume_message(&[run_dir]));
    let progress = Progress::new(&header.llm.id, header.max_iterations);
    let summary = resume_session(&config, &transcript, model.as_mut(), &|i, p| {
        progress.update(i, p)
    });
    progress.finish();
    let summary = match summary {
        Err(error @ SessionError::AlreadyFinished { .. }) => {
            return Err(UserError(error.to_string()).into())
        }
        other => other.context("the run could not be recorded")?,
    };
    keep_final_crate(&summary);
    print_summary(&summary, target.id());
    Ok(exit_code(std::slice::from_ref(&summary)))
}

/// The API client for an entry; fails, naming the variable, when its key is missing.
fn client_for(
    spec: &LlmSpec,
    target: &str,
    request_timeout: u64,
) -> anyhow::Result<Box<dyn ChatModel + Send>> {
    if spec.provider == Provider::Reference {
        return Ok(Box::new(ReferenceModel::for_target(target)));
    }
    let key = spec.api_key(|var| std::env::var(var).ok())?;
    let timeout = Duration::from_secs(request_timeout);
    let url = spec.base_url();
    let model: Box<dyn ChatModel + Send> = match (spec.provider, spec.api) {
        (Provider::Openai, Some(OpenAiApi::Responses)) => {
            Box::new(OpenAiResponsesModel::new(url, key, timeout)?)
        }
        (Provider::Openai, _) => Box::new(OpenAiModel::new(url, key, timeout)?),
        (Provider::Anthropic, _) => Box::new(AnthropicModel::new(url, key, timeout)?),
        (Provider::Gemini, _) => Box::new(GeminiModel::new(url, key, timeout)?),
        (Provider::Reference, _) => Box::new(ReferenceModel::for_target(target)),
        (Provider::Chat, _) => return Err(UserError(chat_only(spec)).into()),
    };
    Ok(model)
}

/// Why a chat-only entry cannot be generated, and what to do instead.
fn chat_only(spec: &LlmSpec) -> String {
    format!(
        "`{}` has no API ({}): record its chats in the chat window and import them with `harness import-chat FILE --llm {}`",
        spec.id, spec.model, spec.id
    )
}

/// 0 when every run worked; 5 when any was aborted (not the LLM's doing, resumable); else 3.
fn exit_code(summaries: &[SessionSummary]) -> u8 {
    if summaries.iter().any(|s| s.status == EndStatus::Aborted) {
        EXIT_ABORTED
    } else if summaries.iter().all(|s| s.status == EndStatus::Succeeded) {
        EXIT_OK
    } else {
        EXIT_RUN_FAILED
    }
}

fn describe(summary: &SessionSummary) -> String {
    match summary.status {
        EndStatus::Succeeded => format!("succeeded after {} iteration(s)", summary.iterations),
        EndStatus::GaveUp => format!("gave up after {} iteration(s)", summary.iterations),
        EndStatus::Aborted => format!(
            "aborted at iteration {} (not charged to the LLM; `harness generate --resume {}` goes on)",
            summary.iterations,
            summary
                .transcript
                .parent()
                .unwrap_or(&summary.transcript)
                .display()
        ),
    }
}

/// The run's summary on stdout.
pub(crate) fn print_summary(summary: &SessionSummary, target: &str) {
    println!(
        "run {}: {} on {target}: {}",
        summary.run_id,
        summary.llm_id,
        describe(summary)
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
