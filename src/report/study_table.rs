//! The study's error table rebuilt from imported chats: per LLM and language, the errors pasted
//! before the code first ran, by class and by exception type, beside the count the study
//! published, with the difference and, per exception type, the rule that explains it.
//!
//! The published counts are the 2024 cohort's, from the study's error figure and its error
//! tracking sheet (ankilab/LLM_based_Segmentation, Apache License 2.0; see
//! `../shared/reference/study/errors_paper.csv` in this project's shared data). The study
//! published no counts for its TensorFlow side test.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::taxonomy::Category;
use crate::transcript::{Event, Transcript};

/// The editor warning's exception type (see `diagnostics::python`).
const IDE: &str = "IDE:UnresolvedReference";

/// One LLM's published row: our registry id, the study's name, its count and the exception
/// types its sheet lists, in its order.
struct Published {
    llm: &'static str,
    study_name: &'static str,
    count: u32,
    types: &'static [&'static str],
}

/// The 2024 cohort's PyTorch counts, as published.
const PUBLISHED_PYTORCH_2024: [Published; 8] = [
    Published {
        llm: "gpt-4o",
        study_name: "GPT-4o",
        count: 4,
        types: &["NameError", "RuntimeError", "RuntimeError", "ValueError"],
    },
    Published {
        llm: "gpt-4",
        study_name: "GPT-4",
        count: 3,
        types: &["NameError", "NameError", "NameError"],
    },
    Published {
        llm: "o1-preview",
        study_name: "GPT o1 Preview",
        count: 0,
        types: &[],
    },
    Published {
        llm: "claude-3.5-sonnet",
        study_name: "Claude 3.5 Sonnet",
        count: 0,
        types: &[],
    },
    Published {
        llm: "llama-3.1-405b",
        study_name: "Llama 3.1 405B",
        count: 11,
        types: &[
            "ValueError",
            "TypeError",
            "RuntimeError",
            "RuntimeError",
            "ValueError",
            "NameError",
            "ValueError",
            IDE,
            IDE,
            "RuntimeError",
            "ValueError",
        ],
    },
    Published {
        llm: "bing-copilot",
        study_name: "Bing Microsoft Copilot",
        count: 6,
        types: &["NameError", IDE, IDE, IDE, "RuntimeError", "AttributeError"],
    },
    Published {
        llm: "github-copilot",
        study_name: "GitHub Copilot",
        count: 4,
        types: &["NameError", "NameError", "TypeError", "RuntimeError"],
    },
    Published {
        llm: "gemini-1.5-pro",
        study_name: "Gemini 1.5 Pro",
        count: 15,
        types: &[
            "NameError",
            "RuntimeError",
            "RuntimeError",
            "RuntimeError",
            IDE,
            "RuntimeError",
            "RuntimeError",
            "ValueError",
            "RuntimeError",
            "ValueError",
            "AttributeError",
            "TypeError",
            "TypeError",
            "AttributeError",
            "RuntimeError",
        ],
    },
];

/// One pasted error as the table counts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastedError {
    pub run_id: String,
    pub iteration: u32,
    pub exception: String,
    pub category: Category,
    pub message: String,
    /// The export's lines that hold the paste.
    pub lines: [usize; 2],
    pub stage: String,
    pub repeat_of: Option<u32>,
    /// Pasted after the code first ran (rule I4): listed, not counted.
    pub after_first_run: bool,
}

/// One row: an LLM's imported chats in one language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyRow {
    pub llm: String,
    pub language: String,
    pub runs: Vec<String>,
    pub rounds: u32,
    /// Errors pasted before the code first ran, every paste (I2).
    pub pasted: u32,
    /// The same, repeats left out (I3).
    pub distinct: u32,
    pub after_first_run: u32,
    pub by_category: BTreeMap<Category, u32>,
    pub by_exception: BTreeMap<String, u32>,
    /// The study's published count, where it published one.
    pub published: Option<u32>,
    pub study_name: Option<String>,
    /// `pasted - published`.
    pub difference: Option<i64>,
    /// One line per exception type whose count differs, with the rule that explains it.
    pub reasons: Vec<String>,
    /// Turns the importer was unsure of, over the row's runs.
    pub unsure_turns: u32,
    pub errors: Vec<PastedError>,
}

/// The imported chats' table; empty when no run was imported.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct StudyTable {
    pub rows: Vec<StudyRow>,
}

