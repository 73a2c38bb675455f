//! Whether a piece of text is a file path, which one, and whether the harness refuses it.

/// Longest text considered as a path candidate.
const MAX_PATH_CHARS: usize = 200;

/// File names without an extension that are still clearly files.
const EXTENSIONLESS_NAMES: &[&str] = &[
    "Makefile",
    "GNUmakefile",
    "Dockerfile",
    "Containerfile",
    "Justfile",
    "justfile",
    "Procfile",
    "LICENSE",
];

/// Extensions a bare file name (one without a directory) must have to count as a path.
const KNOWN_EXTENSIONS: &[&str] = &[
    "rs", "toml", "py", "pyi", "ipynb", "md", "rst", "txt", "json", "yaml", "yml", "cfg", "ini",
    "conf", "sh", "bash", "ps1", "bat", "lock", "c", "h", "cc", "cpp", "hpp", "cu", "cuh", "js",
    "mjs", "ts", "tsx", "jsx", "html", "css", "go", "java", "kt", "rb", "r", "jl", "csv", "sql",
    "xml", "proto", "wgsl", "glsl", "cmake", "mk", "in", "env",
];

/// Why a path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    Absolute,
    Climbs,
    HarnessOwned,
}

impl Refusal {
    pub(super) fn reason(self) -> &'static str {
        match self {
            Refusal::Absolute => "it is an absolute path",
            Refusal::Climbs => "it has a `..` component",
            Refusal::HarnessOwned => "the harness owns that file",
        }
    }
}

/// Something that looks like a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Candidate {
    Path(String),
    Refused { written: String, why: Refusal },
}

/// Strips the Markdown and punctuation that wrap a path in prose.
pub(super) fn strip_decorations(raw: &str) -> &str {
    raw.trim_start_matches(['`', '"', '\'', '*', '(', '[', '{', '<'])
        .trim_end_matches([
            '`', '"', '\'', '*', ')', ']', '}', '>', ':', '.', ',', ';', '!', '?',
        ])
}

/// Whether `name` (a path's last component) is a plausible file name.
fn plausible_file_name(name: &str, has_dir: bool) -> bool {
    if EXTENSIONLESS_NAMES.contains(&name) {
        return true;
    }
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    if !stem.bytes().any(|b| b.is_ascii_alphanumeric()) || ext.is_empty() {
        return false;
    }
    if has_dir {
        ext.len() <= 10
            && ext.bytes().all(|b| b.is_ascii_alphanumeric())
            && ext.bytes().any(|b| b.is_ascii_alphabetic())
    } else {
        KNOWN_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    }
}

pub(super) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Decides whether `raw` is a path, and which one: normalised, mapped onto an expected file when
/// it is a bare name, or refused.
pub(super) fn classify(raw: &str, expected: &[&str]) -> Option<Candidate> {
    let written = strip_decorations(raw);
    if written.is_empty() || written.len() > MAX_PATH_CHARS {
        return None;
    }
    // Most words of prose fail here, before anything is allocated.
    let path_bytes = written.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/' | b'\\' | b':')
    });
    if !path_bytes
        || !(written.contains('.') || EXTENSIONLESS_NAMES.iter().any(|n| written.ends_with(n)))
    {
        return None;
    }
    let slashed = written.replace('\\', "/");
    let bytes = slashed.as_bytes();
    let drive =
        bytes.len() > 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/';
    let body = if drive { &slashed[2..] } else { &slashed[..] };
    if !body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'))
    {
        return None;
    }
    let name = file_name(body);
    let mut parts = Vec::new();
    let mut climbs = false;
    for part in body.split('/') {
        match part {
            "" | "." => {}
            ".." => climbs = true,
            part => parts.push(part),
        }
    }
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    let normalised = parts.join("/");
    let is_expected = expected.contains(&normalised.as_str());
    if !is_expected && !plausible_file_name(name, parts.len() > 1 || climbs) {
        return None;
    }
    let refused = |why| {
        Some(Candidate::Refused {
            written: written.to_owned(),
            why,
        })
    };
    if drive || body.starts_with('/') {
        return refused(Refusal::Absolute);
    }
    if climbs {
        return refused(Refusal::Climbs);
    }
    if matches!(parts.first(), Some(&(".cargo" | "target" | ".git"))) || name == "Cargo.lock" {
        return refused(Refusal::HarnessOwned);
    }
    if parts.len() == 1 && !is_expected {
        let mut same_name = expected.iter().filter(|e| file_name(e) == name);
        if let (Some(only), None) = (same_name.next(), same_name.next()) {
            return Some(Candidate::Path((*only).to_owned()));
        }
    }
    Some(Candidate::Path(normalised))
}
