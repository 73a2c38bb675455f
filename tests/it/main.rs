//! The integration tests, as one binary with shared helpers in `support`.

mod build_cache;
mod e2e;
mod openai_client;
mod support;
mod toolchain;
