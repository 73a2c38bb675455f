//! Which chat window an export was copied from, recognised by the marker lines each one leaves
//! in the text, never by the file's name.

use std::fmt;

/// The chat windows whose exports the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// chatgpt.com: `You said:` before a user turn (not before the first), `ChatGPT said:` and/or
    /// a bare `ChatGPT` line before a reply, code under a language line and `Copy code`.
    Chatgpt,
    /// Microsoft Copilot (Bing): a bare `You` line before each user turn, a bare `Copilot` line
    /// before each reply, the page's greeting first.
    BingCopilot,
    /// GitHub Copilot Chat in an editor: `GitHub Copilot` before each reply; user turns carry no
    /// marker at all.
    GithubCopilot,
    /// Poe: the bot's page text first (`per message`, `View details`, `OFFICIAL`), each reply
    /// under the bot's name and a `Poe` line; user turns carry no marker.
    Poe,
    /// No window's markers: `User:` / `Assistant:` style lines (`You:`, `Human:`, `AI:` ...).
    Generic,
}

impl Layout {
    pub const ALL: [Layout; 5] = [
        Layout::Chatgpt,
        Layout::BingCopilot,
        Layout::GithubCopilot,
        Layout::Poe,
        Layout::Generic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Layout::Chatgpt => "chatgpt",
            Layout::BingCopilot => "bing-copilot",
            Layout::GithubCopilot => "github-copilot",
            Layout::Poe => "poe",
            Layout::Generic => "generic",
        }
    }

    pub fn from_name(name: &str) -> Option<Layout> {
        Layout::ALL.into_iter().find(|layout| layout.name() == name)
    }

    /// The names, for a message that lists the choices.
    pub fn names() -> String {
        Layout::ALL.map(Layout::name).join(", ")
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A layout and the lines that gave it away.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub layout: Layout,
    /// `line 43: "ChatGPT said:"`, ...: at most a few, for the record and for messages.
    pub evidence: Vec<String>,
}

/// Why no layout could be chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Undetected {
    /// No window's markers at all.
    None,
    /// Markers of several windows, none clearly ahead.
    Ambiguous(Vec<Detection>),
}

/// Lines that mark a user turn in a generic export.
pub(super) fn generic_user_marker(line: &str) -> bool {
    matches!(
        line.trim().trim_end_matches(':').to_lowercase().as_str(),
        "user" | "you" | "me" | "human" | "prompt"
    ) && line.trim().ends_with(':')
}

/// Lines that mark a reply in a generic export.
pub(super) fn generic_assistant_marker(line: &str) -> bool {
    matches!(
        line.trim().trim_end_matches(':').to_lowercase().as_str(),
        "assistant" | "ai" | "bot" | "model" | "answer"
    ) && line.trim().ends_with(':')
}

/// Whether line `index` starts a Poe reply: the bot's name, then (after blank lines) `Poe`.
pub(super) fn poe_reply_marker(lines: &[&str], index: usize) -> bool {
    let name = lines[index].trim();
    if name.is_empty() || name == "Poe" || name.len() > 60 || name.contains(' ') {
        return false;
    }
    lines[index + 1..]
        .iter()
        .map(|line| line.trim())
        .find(|line| !line.is_empty())
        .is_some_and(|next| next == "Poe")
}

