//! `RecordText`: the text of one checksum database record, the go.sum lines of one module
//! version.

use std::fmt;

use super::text::{TextProblem, excerpt, plain_text};
use super::tlog::Hash;
use crate::hash::H1Hash;
use crate::module_path::ModulePath;
use crate::version::Version;

/// The text of a record: one or more lines, each ending in a newline, valid UTF-8 without
/// control characters and without blank lines (Go's `tlog` record text rules). For a Go
/// checksum database it is `M V h1:…\nM V/go.mod h1:…\n`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordText(String);

/// Bytes that are not a valid record text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed record data {text:?}: {problem}")]
#[non_exhaustive]
pub struct InvalidRecordText {
    /// The start of the rejected text.
    pub text: String,
    /// What is wrong with it.
    pub problem: TextProblem,
}

impl RecordText {
    /// Checks `bytes` against the record text rules.
    pub fn parse(bytes: &[u8]) -> Result<RecordText, InvalidRecordText> {
        let refuse = |problem| InvalidRecordText {
            text: excerpt(bytes),
            problem,
        };
        let text = plain_text(bytes).map_err(refuse)?;
        if let Some(offset) = text.find("\n\n") {
            return Err(refuse(TextProblem::BlankLine { offset: offset + 1 }));
        }
        if !text.ends_with('\n') {
            return Err(refuse(TextProblem::Unterminated));
        }
        Ok(RecordText(text.to_owned()))
    }

    /// The record a Go checksum database keeps for a module version: the go.sum line of its
    /// zip, then that of its `go.mod`.
    pub fn go_sum(module: &ModulePath, version: &Version, zip: &H1Hash, go_mod: &H1Hash) -> Self {
        // Module paths, versions and h1 hashes have neither spaces nor control characters,
        // so these two lines always follow the rules.
        RecordText(format!(
            "{module} {version} {zip}\n{module} {version}/go.mod {go_mod}\n"
        ))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The record's leaf hash in the log.
    pub fn hash(&self) -> Hash {
        Hash::of_record(self.0.as_bytes())
    }

    /// The lines about `module` at `version` (which may end in `/go.mod`), as Go's client picks
    /// them out of a lookup: those starting with `"<module> <version> "`.
    pub fn lines_for<'a>(
        &'a self,
        module: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.0.lines().filter(move |line| {
            line.strip_prefix(module)
                .and_then(|rest| rest.strip_prefix(' '))
                .and_then(|rest| rest.strip_prefix(version))
                .is_some_and(|rest| rest.starts_with(' '))
        })
    }
}

impl fmt::Display for RecordText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_texts_follow_go() {
        // tlog/note_test.go TestFormatRecord: good and bad texts.
        assert!(RecordText::parse(b"hello, world\n").is_ok());
        assert!(RecordText::parse(b"\n").is_ok());
        let bad: [(&[u8], TextProblem); 5] = [
            (b"", TextProblem::Unterminated),
            (b"hello\nworld", TextProblem::Unterminated),
            (b"hello\n\nworld\n", TextProblem::BlankLine { offset: 6 }),
            (
                b"hello\x01world\n",
                TextProblem::ControlCharacter { offset: 5, byte: 1 },
            ),
            (b"hello\xffworld\n", TextProblem::NotUtf8 { offset: 5 }),
        ];
        for (text, problem) in bad {
            assert_eq!(RecordText::parse(text).unwrap_err().problem, problem);
        }
    }

    #[test]
    fn go_sum_records_are_the_two_lines_go_expects() {
        // docs/checksum-db.md §1.2: the observed record 0.
        let module = ModulePath::parse("example.org/pub").unwrap();
        let version: Version = "v1.0.0".parse().unwrap();
        let zip = H1Hash::parse("h1:hroKYilh4yBYM8F6DNstA12PipYTgkhweLckqChDvsU=").unwrap();
        let go_mod = H1Hash::parse("h1:Zo7xw5WturV+2MJbeVMYSEESKORXHhxjGmu3QDYx0WY=").unwrap();
        let record = RecordText::go_sum(&module, &version, &zip, &go_mod);
        assert_eq!(
            record.as_str(),
            "example.org/pub v1.0.0 h1:hroKYilh4yBYM8F6DNstA12PipYTgkhweLckqChDvsU=\n\
             example.org/pub v1.0.0/go.mod h1:Zo7xw5WturV+2MJbeVMYSEESKORXHhxjGmu3QDYx0WY=\n"
        );
        assert_eq!(
            RecordText::parse(record.as_str().as_bytes()),
            Ok(record.clone())
        );
        let zip_lines: Vec<_> = record.lines_for("example.org/pub", "v1.0.0").collect();
        assert_eq!(zip_lines.len(), 1);
        assert!(zip_lines[0].ends_with("DvsU="));
        assert_eq!(
            record.lines_for("example.org/pub", "v1.0.0/go.mod").count(),
            1
        );
        assert_eq!(record.lines_for("example.org/pu", "v1.0.0").count(), 0);
        assert_eq!(record.lines_for("example.org/pub", "v1.0").count(), 0);
    }
}
