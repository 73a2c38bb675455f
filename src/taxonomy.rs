//! The error taxonomy: stable category names that are the columns of the error tables.
//!
//! These names are part of the transcript format and of every report: never rename one. A new
//! category may be added; readers of old transcripts keep working because categories are stored
//! as their kebab-case names.

use serde::{Deserialize, Serialize};

/// Where an error came from. Only `Infra` is never charged to the LLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// The reply itself could not be used (no code, truncated, refused, unparseable).
    Reply,
    /// The crate did not build.
    Compile,
    /// The program built but failed when run, or its outputs were missing or wrong.
    Runtime,
    /// The harness, the sandbox, the toolchain or the API failed, or a limit of the harness's
    /// that the task does not explain was reached: not the LLM's fault.
    Infra,
}

/// One category of the taxonomy in `ARCHITECTURE.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    // Reply tier.
    NoCode,
    Truncated,
    Refused,
    UnparseableFiles,
    /// The reply's files leave out one the build cannot do without (the manifest, the program).
    MissingFiles,
    // Compile tier.
    UnresolvedName,
    TypeMismatch,
    TraitBound,
    ApiMisuse,
    BorrowOwnership,
    Lifetime,
    Syntax,
    Dependency,
    OtherCompile,
    // Runtime tier.
    TensorShape,
    DeviceDtype,
    DataIo,
    PanicOther,
    Timeout,
    OutOfMemory,
    /// The program wrote more to disk than the sandbox allows, a limit far beyond what the
    /// task's outputs need (`docs/methodology.md`, L2).
    OutOfDisk,
    NonzeroExit,
    MissingOutput,
    InvalidOutput,
    // Infrastructure tier.
    InfraToolchain,
    InfraSandbox,
    InfraApi,
    InfraHarness,
    /// A harness limit reached where the LLM is not charged: a build that ran out of time or
    /// disk; a program's disk limit too close to what the task needs (`docs/methodology.md`).
    InfraLimit,
}

impl Category {
    /// Every category, in table column order.
    pub const ALL: [Category; 29] = [
        Category::NoCode,
        Category::Truncated,
        Category::Refused,
        Category::UnparseableFiles,
        Category::MissingFiles,
        Category::UnresolvedName,
        Category::TypeMismatch,
        Category::TraitBound,
        Category::ApiMisuse,
        Category::BorrowOwnership,
        Category::Lifetime,
        Category::Syntax,
        Category::Dependency,
        Category::OtherCompile,
        Category::TensorShape,
        Category::DeviceDtype,
        Category::DataIo,
        Category::PanicOther,
        Category::Timeout,
        Category::OutOfMemory,
        Category::OutOfDisk,
        Category::NonzeroExit,
        Category::MissingOutput,
        Category::InvalidOutput,
        Category::InfraToolchain,
        Category::InfraSandbox,
        Category::InfraApi,
        Category::InfraHarness,
        Category::InfraLimit,
    ];

    /// The tier this category belongs to.
    pub fn tier(self) -> Tier {
        use Category::*;
        match self {
            NoCode | Truncated | Refused | UnparseableFiles | MissingFiles => Tier::Reply,
            UnresolvedName | TypeMismatch | TraitBound | ApiMisuse | BorrowOwnership | Lifetime
            | Syntax | Dependency | OtherCompile => Tier::Compile,
            TensorShape | DeviceDtype | DataIo | PanicOther | Timeout | OutOfMemory | OutOfDisk
            | NonzeroExit | MissingOutput | InvalidOutput => Tier::Runtime,
            InfraToolchain | InfraSandbox | InfraApi | InfraHarness | InfraLimit => Tier::Infra,
        }
    }

    /// The stable kebab-case name used in transcripts and tables.
    pub fn name(self) -> &'static str {
        use Category::*;
        match self {
            NoCode => "no-code",
            Truncated => "truncated",
            Refused => "refused",
            UnparseableFiles => "unparseable-files",
            MissingFiles => "missing-files",
            UnresolvedName => "unresolved-name",
            TypeMismatch => "type-mismatch",
            TraitBound => "trait-bound",
            ApiMisuse => "api-misuse",
            BorrowOwnership => "borrow-ownership",
            Lifetime => "lifetime",
            Syntax => "syntax",
            Dependency => "dependency",
            OtherCompile => "other-compile",
            TensorShape => "tensor-shape",
            DeviceDtype => "device-dtype",
            DataIo => "data-io",
            PanicOther => "panic-other",
            Timeout => "timeout",
            OutOfMemory => "out-of-memory",
            OutOfDisk => "out-of-disk",
            NonzeroExit => "nonzero-exit",
            MissingOutput => "missing-output",
            InvalidOutput => "invalid-output",
            InfraToolchain => "infra-toolchain",
            InfraSandbox => "infra-sandbox",
            InfraApi => "infra-api",
            InfraHarness => "infra-harness",
            InfraLimit => "infra-limit",
        }
    }

    /// Whether an error of this category counts against the LLM.
    pub fn charged_to_llm(self) -> bool {
        self.tier() != Tier::Infra
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One classified error: a compiler diagnostic, a runtime failure, a reply problem.
///
/// Stored in transcripts as is. Paths in `file` and text in `rendered` are already normalised
/// (relative to the crate, no machine-specific values), so they can be fed back verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    pub category: Category,
    /// The rustc error code (`E0425`) where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A one-line summary: the diagnostic's message or the panic message.
    pub message: String,
    /// The file the error points at, relative to the crate root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The full text a human would see (rustc's rendered diagnostic, the panic with context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<String>,
}

impl ErrorRecord {
    /// A record with only a category and a message.
    pub fn new(category: Category, message: impl Into<String>) -> Self {
        ErrorRecord {
            category,
            code: None,
            message: message.into(),
            file: None,
            line: None,
            rendered: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for category in Category::ALL {
            let text = serde_json::to_string(&category).unwrap();
            assert_eq!(text, format!("\"{}\"", category.name()));
            let back: Category = serde_json::from_str(&text).unwrap();
            assert_eq!(back, category);
        }
    }

    #[test]
    fn only_infra_is_not_charged() {
        let uncharged: Vec<_> = Category::ALL
            .iter()
            .filter(|c| !c.charged_to_llm())
            .map(|c| c.name())
            .collect();
        assert_eq!(
            uncharged,
            [
                "infra-toolchain",
                "infra-sandbox",
                "infra-api",
                "infra-harness",
                "infra-limit"
            ]
        );
    }
}
