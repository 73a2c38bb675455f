//! One run's page: its provenance, then every round as it happened (the request, the reply,
//! the files it changed as a diff, the build and the run with their diagnostics, the outcome
//! and whom it was charged to), then the trainings.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::hashing::sha256_hex;
use crate::llm::Role;
use crate::taxonomy::ErrorRecord;
use crate::textdiff;
use crate::transcript::{EndStatus, Event, TrainingEvent, Transcript};

use super::super::errors_table::charged_rounds;
use super::super::render::row_label;
use super::charge::{charges, Charge};
use super::escape::escape;
use super::provenance::Provenance;
use super::rules::{rule_link, rule_links};

/// The way back to the report's folder from a run page.
const ROOT: &str = "../";

/// Text longer than this is collapsed under a summary line.
const FOLD_CHARS: usize = 2_000;

fn pre(text: &str) -> String {
    format!("<pre>{}</pre>", escape(text))
}

/// Text in a `<details>`, open when short.
fn fold(summary: &str, text: &str, open: bool) -> String {
    format!(
        "<details{}><summary>{} ({} characters)</summary>{}</details>\n",
        if open { " open" } else { "" },
        escape(summary),
        text.chars().count(),
        pre(text)
    )
}

/// A unified diff with its lines marked as added, removed or hunk headers.
fn diff_html(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() * 2);
    out.push_str("<pre class=\"diff\">");
    for line in diff.split_inclusive('\n') {
        let class = if line.starts_with("+++") || line.starts_with("---") {
            None
        } else if line.starts_with('+') {
            Some("ins")
        } else if line.starts_with('-') {
            Some("del")
        } else if line.starts_with("@@") {
            Some("hunk")
        } else {
            None
        };
        let body = escape(line.trim_end_matches('\n'));
        match class {
            Some(class) => {
                let _ = writeln!(out, "<span class=\"{class}\">{body}</span>");
            }
            None => {
                out.push_str(&body);
                out.push('\n');
            }
        }
    }
    out.push_str("</pre>\n");
    out
}

/// Diagnostics as a list: category, whom it is charged to, code, place and message, the full
/// text folded.
fn errors_html(errors: &[ErrorRecord]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul>\n");
    for error in errors {
        let whom = if error.category.charged_to_llm() {
            "LLM"
        } else if error.category == crate::taxonomy::Category::InfraLimit {
            "harness limit"
        } else {
            "infrastructure"
        };
        let place = match (&error.file, error.line) {
            (Some(file), Some(line)) => format!(" at {file}:{line}"),
            (Some(file), None) => format!(" in {file}"),
            _ => String::new(),
        };
        let _ = write!(
            out,
            "<li><code>{}</code> ({whom}){}{}: {}",
            escape(error.category.name()),
            error
                .code
                .as_ref()
                .map_or(String::new(), |c| format!(" {}", escape(c))),
            escape(&place),
            escape(&error.message)
        );
        if let Some(rendered) = &error.rendered {
            out.push_str(&fold("full text", rendered, rendered.len() <= FOLD_CHARS));
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
    out
}

fn role(role: &Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The run's provenance and how it ended.
fn summary(transcript: &Transcript, charged: u32) -> String {
    let h = &transcript.header;
    let mut rows: Vec<(&str, String)> = vec![
        (
            "LLM",
            row_label(&h.llm.id, h.llm.is_fixture(), h.llm.is_reference()),
        ),
        ("model", h.llm.model.clone()),
        ("target", h.target.id.clone()),
        ("repeat", h.repeat.to_string()),
        ("iteration cap", h.max_iterations.to_string()),
        ("started", h.started_at.clone()),
        ("transcript", transcript.path.display().to_string()),
        (
            "harness",
            format!(
                "{}{}{}",
                h.harness.version,
                h.harness
                    .git_commit
                    .as_ref()
                    .map_or(String::new(), |c| format!(" ({c})")),
                if h.harness.git_dirty { ", dirty" } else { "" }
            ),
        ),
        ("format version", h.format_version.to_string()),
        (
            "sandbox",
            h.sandbox.clone().unwrap_or_else(|| "not recorded".into()),
        ),
    ];
    if let Some(of) = &h.replay_of {
        rows.push(("replay of", of.clone()));
    }
    if let Some(machine) = &h.machine {
        let mut parts = Vec::new();
        if let Some(cpu) = &machine.cpu {
            parts.push(cpu.clone());
        }
        if let Some(cores) = machine.cores {
            parts.push(format!("{cores} logical cores"));
        }
        if let Some(bytes) = machine.memory_bytes {
            parts.push(format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64));
        }
        parts.extend(machine.gpus.iter().cloned());
        rows.push(("machine", parts.join(", ")));
    }
    let ended = match transcript.end() {
        Some(end) => format!(
            "{} after {} iteration(s){} in {:.1} s",
            match end.status {
                EndStatus::Succeeded => "succeeded",
                EndStatus::GaveUp => "gave up",
                EndStatus::Aborted => "aborted",
            },
            end.iterations,
            end.reason
                .as_ref()
                .map_or(String::new(), |r| format!(" ({r})")),
            end.wall_ms as f64 / 1000.0
        ),
        None => "not finished: no end event (interrupted)".to_string(),
    };
    let mut out = String::from("<table class=\"summary\">\n");
    for (name, value) in rows {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(&value)
        );
    }
    let _ = writeln!(
        out,
        "<tr><th>ended {}</th><td>{}</td></tr>",
        rule_links(ROOT, &["K2", "K3"]),
        escape(&ended)
    );
    let _ = writeln!(
        out,
        "<tr><th>rounds charged to the LLM {}</th><td id=\"charged-rounds\">{charged}</td></tr>",
        rule_links(ROOT, &["K1", "K2"])
    );
    out.push_str("</table>\n");
    out
}

fn capitalised_status(status: EndStatus) -> &'static str {
    match status {
        EndStatus::Succeeded => "Succeeded",
        EndStatus::GaveUp => "Gave up at the iteration cap",
        EndStatus::Aborted => "Aborted (not the LLM's doing)",
    }
}

