//! A `ChatModel` that answers from a recorded transcript and checks each request against it.
//!
//! Strict replay: the request the harness builds now must equal the one it recorded (model
//! name, sampling parameters, every message); otherwise the replay stops at that iteration with
//! a diff. A request with no recorded reply is an error: replay never reaches for the network.

use std::collections::BTreeMap;

use crate::llm::{ChatMessage, ChatModel, ChatRequest, LlmError, ReplayDrift, Reply};
use crate::textdiff;
use crate::transcript::{Event, Transcript};

/// What a recorded iteration answered: a reply, or the API error that ended the run.
#[derive(Debug, Clone)]
enum Recorded {
    Reply(Reply),
    Failed(String),
}

/// Answers from a transcript.
#[derive(Debug)]
pub struct ReplayModel {
    base_url: String,
    recorded: BTreeMap<u32, (ChatRequest, Recorded)>,
}

/// The transcript's requests do not chain up (a hand-edited or damaged file).
#[derive(Debug, thiserror::Error)]
#[error("{path}: the request of iteration {iteration} says {claimed} earlier messages, but the transcript holds {held}")]
pub struct BrokenHistory {
    pub path: std::path::PathBuf,
    pub iteration: u32,
    pub claimed: usize,
    pub held: usize,
}

impl ReplayModel {
    /// Rebuilds every full request and its answer from the transcript's events.
    pub fn from_transcript(transcript: &Transcript) -> Result<Self, BrokenHistory> {
        let mut messages: Vec<ChatMessage> = Vec::new();
        let mut recorded = BTreeMap::new();
        let mut pending: Option<(u32, ChatRequest)> = None;
        for event in &transcript.events {
            match event {
                Event::Request(request) => {
                    if request.history_len != messages.len() {
                        return Err(BrokenHistory {
                            path: transcript.path.clone(),
                            iteration: request.iteration,
                            claimed: request.history_len,
                            held: messages.len(),
                        });
                    }
                    messages.extend(request.new_messages.iter().cloned());
                    pending = Some((
                        request.iteration,
                        ChatRequest {
                            model: request.model.clone(),
                            messages: messages.clone(),
                            params: request.params.clone(),
                        },
                    ));
                }
                Event::Reply(reply) => {
                    messages.push(ChatMessage::assistant(reply.text.clone()));
                    if let Some((iteration, request)) = pending.take() {
                        let answer = reply.to_reply();
                        recorded.insert(iteration, (request, Recorded::Reply(answer)));
                    }
                }
                Event::ModelError(error) => {
                    if let Some((iteration, request)) = pending.take() {
                        recorded.insert(
                            iteration,
                            (request, Recorded::Failed(error.message.clone())),
                        );
                    }
                }
                _ => {}
            }
        }
        Ok(ReplayModel {
            base_url: format!("replay of {}", transcript.path.display()),
            recorded,
        })
    }
}

impl ChatModel for ReplayModel {
    fn complete(&mut self, iteration: u32, request: &ChatRequest) -> Result<Reply, LlmError> {
        let Some((expected, answer)) = self.recorded.get(&iteration) else {
            return Err(LlmError::MissingRecording { iteration });
        };
        if let Some(drift) = compare(iteration, expected, request) {
            return Err(LlmError::Drift(Box::new(drift)));
        }
        match answer {
            Recorded::Reply(reply) => Ok(reply.clone()),
            Recorded::Failed(message) => Err(LlmError::api(&self.base_url, None, message.clone())),
        }
    }
}

/// The first difference between the recorded request and the replayed one.
fn compare(iteration: u32, recorded: &ChatRequest, now: &ChatRequest) -> Option<ReplayDrift> {
    let drift = |what: String, old: String, new: String| ReplayDrift {
        iteration,
        what,
        diff: textdiff::unified(&old, "recorded", &new, "replay"),
    };
    if recorded.model != now.model {
        return Some(drift(
            "the model name".to_string(),
            format!("{}\n", recorded.model),
            format!("{}\n", now.model),
        ));
    }
    if recorded.params != now.params {
        return Some(drift(
            "the sampling parameters".to_string(),
            format!("{:#?}\n", recorded.params),
            format!("{:#?}\n", now.params),
        ));
    }
    for (index, (old, new)) in recorded.messages.iter().zip(&now.messages).enumerate() {
        if old != new {
            return Some(drift(
                format!("message {} ({:?})", index + 1, new.role).to_lowercase(),
                old.content.clone(),
                new.content.clone(),
            ));
        }
    }
    if recorded.messages.len() != now.messages.len() {
        return Some(drift(
            "the number of messages".to_string(),
            format!("{}\n", recorded.messages.len()),
            format!("{}\n", now.messages.len()),
        ));
    }
    None
}
