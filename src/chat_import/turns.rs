//! A chat export split into its turns: the user's (the prompt, pasted errors, instructions) and
//! the assistant's, each with its line range, whether a marker line named its role and, where
//! its role or its bounds were recovered from its content, why.

use std::sync::LazyLock;

use regex::Regex;

use super::layout::{generic_assistant_marker, generic_user_marker, poe_reply_marker, Layout};

/// Who wrote a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Speaker {
    User,
    Assistant,
}

/// One turn of the chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub speaker: Speaker,
    /// 1-based, inclusive, as `cat -n` numbers the export's lines.
    pub first_line: usize,
    pub last_line: usize,
    /// The turn's lines, marker lines left out, blank lines at either end trimmed.
    pub text: String,
    /// A marker line named its role; otherwise it was recovered from its content or position.
    pub marked: bool,
    /// Why the importer is not sure of this turn (its role or its bounds), if it is not.
    pub unsure: Option<String>,
    /// The window said the reply was cut at its output limit (Poe's notice, dropped from
    /// `text`).
    pub truncated: bool,
}

/// Poe's line under a reply cut at the bot's output limit.
pub const POE_TRUNCATION_NOTICE: &str =
    "This response was limited because it hit the maximum output tokens allowed.";

/// The start of what a person pastes from a console: the interpreter's command line, a
/// traceback, a frame, an exception, the IDE's exit line or inspection, a progress bar.
static CONSOLE_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^\s*(Traceback \(most recent call last\)|File .+, line \d+",
        r"|\S*[\\/]python[\w.]*(\.exe)?\x22?\s|Process finished with exit code",
        r"|[A-Za-z_][\w.]*(Error|Exception): |Unresolved reference",
        r"|[\w ]{0,30}:\s*\d+%\|)"
    ))
    .expect("the console pattern is valid")
});

/// Whether a line starts console output a person pasted.
pub fn is_console_start(line: &str) -> bool {
    CONSOLE_START.is_match(line)
}

/// A marker line found in the export.
struct Marker {
    /// 0-based index of its first line.
    line: usize,
    /// Lines it takes (the content starts after them).
    len: usize,
    speaker: Speaker,
    /// Text on the marker line that belongs to the turn (`GitHub Copilot: Here is...`).
    inline: Option<String>,
}

/// Splits `text` into turns by `layout`'s markers, recovering unmarked user turns by content.
pub fn split_turns(text: &str, layout: Layout) -> Vec<Turn> {
    let lines: Vec<&str> = text.lines().collect();
    let start = body_start(&lines, layout);
    let markers = markers(&lines, start, layout);
    let mut turns = Vec::new();
    let first_marker = markers.first().map_or(lines.len(), |m| m.line);
    // Before the first marker: the prompt (and, where the first reply carries no marker, that
    // reply and the user's answer to it).
    if let Some(turn) = make_turn(&lines, start, first_marker, Speaker::User, false, None) {
        turns.extend(split_unmarked_head(&lines, turn, layout));
    }
    for (index, marker) in markers.iter().enumerate() {
        let end = markers.get(index + 1).map_or(lines.len(), |next| next.line);
        let content_start = marker.line + marker.len;
        let mut turn = match make_turn(&lines, content_start, end, marker.speaker, true, None) {
            Some(turn) => turn,
            None if marker.inline.is_some() => Turn {
                speaker: marker.speaker,
                first_line: marker.line + 1,
                last_line: marker.line + 1,
                text: String::new(),
                marked: true,
                unsure: None,
                truncated: false,
            },
            None => continue,
        };
        if let Some(inline) = &marker.inline {
            turn.text = format!("{inline}\n{}", turn.text).trim_end().to_owned();
            turn.first_line = marker.line + 1;
        }
        turns.push(turn);
    }
    recover_user_turns(&lines, turns, layout)
}

/// The line where the conversation starts, after the window's page text.
fn body_start(lines: &[&str], layout: Layout) -> usize {
    match layout {
        // The bot's page: name, followers, description, price, `View details`, `OFFICIAL`.
        Layout::Poe => lines
            .iter()
            .take(40)
            .position(|line| line.trim() == "OFFICIAL")
            .map_or(0, |index| index + 1),
        // The page title and the greeting, up to the first `You`; a copy that starts inside the
        // first message has none.
        Layout::BingCopilot => {
            let first_you = lines.iter().position(|line| line.trim() == "You");
            let starts_with_title = lines
                .iter()
                .find(|line| !line.trim().is_empty())
                .is_some_and(|line| line.trim() == "Microsoft Copilot");
            match first_you {
                Some(index) if starts_with_title => index,
                _ => 0,
            }
        }
        _ => 0,
    }
}

