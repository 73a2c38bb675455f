//! The methodology's rules (`docs/methodology.md`, embedded at build time) as a page of the
//! report, each rule with an anchor (`methodology.html#rule-K1`) that the tables link to.

use super::escape::escape;

/// The methodology as the harness was built with it.
const METHODOLOGY: &str = include_str!("../../../docs/methodology.md");

/// A link to rule `id` (`K1`) from a page `root` away from the report's folder.
pub(crate) fn rule_link(root: &str, id: &str) -> String {
    format!("<a class=\"rule\" href=\"{root}methodology.html#rule-{id}\" title=\"methodology rule {id}\">{id}</a>")
}

/// Links to several rules, separated by spaces.
pub(crate) fn rule_links(root: &str, ids: &[&str]) -> String {
    ids.iter()
        .map(|id| rule_link(root, id))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The rule a paragraph states, where it opens with `**K1.`.
fn rule_id(paragraph: &str) -> Option<&str> {
    let rest = paragraph.strip_prefix("**")?;
    let (id, _) = rest.split_once('.')?;
    let mut chars = id.chars();
    let letter = chars.next()?;
    (letter.is_ascii_uppercase()
        && !id[1..].is_empty()
        && id[1..].chars().all(|c| c.is_ascii_digit()))
    .then_some(id)
}

/// Every rule id the methodology defines, in order.
#[cfg(test)]
pub(crate) fn rule_ids() -> Vec<&'static str> {
    METHODOLOGY
        .split("\n\n")
        .filter_map(|p| rule_id(p.trim()))
        .collect()
}

/// `**bold**` and `` `code` `` of already escaped text, as HTML.
fn inline(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    let (mut bold, mut code) = (false, false);
    let mut rest = escaped;
    while let Some(c) = rest.chars().next() {
        if !code && rest.starts_with("**") {
            out.push_str(if bold { "</strong>" } else { "<strong>" });
            bold = !bold;
            rest = &rest[2..];
            continue;
        }
        if c == '`' {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    if code {
        out.push_str("</code>");
    }
    if bold {
        out.push_str("</strong>");
    }
    out
}

/// The methodology page's body: headings, and one paragraph per rule with its anchor.
pub(crate) fn methodology_body() -> String {
    let mut out = String::new();
    for paragraph in METHODOLOGY.split("\n\n").map(str::trim) {
        if let Some(title) = paragraph.strip_prefix("# ") {
            out.push_str(&format!("<h1>{}</h1>\n", escape(title)));
        } else if let Some(title) = paragraph.strip_prefix("## ") {
            out.push_str(&format!("<h2>{}</h2>\n", escape(title)));
        } else if let Some(id) = rule_id(paragraph) {
            out.push_str(&format!(
                "<p id=\"rule-{id}\">{}</p>\n",
                inline(&escape(paragraph))
            ));
        } else if !paragraph.is_empty() {
            out.push_str(&format!("<p>{}</p>\n", inline(&escape(paragraph))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_the_report_links_to_is_defined() {
        let ids = rule_ids();
        for id in super::super::LINKED_RULES {
            assert!(
                ids.contains(id),
                "rule {id} is not in docs/methodology.md: {ids:?}"
            );
        }
        let body = methodology_body();
        assert!(body.contains("<p id=\"rule-K2\"><strong>K2."), "{body}");
        assert!(body.contains("<code>report::errors_table::counted_outcomes</code>"));
    }

    #[test]
    fn inline_marks_are_closed_even_when_unbalanced() {
        assert_eq!(inline("a **b** `c`"), "a <strong>b</strong> <code>c</code>");
        assert_eq!(inline("`open"), "<code>open</code>");
        assert_eq!(rule_id("**K10. text"), Some("K10"));
        assert_eq!(rule_id("**Note.** text"), None);
    }
}
