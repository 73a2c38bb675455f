//! An analysed chat written as a recorded run: the same events as an API run (request, reply,
//! files, outcome, end), the header marking it imported, with no tokens, latencies or builds.

use std::collections::BTreeMap;
use std::path::Path;

use super::code::CodeBlock;
use super::rounds::{Chat, Round};
use crate::config::LlmSpec;
use crate::hashing::sha256_hex;
use crate::llm::{ChatMessage, FinishReason, SamplingParams};
use crate::session::provenance::{harness_info, now_rfc3339};
use crate::transcript::{
    EndEvent, EndStatus, Event, FileEntry, FilesEvent, Header, ImportInfo, OutcomeEvent,
    ReplyEvent, RequestEvent, TargetInfo, ToolchainInfo, TranscriptWriter, WriteError,
    FORMAT_VERSION,
};

/// The target id of an imported chat in `language` (`pytorch`, `tensorflow`).
pub fn target_id(language: &str) -> String {
    format!("{}python-{language}", crate::report::CHAT_TARGET_PREFIX)
}

/// Everything the header says about the import, besides the chat itself.
pub struct Provenance {
    pub run_id: String,
    pub llm: LlmSpec,
    pub import: ImportInfo,
}

/// Writes `chat` as a run to `path` (which must not exist).
pub fn write_run(path: &Path, chat: &Chat, provenance: Provenance) -> Result<(), WriteError> {
    let mut writer = TranscriptWriter::create(path)?;
    let started_at = now_rfc3339();
    writer.append(&Event::Header(Box::new(Header {
        format_version: FORMAT_VERSION,
        run_id: provenance.run_id,
        harness: harness_info(),
        toolchain: ToolchainInfo {
            rustc: "none (imported chat)".to_owned(),
            cargo: "none (imported chat)".to_owned(),
        },
        target: TargetInfo {
            id: target_id(&provenance.import.language),
            templates: BTreeMap::new(),
        },
        llm: provenance.llm.clone(),
        repeat: 1,
        max_iterations: chat.rounds.len() as u32,
        started_at: started_at.clone(),
        replay_of: None,
        sandbox: None,
        server: None,
        machine: None,
        limits: None,
        imported: Some(Box::new(provenance.import)),
    })))?;
    let mut history = 0usize;
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let last = chat.rounds.len() as u32;
    for round in &chat.rounds {
        writer.append(&Event::Request(RequestEvent {
            iteration: round.iteration,
            model: provenance.llm.model.clone(),
            params: SamplingParams::default(),
            history_len: history,
            new_messages: vec![ChatMessage::user(round.request.clone())],
        }))?;
        writer.append(&Event::Reply(ReplyEvent {
            iteration: round.iteration,
            text: round.reply.clone(),
            finish_reason: if round.truncated {
                FinishReason::Length
            } else {
                FinishReason::Stop
            },
            usage: None,
            latency_ms: 0,
            model: None,
            refusal: None,
            system_fingerprint: None,
            cost_usd: None,
            attempts: 1,
            identical_to: None,
        }))?;
        history += 2;
        writer.append(&Event::Files(files_event(round, &mut files)))?;
        let error = round.feedback.as_ref().and_then(|f| f.error.clone());
        let clean = round.feedback.as_ref().is_some_and(|f| f.ran_clean);
        writer.append(&Event::Outcome(OutcomeEvent {
            iteration: round.iteration,
            // The chat's last reply is the code the study went on with (I4).
            success: clean || (error.is_none() && round.iteration == last),
            errors: error.into_iter().collect(),
        }))?;
    }
    let iterations = chat.first_clean_run.unwrap_or(last);
    writer.append(&Event::End(EndEvent {
        status: EndStatus::Succeeded,
        iterations,
        reason: Some(match chat.first_clean_run {
            Some(round) => format!(
                "imported chat: the code of round {round} ran without an exception (rule I4)"
            ),
            None => "imported chat: no run without an exception is shown; its last reply is taken as the code that ran (rule I4)".to_owned(),
        }),
        finished_at: started_at,
        wall_ms: 0,
    }))
}

