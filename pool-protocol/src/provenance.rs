//! `ProvenanceRecord`: the unsigned claim a node signs: which module version, with which
//! hashes, obtained from where, and when.
//!
//! A record is valid by construction: [`ProvenanceRecord::new`] and decoding (serde goes through
//! the same check) both require the current [`FORMAT_VERSION`], a canonical version, and text
//! fields within fixed bounds, so every record encodes far below
//! [`MAX_RECORD_BYTES`]. Signed types hold no `HashMap`: every
//! field has one encoding, in declaration order.

mod info_time;
mod source;

pub use info_time::{InfoTime, InvalidInfoTime};
pub use source::{Source, VcsOrigin};

use serde::{Deserialize, Serialize};

use crate::codec::{Canonical, MAX_RECORD_BYTES};
use crate::hash::{H1Hash, Sha256};
use crate::module_path::ModulePath;
use crate::version::Version;
use source::check_text;

/// The record format this crate writes and accepts. A new format gets a new number (and a new
/// signing domain); old records stay verifiable by the code that knows their format.
pub const FORMAT_VERSION: u8 = 1;

/// The longest module path a record may name, in bytes.
const MAX_MODULE_BYTES: usize = 512;

/// The longest version a record may name, in bytes.
const MAX_VERSION_BYTES: usize = 128;

/// A validated provenance record (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedRecord")]
pub struct ProvenanceRecord {
    format: u8,
    fields: RecordFields,
}

/// The contents of a record: the input to [`ProvenanceRecord::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFields {
    /// The module path.
    pub module: ModulePath,
    /// The version, which must be canonical (`v1.2.3`, never `v1.2` or `v1.2.3+meta`).
    pub version: Version,
    /// The `h1:` hash of the `.mod` file (the go.sum `/go.mod` line).
    pub go_mod_h1: H1Hash,
    /// Facts about the module zip; `None` for a `.mod`-only entry.
    pub zip: Option<ZipFacts>,
    /// The `.info` `Time`.
    pub info_time: InfoTime,
    /// Where the signer got the module version from.
    pub source: Source,
    /// When the signer obtained it, in seconds since the Unix epoch (UTC).
    pub obtained_at: u64,
}

/// What a record says about the module zip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZipFacts {
    /// The zip's `h1:` hash (the go.sum line); what peers must agree on.
    pub h1: H1Hash,
    /// The SHA-256 of the zip bytes this signer holds: a content address only, since two
    /// honest nodes can build different zip bytes with the same `h1:`.
    pub sha256: Sha256,
    /// The zip's length in bytes.
    pub size: u64,
}

/// The wire shape of [`ProvenanceRecord`], before its checks. Must list the same fields in the
/// same order (a round-trip test holds it to that).
#[derive(Deserialize)]
struct UncheckedRecord {
    format: u8,
    fields: RecordFields,
}

/// A record that breaks the rules, naming the module version it was about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid provenance record for {module}@{version}: {problem}")]
#[non_exhaustive]
pub struct InvalidRecord {
    /// The module path the record names.
    pub module: String,
    /// The version the record names.
    pub version: String,
    /// What is wrong.
    pub problem: RecordProblem,
}

/// What is wrong with an invalid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordProblem {
    /// A format version this code does not know.
    #[error("unsupported record format {0} (this node knows format {FORMAT_VERSION})")]
    UnsupportedFormat(u8),
    /// The version is not in canonical form.
    #[error("version is not canonical")]
    NonCanonicalVersion,
    /// A text field is empty.
    #[error("{field} is empty")]
    EmptyText {
        /// The field.
        field: &'static str,
    },
    /// A text field is longer than its bound.
    #[error("{field} is {len} bytes, more than {max}")]
    TextTooLong {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A text field contains a control character.
    #[error("{field} contains a control character")]
    ControlCharacter {
        /// The field.
        field: &'static str,
    },
    /// The zip size is zero, which no module zip can be.
    #[error("zip size is zero")]
    EmptyZip,
}

impl ProvenanceRecord {
    /// Checks `fields` and makes a record in the current [`FORMAT_VERSION`].
    pub fn new(fields: RecordFields) -> Result<ProvenanceRecord, InvalidRecord> {
        ProvenanceRecord::checked(FORMAT_VERSION, fields)
    }

    fn checked(format: u8, fields: RecordFields) -> Result<ProvenanceRecord, InvalidRecord> {
        match check(format, &fields) {
            Ok(()) => Ok(ProvenanceRecord { format, fields }),
            Err(problem) => Err(InvalidRecord {
                module: fields.module.into_string(),
                version: fields.version.into_string(),
                problem,
            }),
        }
    }

    /// The record format version.
    pub fn format(&self) -> u8 {
        self.format
    }

    /// Everything the record says.
    pub fn fields(&self) -> &RecordFields {
        &self.fields
    }

    /// The module path.
    pub fn module(&self) -> &ModulePath {
        &self.fields.module
    }

    /// The (canonical) version.
    pub fn version(&self) -> &Version {
        &self.fields.version
    }

    /// The go.mod `h1:` hash.
    pub fn go_mod_h1(&self) -> &H1Hash {
        &self.fields.go_mod_h1
    }

    /// The zip facts, or `None` for a `.mod`-only entry.
    pub fn zip(&self) -> Option<&ZipFacts> {
        self.fields.zip.as_ref()
    }

    /// Where the signer got it.
    pub fn source(&self) -> &Source {
        &self.fields.source
    }
}

fn check(format: u8, fields: &RecordFields) -> Result<(), RecordProblem> {
    if format != FORMAT_VERSION {
        return Err(RecordProblem::UnsupportedFormat(format));
    }
    check_text("module", fields.module.as_str(), MAX_MODULE_BYTES)?;
    check_text("version", fields.version.as_str(), MAX_VERSION_BYTES)?;
    if !fields.version.is_canonical() {
        return Err(RecordProblem::NonCanonicalVersion);
    }
    if fields.zip.as_ref().is_some_and(|zip| zip.size == 0) {
        return Err(RecordProblem::EmptyZip);
    }
    fields.source.check()
}

impl TryFrom<UncheckedRecord> for ProvenanceRecord {
    type Error = InvalidRecord;

    fn try_from(raw: UncheckedRecord) -> Result<ProvenanceRecord, InvalidRecord> {
        ProvenanceRecord::checked(raw.format, raw.fields)
    }
}

impl Canonical for ProvenanceRecord {
    const MAX_BYTES: usize = MAX_RECORD_BYTES;
    const NAME: &'static str = "provenance record";
}

#[cfg(test)]
pub(crate) mod tests;
