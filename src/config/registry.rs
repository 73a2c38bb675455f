//! The LLM registry: which models exist, how to reach them, what they cost.
//!
//! The registry is YAML. One copy is embedded in the binary (`llms.yaml` beside this file); a
//! user file adds entries and replaces entries that share an id. An `LlmSpec` is written into
//! every transcript header, so it holds the *name* of the key variable, never a key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::llm::SamplingParams;

const EMBEDDED: &str = include_str!("llms.yaml");

/// The wire format an entry speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// OpenAI's chat completions (or its Responses API, see `api`), and every server that
    /// copies it.
    Openai,
    Anthropic,
    Gemini,
    /// The harness's hand-written reference crate, served without a network (`reference`).
    Reference,
    /// Reachable only through a chat window, with no API (the study's Bing Copilot and GitHub
    /// Copilot): its runs are chat exports that `harness import-chat` reads.
    Chat,
}

impl Provider {
    /// The public endpoint used when an entry gives no `base_url`.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::Openai => "https://api.openai.com/v1",
            Provider::Anthropic => "https://api.anthropic.com/v1",
            Provider::Gemini => "https://generativelanguage.googleapis.com/v1beta",
            Provider::Reference => "builtin:reference",
            Provider::Chat => "chat:window",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::Openai => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
            Provider::Reference => "reference",
            Provider::Chat => "chat",
        })
    }
}

/// Which of OpenAI's APIs an `openai` entry calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenAiApi {
    /// `POST /chat/completions`, which every compatible server copies (the default).
    Chat,
    /// `POST /responses`, OpenAI's API for its reasoning models.
    Responses,
}

/// Price in US dollars per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// When the price was read off the provider's list (`YYYY-MM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

impl Price {
    /// The cost of a call in US dollars.
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input_per_mtok + output_tokens as f64 * self.output_per_mtok)
            / 1e6
    }
}

/// What one reply cost in US dollars: the provider's own figure where it reported one (OpenRouter's
/// `usage.cost`), else the registry's list price times the reported tokens (cache discounts not
/// applied), else unknown. One rule for budgets and tables alike.
pub fn spent_usd(
    reported: Option<f64>,
    usage: Option<&crate::llm::Usage>,
    price: Option<&Price>,
) -> Option<f64> {
    reported.or_else(|| {
        let usage = usage?;
        Some(price?.cost(usage.input_tokens, usage.output_tokens))
    })
}

/// One registry entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSpec {
    pub id: String,
    pub provider: Provider,
    /// The provider's model name, sent as is.
    pub model: String,
    /// For `openai` entries: which API to call; chat completions when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<OpenAiApi>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable that holds the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// A keyless server is fine: the key is sent only when the variable is set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub key_optional: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
    #[serde(default)]
    pub params: SamplingParams,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// The SHA-256 of the weights file a local server serves, where known (registry field or
    /// `--weights-sha256`): with it, a recorded run names exactly which model answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
    /// The model's own limits, from the provider's documentation (or, for a local server, what
    /// it is configured to serve). A reply cut below `limits.output_tokens` was cut by the
    /// harness's `max_tokens`, not by the model (`docs/methodology.md`, C6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ModelLimits>,
}

/// A model's real context window and output limit, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelLimits {
    /// Input and output together.
    pub context_tokens: u32,
    /// The most the model will write in one reply. Where it equals `context_tokens` the
    /// window is shared, and the prompt's length takes from it.
    pub output_tokens: u32,
}

impl LlmSpec {
    /// The endpoint this entry talks to.
    pub fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or_else(|| self.provider.default_base_url())
    }

    /// Whether this id names a scripted test fixture rather than a real model.
    pub fn is_fixture(&self) -> bool {
        is_fixture_id(&self.id)
    }

    /// Whether this is the hand-written reference crate rather than a model.
    pub fn is_reference(&self) -> bool {
        self.provider == Provider::Reference
    }

    /// Whether the model has no API here, only a chat window whose exports are imported.
    pub fn is_chat_only(&self) -> bool {
        self.provider == Provider::Chat
    }

    /// Looks the key up with `lookup` (the process environment in production).
    ///
    /// Fails, naming the variable, when a required key is absent or empty.
    pub fn api_key(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<String>, ConfigError> {
        let Some(var) = &self.api_key_env else {
            return Ok(None);
        };
        match lookup(var).filter(|value| !value.trim().is_empty()) {
            Some(key) => Ok(Some(key)),
            None if self.key_optional => Ok(None),
            None => Err(ConfigError::MissingKey {
                llm: self.id.clone(),
                var: var.clone(),
            }),
        }
    }
}

