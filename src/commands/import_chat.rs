//! `harness import-chat`: chat exports read into recorded runs under the runs folder.

use crate::chat_import::{analyse, write, ImportOptions, Layout, LANGUAGES};
use crate::cli::{GlobalArgs, ImportChatArgs};
use crate::config::Registry;

use super::{UserError, EXIT_OK};

pub fn import_chat(global: &GlobalArgs, args: &ImportChatArgs) -> anyhow::Result<u8> {
    let registry = Registry::load(global.registry.as_deref())?;
    let llm = registry.get(args.llm.trim())?;
    let layout = match args.layout.as_str() {
        "auto" => None,
        name => Some(Layout::from_name(name).ok_or_else(|| {
            UserError(format!(
                "unknown --layout `{name}`: the layouts are auto, {}",
                Layout::names()
            ))
        })?),
    };
    let language = match args.language.as_deref() {
        None => None,
        Some("python" | "pytorch") => Some("pytorch".to_owned()),
        Some("tensorflow") => Some("tensorflow".to_owned()),
        Some(other) => {
            return Err(UserError(format!(
                "unknown --language `{other}`: give {} (python means pytorch)",
                LANGUAGES.join(" or ")
            ))
            .into())
        }
    };
    let options = ImportOptions {
        llm,
        layout,
        language,
    };
    // Every file is read and analysed before anything is written: one bad export in a batch
    // leaves the runs folder as it was.
    let analysed = args
        .files
        .iter()
        .map(|path| analyse(path, &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| UserError(crate::error_chain::error_chain(&error)))?;
    for chat in &analysed {
        let dir = write(chat, llm, &global.runs_dir)
            .map_err(|error| UserError(crate::error_chain::error_chain(&error)))?;
        let (pasted, distinct) = chat.error_counts();
        let layout = if chat.layout_given {
            format!("{} (given)", chat.detection.layout)
        } else {
            format!(
                "{} (recognised by {})",
                chat.detection.layout,
                chat.detection.evidence.join("; ")
            )
        };
        println!("{}: {}", chat.path.display(), dir.display());
        println!("  layout: {layout}");
        println!(
            "  {} turn(s), {} round(s), language {}; errors pasted before the code first ran: {pasted} ({distinct} distinct)",
            chat.turns.len(),
            chat.chat.rounds.len(),
            chat.language
        );
        for unsure in chat.unsure() {
            println!("  unsure: {unsure}");
        }
    }
    Ok(EXIT_OK)
}