/// The files a round's Python blocks give, and the ones it keeps from earlier rounds.
fn files_event(round: &Round, files: &mut BTreeMap<String, String>) -> FilesEvent {
    let mut written = Vec::new();
    let mut notes = Vec::new();
    let mut inferred = Vec::new();
    let mut named_here: Vec<String> = Vec::new();
    for (index, block) in round.blocks.iter().enumerate() {
        if block.language != "python" {
            notes.push(format!(
                "a `{}` block (lines {}-{} of the reply) is not a file of the program",
                block.language,
                block.lines.0 + 1,
                block.lines.1
            ));
            continue;
        }
        for (name, code) in split_files(block) {
            let name = match name {
                Some(name) => name,
                None => {
                    let name = format!("block-{}-{}.py", round.iteration, index + 1);
                    inferred.push(name.clone());
                    name
                }
            };
            // Two blocks for one file in one reply: the second is a part of it (`main.py
            // snippet`); both are kept, the second under its own name.
            let name = if named_here.contains(&name) {
                let other = format!("{}-part{}.py", name.trim_end_matches(".py"), index + 1);
                notes.push(format!("a second block for {name} is kept as {other}"));
                other
            } else {
                name
            };
            named_here.push(name.clone());
            written.push(FileEntry::written(name.clone(), &code, &round.reply));
            files.insert(name, code);
        }
    }
    let kept = files
        .iter()
        .filter(|(name, _)| !named_here.contains(name))
        .map(|(name, content)| FileEntry {
            path: name.clone(),
            sha256: sha256_hex(content.as_bytes()),
            content: None,
            span: None,
        })
        .collect();
    FilesEvent {
        iteration: round.iteration,
        written,
        kept,
        notes,
        inferred,
    }
}

/// A block that holds several files one after the other, each under a `# name.py` comment line,
/// split into them; otherwise the block as it is, under its own name.
fn split_files(block: &CodeBlock) -> Vec<(Option<String>, String)> {
    let lines: Vec<&str> = block.code.lines().collect();
    let heads: Vec<(usize, String)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let name = line.strip_prefix('#')?.trim();
            let name = name.rsplit('/').next()?;
            (name.ends_with(".py") && !name.contains(' ')).then(|| (i, name.to_owned()))
        })
        .collect();
    if heads.len() < 2 || heads[0].0 != 0 {
        return vec![(block.file.clone(), block.code.clone())];
    }
    heads
        .iter()
        .enumerate()
        .map(|(k, (start, name))| {
            let end = heads.get(k + 1).map_or(lines.len(), |next| next.0);
            let mut part = lines[*start..end].to_vec();
            while part.last().is_some_and(|l| l.trim().is_empty()) {
                part.pop();
            }
            (Some(name.clone()), part.join("\n"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_block_with_four_files_is_split_at_their_comment_lines() {
        let block = CodeBlock {
            language: "python".into(),
            lines: (0, 7),
            code: "# dataset.py\nimport os\n\n# unet_segmentation/model.py\nimport torch\n\n"
                .into(),
            file: Some("dataset.py".into()),
        };
        let parts = split_files(&block);
        assert_eq!(
            parts,
            [
                (
                    Some("dataset.py".to_owned()),
                    "# dataset.py\nimport os".to_owned()
                ),
                (
                    Some("model.py".to_owned()),
                    "# unet_segmentation/model.py\nimport torch".to_owned()
                )
            ]
        );
        let single = CodeBlock {
            code: "# main.py\nmain()".into(),
            file: Some("main.py".into()),
            ..block
        };
        assert_eq!(
            split_files(&single),
            [(Some("main.py".to_owned()), "# main.py\nmain()".to_owned())]
        );
    }
}
