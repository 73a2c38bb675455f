//! Escaping for HTML: everything that came from an LLM or a program is shown as text, never
//! interpreted as markup.

/// `text` with the five characters that HTML gives a meaning replaced by their entities. Safe
/// in element content and in quoted attribute values alike.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    // Copy the runs between special characters whole: most text has none.
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            // A NUL is not allowed in an HTML document; show where it was.
            b'\0' => "\u{FFFD}",
            _ => continue,
        };
        out.push_str(&text[start..index]);
        out.push_str(entity);
        start = index + 1;
    }
    out.push_str(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_becomes_text() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape(r#"<img src=x onerror="alert('x')">"#),
            "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;"
        );
    }

    #[test]
    fn ampersands_are_escaped_once_and_other_text_is_kept() {
        assert_eq!(escape("a && b &amp; c"), "a &amp;&amp; b &amp;amp; c");
        assert_eq!(escape("plain text, ünïcödé ✓"), "plain text, ünïcödé ✓");
        assert_eq!(escape("nul\0byte"), "nul\u{FFFD}byte");
        assert_eq!(escape(""), "");
    }
}
