//! Conflict evidence: signed records that disagree about a module version, kept, never served.
//!
//! Evidence is created by [`Records::insert`](crate::Records::insert) in two cases:
//! - **With the pinned entry**: a record whose `h1:` hashes conflict
//!   ([`ClaimedHashes::conflicts`]) with the entry pinned in the versions tree. The evidence
//!   holds the disputed record, the pinned hashes, and (when the index has one) a signed record
//!   that agrees with them. This is checked for every record of a version whenever any record of
//!   it is inserted, so a record that arrived before the version was pinned becomes evidence when
//!   the node's own record (stored right after the pin) arrives.
//! - **A signer contradicting itself**: a second record from the same signer for the same
//!   version whose hashes conflict with its first. The first stays in the records tree; the
//!   evidence holds both.
//!
//! Two *different* signers disagreeing about a version nobody pinned is not evidence here: the
//! trust policy decides which (if any) to believe; once the node pins one, the others are
//! evidence by the first rule. At most one piece of evidence is kept per disputed signer per
//! version (the first), so a signer cannot grow the evidence tree for one version. The pinned
//! entry never changes because of evidence: the first bytes keep being served.
//!
//! # Encoding (tree `conflicts-v1`)
//!
//! `0x01` (format), pinned hashes (`0x00`, or `0x01` + go.mod `h1:` (32 bytes) + zip (`0x00`, or
//! `0x01` + 32 bytes)), the disputed record (`u32` big-endian length + wire bytes), the
//! agreeing record (`0x00`, or `0x01` + length + wire bytes). Records are stored as received.

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::signing::VerifiedRecord;
use delos_pool_protocol::trust::ClaimedHashes;
use delos_pool_protocol::version::Version;

use crate::index::Index;
use crate::records::{RecordError, verify_stored};
use crate::schema::{CONFLICTS, version_prefix};

/// The format byte of an evidence value.
const FORMAT: u8 = 1;

/// Two signed statements that cannot both be true, or a record against the pinned hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConflictEvidence {
    /// The record that disagrees (with the pinned hashes, or with its signer's earlier record).
    pub disputed: VerifiedRecord,
    /// A record that agrees with the pinned hashes, or the signer's earlier record it
    /// contradicts; `None` when the index holds no signed record for the pinned side.
    pub counter: Option<VerifiedRecord>,
    /// The hashes pinned for the version when the evidence was found, if it was pinned.
    pub pinned: Option<ClaimedHashes>,
}

/// What a piece of evidence shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictKind {
    /// The disputed record's hashes conflict with the pinned entry's.
    WithPinned,
    /// A signer signed two conflicting records for one version.
    SelfContradiction,
}

impl ConflictEvidence {
    /// The module path.
    pub fn module(&self) -> &ModulePath {
        self.disputed.record().module()
    }

    /// The version.
    pub fn version(&self) -> &Version {
        self.disputed.record().version()
    }

    /// What the evidence shows.
    pub fn kind(&self) -> ConflictKind {
        let claimed = ClaimedHashes::of(self.disputed.record());
        match self.pinned {
            Some(pinned) if pinned.conflicts(&claimed) => ConflictKind::WithPinned,
            _ => ConflictKind::SelfContradiction,
        }
    }

    /// The stored encoding (see the module docs).
    pub(crate) fn encode(&self) -> Result<Vec<u8>, RecordError> {
        let mut out = vec![FORMAT];
        match &self.pinned {
            None => out.push(0),
            Some(pinned) => {
                out.push(1);
                out.extend_from_slice(pinned.go_mod_h1.as_bytes());
                push_optional_h1(&mut out, pinned.zip_h1.as_ref());
            }
        }
        push_record(&mut out, &self.disputed)?;
        match &self.counter {
            None => out.push(0),
            Some(counter) => {
                out.push(1);
                push_record(&mut out, counter)?;
            }
        }
        Ok(out)
    }
}

fn push_optional_h1(out: &mut Vec<u8>, h1: Option<&H1Hash>) {
    match h1 {
        None => out.push(0),
        Some(h1) => {
            out.push(1);
            out.extend_from_slice(h1.as_bytes());
        }
    }
}