/// One training's results.
fn training_html(training: &TrainingEvent) -> String {
    let mut out = format!(
        "<section class=\"training\"><h3>Training on {} {}</h3>\n<p>{} training pairs, {} held out (split seed {}); {} s training{}{}.</p>\n",
        escape(&training.dataset.name),
        rule_links(ROOT, &["K6", "K7", "K8"]),
        training.dataset.train_pairs,
        training.dataset.test_pairs,
        training.dataset.split_seed,
        training.train_ms as f64 / 1000.0,
        if training.gpu { " on a GPU" } else { "" },
        training
            .epochs
            .map_or(String::new(), |e| format!(", {e} epochs"))
    );
    match &training.dice {
        Some(dice) => {
            let _ = writeln!(
                out,
                "<p>Dice by the harness over {} test images: mean {:.3}, median {:.3}, min {:.3}, max {:.3}.</p>",
                dice.count, dice.mean, dice.median, dice.min, dice.max
            );
        }
        None => out.push_str("<p>No scored predictions.</p>\n"),
    }
    if let Some(own) = training.reported_test_dice {
        let _ = writeln!(
            out,
            "<p>The program's own Dice: {own:.3}{}.</p>",
            if training.dice_disagrees {
                " (disagrees with the harness's by more than 0.05)"
            } else {
                ""
            }
        );
    }
    if let Some(baseline) = training.threshold_baseline {
        let _ = writeln!(out, "<p>Threshold baseline: {baseline:.3}.</p>");
    }
    out.push_str(&errors_html(&training.errors));
    out.push_str("</section>\n");
    out
}

