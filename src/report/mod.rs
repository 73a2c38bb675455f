//! Reports: tables derived from transcripts only. Aggregation and rendering are pure.

mod dice_table;
mod errors_table;
pub mod html;
mod render;
mod row_key;
mod stats_table;

pub use dice_table::{
    aggregate_dice, render_dice_csv, render_dice_json, render_dice_markdown, DiceRow, DiceTable,
};
pub use errors_table::{aggregate, charged_rounds, counted_outcomes, ErrorTable, LlmRow};
pub use render::{csv_field, render_csv, render_json, render_markdown, Format};
pub use row_key::{prompt_id, RowKey, RowVariant};
pub use stats_table::{
    aggregate_stats, render_stats_json, render_stats_markdown, Comparison, DecayRow, StatsReport,
    StatsRow,
};

#[cfg(test)]
mod stats_tests;
#[cfg(test)]
mod tests;