/// Recognises the layout by its features; `Err` when none is found or several tie.
pub fn detect(text: &str) -> Result<Detection, Undetected> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found: Vec<(Layout, Vec<String>)> = Layout::ALL
        .iter()
        .map(|&layout| (layout, Vec::new()))
        .collect();
    let mut note = |layout: Layout, index: usize, line: &str| {
        let (_, evidence) = found
            .iter_mut()
            .find(|(candidate, _)| *candidate == layout)
            .expect("every layout has an entry");
        let line = line.trim();
        let shown = match line.char_indices().nth(40) {
            Some((cut, _)) => format!("{}...", &line[..cut]),
            None => line.to_owned(),
        };
        evidence.push(format!("line {}: {shown:?}", index + 1));
    };
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        match trimmed {
            // The bare `ChatGPT` line heads a reply in every generation of the page: under
            // `ChatGPT said:`, above o1's `Thought for ...`, and in 2023's copies that mark the
            // user with a bare `You`.
            "You said:" | "ChatGPT said:" | "Copy code" | "ChatGPT" => {
                note(Layout::Chatgpt, index, line)
            }
            "You" | "Copilot" | "Microsoft Copilot" => note(Layout::BingCopilot, index, line),
            "GitHub Copilot" => note(Layout::GithubCopilot, index, line),
            _ if trimmed.starts_with("GitHub Copilot: ") => {
                note(Layout::GithubCopilot, index, line)
            }
            "View details" | "OFFICIAL" => note(Layout::Poe, index, line),
            _ if trimmed.ends_with("per message") && trimmed.len() < 24 => {
                note(Layout::Poe, index, line)
            }
            _ if poe_reply_marker(&lines, index) => note(Layout::Poe, index, line),
            _ if generic_user_marker(line) || generic_assistant_marker(line) => {
                note(Layout::Generic, index, line)
            }
            _ => {}
        }
    }
    // A lone `You` or `Copilot` line can occur in any text; Bing's export has both.
    if let Some((_, evidence)) = found.iter_mut().find(|(l, _)| *l == Layout::BingCopilot) {
        let has = |word: &str| evidence.iter().any(|e| e.ends_with(&format!("{word:?}")));
        if !(has("You") && has("Copilot")) {
            evidence.clear();
        }
    }
    let mut candidates: Vec<Detection> = found
        .into_iter()
        .filter(|(_, evidence)| !evidence.is_empty())
        .map(|(layout, evidence)| Detection { layout, evidence })
        .collect();
    candidates.sort_by_key(|d| std::cmp::Reverse(d.evidence.len()));
    match candidates.as_slice() {
        [] => Err(Undetected::None),
        [only] => Ok(shorten(only.clone())),
        // Clearly ahead: at least three times the runner-up's markers.
        [first, second, ..] if first.evidence.len() >= 3 * second.evidence.len() => {
            Ok(shorten(first.clone()))
        }
        _ => Err(Undetected::Ambiguous(
            candidates.into_iter().map(shorten).collect(),
        )),
    }
}

fn shorten(mut detection: Detection) -> Detection {
    let count = detection.evidence.len();
    detection.evidence.truncate(4);
    if count > 4 {
        detection
            .evidence
            .push(format!("and {} more marker line(s)", count - 4));
    }
    detection
}

#[cfg(test)]
mod tests {
    use super::*;

    // Small excerpts written by hand to pin each window's markers (fixtures, not the study's
    // chats, which tests read from ../shared where it exists).
    #[test]
    fn each_window_is_recognised_by_its_markers() {
        let chatgpt = "Write a U-Net.\nChatGPT said:\nChatGPT\nHere it is.\npython\nCopy code\nimport torch\n\n\n\n\n\n\nYou said:\nNameError: name 'nn' is not defined\nChatGPT said:\nChatGPT\nAdd the import.";
        assert_eq!(detect(chatgpt).unwrap().layout, Layout::Chatgpt);
        let o1 = "Write a U-Net.\nChatGPT\n\nThought for 72 seconds\n\nHere it is.";
        assert_eq!(detect(o1).unwrap().layout, Layout::Chatgpt);
        let older = "You\nWrite a U-Net.\nChatGPT\nHere it is.\nYou\nIt fails.\nChatGPT\nFixed.";
        assert_eq!(detect(older).unwrap().layout, Layout::Chatgpt);
        let bing = "Microsoft Copilot\nCopilot\nHi there.\n\nYou\nWrite a U-Net.\nCopilot\nSure.";
        assert_eq!(detect(bing).unwrap().layout, Layout::BingCopilot);
        let github = "Write a U-Net.\n\nGitHub Copilot\nHere it is.\n\nTraceback (most recent call last): ...\n\nGitHub Copilot\nFixed.";
        assert_eq!(detect(github).unwrap().layout, Layout::GithubCopilot);
        let poe = "A bot.\n\n380per message\n·\nView details\nOFFICIAL\nWrite a U-Net.\n\nClaude-3.5-Sonnet\n\nPoe\nHere it is.";
        let detection = detect(poe).unwrap();
        assert_eq!(detection.layout, Layout::Poe);
        assert_eq!(detection.evidence[0], "line 3: \"380per message\"");
        let generic = "User:\nWrite a U-Net.\nAssistant:\nHere it is.";
        assert_eq!(detect(generic).unwrap().layout, Layout::Generic);
    }

    #[test]
    fn unknown_text_is_undetected_and_a_lone_you_is_not_bing() {
        assert_eq!(
            detect("just some notes\nabout a U-Net"),
            Err(Undetected::None)
        );
        assert_eq!(detect("You\nknow what I mean"), Err(Undetected::None));
    }

    #[test]
    fn markers_of_two_windows_in_like_numbers_are_ambiguous() {
        let mixed = "You said:\nhi\nGitHub Copilot\nhello";
        assert!(matches!(detect(mixed), Err(Undetected::Ambiguous(list)) if list.len() == 2));
    }

    #[test]
    fn names_round_trip() {
        for layout in Layout::ALL {
            assert_eq!(Layout::from_name(layout.name()), Some(layout));
        }
        assert_eq!(Layout::from_name("slack"), None);
    }
}
