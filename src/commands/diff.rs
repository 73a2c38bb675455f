//! `harness diff RUN --iteration N`: what one iteration changed in the crate.

use crate::cli::{DiffArgs, GlobalArgs};
use crate::runs::resolve_run;
use crate::textdiff;
use crate::transcript::read_transcript;

use super::{UserError, EXIT_OK};

pub fn diff(global: &GlobalArgs, args: &DiffArgs) -> anyhow::Result<u8> {
    let path = resolve_run(&global.runs_dir, &args.run).map_err(UserError)?;
    let transcript = read_transcript(&path)?;
    let last = transcript.last_iteration();
    if args.iteration == 0 || args.iteration > last {
        return Err(UserError(format!(
            "{}: iteration {} does not exist; the run has iterations 1 to {last}",
            path.display(),
            args.iteration
        ))
        .into());
    }
    let before = transcript.files_at(args.iteration - 1)?;
    let after = transcript.files_at(args.iteration)?;
    let mut changed = 0;
    for (file, new) in &after {
        let old = before.get(file).map(String::as_str).unwrap_or("");
        let text = textdiff::unified(old, file, new, file);
        if !text.is_empty() {
            changed += 1;
            print!("{text}");
        }
    }
    eprintln!(
        "iteration {}: {changed} file(s) changed, {} unchanged",
        args.iteration,
        after.len() - changed
    );
    Ok(EXIT_OK)
}