/// Builds the table from the imported runs among `transcripts` (others are left out).
pub fn aggregate_study(transcripts: &[Transcript]) -> StudyTable {
    let mut rows: BTreeMap<(String, String), StudyRow> = BTreeMap::new();
    for transcript in transcripts {
        let Some(import) = transcript.header.imported.as_deref() else {
            continue;
        };
        let llm = transcript.header.llm.id.clone();
        let row = rows
            .entry((llm.clone(), import.language.clone()))
            .or_insert_with(|| {
                let published = published(&llm, &import.language);
                StudyRow {
                    llm: llm.clone(),
                    language: import.language.clone(),
                    runs: Vec::new(),
                    rounds: 0,
                    pasted: 0,
                    distinct: 0,
                    after_first_run: 0,
                    by_category: BTreeMap::new(),
                    by_exception: BTreeMap::new(),
                    published: published.map(|p| p.count),
                    study_name: published.map(|p| p.study_name.to_owned()),
                    difference: None,
                    reasons: Vec::new(),
                    unsure_turns: 0,
                    errors: Vec::new(),
                }
            });
        row.runs.push(transcript.run_id().to_owned());
        row.unsure_turns += import.unsure.len() as u32;
        let ended_at = transcript.end().map_or(u32::MAX, |end| end.iterations);
        for event in &transcript.events {
            match event {
                Event::Reply(_) => row.rounds += 1,
                Event::Outcome(outcome) => {
                    let Some(error) = outcome.errors.first() else {
                        continue;
                    };
                    let placed = import
                        .errors
                        .iter()
                        .find(|e| e.iteration == outcome.iteration);
                    let pasted = PastedError {
                        run_id: transcript.run_id().to_owned(),
                        iteration: outcome.iteration,
                        exception: error.code.clone().unwrap_or_else(|| "?".to_owned()),
                        category: error.category,
                        message: error.message.clone(),
                        lines: placed.map_or([0, 0], |p| p.lines),
                        stage: placed.map_or_else(|| "unknown".to_owned(), |p| p.stage.clone()),
                        repeat_of: placed.and_then(|p| p.repeat_of),
                        after_first_run: outcome.iteration > ended_at,
                    };
                    if pasted.after_first_run {
                        row.after_first_run += 1;
                    } else {
                        row.pasted += 1;
                        if pasted.repeat_of.is_none() {
                            row.distinct += 1;
                        }
                        *row.by_category.entry(pasted.category).or_default() += 1;
                        *row.by_exception
                            .entry(pasted.exception.clone())
                            .or_default() += 1;
                    }
                    row.errors.push(pasted);
                }
                _ => {}
            }
        }
    }
    let mut rows: Vec<StudyRow> = rows.into_values().collect();
    for row in &mut rows {
        if let Some(published) = published(&row.llm, &row.language) {
            row.difference = Some(i64::from(row.pasted) - i64::from(published.count));
            row.reasons = reasons(&row.errors, published.types);
        }
    }
    StudyTable { rows }
}

/// The study's published row for an LLM's chats in `language`, where it published one.
fn published(llm: &str, language: &str) -> Option<&'static Published> {
    (language == "pytorch")
        .then(|| PUBLISHED_PYTORCH_2024.iter().find(|p| p.llm == llm))
        .flatten()
}

/// Per exception type whose count differs from the study's, why (rules I3, I5, I6).
fn reasons(errors: &[PastedError], study_types: &[&str]) -> Vec<String> {
    let counted: Vec<&PastedError> = errors.iter().filter(|e| !e.after_first_run).collect();
    let mut types: Vec<&str> = counted
        .iter()
        .map(|e| e.exception.as_str())
        .chain(study_types.iter().copied())
        .collect();
    types.sort_unstable();
    types.dedup();
    let mut out = Vec::new();
    for kind in types {
        let ours: Vec<&&PastedError> = counted.iter().filter(|e| e.exception == kind).collect();
        let theirs = study_types.iter().filter(|t| **t == kind).count() as i64;
        let difference = ours.len() as i64 - theirs;
        if difference > 0 {
            let repeats = ours.iter().filter(|e| e.repeat_of.is_some()).count() as i64;
            let late = ours
                .iter()
                .filter(|e| e.repeat_of.is_none())
                .filter(|e| e.stage == "after-training" || e.stage == "during-training")
                .count() as i64;
            let mut left = difference;
            let mut parts = Vec::new();
            let from_repeats = left.min(repeats);
            if from_repeats > 0 {
                parts.push(format!(
                    "{from_repeats} of the chat's {repeats} repeated paste(s) of it, which the study counted in part or not at all (I3)"
                ));
                left -= from_repeats;
            }
            let from_late = left.min(late);
            if from_late > 0 {
                parts.push(format!(
                    "{from_late} raised once training had begun, which the study did not count (I5)"
                ));
                left -= from_late;
            }
            if left > 0 {
                parts.push(format!("{left} not explained"));
            }
            out.push(format!("{kind} +{difference}: {}", parts.join("; ")));
        } else if difference < 0 {
            let missing = -difference;
            if kind == IDE {
                out.push(format!(
                    "{kind} -{missing}: the study lists {missing} editor warning(s) that were never pasted into the chat (I6)"
                ));
            } else {
                out.push(format!(
                    "{kind} -{missing}: not explained (the study lists {theirs}, the chat shows {})",
                    ours.len()
                ));
            }
        }
    }
    out
}