fn markers(lines: &[&str], start: usize, layout: Layout) -> Vec<Marker> {
    let mut found = Vec::new();
    let mut index = start;
    while index < lines.len() {
        let line = lines[index].trim();
        let marker = match layout {
            Layout::Chatgpt => match line {
                // `You` alone: the page's 2023 generation.
                "You said:" | "You" => Some((1, Speaker::User, None)),
                "ChatGPT said:" | "ChatGPT" => {
                    let mut len = 1;
                    if line == "ChatGPT said:"
                        && lines.get(index + 1).map(|l| l.trim()) == Some("ChatGPT")
                    {
                        len = 2;
                    }
                    // o1's `Thought for 72 seconds` line under the marker is the window's too.
                    let mut next = index + len;
                    while lines.get(next).is_some_and(|l| l.trim().is_empty()) {
                        next += 1;
                    }
                    if lines
                        .get(next)
                        .is_some_and(|l| l.starts_with("Thought for "))
                    {
                        len = next + 1 - index;
                    }
                    Some((len, Speaker::Assistant, None))
                }
                _ => None,
            },
            Layout::BingCopilot => match line {
                "You" => Some((1, Speaker::User, None)),
                "Copilot" => Some((1, Speaker::Assistant, None)),
                _ => None,
            },
            Layout::GithubCopilot => {
                if line == "GitHub Copilot" {
                    Some((1, Speaker::Assistant, None))
                } else {
                    line.strip_prefix("GitHub Copilot: ")
                        .map(|rest| (1, Speaker::Assistant, Some(rest.to_owned())))
                }
            }
            Layout::Poe if poe_reply_marker(lines, index) => {
                let poe = (index + 1..lines.len())
                    .find(|&i| lines[i].trim() == "Poe")
                    .expect("poe_reply_marker saw it");
                Some((poe + 1 - index, Speaker::Assistant, None))
            }
            Layout::Poe => None,
            Layout::Generic if generic_user_marker(line) => Some((1, Speaker::User, None)),
            Layout::Generic if generic_assistant_marker(line) => {
                Some((1, Speaker::Assistant, None))
            }
            Layout::Generic => None,
        };
        match marker {
            Some((len, speaker, inline)) => {
                found.push(Marker {
                    line: index,
                    len,
                    speaker,
                    inline,
                });
                index += len;
            }
            None => index += 1,
        }
    }
    found
}

/// The turn of lines `[from, to)`, blank lines at either end trimmed; `None` if all are blank.
fn make_turn(
    lines: &[&str],
    from: usize,
    to: usize,
    speaker: Speaker,
    marked: bool,
    unsure: Option<String>,
) -> Option<Turn> {
    let first = (from..to).find(|&i| !lines[i].trim().is_empty())?;
    let last = (from..to).rev().find(|&i| !lines[i].trim().is_empty())?;
    Some(Turn {
        speaker,
        first_line: first + 1,
        last_line: last + 1,
        text: lines[first..=last].join("\n"),
        marked,
        unsure,
        truncated: false,
    })
}

/// A person's name before the first message (`JArjomandi: Please provide ...`) is a user marker
/// on the line itself.
static NAME_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z][\w.-]{1,30}: ").expect("the name pattern is valid"));

/// The text before the first marker: the prompt; in GitHub Copilot's export also the first reply
/// (unmarked, from its first Markdown heading or fence on) and the user's paste after it.
fn split_unmarked_head(lines: &[&str], mut head: Turn, layout: Layout) -> Vec<Turn> {
    if layout == Layout::GithubCopilot {
        if let Some(prefix) = NAME_PREFIX.find(&head.text) {
            head.text = head.text[prefix.end()..].to_owned();
            head.marked = true;
        }
    }
    if layout != Layout::GithubCopilot || head.marked {
        return vec![head];
    }
    let from = head.first_line; // 0-based index of the line after the first
    let to = head.last_line;
    let reply_start = (from..to).find(|&i| {
        let line = lines[i];
        line.starts_with("#") && line.trim_start_matches('#').starts_with(' ')
            || line.starts_with("```")
    });
    let Some(reply_start) = reply_start else {
        return vec![head];
    };
    let mut turns = Vec::new();
    turns.extend(make_turn(
        lines,
        head.first_line - 1,
        reply_start,
        Speaker::User,
        false,
        None,
    ));
    turns.extend(make_turn(
        lines,
        reply_start,
        to,
        Speaker::Assistant,
        false,
        Some(format!(
            "a reply with no marker, taken from line {} (its first Markdown heading or fence) on",
            reply_start + 1
        )),
    ));
    turns
}

