//! CSV text: every CSV the harness writes (the report tables, the figures' data and index, the
//! per-image Dice) is built here, by the `csv` crate. A field is quoted, its quotes doubled,
//! when it holds a comma, a quote or a line break (RFC 4180), which matters for the fields that
//! come from LLMs and programs (model names, dataset names, flags); lines end in `\n`.

/// A CSV text being built: a header line, then rows.
pub struct Csv {
    writer: csv::Writer<Vec<u8>>,
}

impl Csv {
    /// A CSV whose first line is `header`.
    pub fn new<I>(header: I) -> Csv
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut csv = Csv {
            // Flexible: a row of another length is written as it is, never an error.
            writer: csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(Vec::new()),
        };
        csv.row(header);
        csv
    }

    /// One row; each field quoted where it needs it.
    pub fn row<I>(&mut self, fields: I)
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        // Into memory, with rows of any length allowed, writing cannot fail.
        let _ = self
            .writer
            .write_record(fields.into_iter().map(|f| f.as_ref().to_owned()));
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        // Flushing into memory cannot fail; every field came in as UTF-8.
        let bytes = self.writer.into_inner().unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::Csv;

    fn one_row(fields: &[&str]) -> String {
        let mut csv = Csv::new(["a", "b"]);
        csv.row(fields);
        csv.finish()
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(one_row(&["plain", "1.5"]), "a,b\nplain,1.5\n");
        assert_eq!(one_row(&["a,b", ""]), "a,b\n\"a,b\",\n");
        assert_eq!(
            one_row(&["say \"hi\"", "two\nlines"]),
            "a,b\n\"say \"\"hi\"\"\",\"two\nlines\"\n"
        );
        assert_eq!(
            one_row(&["carriage\rreturn", "x"]),
            "a,b\n\"carriage\rreturn\",x\n"
        );
    }

    #[test]
    fn a_field_with_a_comma_a_quote_and_a_newline_round_trips() {
        let nasty = "gpt-x, \"the big one\"\nsecond line";
        let text = one_row(&[nasty, "0.5"]);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(&records[0][0], nasty);
        assert_eq!(&records[0][1], "0.5");
        assert_eq!(reader.headers().unwrap(), vec!["a", "b"]);
    }
}