fn counts<K: std::fmt::Display>(map: &BTreeMap<K, u32>) -> String {
    if map.is_empty() {
        return "-".to_owned();
    }
    map.iter()
        .map(|(key, n)| format!("{key} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table as Markdown, with each row's reasons and errors listed under it.
pub fn render_study_markdown(table: &StudyTable) -> String {
    let mut out = String::new();
    out.push_str("Imported chats: errors pasted before the code first ran, beside the study's published count (rules I1-I6 in docs/methodology.md).\n\n");
    out.push_str("| LLM | language | runs | rounds | pasted before the code ran | distinct | after it ran | by class | by exception type | study | difference |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|\n");
    for row in &table.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.llm,
            row.language,
            row.runs.len(),
            row.rounds,
            row.pasted,
            row.distinct,
            row.after_first_run,
            counts(&row.by_category),
            counts(&row.by_exception),
            row.published
                .map_or_else(|| "none published".to_owned(), |n| n.to_string()),
            row.difference.map_or_else(
                || "-".to_owned(),
                |d| if d > 0 {
                    format!("+{d}")
                } else {
                    d.to_string()
                }
            ),
        );
    }
    let with_reasons: Vec<&StudyRow> = table
        .rows
        .iter()
        .filter(|row| row.difference.is_some_and(|d| d != 0) || !row.reasons.is_empty())
        .collect();
    if !with_reasons.is_empty() {
        out.push_str("\nWhere the counts differ, by exception type:\n\n");
        for row in with_reasons {
            let _ = writeln!(
                out,
                "- {} ({}; the study's {}): {}",
                row.llm,
                row.language,
                row.study_name.as_deref().unwrap_or("-"),
                if row.reasons.is_empty() {
                    "the totals differ, every exception type agrees".to_owned()
                } else {
                    row.reasons.join("; ")
                }
            );
        }
    }
    let unsure: u32 = table.rows.iter().map(|row| row.unsure_turns).sum();
    if unsure > 0 {
        let _ = writeln!(
            out,
            "\n{unsure} turn(s) were recovered by their content or position, not by a marker; each run's header lists them (`imported.unsure`)."
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(kind: &str, stage: &str, repeat_of: Option<u32>) -> PastedError {
        PastedError {
            run_id: "r".into(),
            iteration: 1,
            exception: kind.into(),
            category: Category::PanicOther,
            message: String::new(),
            lines: [1, 1],
            stage: stage.into(),
            repeat_of,
            after_first_run: false,
        }
    }

    #[test]
    fn each_difference_is_explained_by_a_rule_or_said_to_be_unexplained() {
        let ours = [
            error("RuntimeError", "before-training", None),
            error("RuntimeError", "before-training", Some(1)),
            error("RuntimeError", "before-training", Some(1)),
            error("AttributeError", "after-training", None),
            error(IDE, "editor", None),
        ];
        let study = ["RuntimeError", IDE, IDE, "NameError"];
        assert_eq!(
            reasons(&ours, &study),
            [
                "AttributeError +1: 1 raised once training had begun, which the study did not count (I5)",
                "IDE:UnresolvedReference -1: the study lists 1 editor warning(s) that were never pasted into the chat (I6)",
                "NameError -1: not explained (the study lists 1, the chat shows 0)",
                "RuntimeError +2: 2 of the chat's 2 repeated paste(s) of it, which the study counted in part or not at all (I3)",
            ]
        );
        assert!(reasons(&ours[..1], &["RuntimeError"]).is_empty());
    }
}