/// Where a layout marks only replies, the user's turn is at the end of the reply before: the
/// console paste there, else (when another reply follows) its last paragraph, marked unsure. A
/// reply cut by the window's notice ends at the notice. Two replies in a row with nothing
/// between them get an empty user turn marked unsure, so the rounds stay paired.
fn recover_user_turns(lines: &[&str], turns: Vec<Turn>, layout: Layout) -> Vec<Turn> {
    let marks_users = matches!(
        layout,
        Layout::Chatgpt | Layout::BingCopilot | Layout::Generic
    );
    let mut out: Vec<Turn> = Vec::new();
    let count = turns.len();
    for (index, turn) in turns.into_iter().enumerate() {
        if turn.speaker == Speaker::User || marks_users {
            out.push(turn);
            continue;
        }
        let next_is_reply = index + 1 < count;
        let (reply, user) = split_reply(lines, turn, next_is_reply);
        let end = reply.last_line;
        out.push(reply);
        match user {
            Some(user) => out.push(user),
            None if next_is_reply => out.push(Turn {
                speaker: Speaker::User,
                first_line: end,
                last_line: end,
                text: String::new(),
                marked: false,
                truncated: false,
                unsure: Some("no user turn was recognised between two replies".to_owned()),
            }),
            None => {}
        }
    }
    out
}

/// A reply and the user's turn at its end, if one is found.
fn split_reply(lines: &[&str], reply: Turn, next_is_reply: bool) -> (Turn, Option<Turn>) {
    let from = reply.first_line - 1;
    let to = reply.last_line;
    let cut = |reply_end: usize, user_start: usize, truncated: bool, unsure: Option<String>| {
        let reply_part = make_turn(
            lines,
            from,
            reply_end,
            Speaker::Assistant,
            reply.marked,
            reply.unsure.clone(),
        )
        .map(|mut turn| {
            turn.truncated = truncated;
            turn
        });
        let user_part = make_turn(lines, user_start, to, Speaker::User, false, unsure);
        (reply_part, user_part)
    };
    // Poe's notice ends the reply; whatever follows it is the user's.
    if let Some(notice) = (from..to).find(|&i| lines[i].trim() == POE_TRUNCATION_NOTICE) {
        if let (Some(reply_part), user) = cut(notice, notice + 1, true, None) {
            return (reply_part, user);
        }
    }
    if let Some(start) = console_paste_start(lines, from, to) {
        if let (Some(reply_part), user) = cut(start, start, false, None) {
            return (reply_part, user);
        }
    }
    if next_is_reply {
        // The user wrote something that is not console output: an instruction, most likely
        // its last paragraph.
        if let Some(blank) = (from..to).rev().find(|&i| lines[i].trim().is_empty()) {
            let paragraph = lines[blank + 1..to].join("\n");
            let code_like = lines[blank + 1..to]
                .iter()
                .all(|l| super::code::is_python_line(l));
            if paragraph.len() <= 600 && !code_like {
                let unsure = Some(format!(
                    "recovered by position: the last paragraph (line {}) before the next reply, since nothing there was pasted from a console",
                    blank + 2
                ));
                if let (Some(reply_part), user) = cut(blank, blank + 1, false, unsure) {
                    return (reply_part, user);
                }
            }
        }
    }
    (reply, None)
}

