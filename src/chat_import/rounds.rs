//! A chat's turns as rounds (a request, the reply, and what the user answered it with) and the
//! counting rules for imported chats (`docs/methodology.md`, I1 to I6):
//!
//! - I1: one round per reply; its request is every user turn since the previous reply.
//! - I2: a user turn counts one error at most: its last exception (a traceback's last line),
//!   else an editor's "Unresolved reference" warning; a turn with neither (an instruction,
//!   console output without an exception) counts none.
//! - I3: a paste with the same exception type and message as an earlier one is a repeat: it is
//!   counted as a paste, and not as a distinct error.
//! - I4: the code first ran at the first user turn that shows a run ending without an
//!   exception (`Process finished with exit code 0`); errors after it are recorded and not
//!   counted as "before the code first ran". A chat that never shows such a run counts them all.
//! - I5: where the paste shows it, an error is placed in the run: before training, during
//!   training (epochs or progress bars before it) or after training finished (a total training
//!   time or a finished test loop before it). This explains differences; it counts nothing.
//! - I6: IDE warnings that were never pasted cannot be counted: they are not in the chat.

use std::sync::LazyLock;

use regex::Regex;

use super::code::{code_blocks, CodeBlock};
use super::turns::{Speaker, Turn};
use crate::diagnostics::python::classify_pasted;
use crate::taxonomy::ErrorRecord;

/// Where in a run an error came (rule I5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// An editor's warning: no run at all.
    Editor,
    BeforeTraining,
    DuringTraining,
    AfterTraining,
}

impl Stage {
    /// The name the transcript records (`header.imported.errors[].stage`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Editor => "editor",
            Stage::BeforeTraining => "before-training",
            Stage::DuringTraining => "during-training",
            Stage::AfterTraining => "after-training",
        }
    }
}

/// What the user answered a reply with.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    pub text: String,
    /// 1-based line range in the export.
    pub lines: (usize, usize),
    pub error: Option<ErrorRecord>,
    pub stage: Option<Stage>,
    /// The earlier round whose feedback had the same exception type and message (I3).
    pub repeat_of: Option<u32>,
    /// It shows a run that ended without an exception (I4).
    pub ran_clean: bool,
    pub unsure: Option<String>,
}

/// One reply and what came before and after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    pub iteration: u32,
    /// The user's turns since the previous reply, joined by a blank line.
    pub request: String,
    pub reply: String,
    pub reply_lines: (usize, usize),
    pub truncated: bool,
    pub blocks: Vec<CodeBlock>,
    pub feedback: Option<Feedback>,
    /// Turns of this round the importer was unsure of, with why.
    pub unsure: Vec<String>,
}

/// The rounds, with where the code first ran (I4).
#[derive(Debug, Clone, PartialEq)]
pub struct Chat {
    pub rounds: Vec<Round>,
    /// The round whose code ran without an exception, if the chat shows one.
    pub first_clean_run: Option<u32>,
    /// User text after the last reply that carried nothing (kept in the last feedback).
    pub unanswered: bool,
}

impl Chat {
    /// The rounds whose errors were pasted before the code first ran (I4).
    pub fn before_first_run(&self) -> impl Iterator<Item = &Round> {
        let last = self.first_clean_run.unwrap_or(u32::MAX);
        self.rounds
            .iter()
            .filter(move |round| round.iteration < last)
    }
}

static EXIT_ZERO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Process finished with exit code 0\b").expect("the exit pattern is valid")
});
static AFTER_TRAINING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)total training time|testing:\s*100%|test(ing)? (dice|loss)|dice=\d")
        .expect("the after-training pattern is valid")
});
static DURING_TRAINING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^\s*epoch\s*\[?\s*\d+|(train|training|validation|val)\w*:\s*\d+%\||\d+%\|[█▏▎▍▌▋▊▉ ]*\|")
        .expect("the training pattern is valid")
});

/// Pairs replies with their requests and feedback, and applies the counting rules.
pub fn rounds(turns: &[Turn]) -> Chat {
    let mut rounds: Vec<Round> = Vec::new();
    let mut pending: Vec<&Turn> = Vec::new();
    for turn in turns {
        match turn.speaker {
            Speaker::User => pending.push(turn),
            Speaker::Assistant => {
                if let Some(previous) = rounds.last_mut() {
                    previous.feedback = feedback_of(&pending);
                }
                let mut unsure: Vec<String> = pending
                    .iter()
                    .chain(std::iter::once(&turn))
                    .filter_map(|t| {
                        t.unsure
                            .as_ref()
                            .map(|why| format!("lines {}-{}: {why}", t.first_line, t.last_line))
                    })
                    .collect();
                unsure.dedup();
                let reply_lines: Vec<&str> = turn.text.lines().collect();
                rounds.push(Round {
                    iteration: rounds.len() as u32 + 1,
                    request: join(&pending),
                    reply: turn.text.clone(),
                    reply_lines: (turn.first_line, turn.last_line),
                    truncated: turn.truncated,
                    blocks: code_blocks(&reply_lines),
                    feedback: None,
                    unsure,
                });
                pending.clear();
            }
        }
    }
    let unanswered = !pending.is_empty();
    if let Some(last) = rounds.last_mut() {
        last.feedback = feedback_of(&pending);
        if let Some(why) = last.feedback.as_ref().and_then(|f| f.unsure.clone()) {
            last.unsure.push(why);
        }
    }
    // I3: repeats, in order.
    let mut seen: Vec<(String, String, u32)> = Vec::new();
    for round in &mut rounds {
        let Some(feedback) = round.feedback.as_mut() else {
            continue;
        };
        let Some(error) = &feedback.error else {
            continue;
        };
        let key = (
            error.code.clone().unwrap_or_default(),
            error.message.clone(),
        );
        match seen
            .iter()
            .find(|(code, message, _)| (code, message) == (&key.0, &key.1))
        {
            Some((_, _, first)) => feedback.repeat_of = Some(*first),
            None => seen.push((key.0, key.1, round.iteration)),
        }
    }
    let first_clean_run = rounds
        .iter()
        .find(|round| round.feedback.as_ref().is_some_and(|f| f.ran_clean))
        .map(|round| round.iteration);
    Chat {
        rounds,
        first_clean_run,
        unanswered,
    }
}

