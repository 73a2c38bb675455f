//! The provisioned toolchain and the `.cargo/config.toml` every generated crate is built with.

use std::path::{Path, PathBuf};

use super::cache::CacheLayout;
use super::libtorch::Libtorch;

/// Where the harness-owned cargo configuration goes, relative to a crate's root.
pub const CARGO_CONFIG_PATH: &str = ".cargo/config.toml";

/// Dependencies built at `opt-level = 3` although the others are not: PNG and JPEG decoding,
/// inflate, deflate and their checksums, whose hot loops are plain functions (not generic), so
/// they are compiled once, in the warm build. Each is in the warm build's graph (`warm.lock`),
/// so cargo never warns of a profile naming a package it does not know.
const HOT_LOOPS: &[&str] = &[
    "png",
    "fdeflate",
    "miniz_oxide",
    "flate2",
    "crc32fast",
    "simd-adler32",
    "zune-jpeg",
    "jpeg-decoder",
];

/// Everything a generated crate needs to build offline against libtorch, warm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    pub libtorch: Libtorch,
    /// The vendored allow-list (a cargo directory source).
    pub vendor_dir: PathBuf,
    /// The one target folder all generated crates share, pre-warmed.
    pub target_dir: PathBuf,
    pub cache_dir: PathBuf,
}

impl Toolchain {
    /// The toolchain laid out in `cache` for this libtorch (nothing is checked here).
    pub fn new(cache: &CacheLayout, libtorch: Libtorch) -> Self {
        let user = match libtorch.origin {
            super::libtorch::LibtorchOrigin::Harness => None,
            super::libtorch::LibtorchOrigin::UserEnv => Some(libtorch.dir.clone()),
        };
        Toolchain {
            vendor_dir: cache.vendor_dir(),
            target_dir: cache.target_dir(user.as_deref()),
            cache_dir: cache.root().to_path_buf(),
            libtorch,
        }
    }

    pub fn libtorch_lib_dir(&self) -> PathBuf {
        self.libtorch.dir.join("lib")
    }

    /// The text of `.cargo/config.toml` for a generated crate (and the warm and smoke crates,
    /// which must see exactly the same, or cargo rebuilds torch-sys: about a minute).
    ///
    /// - crates come only from the vendored allow-list, and cargo never goes online: a crate
    ///   or version outside the list fails with cargo's own message (a `dependency` error);
    /// - one shared target folder, so the allow-list compiles once;
    /// - libtorch is pinned for torch-sys whatever the environment says, and the binary finds
    ///   it at run time through an rpath, with no `LD_LIBRARY_PATH`;
    /// - build scripts keep debug info in the dev profile: `cargo check` (which builds them
    ///   that way) then reuses `cargo build`'s torch-sys instead of redoing its C++ build;
    /// - the crate itself is not optimised (`opt-level = 0`), and nothing has debug info, so
    ///   cargo strips the program (its default when no unit asks for debug info): the reference
    ///   U-Net links in 0.3 s instead of 0.7-1.5 s, and its program, which the harness copies
    ///   and hashes after every build, is 16 MB instead of 242 MB. Backtraces are off in every
    ///   run, so the debug info bought nothing;
    /// - dependencies are built at `opt-level = 1`, where rustc shares generic code (at
    ///   `opt-level = 3` it does not): a crate then links to the generic functions its
    ///   dependencies already compiled for themselves instead of compiling them again at
    ///   `opt-level = 0`. `image::open` and `ImageBuffer::save` reach every decoder and encoder
    ///   of `image`'s default formats, the AV1 encoder (`rav1e`) among them; compiled again, they
    ///   were most of the reference U-Net's code (1.59 million lines of LLVM IR against 0.56
    ///   million now; its build in the sandbox took 7.9 s, now 4.2 s), and ran unoptimised (the
    ///   smoke set now decodes in 0.1 s instead of 0.4 s). The crates with PNG's and JPEG's hot
    ///   loops (`HOT_LOOPS`) stay at `opt-level = 3`: those loops are not generic, so they cost
    ///   the crate nothing.
    ///
    /// The warm build is keyed by this text (`Toolchain::warm_marker`), so a change here
    /// rebuilds it.
    pub fn cargo_config(&self) -> String {
        let libtorch = toml_string(&self.libtorch.dir);
        let lib_dir = self.libtorch_lib_dir();
        let rpath = toml_string_text(&format!("link-arg=-Wl,-rpath,{}", lib_dir.display()));
        format!(
            r#"# Written by harness; any change is overwritten. Generated crates build offline,
# from the vendored allow-list, into one shared target folder, against a pinned libtorch.

[source.crates-io]
replace-with = "harness-vendored"

[source.harness-vendored]
directory = {vendor}

[net]
offline = true

[build]
target-dir = {target}
rustflags = ["-C", {rpath}]

[env]
LIBTORCH = {{ value = {libtorch}, force = true }}
LIBTORCH_INCLUDE = {{ value = {libtorch}, force = true }}
LIBTORCH_LIB = {{ value = {libtorch}, force = true }}
LIBTORCH_CXX11_ABI = {{ value = "1", force = true }}
LIBTORCH_STATIC = {{ value = "0", force = true }}

[profile.dev]
opt-level = 0
debug = false

[profile.dev.package."*"]
opt-level = 1
debug = false
{hot_loops}
[profile.dev.build-override]
debug = true
"#,
            vendor = toml_string(&self.vendor_dir),
            target = toml_string(&self.target_dir),
            hot_loops = HOT_LOOPS
                .iter()
                .map(|name| format!("\n[profile.dev.package.{name}]\nopt-level = 3\n"))
                .collect::<String>(),
        )
    }
}

