//! The machine a run ran on, for the transcript header: CPU, memory, GPU, libtorch.
//!
//! Read from `/proc` (`cpuinfo`, `meminfo`, and `driver/nvidia` where NVIDIA's driver is loaded)
//! once per run. Only the header holds it: nothing machine-specific reaches feedback or anything
//! replay compares. The parsers are pure and tested on recorded file contents.

use std::path::Path;

use crate::transcript::MachineInfo;

/// This machine, as `/proc` describes it; `libtorch` is the version the target builds
/// against, where it uses one.
pub fn machine_info(libtorch: Option<String>) -> MachineInfo {
    machine_info_from(Path::new("/proc"), libtorch)
}

/// The same, from a `/proc`-like folder (tests give a made-up one).
fn machine_info_from(proc: &Path, libtorch: Option<String>) -> MachineInfo {
    let read = |relative: &str| std::fs::read_to_string(proc.join(relative)).ok();
    let (cpu, cores) = read("cpuinfo").map_or((None, None), |text| parse_cpuinfo(&text));
    let nvidia = proc.join("driver/nvidia");
    let mut gpus: Vec<String> = std::fs::read_dir(nvidia.join("gpus"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| std::fs::read_to_string(entry.path().join("information")).ok())
                .filter_map(|text| parse_nvidia_model(&text))
                .collect()
        })
        .unwrap_or_default();
    gpus.sort();
    MachineInfo {
        cpu,
        cores,
        memory_bytes: read("meminfo").and_then(|text| parse_meminfo(&text)),
        gpus,
        gpu_driver: std::fs::read_to_string(nvidia.join("version"))
            .ok()
            .and_then(|text| parse_nvidia_version(&text)),
        libtorch,
    }
}

/// The value of a `key : value` line.
fn value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let (name, value) = line.split_once(':')?;
    (name.trim() == key).then(|| value.trim())
}

/// The CPU's model name and the number of logical CPUs (`processor` entries).
fn parse_cpuinfo(text: &str) -> (Option<String>, Option<u32>) {
    let model = text
        .lines()
        .find_map(|line| value(line, "model name"))
        .filter(|model| !model.is_empty())
        .map(str::to_string);
    let cores = text
        .lines()
        .filter(|line| value(line, "processor").is_some())
        .count() as u32;
    (model, (cores > 0).then_some(cores))
}

/// `MemTotal`, in bytes.
fn parse_meminfo(text: &str) -> Option<u64> {
    let total = text.lines().find_map(|line| value(line, "MemTotal"))?;
    let kib: u64 = total.strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// The `Model:` of one GPU's `information` file.
fn parse_nvidia_model(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| value(line, "Model"))
        .filter(|model| !model.is_empty())
        .map(str::to_string)
}

/// The driver's version from `/proc/driver/nvidia/version`'s `NVRM version:` line.
fn parse_nvidia_version(text: &str) -> Option<String> {
    let line = text
        .lines()
        .find(|line| line.starts_with("NVRM version:"))?;
    line.split_whitespace()
        .find(|word| word.chars().next().is_some_and(|c| c.is_ascii_digit()) && word.contains('.'))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7763 64-Core Processor\ncpu MHz\t\t: 2445.426\n\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7763 64-Core Processor\n\n";
    const MEMINFO: &str = "MemTotal:       24568024 kB\nMemFree:        15720512 kB\n";
    const INFORMATION: &str = "Model: \t\t NVIDIA H200\nIRQ:   \t\t 150\nGPU UUID: \t GPU-1234\nBus Location: \t 0000:3b:00.0\n";
    const VERSION: &str = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n";

    #[test]
    fn proc_files_give_the_cpu_memory_gpu_and_driver() {
        assert_eq!(
            parse_cpuinfo(CPUINFO),
            (Some("AMD EPYC 7763 64-Core Processor".to_string()), Some(2))
        );
        // Some ARM machines name no model.
        assert_eq!(
            parse_cpuinfo("processor\t: 0\nBogoMIPS\t: 50.00\n"),
            (None, Some(1))
        );
        assert_eq!(parse_meminfo(MEMINFO), Some(24_568_024 * 1024));
        assert_eq!(parse_meminfo("MemFree: 1 kB\n"), None);
        assert_eq!(
            parse_nvidia_model(INFORMATION).as_deref(),
            Some("NVIDIA H200")
        );
        assert_eq!(parse_nvidia_version(VERSION).as_deref(), Some("550.54.15"));
        assert_eq!(parse_nvidia_version("GCC version: 12.2.0\n"), None);
    }

    #[test]
    fn a_proc_folder_is_read_whole_and_a_missing_driver_is_no_gpu() {
        let proc = tempfile::tempdir().unwrap();
        std::fs::write(proc.path().join("cpuinfo"), CPUINFO).unwrap();
        std::fs::write(proc.path().join("meminfo"), MEMINFO).unwrap();
        let bare = machine_info_from(proc.path(), None);
        assert_eq!(bare.cores, Some(2));
        assert!(bare.gpus.is_empty() && bare.gpu_driver.is_none());

        for bus in ["0000:3b:00.0", "0000:1a:00.0"] {
            let gpu = proc.path().join("driver/nvidia/gpus").join(bus);
            std::fs::create_dir_all(&gpu).unwrap();
            std::fs::write(gpu.join("information"), INFORMATION).unwrap();
        }
        std::fs::write(proc.path().join("driver/nvidia/version"), VERSION).unwrap();
        let machine = machine_info_from(proc.path(), Some("2.11.0".into()));
        assert_eq!(machine.gpus, ["NVIDIA H200", "NVIDIA H200"]);
        assert_eq!(machine.gpu_driver.as_deref(), Some("550.54.15"));
        assert_eq!(machine.memory_bytes, Some(24_568_024 * 1024));
        assert_eq!(machine.libtorch.as_deref(), Some("2.11.0"));
    }

    #[test]
    fn this_machine_has_a_cpu_and_memory() {
        let machine = machine_info(None);
        assert!(machine.cores.is_some_and(|cores| cores > 0), "{machine:?}");
        assert!(
            machine.memory_bytes.is_some_and(|bytes| bytes > 0),
            "{machine:?}"
        );
    }
}
