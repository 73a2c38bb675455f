//! Records, at build time, which commit the harness is built from and whether the working tree
//! had uncommitted changes to tracked files, for the provenance of every recorded run (a binary
//! copied elsewhere, or run after the checkout moved on, still names its own source).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn main() {
    // A new commit, a checkout, staging, or any edit of the sources changes the answer.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        for file in ["HEAD", "index"] {
            println!("cargo:rerun-if-changed={dir}/{file}");
        }
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{head}");
        }
    }
    for path in [
        "src",
        "prompts",
        "reference",
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    if let Some(commit) = git(&["rev-parse", "HEAD"]).filter(|c| c.len() == 40) {
        println!("cargo:rustc-env=HARNESS_GIT_COMMIT={commit}");
        let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
            .is_none_or(|status| !status.is_empty());
        println!("cargo:rustc-env=HARNESS_GIT_DIRTY={dirty}");
    }
}