/// A path as a TOML basic string. Paths are valid UTF-8 here: the cache folder and a user's
/// `LIBTORCH` are checked for that before a `Toolchain` exists.
pub(crate) fn toml_string(path: &Path) -> String {
    toml_string_text(&path.to_string_lossy())
}

fn toml_string_text(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolchain::libtorch::{LibtorchOrigin, LIBTORCH_VERSION};

    fn toolchain(cache: &Path, origin: LibtorchOrigin, libtorch: &Path) -> Toolchain {
        Toolchain::new(
            &CacheLayout::new(cache),
            Libtorch {
                dir: libtorch.to_path_buf(),
                version: LIBTORCH_VERSION.to_string(),
                origin,
            },
        )
    }

    #[test]
    fn the_config_pins_sources_target_libtorch_and_profiles() {
        let cache = Path::new("/home/someone/.cache/harness");
        let toolchain = toolchain(
            cache,
            LibtorchOrigin::Harness,
            &cache.join("libtorch-2.11.0"),
        );
        // The cache path is redacted: the snapshot is about the shape.
        let text = toolchain
            .cargo_config()
            .replace(&cache.display().to_string(), "[CACHE]");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn a_user_libtorch_is_forced_and_gets_its_own_target_folder() {
        let cache = Path::new("/c");
        let toolchain = toolchain(cache, LibtorchOrigin::UserEnv, Path::new("/opt/torch"));
        let text = toolchain.cargo_config();
        assert!(text.contains(r#"LIBTORCH = { value = "/opt/torch", force = true }"#));
        assert!(text.contains("-Wl,-rpath,/opt/torch/lib"));
        assert!(!text.contains(r#"target-dir = "/c/target""#), "{text}");
    }

    #[test]
    fn every_package_kept_at_full_speed_is_in_the_warm_builds_graph() {
        // Cargo warns about a profile naming a package that is not in the graph.
        let lock = crate::toolchain::WARM_LOCK;
        for name in HOT_LOOPS {
            assert!(
                lock.contains(&format!("name = \"{name}\"\n")),
                "{name} is not in warm.lock"
            );
        }
    }

    #[test]
    fn odd_characters_in_paths_are_escaped() {
        assert_eq!(toml_string(Path::new(r#"/a "b"\c"#)), r#""/a \"b\"\\c""#);
        assert_eq!(toml_string_text("x\ty"), r#""x\u0009y""#);
    }
}
