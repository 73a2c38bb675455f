//! Running the toolchain's commands (pip, cargo, rustc) through the execution layer, turning
//! a failure into an error that shows the command's last output.

use crate::exec::{run_process, ProcessOutput, ProcessSpec};

use super::error::ToolchainError;

/// Runs `spec`; a non-zero exit (or a timeout) is an error showing the output's last lines.
pub(crate) fn run_checked(
    spec: &ProcessSpec,
    label: &str,
) -> Result<ProcessOutput, ToolchainError> {
    let output = run_process(spec).map_err(|source| ToolchainError::Exec {
        program: spec.program.to_string_lossy().into_owned(),
        source,
    })?;
    if !output.success() {
        return Err(ToolchainError::CommandFailed {
            command: label.to_string(),
            status: describe_exit(&output),
            output: tail(&format!("{}{}", output.stdout, output.stderr), 25),
        });
    }
    Ok(output)
}

/// "code 1", "signal 9" or "a timeout".
pub(crate) fn describe_exit(output: &ProcessOutput) -> String {
    if output.exit.timed_out {
        "a timeout".to_string()
    } else if let Some(code) = output.exit.code {
        format!("code {code}")
    } else if let Some(signal) = output.exit.signal {
        format!("signal {signal}")
    } else {
        "an unknown status".to_string()
    }
}

/// The last `lines` lines of a text.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_command_shows_its_last_lines() {
        let spec = ProcessSpec::new("/bin/sh", std::env::temp_dir())
            .arg("-c")
            .arg("for i in $(seq 1 40); do echo line$i; done; exit 7");
        let err = run_checked(&spec, "count").unwrap_err().to_string();
        assert!(err.contains("`count`") && err.contains("code 7"), "{err}");
        assert!(err.contains("line40") && !err.contains("line15\n"), "{err}");
    }
}
