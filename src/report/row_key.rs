//! Which runs share a table row: the same LLM, target, prompt templates and model.
//!
//! Runs that differ in any of these never mix in one row (methodology T1). The model is the
//! header's `llm.model`, which `--model` overrides; the prompt is the set of template hashes the
//! header records. Where an LLM id has rows under several keys, each row's label says what
//! sets it apart (`id [rust-tiny]`, `id (model X)`, `id (prompt 1a2b3c4d)`); where it has one,
//! the label is the id alone, as it always was.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::hashing::sha256_hex;
use crate::transcript::Header;

/// What a table row is keyed by. Ordered by LLM id first, so rows stay grouped by LLM.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey {
    pub llm: String,
    pub target: String,
    pub model: String,
    /// The first 8 hex digits of a SHA-256 over the template hashes (`prompt_id`).
    pub prompt: String,
}

impl RowKey {
    pub fn of(header: &Header) -> RowKey {
        RowKey {
            llm: header.llm.id.clone(),
            target: header.target.id.clone(),
            model: header.llm.model.clone(),
            prompt: prompt_id(&header.target.templates),
        }
    }
}

/// A short name for a set of prompt templates: the first 8 hex digits of a SHA-256 over their
/// names and hashes, in name order.
pub fn prompt_id(templates: &BTreeMap<String, String>) -> String {
    let listing: String = templates
        .iter()
        .map(|(name, hash)| format!("{name} {hash}\n"))
        .collect();
    sha256_hex(listing.as_bytes())[..8].to_string()
}

/// What sets a row apart from the other rows of its LLM, shown after the LLM's id. Absent where
/// the LLM has one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowVariant {
    /// `[rust-tiny] (model X) (prompt 1a2b3c4d)`: only the parts that differ between the LLM's
    /// rows.
    pub label: String,
    pub target: String,
    pub model: String,
    pub prompt: String,
}

/// The variant of each key, `None` for the keys of an LLM that has only one.
pub fn variants<'a>(
    keys: impl IntoIterator<Item = &'a RowKey>,
) -> BTreeMap<RowKey, Option<RowVariant>> {
    let mut by_llm: BTreeMap<&str, Vec<&RowKey>> = BTreeMap::new();
    for key in keys {
        let same = by_llm.entry(key.llm.as_str()).or_default();
        if !same.contains(&key) {
            same.push(key);
        }
    }
    let mut out = BTreeMap::new();
    for same in by_llm.values() {
        let differs = |part: fn(&RowKey) -> &str| {
            same.iter().map(|k| part(k)).collect::<BTreeSet<_>>().len() > 1
        };
        let (target, model, prompt) = (
            differs(|k| &k.target),
            differs(|k| &k.model),
            differs(|k| &k.prompt),
        );
        for key in same {
            // An imported chat's row always says so, whatever else the LLM has (no table mixes
            // chats with API runs unawares).
            let chat = key.target.starts_with(CHAT_TARGET_PREFIX);
            let variant = (same.len() > 1 || chat).then(|| {
                let mut parts = Vec::new();
                if target || chat {
                    parts.push(format!("[{}]", key.target));
                }
                if model {
                    parts.push(format!("(model {})", key.model));
                }
                if prompt {
                    parts.push(format!("(prompt {})", key.prompt));
                }
                RowVariant {
                    label: parts.join(" "),
                    target: key.target.clone(),
                    model: key.model.clone(),
                    prompt: key.prompt.clone(),
                }
            });
            out.insert((*key).clone(), variant);
        }
    }
    out
}

/// The start of the target id of every imported chat (`chat-python-pytorch`).
pub const CHAT_TARGET_PREFIX: &str = "chat-";

/// An LLM's name in a row: its id, then its variant's label where it has one.
pub fn row_name(llm: &str, variant: Option<&RowVariant>) -> String {
    match variant {
        Some(variant) => format!("{llm} {}", variant.label),
        None => llm.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(llm: &str, target: &str, model: &str, prompt: &str) -> RowKey {
        RowKey {
            llm: llm.into(),
            target: target.into(),
            model: model.into(),
            prompt: prompt.into(),
        }
    }

    #[test]
    fn only_what_differs_within_an_llm_is_named() {
        let keys = [
            key("a", "rust-tiny", "m", "11111111"),
            key("a", "rust-tch-unet", "m", "11111111"),
            key("b", "rust-tiny", "m1", "11111111"),
            key("b", "rust-tiny", "m2", "22222222"),
            key("c", "rust-tiny", "m", "11111111"),
            key("c", "rust-tiny", "m", "11111111"),
        ];
        let variants = variants(&keys);
        let label = |k: &RowKey| variants[k].as_ref().map(|v| v.label.clone());
        assert_eq!(label(&keys[0]).as_deref(), Some("[rust-tiny]"));
        let chat = key("d", "chat-python-pytorch", "m", "11111111");
        assert_eq!(
            super::variants([&chat])[&chat]
                .as_ref()
                .map(|v| v.label.as_str()),
            Some("[chat-python-pytorch]"),
            "an imported chat's row is always marked"
        );
        assert_eq!(label(&keys[1]).as_deref(), Some("[rust-tch-unet]"));
        assert_eq!(
            label(&keys[3]).as_deref(),
            Some("(model m2) (prompt 22222222)")
        );
        assert_eq!(label(&keys[4]), None, "one key: the id alone");
        assert_eq!(variants.len(), 5);
        assert_eq!(
            row_name("b", variants[&keys[2]].as_ref()),
            "b (model m1) (prompt 11111111)"
        );
        assert_eq!(row_name("c", None), "c");
    }

    #[test]
    fn a_prompt_is_named_by_all_its_templates() {
        let one = BTreeMap::from([
            ("prompt.md".to_string(), "aa".to_string()),
            ("feedback-runtime.md".to_string(), "bb".to_string()),
        ]);
        let mut other = one.clone();
        other.insert("feedback-runtime.md".into(), "cc".into());
        assert_eq!(prompt_id(&one).len(), 8);
        assert_eq!(prompt_id(&one), prompt_id(&one.clone()));
        assert_ne!(prompt_id(&one), prompt_id(&other));
    }
}
