//! Reports: tables derived from transcripts only. Aggregation and rendering are pure.

mod errors_table;
mod render;

pub use errors_table::{aggregate, ErrorTable, LlmRow};
pub use render::{render_csv, render_json, render_markdown, Format};

#[cfg(test)]
mod tests;
