//! Which transcripts every table row comes from, and where each run's page is: the report's
//! provenance. Rows are named exactly as the tables name them (`row_key.rs`, T1).

use std::collections::{BTreeMap, BTreeSet};

use crate::transcript::{Event, Transcript};

use super::super::row_key::{row_name, variants, RowKey};
use super::escape::escape;

/// One run of the report and its page.
pub(crate) struct RunRef<'a> {
    pub transcript: &'a Transcript,
    /// The page, relative to the report's folder: `runs/<name>.html`.
    pub page: String,
    /// The table row it belongs to (`row_name`).
    pub row: String,
}

/// Every run, in page order (by row, then run id), with the rows they feed.
pub(crate) struct Provenance<'a> {
    pub runs: Vec<RunRef<'a>>,
    by_row: BTreeMap<String, Vec<usize>>,
    by_dice_row: BTreeMap<(String, String), Vec<usize>>,
}

/// A run id made safe as a file name: letters, digits, `.`, `_` and `-` kept, the rest `_`.
pub(crate) fn file_stem(run_id: &str) -> String {
    let stem: String = run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match stem.trim_start_matches('.') {
        "" => "run".to_string(),
        trimmed => trimmed.to_string(),
    }
}

impl<'a> Provenance<'a> {
    pub(crate) fn of(transcripts: &'a [Transcript]) -> Provenance<'a> {
        let keys: Vec<RowKey> = transcripts.iter().map(|t| RowKey::of(&t.header)).collect();
        let variants = variants(&keys);
        let mut order: Vec<(String, &Transcript)> = transcripts
            .iter()
            .zip(&keys)
            .map(|(t, key)| {
                let variant = variants.get(key).cloned().flatten();
                (row_name(&key.llm, variant.as_ref()), t)
            })
            .collect();
        order.sort_by(|a, b| (&a.0, a.1.run_id()).cmp(&(&b.0, b.1.run_id())));
        let mut used = BTreeSet::new();
        let mut runs = Vec::with_capacity(order.len());
        let mut by_row: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut by_dice_row: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        for (index, (row, transcript)) in order.into_iter().enumerate() {
            let stem = file_stem(transcript.run_id());
            let mut name = stem.clone();
            let mut n = 1;
            while !used.insert(name.clone()) {
                n += 1;
                name = format!("{stem}-{n}");
            }
            by_row.entry(row.clone()).or_default().push(index);
            let datasets: BTreeSet<&str> = transcript
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::Training(t) => Some(t.dataset.name.as_str()),
                    _ => None,
                })
                .collect();
            for dataset in datasets {
                by_dice_row
                    .entry((row.clone(), dataset.to_string()))
                    .or_default()
                    .push(index);
            }
            runs.push(RunRef {
                transcript,
                page: format!("runs/{name}.html"),
                row,
            });
        }
        Provenance {
            runs,
            by_row,
            by_dice_row,
        }
    }

    /// The runs of a row of the error or statistics table.
    pub(crate) fn row_runs(&self, row: &str) -> &[usize] {
        self.by_row.get(row).map_or(&[], Vec::as_slice)
    }

    /// The runs trained on `dataset` of a row of the Dice table.
    pub(crate) fn dice_runs(&self, row: &str, dataset: &str) -> &[usize] {
        self.by_dice_row
            .get(&(row.to_string(), dataset.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// Links to the pages of `runs`, each named by its repeat and titled with its run id and
    /// transcript, for a page `root` away from the report's folder.
    pub(crate) fn links(&self, root: &str, runs: &[usize]) -> String {
        let mut out = String::from("<span class=\"runs\">");
        for &index in runs {
            let run = &self.runs[index];
            let t = run.transcript;
            out.push_str(&format!(
                "<a href=\"{root}{}\" title=\"{} ({})\">r{}</a>",
                escape(&run.page),
                escape(t.run_id()),
                escape(&t.path.display().to_string()),
                t.header.repeat
            ));
        }
        out.push_str("</span>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn run_ids_become_safe_file_names() {
        assert_eq!(
            file_stem("qwen2.5-coder-1.5b-r1-20261204T064021Z"),
            "qwen2.5-coder-1.5b-r1-20261204T064021Z"
        );
        assert_eq!(file_stem("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_stem("a b/c<d>"), "a_b_c_d_");
        assert_eq!(file_stem(""), "run");
        assert_eq!(file_stem(".."), "run");
    }
}
