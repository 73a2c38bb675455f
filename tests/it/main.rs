//! The integration tests, as one binary with shared helpers in `support`.

mod anthropic_client;
mod api_faults;
mod bad_input;
mod budget;
mod build_cache;
mod chat_import;
mod crash;
mod data;
mod e2e;
mod fetch;
mod figures;
mod final_crate;
mod gemini_client;
mod html_report;
mod interrupt;
mod live_llm;
mod openai_client;
mod openai_responses_client;
mod python_env;
mod runs_apart;
mod sandbox_attacks;
mod server_probe;
mod support;
mod tch_e2e;
mod toolchain;
mod truncation;
