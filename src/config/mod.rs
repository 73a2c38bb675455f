//! Configuration: the LLM registry (embedded YAML plus the user's file) and its overrides.

mod registry;

pub use registry::{ConfigError, LlmSpec, OpenAiApi, Price, Provider, Registry};