/// The page of run `index`, with links to the runs before and after it.
pub(crate) fn run_page(provenance: &Provenance, index: usize) -> String {
    let run = &provenance.runs[index];
    let transcript = run.transcript;
    let charges = charges(transcript);
    let charged = charged_rounds(transcript);
    let mut nav = String::new();
    if index > 0 {
        let _ = write!(
            nav,
            "<a href=\"{ROOT}{}\" rel=\"prev\">← previous run</a>",
            escape(&provenance.runs[index - 1].page)
        );
    }
    if index + 1 < provenance.runs.len() {
        let _ = write!(
            nav,
            "<a href=\"{ROOT}{}\" rel=\"next\">next run →</a>",
            escape(&provenance.runs[index + 1].page)
        );
    }
    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"meta\">Row <strong>{}</strong> of the tables.</p>\n",
        escape(transcript.run_id()),
        escape(&run.row)
    );
    body.push_str(&summary(transcript, charged));
    if let Some(line) = transcript.partial_tail_line {
        let _ = writeln!(
            body,
            "<p>An incomplete last event (line {line}) was ignored.</p>"
        );
    }

    let mut rounds: BTreeMap<u32, Vec<&Event>> = BTreeMap::new();
    let mut after = Vec::new();
    for event in &transcript.events {
        let iteration = match event {
            Event::Request(e) => Some(e.iteration),
            Event::Reply(e) => Some(e.iteration),
            Event::Attempt(e) => Some(e.iteration),
            Event::ModelError(e) => Some(e.iteration),
            Event::Files(e) => Some(e.iteration),
            Event::Build(e) => Some(e.iteration),
            Event::Run(e) => Some(e.iteration),
            Event::Outcome(e) => Some(e.iteration),
            Event::Resume(e) => {
                rounds.entry(e.iteration).or_default().push(event);
                continue;
            }
            _ => None,
        };
        match iteration {
            Some(i) => rounds.entry(i).or_default().push(event),
            None => after.push(event),
        }
    }
    let mut before_files = BTreeMap::new();
    // Written files may be spans of the reply before them (transcript format 5).
    let mut last_reply: Option<&str> = None;
    for (&iteration, events) in &rounds {
        let charge = charges.get(&iteration);
        let _ = writeln!(
            body,
            "<section class=\"round {}\" id=\"round-{iteration}\">\n<h2>Round {iteration}</h2>",
            charge.map_or("", Charge::class)
        );
        for event in events {
            if let Event::Reply(reply) = event {
                last_reply = Some(reply.text.as_str());
            }
            body.push_str(&event_html(event, iteration, last_reply, &mut before_files));
        }
        if let Some(charge) = charge {
            let _ = writeln!(
                body,
                "<p class=\"verdict\">{} {}</p>",
                escape(&charge.sentence()),
                rule_links(ROOT, charge.rules())
            );
        }
        body.push_str("</section>\n");
    }
    for event in after {
        match event {
            Event::End(end) => {
                let _ = writeln!(
                    body,
                    "<h2>End</h2>\n<p>{} after {} iteration(s){}.</p>",
                    capitalised_status(end.status),
                    end.iterations,
                    end.reason
                        .as_ref()
                        .map_or(String::new(), |r| format!(": {}", escape(r)))
                );
            }
            Event::Training(training) => body.push_str(&training_html(training)),
            _ => {}
        }
    }
    super::layout::page(transcript.run_id(), ROOT, &nav, &body)
}

