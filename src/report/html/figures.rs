//! The figures section: each figure an image beside the page and the CSV it was drawn from.
//!
//! The page does not draw figures itself: `commands::report` draws them with `report::figures`
//! (or copies those of `--figures DIR`) and hands over `FigureEntry`s whose paths are relative
//! to the report's folder.

use super::escape::escape;

/// One figure of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureEntry {
    pub title: String,
    /// The image (PNG or SVG), relative to the report's folder.
    pub image: String,
    /// The CSV it was drawn from, relative to the report's folder.
    pub csv: String,
}

/// A relative path as an `href`/`src` value: each segment percent-encoded where needed.
pub(crate) fn href(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"/._-~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The figures section's body.
pub(crate) fn figures_section(figures: &[FigureEntry]) -> String {
    if figures.is_empty() {
        return "<p>No figures were given to this report.</p>\n".to_string();
    }
    let mut out = String::new();
    for figure in figures {
        out.push_str(&format!(
            "<figure><img src=\"{}\" alt=\"{}\" decoding=\"async\"><figcaption>{} (<a href=\"{}\">data, CSV</a>)</figcaption></figure>\n",
            href(&figure.image),
            escape(&figure.title),
            escape(&figure.title),
            href(&figure.csv),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_images_with_their_data_and_escaped_titles() {
        let html = figures_section(&[FigureEntry {
            title: "Dice <by> LLM".into(),
            image: "figures/dice box.png".into(),
            csv: "figures/dice box.csv".into(),
        }]);
        assert!(
            html.contains("<img src=\"figures/dice%20box.png\""),
            "{html}"
        );
        assert!(html.contains("href=\"figures/dice%20box.csv\""), "{html}");
        assert!(html.contains("Dice &lt;by&gt; LLM"), "{html}");
        assert!(figures_section(&[]).contains("No figures"));
    }
}
