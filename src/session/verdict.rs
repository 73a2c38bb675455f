//! An iteration's verdict: its errors, most relevant first, and, in replay, how it differs from
//! the recorded one.

use crate::llm::ReplayDrift;
use crate::prompt::relevance_order;
use crate::taxonomy::ErrorRecord;
use crate::transcript::OutcomeEvent;

/// The outcome of `iteration` with these errors (none: it worked), most relevant first.
pub(crate) fn verdict(iteration: u32, mut errors: Vec<ErrorRecord>) -> OutcomeEvent {
    relevance_order(&mut errors);
    OutcomeEvent {
        iteration,
        success: errors.is_empty(),
        errors,
    }
}

/// The difference between the recorded verdict of an iteration and the replayed one.
pub(crate) fn outcome_drift(expected: &[OutcomeEvent], now: &OutcomeEvent) -> Option<ReplayDrift> {
    let recorded = expected.iter().find(|o| o.iteration == now.iteration);
    if recorded == Some(now) {
        return None;
    }
    let show = |o: Option<&OutcomeEvent>| {
        o.map_or(
            "(no outcome recorded for this iteration)\n".to_string(),
            |o| serde_norway::to_string(o).unwrap_or_default(),
        )
    };
    Some(ReplayDrift {
        iteration: now.iteration,
        what: "the outcome (build, run and checks)".to_string(),
        diff: crate::textdiff::unified(&show(recorded), "recorded", &show(Some(now)), "replay"),
    })
}
