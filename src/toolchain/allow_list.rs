//! The crates a generated program may depend on: the one table the prompt, the vendoring and
//! the warm build are all made from.

/// One crate version a generated crate may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedCrate {
    pub name: &'static str,
    /// The exact version vendored. A requirement such as `"0.8"` or `"0.8.5"` in a generated
    /// `Cargo.toml` resolves to it, offline.
    pub version: &'static str,
    /// Features built into the warm cache on top of the defaults (default features are on for
    /// every crate). A generated crate that asks for other features still builds if the
    /// vendored sources allow it, just not from the warm cache.
    pub features: &'static [&'static str],
}

/// The allow-list: every crate and version vendored for offline builds, newest version of each
/// crate first. Several versions of one crate are offered where LLMs, writing from memory,
/// commonly ask for an older one (`rand` 0.8 is also what `tch` itself uses). `tch` 0.24.0
/// pairs with libtorch 2.11.0 (see `libtorch.rs`). The prompt shows exactly this list; a test
/// compares them. Changing it means regenerating `warm.lock` (see `vendor.rs`).
pub const ALLOWED_CRATES: &[AllowedCrate] = &[
    krate("tch", "0.24.0", &[]),
    krate("image", "0.25.10", &[]),
    krate("image", "0.24.9", &[]),
    krate("rand", "0.10.4", &[]),
    krate("rand", "0.9.5", &[]),
    krate("rand", "0.8.8", &[]),
    krate("anyhow", "1.0.105", &[]),
    krate("thiserror", "2.0.21", &[]),
    krate("thiserror", "1.0.69", &[]),
    krate("clap", "4.6.9", &["derive"]),
    krate("indicatif", "0.18.6", &[]),
    krate("indicatif", "0.17.11", &[]),
    krate("csv", "1.4.0", &[]),
    krate("serde", "1.0.229", &["derive"]),
    krate("serde_json", "1.0.154", &[]),
    krate("plotters", "0.3.7", &[]),
    krate("walkdir", "2.5.1", &[]),
];

const fn krate(
    name: &'static str,
    version: &'static str,
    features: &'static [&'static str],
) -> AllowedCrate {
    AllowedCrate {
        name,
        version,
        features,
    }
}

impl AllowedCrate {
    /// The dependency key in the warm crate's manifest: the crate's own name for its newest
    /// version, a renamed key for older ones (`rand08` for rand 0.8.8, `thiserror1`).
    pub fn warm_key(&self) -> String {
        let newest = ALLOWED_CRATES.iter().find(|c| c.name == self.name);
        if newest.is_none_or(|c| c.version == self.version) {
            return self.name.to_string();
        }
        let mut parts = self.version.split('.');
        let major = parts.next().unwrap_or("0");
        let suffix = if major == "0" {
            format!("0{}", parts.next().unwrap_or("0"))
        } else {
            major.to_string()
        };
        format!("{}{suffix}", self.name)
    }
}

/// The allow-list as Markdown lines for a prompt: one line per crate, its versions newest
/// first and the features built warm.
pub fn allow_list_markdown() -> String {
    let mut text = String::new();
    let mut seen: Vec<&str> = Vec::new();
    for krate in ALLOWED_CRATES {
        if seen.contains(&krate.name) {
            continue;
        }
        seen.push(krate.name);
        let versions: Vec<&str> = ALLOWED_CRATES
            .iter()
            .filter(|c| c.name == krate.name)
            .map(|c| c.version)
            .collect();
        text.push_str(&format!("- `{}` {}", krate.name, versions.join(" or ")));
        if !krate.features.is_empty() {
            text.push_str(&format!(" (features: {})", krate.features.join(", ")));
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_versions_get_renamed_keys_and_keys_are_unique() {
        let keys: Vec<String> = ALLOWED_CRATES.iter().map(AllowedCrate::warm_key).collect();
        for expected in [
            "rand",
            "rand09",
            "rand08",
            "image024",
            "thiserror1",
            "indicatif017",
        ] {
            assert!(keys.iter().any(|k| k == expected), "{expected} in {keys:?}");
        }
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "{keys:?}");
    }

    #[test]
    fn versions_are_exact_and_newest_first() {
        let parse = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap()).collect() };
        for (i, a) in ALLOWED_CRATES.iter().enumerate() {
            assert_eq!(parse(a.version).len(), 3, "{} {}", a.name, a.version);
            for b in &ALLOWED_CRATES[i + 1..] {
                if a.name == b.name {
                    assert!(parse(a.version) > parse(b.version), "{} order", a.name);
                }
            }
        }
    }

    #[test]
    fn the_markdown_list_names_every_version() {
        let text = allow_list_markdown();
        for krate in ALLOWED_CRATES {
            assert!(text.contains(krate.version), "{} missing", krate.version);
        }
        insta::assert_snapshot!(text);
    }
}
