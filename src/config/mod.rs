//! Configuration: the LLM registry (embedded YAML plus the user's file) and its overrides.

mod registry;

pub use registry::{
    spent_usd, ConfigError, LlmSpec, ModelLimits, OpenAiApi, Price, Provider, Registry,
};
