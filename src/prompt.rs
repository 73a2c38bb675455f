//! Prompt templates and feedback messages.
//!
//! A target's templates live in `prompts/<target>/` and are embedded in the binary, so a
//! transcript's template hashes name exactly the text that was sent. Templates use `{{name}}`
//! placeholders and nothing else.
//!
//! Feedback budget: at most `FEEDBACK_BUDGET` characters of error text per message, each error
//! cut to `PER_ERROR_BUDGET`; errors go most relevant first (see `relevance_order`), and a line
//! says how many were left out. The study pasted one error at a time; a compiler's first errors
//! are the ones that matter, and later ones are often consequences.

use std::collections::BTreeMap;

use crate::hashing::sha256_hex;
use crate::taxonomy::{Category, ErrorRecord, Tier};

/// Characters of error text in one feedback message, at most.
pub const FEEDBACK_BUDGET: usize = 12_000;
/// Characters of one error's text, at most.
pub const PER_ERROR_BUDGET: usize = 4_000;

/// The templates of one target.
#[derive(Debug, Clone)]
pub struct Templates {
    /// The first message of every run.
    pub initial: &'static str,
    pub feedback_reply: &'static str,
    pub feedback_compile: &'static str,
    pub feedback_runtime: &'static str,
}

impl Templates {
    /// SHA-256 of each template, by file name, for the transcript header.
    pub fn hashes(&self) -> BTreeMap<String, String> {
        [
            ("prompt.md", self.initial),
            ("feedback-reply.md", self.feedback_reply),
            ("feedback-compile.md", self.feedback_compile),
            ("feedback-runtime.md", self.feedback_runtime),
        ]
        .into_iter()
        .map(|(name, text)| (name.to_string(), sha256_hex(text.as_bytes())))
        .collect()
    }

    /// The message that reports `errors` back to the model.
    pub fn feedback(&self, errors: &[ErrorRecord]) -> String {
        let template = match errors.first().map(|e| e.category.tier()) {
            Some(Tier::Reply) => self.feedback_reply,
            Some(Tier::Runtime) => self.feedback_runtime,
            _ => self.feedback_compile,
        };
        let (text, omitted) = render_errors(errors);
        let omitted = match omitted {
            0 => String::new(),
            1 => "(1 more error not shown.)\n".to_string(),
            n => format!("({n} more errors not shown.)\n"),
        };
        render(template, &[("errors", &text), ("omitted", &omitted)])
    }
}

/// Replaces each `{{name}}` with its value. Unknown placeholders are left as they are.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

/// Orders errors most relevant first, keeping the compiler's order within a rank: syntax errors
/// hide everything after them, a missing dependency or name explains many later errors.
pub fn relevance_order(errors: &mut [ErrorRecord]) {
    errors.sort_by_key(|e| match e.category {
        Category::Syntax => 0,
        Category::Dependency => 1,
        Category::UnresolvedName => 2,
        _ => 3,
    });
}

/// The error text within the budget, and how many errors did not fit.
fn render_errors(errors: &[ErrorRecord]) -> (String, usize) {
    let mut text = String::new();
    for (shown, error) in errors.iter().enumerate() {
        let body = error.rendered.as_deref().unwrap_or(&error.message);
        let body = cut(body.trim_end(), PER_ERROR_BUDGET);
        if shown > 0 && text.len() + body.len() + 2 > FEEDBACK_BUDGET {
            return (text, errors.len() - shown);
        }
        if shown > 0 {
            text.push_str("\n\n");
        }
        text.push_str(&body);
    }
    (text, 0)
}

/// At most `budget` bytes of `text`, cut at a char boundary, marked when cut.
fn cut(text: &str, budget: usize) -> String {
    if text.len() <= budget {
        return text.to_string();
    }
    let mut end = budget;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[... cut ...]", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Templates {
        Templates {
            initial: "write it",
            feedback_reply: "REPLY\n{{errors}}\n{{omitted}}end",
            feedback_compile: "COMPILE\n{{errors}}\n{{omitted}}end",
            feedback_runtime: "RUNTIME\n{{errors}}\n{{omitted}}end",
        }
    }

    fn error(category: Category, text: &str) -> ErrorRecord {
        let mut e = ErrorRecord::new(category, text.lines().next().unwrap_or(""));
        e.rendered = Some(text.to_string());
        e
    }

    #[test]
    fn picks_the_template_by_tier() {
        let t = templates();
        assert!(t
            .feedback(&[error(Category::NoCode, "no code")])
            .starts_with("REPLY"));
        assert!(t
            .feedback(&[error(Category::TypeMismatch, "E")])
            .starts_with("COMPILE"));
        assert!(t
            .feedback(&[error(Category::PanicOther, "p")])
            .starts_with("RUNTIME"));
    }

    #[test]
    fn relevance_puts_syntax_first_and_keeps_order_within_a_rank() {
        let mut errors = vec![
            error(Category::TypeMismatch, "a"),
            error(Category::UnresolvedName, "b"),
            error(Category::TypeMismatch, "c"),
            error(Category::Syntax, "d"),
        ];
        relevance_order(&mut errors);
        let order: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(order, ["d", "b", "a", "c"]);
    }

    #[test]
    fn budget_cuts_whole_errors_and_says_how_many() {
        let big = "x".repeat(PER_ERROR_BUDGET - 10);
        let errors: Vec<_> = (0..10)
            .map(|_| error(Category::TypeMismatch, &big))
            .collect();
        let message = templates().feedback(&errors);
        assert!(message.len() < FEEDBACK_BUDGET + 200, "{}", message.len());
        let shown = FEEDBACK_BUDGET / (PER_ERROR_BUDGET - 8);
        assert!(
            message.contains(&format!("({} more errors not shown.)", 10 - shown)),
            "{message}"
        );
    }

    #[test]
    fn one_huge_error_is_cut_not_dropped() {
        let huge = "y".repeat(PER_ERROR_BUDGET * 3);
        let message = templates().feedback(&[error(Category::PanicOther, &huge)]);
        assert!(message.contains("[... cut ...]"));
        assert!(!message.contains("not shown"));
    }

    #[test]
    fn hashes_cover_every_template() {
        let hashes = templates().hashes();
        assert_eq!(hashes.len(), 4);
        assert_eq!(hashes["prompt.md"], sha256_hex(b"write it"));
    }
}
