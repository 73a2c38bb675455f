//! Runs grouped as the tables group them (methodology T1: LLM, target, prompt and model), with
//! the tables' row names, so that a figure's labels are the tables' labels.

use std::collections::BTreeMap;

use crate::report::render::row_label;
use crate::report::row_key::{row_name, variants, RowKey};
use crate::transcript::Transcript;

/// The runs of one table row.
pub(crate) struct Group<'a> {
    /// The row's name in every table: the LLM id, then what sets the row apart, if anything.
    pub name: String,
    /// The name with the table's mark (†: a fixture, ‡: the reference).
    pub label: String,
    pub runs: Vec<&'a Transcript>,
}

/// The groups in the error table's row order (by row key), runs in the order given.
pub(crate) fn groups(transcripts: &[Transcript]) -> Vec<Group<'_>> {
    let mut by_key: BTreeMap<RowKey, Vec<&Transcript>> = BTreeMap::new();
    for transcript in transcripts {
        by_key
            .entry(RowKey::of(&transcript.header))
            .or_default()
            .push(transcript);
    }
    let variants = variants(by_key.keys());
    by_key
        .into_iter()
        .map(|(key, runs)| {
            let variant = variants.get(&key).cloned().flatten();
            let name = row_name(&key.llm, variant.as_ref());
            let spec = &runs[0].header.llm;
            Group {
                label: row_label(&name, spec.is_fixture(), spec.is_reference()),
                name,
                runs,
            }
        })
        .collect()
}
