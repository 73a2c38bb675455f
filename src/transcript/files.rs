//! Rebuilds the crate's files at any iteration from a transcript.

use std::collections::BTreeMap;

use crate::hashing::sha256_hex;

use super::format::Event;
use super::reader::{ReadError, Transcript};

impl Transcript {
    /// The LLM's files as they stood after `iteration` (0 gives the empty crate). Kept files are
    /// checked against their recorded hashes.
    pub fn files_at(&self, iteration: u32) -> Result<BTreeMap<String, String>, ReadError> {
        let mut files = BTreeMap::new();
        // A written file may be a span of the reply just before its files event (format 5).
        let mut reply: Option<&str> = None;
        for event in &self.events {
            let event = match event {
                Event::Reply(r) => {
                    reply = Some(r.text.as_str());
                    continue;
                }
                Event::Files(f) if f.iteration <= iteration => f,
                _ => continue,
            };
            for entry in &event.written {
                let Some(content) = entry.content_in(reply) else {
                    return Err(self.broken(format!(
                        "iteration {}: written file {} has no content",
                        event.iteration, entry.path
                    )));
                };
                if sha256_hex(content.as_bytes()) != entry.sha256 {
                    return Err(self.broken(format!(
                        "iteration {}: the content of {} does not match its hash",
                        event.iteration, entry.path
                    )));
                }
                files.insert(entry.path.clone(), content.to_string());
            }
            for entry in &event.kept {
                let held = files.get(&entry.path).map(|c| sha256_hex(c.as_bytes()));
                if held.as_deref() != Some(entry.sha256.as_str()) {
                    return Err(self.broken(format!(
                        "iteration {}: kept file {} does not match any earlier version",
                        event.iteration, entry.path
                    )));
                }
            }
        }
        Ok(files)
    }

    /// The highest iteration with a files event.
    pub fn last_iteration(&self) -> u32 {
        self.files_events().map(|f| f.iteration).max().unwrap_or(0)
    }

    fn broken(&self, message: String) -> ReadError {
        ReadError::Inconsistent {
            path: self.path.clone(),
            message,
        }
    }
}
