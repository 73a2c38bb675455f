//! `harness checkout RUN [--iteration N] [--out DIR]`: a run's crate, rebuilt from its transcript.

use crate::cli::{CheckoutArgs, GlobalArgs};
use crate::runs::{resolve_run, write_crate, FINAL_CRATE_DIR};
use crate::transcript::read_transcript;

use super::{UserError, EXIT_OK};

pub fn checkout(global: &GlobalArgs, args: &CheckoutArgs) -> anyhow::Result<u8> {
    let path = resolve_run(&global.runs_dir, &args.run).map_err(UserError)?;
    let transcript = read_transcript(&path)?;
    let last = transcript.last_iteration();
    let iteration = args.iteration.unwrap_or(last);
    if iteration > last {
        return Err(UserError(format!(
            "{}: iteration {iteration} does not exist; the run has iterations 1 to {last}",
            path.display()
        ))
        .into());
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None => path
            .parent()
            .map(|dir| dir.join(FINAL_CRATE_DIR))
            .ok_or_else(|| UserError(format!("{}: give --out", path.display())))?,
    };
    let files = transcript.files_at(iteration)?;
    write_crate(&out, &files)?;
    eprintln!(
        "{}: {} file(s) as they stood after iteration {iteration} written to {}",
        transcript.run_id(),
        files.len(),
        out.display()
    );
    Ok(EXIT_OK)
}
