//! The toolchain generated crates are built with: libtorch (the harness's own, from pinned
//! PyPI wheels, or the user's `LIBTORCH`), the vendored allow-list of crates, and one shared,
//! pre-warmed target folder, all in a cache folder outside the repository.
//!
//! `ensure` provisions what is missing; `Toolchain::cargo_config` is the `.cargo/config.toml`
//! every generated crate gets; `Toolchain::smoke_check` proves a new crate builds warm and
//! runs; `diagnose` is `harness doctor`. `python_env` is the Python target's environment, made
//! only on request (`harness setup --python`).

mod allow_list;
mod cache;
mod command;
mod config;
mod disk;
mod doctor;
mod error;
mod install;
mod libtorch;
mod provision;
mod python;
mod python_env;
mod read_only;
mod vendor;
mod warm;
mod wheels;

pub use allow_list::{allow_list_markdown, AllowedCrate, ALLOWED_CRATES};
pub use cache::{cache_dir_from_env, resolve_cache_dir, CacheLayout, CacheLock, CACHE_ENV};
pub use config::{Toolchain, CARGO_CONFIG_PATH};
pub use disk::disk_usage;
pub use doctor::{anything_missing, diagnose, Finding, Health, SYSTEM_PACKAGES};
pub use error::ToolchainError;
pub use install::Installed;
pub use libtorch::{
    read_version, user_libtorch, Libtorch, LibtorchOrigin, LIBTORCH_ENV, LIBTORCH_VERSION,
    TCH_VERSION,
};
pub use provision::{
    ensure, libtorch_from_env, provision, PieceUsage, SetupReport, StepOutcome, StepReport,
};
pub use python::{find_python, Python, PIP_ENV};
pub use python_env::{
    check_version, embedded_lock, env_dir, env_state, find_interpreter, interpreter_version,
    other_envs, provision_python_env, EnvState, Interpreter, LockedWheel, PythonEnv, PythonLock,
    PythonVersion, SmokeRecord,
};
pub use vendor::{warm_manifest, CARGO_NET_ENV, WARM_LOCK};
pub use warm::{rustc_identity, SmokeReport};
pub use wheels::{PinnedWheel, Take, WHEELS};