/// Whether an LLM id names a scripted fixture (`fixture-...`), which never counts as a real LLM.
pub fn is_fixture_id(id: &str) -> bool {
    id.starts_with("fixture-")
}

/// Why the registry or an entry could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read the registry file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the registry {origin} is not valid: {message}")]
    Parse { origin: String, message: String },
    #[error("the registry {origin} lists the id `{id}` twice")]
    Duplicate { origin: String, id: String },
    #[error("unknown LLM `{id}`; known ids: {known} (run `harness llms` for details, or add an entry with --registry FILE)")]
    UnknownLlm { id: String, known: String },
    #[error("the API key for `{llm}` is missing: set the environment variable {var}")]
    MissingKey { llm: String, var: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    llms: Vec<LlmSpec>,
}

/// All known entries, in file order (embedded first, then the user's new ones).
#[derive(Debug, Clone)]
pub struct Registry {
    entries: Vec<LlmSpec>,
}

impl Registry {
    /// The embedded registry alone.
    pub fn embedded() -> Result<Self, ConfigError> {
        Ok(Registry {
            entries: parse(EMBEDDED, "embedded in the binary")?,
        })
    }

    /// The embedded registry with the user's file, when given, layered on top.
    pub fn load(user_file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut registry = Self::embedded()?;
        if let Some(path) = user_file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let origin = path.display().to_string();
            for entry in parse(&text, &origin)? {
                registry.upsert(entry);
            }
        }
        Ok(registry)
    }

    fn upsert(&mut self, entry: LlmSpec) {
        match self.entries.iter_mut().find(|e| e.id == entry.id) {
            Some(existing) => *existing = entry,
            None => self.entries.push(entry),
        }
    }

    pub fn entries(&self) -> &[LlmSpec] {
        &self.entries
    }

    /// The entry with this id, or an error listing the known ids.
    pub fn get(&self, id: &str) -> Result<&LlmSpec, ConfigError> {
        self.entries
            .iter()
            .find(|e| e.id == id)
            .ok_or_else(|| ConfigError::UnknownLlm {
                id: id.to_string(),
                known: self
                    .entries
                    .iter()
                    .map(|e| e.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

fn parse(text: &str, origin: &str) -> Result<Vec<LlmSpec>, ConfigError> {
    let file: RegistryFile = serde_norway::from_str(text).map_err(|e| ConfigError::Parse {
        origin: origin.to_string(),
        message: e.to_string(),
    })?;
    let mut seen = BTreeMap::new();
    for entry in &file.llms {
        if seen.insert(entry.id.as_str(), ()).is_some() {
            return Err(ConfigError::Duplicate {
                origin: origin.to_string(),
                id: entry.id.clone(),
            });
        }
        if let (Some(limits), Some(max)) = (entry.limits, entry.params.max_tokens) {
            if max > limits.output_tokens || limits.output_tokens > limits.context_tokens {
                return Err(ConfigError::Parse {
                    origin: origin.to_string(),
                    message: format!(
                        "the entry `{}` asks for max_tokens {max}, but its limits say the model writes at most {} tokens in a context of {}: lower max_tokens or correct `limits`",
                        entry.id, limits.output_tokens, limits.context_tokens
                    ),
                });
            }
        }
        // A field the entry's client would ignore is a mistake worth saying.
        if entry.api.is_some() && entry.provider != Provider::Openai {
            return Err(ConfigError::Parse {
                origin: origin.to_string(),
                message: format!(
                    "the entry `{}` sets `api`, which only openai entries have (its provider is {})",
                    entry.id, entry.provider
                ),
            });
        }
    }
    Ok(file.llms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_registry_ships_both_cohorts_and_local() {
        let registry = Registry::embedded().unwrap();
        let ids: Vec<_> = registry.entries().iter().map(|e| e.id.as_str()).collect();
        for id in [
            "gpt-4",
            "gpt-4o",
            "o1",
            "claude-3.5-sonnet",
            "gemini-1.5-pro",
            "llama-3.1-405b",
            "o3",
            "o4-mini",
            "claude-sonnet-4",
            "gemini-2.5-pro",
            "deepseek-v3",
            "deepseek-r1",
            "grok-3",
            "grok-3-mini",
            "llama-4-maverick",
            "mistral-medium-3",
            "qwen-3-235b",
            "local",
        ] {
            assert!(ids.contains(&id), "missing {id}");
        }
        let cohort = |c: &str| {
            registry
                .entries()
                .iter()
                .filter(|e| e.cohort.as_deref() == Some(c))
                .count()
        };
        // The study's eight and o1, its successor with an API; three of them only in a chat
        // window.
        assert_eq!(cohort("2024"), 9);
        let chat: Vec<&str> = registry
            .entries()
            .iter()
            .filter(|e| e.is_chat_only())
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(chat, ["o1-preview", "bing-copilot", "github-copilot"]);
        assert_eq!(cohort("2025"), 11);
        assert!(registry.entries().iter().all(|e| !e.is_fixture()));
        assert!(registry.get("reference").unwrap().is_reference());
    }

    #[test]
    fn user_file_replaces_and_adds_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("llms.yaml");
        std::fs::write(
            &path,
            "llms:\n  - id: gpt-4o\n    provider: openai\n    model: gpt-4o-mini\n    api_key_env: MY_KEY\n  - id: mine\n    provider: openai\n    model: m\n    base_url: http://127.0.0.1:9/v1\n",
        )
        .unwrap();
        let registry = Registry::load(Some(&path)).unwrap();
        assert_eq!(registry.get("gpt-4o").unwrap().model, "gpt-4o-mini");
        assert_eq!(
            registry.get("mine").unwrap().base_url(),
            "http://127.0.0.1:9/v1"
        );
        assert_eq!(
            registry.entries().len(),
            Registry::embedded().unwrap().entries().len() + 1
        );
    }

    #[test]
    fn unknown_id_lists_known_ids() {
        let registry = Registry::embedded().unwrap();
        let message = registry.get("gpt-5-turbo-max").unwrap_err().to_string();
        assert!(
            message.contains("unknown LLM `gpt-5-turbo-max`"),
            "{message}"
        );
        assert!(message.contains("gpt-4o"), "{message}");
        assert!(message.contains("local"), "{message}");
    }

    #[test]
    fn missing_key_names_the_variable_and_optional_key_is_fine() {
        let registry = Registry::embedded().unwrap();
        let err = registry
            .get("gpt-4o")
            .unwrap()
            .api_key(|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("OPENAI_API_KEY"), "{err}");
        let blank = registry
            .get("gpt-4o")
            .unwrap()
            .api_key(|_| Some(" ".into()));
        assert!(blank.is_err());
        let key = registry
            .get("gpt-4o")
            .unwrap()
            .api_key(|v| (v == "OPENAI_API_KEY").then(|| "fixture-not-a-secret".to_string()))
            .unwrap();
        assert_eq!(key.as_deref(), Some("fixture-not-a-secret"));
        assert_eq!(
            registry.get("local").unwrap().api_key(|_| None).unwrap(),
            None
        );
    }

    #[test]
    fn malformed_user_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yaml");
        std::fs::write(
            &path,
            "llms:\n  - id: x\n    provider: carrier-pigeon\n    model: m\n",
        )
        .unwrap();
        let err = Registry::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("bad.yaml"), "{err}");
        assert!(err.contains("carrier-pigeon"), "{err}");
    }

    #[test]
    fn openai_reasoning_models_call_the_responses_api() {
        let registry = Registry::embedded().unwrap();
        for entry in registry.entries() {
            let expected = ["o3", "o4-mini"]
                .contains(&entry.id.as_str())
                .then_some(OpenAiApi::Responses);
            assert_eq!(entry.api, expected, "{}", entry.id);
        }
    }

    #[test]
    fn api_is_read_for_openai_entries_and_refused_for_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("llms.yaml");
        let entry = |provider: &str, api: &str| {
            format!("llms:\n  - id: x\n    provider: {provider}\n    model: m\n    api: {api}\n")
        };
        std::fs::write(&path, entry("openai", "chat")).unwrap();
        let registry = Registry::load(Some(&path)).unwrap();
        assert_eq!(registry.get("x").unwrap().api, Some(OpenAiApi::Chat));

        std::fs::write(&path, entry("anthropic", "responses")).unwrap();
        let err = Registry::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("only openai entries"), "{err}");

        std::fs::write(&path, entry("openai", "completions")).unwrap();
        let err = Registry::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("completions"), "{err}");
    }

    #[test]
    fn price_is_per_million_tokens() {
        let price = Price {
            input_per_mtok: 2.5,
            output_per_mtok: 10.0,
            as_of: None,
        };
        assert!((price.cost(1_000_000, 100_000) - 3.5).abs() < 1e-12);
    }
}
