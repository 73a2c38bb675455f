//! What each round of a run was charged to, decided exactly as the error table decides it
//! (`counted_outcomes`, `Category::charged_to_llm`): the LLM, a harness limit, the
//! infrastructure, or nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::taxonomy::Category;
use crate::transcript::{Event, Transcript};

use super::super::errors_table::counted_outcomes;

/// The verdict on one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Charge {
    /// The program worked.
    Worked,
    /// One round charged to the LLM, filed under its most relevant charged error (K1), with
    /// how many diagnostics it charged.
    Llm {
        category: Category,
        diagnostics: u32,
    },
    /// The last round of a run that gave up at the cap: counted once, as "gave up" (K2).
    GaveUp { category: Option<Category> },
    /// Only harness limits (`infra-limit`): not the LLM's (C6, L1, L2, L3).
    HarnessLimit,
    /// Only infrastructure errors, or the model call failed: not the LLM's (C1, C2).
    Infrastructure,
}

impl Charge {
    /// The CSS class of the round, and the rules that decide it.
    pub(crate) fn class(&self) -> &'static str {
        match self {
            Charge::Worked => "ok",
            Charge::Llm { .. } => "llm",
            Charge::GaveUp { .. } => "uncounted",
            Charge::HarnessLimit | Charge::Infrastructure => "infra",
        }
    }

    pub(crate) fn rules(&self) -> &'static [&'static str] {
        match self {
            Charge::Worked => &["K1"],
            Charge::Llm { .. } => &["C1", "K1"],
            Charge::GaveUp { .. } => &["K2"],
            Charge::HarnessLimit => &["C6", "L1", "L2", "L3"],
            Charge::Infrastructure => &["C1", "C2"],
        }
    }

    /// A sentence saying whom the round was charged to.
    pub(crate) fn sentence(&self) -> String {
        match self {
            Charge::Worked => "Worked: nothing charged.".to_string(),
            Charge::Llm {
                category,
                diagnostics,
            } => format!(
                "Charged to the LLM: one round of {category} ({diagnostics} diagnostic{}).",
                if *diagnostics == 1 { "" } else { "s" }
            ),
            Charge::GaveUp { category } => format!(
                "Not counted as a round: the run's last round at the cap{}, never fed back; the run counts once, as \"gave up\".",
                category.map_or(String::new(), |c| format!(" ({c})"))
            ),
            Charge::HarnessLimit => {
                "Charged to a harness limit, not to the LLM; nothing fed back.".to_string()
            }
            Charge::Infrastructure => {
                "Charged to the infrastructure, not to the LLM.".to_string()
            }
        }
    }
}

/// The verdict on every iteration that reached an outcome or a failed model call.
pub(crate) fn charges(transcript: &Transcript) -> BTreeMap<u32, Charge> {
    let counted: BTreeSet<u32> = counted_outcomes(transcript)
        .iter()
        .map(|o| o.iteration)
        .collect();
    let mut out = BTreeMap::new();
    for event in &transcript.events {
        match event {
            Event::Outcome(outcome) => {
                let charged: Vec<Category> = outcome
                    .errors
                    .iter()
                    .map(|e| e.category)
                    .filter(|c| c.charged_to_llm())
                    .collect();
                let charge = if outcome.success {
                    Charge::Worked
                } else if !counted.contains(&outcome.iteration) {
                    Charge::GaveUp {
                        category: charged.first().copied(),
                    }
                } else if let Some(&category) = charged.first() {
                    Charge::Llm {
                        category,
                        diagnostics: charged.len() as u32,
                    }
                } else if outcome
                    .errors
                    .iter()
                    .any(|e| e.category == Category::InfraLimit)
                {
                    Charge::HarnessLimit
                } else {
                    Charge::Infrastructure
                };
                out.insert(outcome.iteration, charge);
            }
            Event::ModelError(error) => {
                out.entry(error.iteration).or_insert(Charge::Infrastructure);
            }
            _ => {}
        }
    }
    out
}
