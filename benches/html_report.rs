//! The HTML report at the size the issue names: 100 runs of 20 rounds each, synthetic (fixture
//! LLM ids `fixture-bench-*`, never committed). Prints how long reading, rendering and writing
//! take, the pages' sizes, and, where Chromium and chromedriver are installed, how long the
//! browser takes to load the front page and the largest run page.
//!
//! Run with `cargo bench --bench html_report` (add `--profile dev` to skip a release build; the
//! generation time is then a debug build's, an upper bound).

#[path = "../tests/it/support/webdriver.rs"]
#[allow(dead_code)]
mod webdriver;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::hashing::sha256_hex;
use harness::llm::{ChatMessage, FinishReason, Usage};
use harness::report::html::render_html_report;
use harness::taxonomy::{Category, ErrorRecord};
use harness::transcript::{
    read_transcript, BuildEvent, EndEvent, EndStatus, Event, FileEntry, FilesEvent, OutcomeEvent,
    ReplyEvent, RequestEvent, RunEvent, TRANSCRIPT_FILE,
};
use serde_json::json;

const LLMS: usize = 5;
const REPEATS: usize = 20;
const ROUNDS: u32 = 20;

/// A source file of about `lines` lines whose line `changed` differs from round to round.
fn source(name: &str, lines: usize, round: u32) -> String {
    let mut text = format!("//! {name}: synthetic source for the report benchmark.\n\n");
    for line in 0..lines {
        if line == lines / 2 {
            text.push_str(&format!(
                "    let round = {round}; // changed in every round\n"
            ));
        } else {
            text.push_str(&format!(
                "    let value_{line} = compute({line}, &inputs[{line} % inputs.len()]);\n"
            ));
        }
    }
    text
}

fn error(category: Category, round: u32, n: u32) -> ErrorRecord {
    ErrorRecord {
        category,
        code: Some(format!("E0{}", 300 + n)),
        message: format!("mismatched types in round {round}, error {n}"),
        file: Some("src/main.rs".into()),
        line: Some(40 + n),
        rendered: Some(format!(
            "error[E0{}]: mismatched types\n  --> src/main.rs:{}:9\n   |\n{}   = note: expected `u32`, found `usize` <in round {round}>\n",
            300 + n,
            40 + n,
            "   |     let value: u32 = items.len();\n".repeat(8)
        )),
    }
}

/// One synthetic run's events after its header: 20 rounds, the last succeeding or not.
fn rounds(succeeds: bool, prompt: &str) -> Vec<Event> {
    let mut events = Vec::new();
    for round in 1..=ROUNDS {
        let last = round == ROUNDS;
        let message = if round == 1 {
            prompt.to_string()
        } else {
            format!(
                "The build failed with these errors; fix them and reply with every file.\n\n{}",
                error(Category::TypeMismatch, round - 1, 1)
                    .rendered
                    .unwrap()
            )
        };
        events.push(Event::Request(RequestEvent {
            iteration: round,
            model: "fixture-model".into(),
            params: Default::default(),
            history_len: (2 * round - 2) as usize,
            new_messages: vec![ChatMessage::user(message)],
        }));
        let files = [
            (
                "Cargo.toml".to_string(),
                "[package]\nname = \"stats\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"
                    .to_string(),
            ),
            ("src/stats.rs".to_string(), source("stats", 60, round)),
            ("src/main.rs".to_string(), source("main", 90, round)),
        ];
        let text: String = files
            .iter()
            .map(|(path, content)| format!("```{path}\n{content}```\n\n"))
            .collect();
        events.push(Event::Reply(ReplyEvent {
            iteration: round,
            text: format!("Here is the corrected crate.\n\n{text}"),
            finish_reason: FinishReason::Stop,
            usage: Some(Usage {
                input_tokens: 2_000 + 1_500 * u64::from(round),
                output_tokens: 2_400,
                ..Default::default()
            }),
            latency_ms: 8_000,
            model: Some("fixture-model".into()),
            refusal: None,
            system_fingerprint: None,
            cost_usd: None,
            attempts: 1,
            identical_to: None,
        }));
        events.push(Event::Files(FilesEvent {
            iteration: round,
            written: files
                .iter()
                .map(|(path, content)| FileEntry {
                    path: path.clone(),
                    sha256: sha256_hex(content.as_bytes()),
                    content: Some(content.clone()),
                    span: None,
                })
                .collect(),
            kept: Vec::new(),
            notes: Vec::new(),
            inferred: Vec::new(),
        }));
        let works = last && succeeds;
        let build_fails = round % 2 == 1 && !works;
        let errors: Vec<ErrorRecord> = if build_fails {
            (1..=3)
                .map(|n| error(Category::TypeMismatch, round, n))
                .collect()
        } else {
            Vec::new()
        };
        events.push(Event::Build(BuildEvent {
            iteration: round,
            success: !build_fails,
            errors: errors.clone(),
            warnings: 2,
            binary_sha256: None,
            duration_ms: 4_000,
        }));
        let mut outcome_errors = errors;
        if !build_fails {
            let run_errors = if works {
                Vec::new()
            } else {
                vec![ErrorRecord::new(
                    Category::PanicOther,
                    format!("thread 'main' panicked at src/main.rs:12:5: index out of bounds (round {round})"),
                )]
            };
            events.push(Event::Run(RunEvent {
                iteration: round,
                exit_code: Some(if works { 0 } else { 101 }),
                signal: None,
                timed_out: false,
                errors: run_errors.clone(),
                duration_ms: 300,
                stdout: Some("epoch 1 loss 0.41\n".repeat(20)),
                stderr: Some(format!("round {round}: thread 'main' panicked\n")),
            }));
            outcome_errors = run_errors;
        }
        events.push(Event::Outcome(OutcomeEvent {
            iteration: round,
            success: works,
            errors: outcome_errors,
        }));
    }
    events.push(Event::End(EndEvent {
        status: if succeeds {
            EndStatus::Succeeded
        } else {
            EndStatus::GaveUp
        },
        iterations: ROUNDS,
        reason: None,
        finished_at: "2026-12-04T10:00:00Z".into(),
        wall_ms: 400_000,
    }));
    events
}