fn join(turns: &[&Turn]) -> String {
    turns
        .iter()
        .map(|turn| turn.text.as_str())
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// What the user's turns after a reply say (I2, I4, I5).
fn feedback_of(turns: &[&Turn]) -> Option<Feedback> {
    let first = turns.first()?;
    let last = turns.last()?;
    let text = join(turns);
    let error = classify_pasted(&text);
    let stage = error.as_ref().map(|error| {
        if error.code.as_deref() == Some(crate::diagnostics::python::IDE_UNRESOLVED) {
            Stage::Editor
        } else {
            stage_of(&text)
        }
    });
    let unsure = turns
        .iter()
        .filter_map(|t| {
            t.unsure
                .as_ref()
                .map(|why| format!("lines {}-{}: {why}", t.first_line, t.last_line))
        })
        .next();
    Some(Feedback {
        ran_clean: error.is_none() && EXIT_ZERO.is_match(&text),
        lines: (first.first_line, last.last_line),
        text,
        error,
        stage,
        repeat_of: None,
        unsure,
    })
}

/// Where the run had got to when it failed, from the console output before the traceback.
fn stage_of(text: &str) -> Stage {
    let before = text
        .find("Traceback (most recent call last)")
        .map_or(text, |at| &text[..at]);
    if AFTER_TRAINING.is_match(before) {
        Stage::AfterTraining
    } else if DURING_TRAINING.is_match(before) {
        Stage::DuringTraining
    } else {
        Stage::BeforeTraining
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::Layout;
    use super::super::turns::split_turns;
    use super::*;

    fn chat(text: &str) -> Chat {
        rounds(&split_turns(text, Layout::Chatgpt))
    }

    #[test]
    fn each_reply_is_a_round_and_its_feedback_is_the_next_user_turn() {
        let text = "Write it.\nChatGPT said:\nChatGPT\nOne.\nYou said:\nTraceback (most recent call last):\nNameError: name 'nn' is not defined\nChatGPT said:\nChatGPT\nTwo.\nYou said:\nEpoch 2/3\nTraceback (most recent call last):\nNameError: name 'nn' is not defined\nChatGPT said:\nChatGPT\nThree.\nYou said:\nadd a plot\nChatGPT said:\nChatGPT\nFour.";
        let chat = chat(text);
        assert_eq!(chat.rounds.len(), 4);
        assert_eq!(chat.rounds[0].request, "Write it.");
        let first = chat.rounds[0].feedback.as_ref().unwrap();
        assert_eq!(
            first.error.as_ref().unwrap().code.as_deref(),
            Some("NameError")
        );
        assert_eq!(first.stage, Some(Stage::BeforeTraining));
        assert_eq!(first.repeat_of, None);
        let second = chat.rounds[1].feedback.as_ref().unwrap();
        assert_eq!(
            second.repeat_of,
            Some(1),
            "same type and message: a repeat (I3)"
        );
        assert_eq!(second.stage, Some(Stage::DuringTraining));
        let third = chat.rounds[2].feedback.as_ref().unwrap();
        assert!(third.error.is_none(), "an instruction is no error (I2)");
        assert!(chat.rounds[3].feedback.is_none());
        assert_eq!(chat.first_clean_run, None);
        assert_eq!(
            chat.before_first_run().count(),
            4,
            "no clean run shown: all count (I4)"
        );
    }

    #[test]
    fn errors_after_a_clean_run_are_not_before_it() {
        let text = "Write it.\nChatGPT said:\nChatGPT\nOne.\nYou said:\nEpoch 1/1\nProcess finished with exit code 0\nChatGPT said:\nChatGPT\nTwo.\nYou said:\nTotal training time: 10 s\nTraceback (most recent call last):\nValueError: Sheet 'Sheet1' already exists\nChatGPT said:\nChatGPT\nThree.";
        let chat = chat(text);
        assert_eq!(chat.first_clean_run, Some(1));
        assert_eq!(chat.before_first_run().count(), 0);
        let late = chat.rounds[1].feedback.as_ref().unwrap();
        assert_eq!(late.stage, Some(Stage::AfterTraining));
    }
}