/// The first line of a console paste at the end of lines `[from, to)`: the first console line
/// outside a fenced block, with the lines just above it that run into it (a progress bar, a
/// sentence ending in `:` such as "now I get:").
fn console_paste_start(lines: &[&str], from: usize, to: usize) -> Option<usize> {
    let mut in_fence = false;
    let mut start = None;
    for (i, line) in lines.iter().enumerate().take(to).skip(from) {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence && !line.starts_with([' ', '\t']) && is_console_start(line) {
            start = Some(i);
            break;
        }
    }
    let mut start = start?;
    while start > from {
        let above = lines[start - 1].trim();
        let runs_in = !above.is_empty()
            && (above.contains("%|")
                || above.to_lowercase().starts_with("epoch")
                || above.to_lowercase().contains("error:")
                || above.ends_with("get:"));
        if !runs_in {
            break;
        }
        start -= 1;
    }
    Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(turns: &[Turn]) -> Vec<(Speaker, usize, usize, bool)> {
        turns
            .iter()
            .map(|t| (t.speaker, t.first_line, t.last_line, t.marked))
            .collect()
    }

    use Speaker::{Assistant as A, User as U};

    #[test]
    fn chatgpt_turns_follow_its_markers_and_the_first_is_the_prompt() {
        let text = "Write a U-Net.\nChatGPT said:\nChatGPT\nHere.\npython\nCopy code\nimport torch\n\n\n\nYou said:\nTraceback (most recent call last):\nNameError: name 'nn' is not defined\nChatGPT said:\nChatGPT\nAdd the import.";
        let turns = split_turns(text, Layout::Chatgpt);
        assert_eq!(
            roles(&turns),
            [
                (U, 1, 1, false),
                (A, 4, 7, true),
                (U, 12, 13, true),
                (A, 16, 16, true)
            ]
        );
        assert_eq!(
            turns[2].text,
            "Traceback (most recent call last):\nNameError: name 'nn' is not defined"
        );
    }

    #[test]
    fn chatgpts_2023_page_marks_the_user_with_a_bare_you() {
        let text = "You\nWrite a U-Net.\nChatGPT\nHere it is.\nYou\nIt fails.\nChatGPT\nFixed.";
        let turns = split_turns(text, Layout::Chatgpt);
        assert_eq!(
            roles(&turns),
            [
                (U, 2, 2, true),
                (A, 4, 4, true),
                (U, 6, 6, true),
                (A, 8, 8, true)
            ]
        );
    }

    #[test]
    fn an_o1_reply_drops_its_thinking_line() {
        let text = "Write a U-Net.\nChatGPT\n\nThought for 72 seconds\n\nHere it is.";
        let turns = split_turns(text, Layout::Chatgpt);
        assert_eq!(roles(&turns), [(U, 1, 1, false), (A, 6, 6, true)]);
    }

    #[test]
    fn poe_user_turns_are_the_console_paste_at_the_end_of_a_reply() {
        let text = "A bot.\n380per message\nView details\nOFFICIAL\nWrite a U-Net.\n\nLlama-3.1-405B\n\nPoe\nHere.\npython\n\nCopy\nmain()\nRun it.\n\nC:\\Users\\u\\python.exe \"D:/u/main.py\"\nTraceback (most recent call last):\nFile \"D:\\u\\main.py\", line 5, in <module>\nValueError: bad\n\nProcess finished with exit code 1\n\n\nLlama-3.1-405B\n\nPoe\nFixed.";
        let turns = split_turns(text, Layout::Poe);
        assert_eq!(
            roles(&turns),
            [
                (U, 5, 5, false),
                (A, 10, 15, true),
                (U, 17, 22, false),
                (A, 28, 28, true)
            ]
        );
    }

    #[test]
    fn github_copilot_recovers_its_unmarked_first_reply_and_flattened_pastes() {
        let text = "Write a U-Net.\n\n### Plan\n```python\nimport torch\n```\nDone.\n\nTraceback (most recent call last): File \"D:\\u\\main.py\", line 30, in <module> x = nn.X() NameError: name 'nn' is not defined\n\nGitHub Copilot\nImport nn.";
        let turns = split_turns(text, Layout::GithubCopilot);
        assert_eq!(
            roles(&turns),
            [
                (U, 1, 1, false),
                (A, 3, 7, false),
                (U, 9, 9, false),
                (A, 12, 12, true)
            ]
        );
        assert!(turns[1].unsure.as_deref().unwrap().contains("no marker"));
    }

    #[test]
    fn two_replies_without_a_paste_between_get_an_unsure_empty_user_turn() {
        let text = "Write it.\n\nGitHub Copilot\nHere.\n\nGitHub Copilot\nAgain.";
        let turns = split_turns(text, Layout::GithubCopilot);
        assert_eq!(turns.len(), 4);
        assert_eq!(turns[2].speaker, U);
        assert!(turns[2].text.is_empty() && turns[2].unsure.is_some());
    }

    #[test]
    fn bing_drops_its_page_title_and_greeting() {
        let text = "Microsoft Copilot\nCopilot\nHi there.\n\nYou\nWrite a U-Net.\nCopilot\nSure.";
        let turns = split_turns(text, Layout::BingCopilot);
        assert_eq!(roles(&turns), [(U, 6, 6, true), (A, 8, 8, true)]);
    }

    #[test]
    fn github_copilot_name_prefixes_mark_both_speakers() {
        let text = "JArjomandi: Write a U-Net.\nplease\n\nGitHub Copilot: Here it is.\n```python\nimport tensorflow\n```";
        let turns = split_turns(text, Layout::GithubCopilot);
        assert_eq!(turns[0].text, "Write a U-Net.\nplease");
        assert!(turns[0].marked);
        assert_eq!(turns[1].text.lines().next(), Some("Here it is."));
    }
}