/// Writes the synthetic runs (one YAML document per event, as the writer lays them out,
/// without its fsync per event) under `dir`.
fn generate(dir: &Path) -> usize {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runs/fixture-scripted-stats")
        .join(TRANSCRIPT_FILE);
    let original = read_transcript(&fixture).expect("the fixture transcript");
    let prompt = original
        .events
        .iter()
        .find_map(|e| match e {
            Event::Request(r) => Some(r.new_messages[0].content.clone()),
            _ => None,
        })
        .expect("a first prompt");
    let mut bytes = 0;
    for llm in 0..LLMS {
        for repeat in 1..=REPEATS {
            let mut header = original.header.clone();
            header.llm.id = format!("fixture-bench-{}", (b'a' + llm as u8) as char);
            header.run_id = format!("{}-r{repeat}-20261204T100000Z", header.llm.id);
            header.repeat = repeat as u32;
            header.max_iterations = ROUNDS;
            let mut events = vec![Event::Header(Box::new(header.clone()))];
            events.extend(rounds((repeat + llm) % 3 == 0, &prompt));
            let mut text = String::new();
            for event in &events {
                text.push_str("---\n");
                text.push_str(&serde_norway::to_string(event).expect("an event as YAML"));
                text.push_str("...\n");
            }
            let run = dir.join(&header.run_id);
            std::fs::create_dir_all(&run).expect("a run folder");
            std::fs::write(run.join(TRANSCRIPT_FILE), &text).expect("a transcript");
            bytes += text.len();
        }
    }
    bytes
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The browser's load of `page`, three times: the median wall time of the navigation
/// (WebDriver returns after the load event) and of the page's own `loadEventEnd`.
fn browser_load(browser: &webdriver::Browser, page: &Path) -> (f64, f64) {
    let mut walls = Vec::new();
    let mut loads = Vec::new();
    for _ in 0..3 {
        // Leave the page first, so that each load is a whole new navigation.
        browser
            .open(&std::env::temp_dir().join("nonexistent-harness-bench.html"))
            .ok();
        let start = Instant::now();
        browser.open(page).expect("the page opens");
        walls.push(start.elapsed().as_secs_f64() * 1000.0);
        let load = browser
            .script(
                "const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd;",
                json!([]),
            )
            .expect("the navigation timing");
        loads.push(load.as_f64().unwrap_or(f64::NAN));
    }
    (median(walls), median(loads))
}

fn main() {
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let runs = scratch.path().join("harness-runs");
    let start = Instant::now();
    let bytes = generate(&runs);
    println!(
        "generated {} runs x {ROUNDS} rounds: {:.1} MB of transcripts in {:.2} s",
        LLMS * REPEATS,
        bytes as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&runs)
        .expect("the runs")
        .map(|e| e.expect("an entry").path().join(TRANSCRIPT_FILE))
        .collect();
    files.sort();
    let transcripts: Vec<_> = files
        .iter()
        .map(|f| read_transcript(f).expect("a transcript"))
        .collect();
    let read = start.elapsed();
    let start = Instant::now();
    let pages = render_html_report(&transcripts, &[]);
    let render = start.elapsed();
    // The statistics' bootstrap (10,000 resamples per sample) is part of rendering; timed apart.
    let start = Instant::now();
    let _ =
        harness::report::aggregate_stats(&transcripts, harness::stats::BootstrapConfig::default());
    let stats = start.elapsed();
    let out = scratch.path().join("report");
    let start = Instant::now();
    for page in &pages {
        let path = out.join(&page.path);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("the folder");
        std::fs::write(&path, &page.text).expect("the page");
    }
    let write = start.elapsed();
    let total: usize = pages.iter().map(|p| p.text.len()).sum();
    let largest = pages
        .iter()
        .filter(|p| p.path.starts_with("runs/"))
        .max_by_key(|p| p.text.len())
        .expect("a run page");
    let index = pages
        .iter()
        .find(|p| p.path == "index.html")
        .expect("an index");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "report: read {:.0} ms, rendered {:.0} ms (the statistics alone {:.0} ms), written {:.0} ms; {} pages, {:.1} MB; index.html {:.0} KB; largest run page {:.0} KB",
        ms(read),
        ms(render),
        ms(stats),
        ms(write),
        pages.len(),
        total as f64 / 1e6,
        index.text.len() as f64 / 1e3,
        largest.text.len() as f64 / 1e3
    );

    match webdriver::Browser::start() {
        Ok(Some(browser)) => {
            for (name, page) in [
                ("index.html", out.join("index.html")),
                (largest.path.as_str(), out.join(&largest.path)),
            ] {
                let (wall, load) = browser_load(&browser, &page);
                println!(
                    "browser: {name}: loaded in {wall:.0} ms (navigation until the load event, median of 3); loadEventEnd {load:.0} ms"
                );
            }
        }
        Ok(None) => println!("browser: SKIPPED, no chromium and chromedriver on PATH"),
        Err(error) => println!("browser: could not start: {error}"),
    }
}