/// One event of a round.
fn event_html(
    event: &Event,
    iteration: u32,
    reply: Option<&str>,
    before_files: &mut BTreeMap<String, String>,
) -> String {
    let mut out = String::new();
    match event {
        Event::Request(request) => {
            let _ = writeln!(
                out,
                "<h3>Request</h3>\n<p class=\"meta\">model {}, {} earlier message(s)</p>",
                escape(&request.model),
                request.history_len
            );
            for message in &request.new_messages {
                // The first prompt is long and the same in every run: folded.
                let open = iteration > 1 && message.content.len() <= FOLD_CHARS;
                out.push_str(&fold(
                    &format!("{} message", role(&message.role)),
                    &message.content,
                    open,
                ));
            }
        }
        Event::Attempt(attempt) => {
            let _ = writeln!(
                out,
                "<p class=\"meta\">Attempt {} failed{} ({:?}): {}; retried, not charged {}.</p>",
                attempt.attempt,
                attempt
                    .status
                    .map_or(String::new(), |s| format!(" with HTTP {s}")),
                attempt.fault,
                escape(&attempt.message),
                rule_link(ROOT, "C2")
            );
        }
        Event::ModelError(error) => {
            let _ = writeln!(
                out,
                "<h3>Model error</h3>\n<p>The model call failed after {} attempt(s){}: {}</p>",
                error.attempts,
                error
                    .status
                    .map_or(String::new(), |s| format!(" (HTTP {s})")),
                escape(&error.message)
            );
        }
        Event::Reply(reply) => {
            let mut meta = format!("finish {:?}, {} ms", reply.finish_reason, reply.latency_ms);
            if let Some(usage) = reply.usage {
                let _ = write!(
                    meta,
                    ", {} input and {} output tokens",
                    usage.input_tokens, usage.output_tokens
                );
            }
            if let Some(model) = &reply.model {
                let _ = write!(meta, ", served by {model}");
            }
            if let Some(earlier) = reply.identical_to {
                let _ = write!(meta, "; the same bytes as round {earlier}'s reply");
            }
            let _ = writeln!(
                out,
                "<h3>Reply</h3>\n<p class=\"meta\">{}{}</p>",
                escape(&meta),
                if reply.identical_to.is_some() {
                    format!(" {}", rule_link(ROOT, "K4"))
                } else {
                    String::new()
                }
            );
            if let Some(refusal) = &reply.refusal {
                let _ = writeln!(out, "<p>Refusal: {}</p>", escape(refusal));
            }
            out.push_str(&fold("reply", &reply.text, true));
        }
        Event::Files(files) => {
            out.push_str("<h3>Files changed</h3>\n");
            // The crate after this round: the one before, with the files the reply wrote (kept
            // files are already there). Built incrementally, so a long run is not rebuilt from
            // its start for every round.
            let mut now = before_files.clone();
            for entry in &files.written {
                match entry.content_in(reply) {
                    Some(content) if sha256_hex(content.as_bytes()) == entry.sha256 => {
                        now.insert(entry.path.clone(), content.to_string());
                    }
                    _ => {
                        let _ = writeln!(
                            out,
                            "<p>The recorded content of {} does not match its hash; it is not shown.</p>",
                            escape(&entry.path)
                        );
                    }
                }
            }
            let mut changed = 0;
            for (path, new) in &now {
                let old = before_files.get(path).map(String::as_str).unwrap_or("");
                let diff = textdiff::unified(old, path, new, path);
                if !diff.is_empty() {
                    changed += 1;
                    out.push_str(&diff_html(&diff));
                }
            }
            let _ = writeln!(
                out,
                "<p class=\"meta\">{changed} file(s) changed, {} unchanged.</p>",
                now.len() - changed
            );
            *before_files = now;
            if !files.inferred.is_empty() {
                let _ = writeln!(
                    out,
                    "<p>Paths inferred by the harness (the reply named none): {} {}</p>",
                    escape(&files.inferred.join(", ")),
                    rule_link(ROOT, "C5")
                );
            }
            for note in &files.notes {
                let _ = writeln!(out, "<p class=\"meta\">Note: {}</p>", escape(note));
            }
        }
        Event::Build(build) => {
            let _ = writeln!(
                out,
                "<h3>Build</h3>\n<p class=\"meta\">{} in {:.1} s, {} warning(s)</p>",
                if build.success { "built" } else { "failed" },
                build.duration_ms as f64 / 1000.0,
                build.warnings
            );
            out.push_str(&errors_html(&build.errors));
        }
        Event::Run(run) => {
            let status = match (run.exit_code, run.signal, run.timed_out) {
                (_, _, true) => "timed out".to_string(),
                (_, Some(signal), _) => format!("killed by signal {signal}"),
                (Some(code), _, _) => format!("exit code {code}"),
                _ => "no exit status".to_string(),
            };
            let _ = writeln!(
                out,
                "<h3>Smoke run</h3>\n<p class=\"meta\">{} after {:.1} s</p>",
                escape(&status),
                run.duration_ms as f64 / 1000.0
            );
            out.push_str(&errors_html(&run.errors));
            for (name, stream) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
                if let Some(text) = stream.as_ref().filter(|t| !t.is_empty()) {
                    out.push_str(&fold(&format!("program {name}"), text, false));
                }
            }
        }
        Event::Outcome(outcome) => {
            let _ = writeln!(
                out,
                "<h3>Outcome</h3>\n<p>{}</p>",
                if outcome.success {
                    "The program built, ran and produced sane outputs."
                } else {
                    "Errors fed back, most relevant first:"
                }
            );
            out.push_str(&errors_html(&outcome.errors));
        }
        Event::Resume(resume) => {
            let _ = writeln!(
                out,
                "<p class=\"meta\">The run was interrupted here and resumed at {}{}.</p>",
                escape(&resume.resumed_at),
                if resume.reused_reply {
                    ", with the recorded reply used again"
                } else {
                    ""
                }
            );
        }
        _ => {}
    }
    out
}