fn push_record(out: &mut Vec<u8>, record: &VerifiedRecord) -> Result<(), RecordError> {
    let wire = record
        .signed()
        .to_wire()
        .map_err(RecordError::Unencodable)?;
    let len = u32::try_from(wire.len()).map_err(|_| RecordError::Unencodable(too_long()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&wire);
    Ok(())
}

fn too_long() -> delos_pool_protocol::CodecError {
    delos_pool_protocol::CodecError::TooLarge {
        what: "conflict evidence record",
        len: usize::MAX,
        max: u32::MAX as usize,
    }
}

/// A cursor over an evidence value; every read fails on truncation.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn flag(&mut self) -> Option<bool> {
        match self.take(1)? {
            [0] => Some(false),
            [1] => Some(true),
            _ => None,
        }
    }

    fn h1(&mut self) -> Option<H1Hash> {
        let bytes: [u8; 32] = self.take(32)?.try_into().ok()?;
        Some(H1Hash::from_bytes(bytes))
    }

    fn record(&mut self) -> Option<&'a [u8]> {
        let len: [u8; 4] = self.take(4)?.try_into().ok()?;
        self.take(u32::from_be_bytes(len) as usize)
    }
}

/// The parts of an evidence value, records not yet verified.
struct RawEvidence<'a> {
    pinned: Option<ClaimedHashes>,
    disputed: &'a [u8],
    counter: Option<&'a [u8]>,
}

fn parse(value: &[u8]) -> Option<RawEvidence<'_>> {
    let mut reader = Reader(value);
    if reader.take(1)? != [FORMAT] {
        return None;
    }
    let pinned = match reader.flag()? {
        false => None,
        true => {
            let go_mod_h1 = reader.h1()?;
            let zip_h1 = if reader.flag()? {
                Some(reader.h1()?)
            } else {
                None
            };
            Some(ClaimedHashes { go_mod_h1, zip_h1 })
        }
    };
    let disputed = reader.record()?;
    let counter = if reader.flag()? {
        Some(reader.record()?)
    } else {
        None
    };
    reader.0.is_empty().then_some(RawEvidence {
        pinned,
        disputed,
        counter,
    })
}

/// Decodes a stored evidence value, verifying both records again.
pub(crate) fn decode(key: &[u8], value: &[u8]) -> Result<ConflictEvidence, RecordError> {
    let shown = || String::from_utf8_lossy(key).into_owned();
    let raw = parse(value).ok_or_else(|| RecordError::MalformedEvidence { key: shown() })?;
    let verify = |wire: &[u8]| verify_stored(CONFLICTS.as_str(), key, wire);
    Ok(ConflictEvidence {
        disputed: verify(raw.disputed)?,
        counter: raw.counter.map(verify).transpose()?,
        pinned: raw.pinned,
    })
}

/// The conflict evidence of an [`Index`]: `index.conflicts()`.
#[derive(Debug, Clone, Copy)]
pub struct Conflicts<'a> {
    pub(crate) index: &'a Index,
}

impl Conflicts<'_> {
    /// How many pieces of evidence the index holds (kept in memory; no scan).
    pub fn count(&self) -> u64 {
        self.index.records_state().conflict_count()
    }

    /// Every piece of evidence, in key order (module, version, disputed signer).
    pub fn list(&self) -> Result<Vec<ConflictEvidence>, RecordError> {
        self.scan(&[])
    }

    /// The evidence about `module@version`.
    pub fn for_version(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Vec<ConflictEvidence>, RecordError> {
        self.scan(&version_prefix(module, version))
    }

    fn scan(&self, prefix: &[u8]) -> Result<Vec<ConflictEvidence>, RecordError> {
        self.index
            .meta()
            .scan_prefix(CONFLICTS, prefix)?
            .map(|item| {
                let (key, value) = item?;
                decode(&key, &value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_or_padded_values_are_malformed() {
        assert!(parse(&[]).is_none());
        assert!(parse(&[FORMAT, 0, 0, 0, 0, 2, b'x']).is_none());
        assert!(parse(&[FORMAT, 0, 0, 0, 0, 1, b'x', 0, 9]).is_none());
        assert!(parse(&[2, 0, 0, 0, 0, 1, b'x', 0]).is_none());
        let ok = parse(&[FORMAT, 0, 0, 0, 0, 1, b'x', 0]).unwrap();
        assert_eq!((ok.disputed, ok.counter), (&b"x"[..], None));
    }
}
