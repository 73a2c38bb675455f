//! Reports: tables and figures derived from transcripts only. Aggregation and rendering are
//! pure; `figures/write.rs` is the one edge that reads a training's artefacts and writes files.

mod dice_table;
mod errors_table;
pub mod figures;
pub mod html;
mod render;
mod row_key;
mod stats_table;
mod study_table;

pub use dice_table::{
    aggregate_dice, render_dice_csv, render_dice_json, render_dice_markdown, DiceRow, DiceTable,
};
pub use errors_table::{
    aggregate, charged_round_list, charged_rounds, counted_outcomes, ChargedRound, ErrorTable,
    LlmRow, UnfinishedRun,
};
pub use render::{render_csv, render_json, render_markdown, Format};
pub use row_key::{prompt_id, RowKey, RowVariant, CHAT_TARGET_PREFIX};
pub use stats_table::{
    aggregate_stats, render_stats_json, render_stats_markdown, Comparison, DecayRow, StatsReport,
    StatsRow,
};
pub use study_table::{aggregate_study, render_study_markdown, PastedError, StudyRow, StudyTable};

#[cfg(test)]
mod stats_tests;
#[cfg(test)]
mod tests;
