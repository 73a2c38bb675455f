//! The Python environment of the `python-torch-unet` target: a virtual environment made by
//! `harness setup --python` from the system's Python 3.11 and the pinned wheels of
//! `python-env.lock` (torch 2.11.0 with the CUDA libraries its import needs, torchvision, numpy,
//! pandas, matplotlib, scikit-learn, tqdm, Pillow, torchinfo, openpyxl), in the cache folder,
//! read-only, offline once made.
//!
//! `lock.rs` reads the lock (pure); `interpreter.rs` finds the Python; `install.rs` makes the
//! environment in staging; `smoke.rs` checks it; `provision.rs` puts it in place.

mod install;
mod interpreter;
mod lock;
mod provision;
mod smoke;

pub use interpreter::{check_version, find_interpreter, Interpreter};
pub use lock::{LockedWheel, PythonLock, PythonVersion};
pub use provision::{
    embedded_lock, env_dir, env_state, other_envs, provision_python_env, EnvState, PythonEnv,
};
pub use smoke::{interpreter_version, SmokeRecord};

#[cfg(test)]
pub(crate) use provision::{fake_complete_env, FAKE_RECORD};
