//! The pin log: every module version in the order it became servable whole (pinned with its
//! zip), numbered 1, 2, 3, … without gaps, each with a timestamp that is strictly greater than
//! the one before. The public feeds (`/index`, `/catalog`) page through it.
//!
//! A pin is written in the same atomic commit as the version entry that makes it whole
//! ([`crate::versions`], and a repin), with the next number and `expected: None` for its
//! key; a concurrent commit that took the number first makes this one stale, and it is retried
//! with the next. So numbers become visible in order, never with a hole a later commit could
//! fill, and a page cursor (a number, or a timestamp: both only grow) never skips a pin.
//! Reads flush first while a store is between its commit and its flush (as every index read
//! does), so nothing shown can be lost by a crash and its number reused.
//!
//! A store written before the pin log existed gets one at open: its whole versions in the
//! order they were obtained.

use std::time::{SystemTime, UNIX_EPOCH};

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;

use crate::entry_codec::decode;
use crate::error::IndexError;
use crate::index::Index;
use crate::meta::{Commit, MetaStore, Write};
use crate::schema::{PINS, VERSIONS, feed_key, parse_feed_key, parse_version_key};

/// One pin: a module version that became servable whole.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pin {
    /// Its number in the pin log (from 1).
    pub seq: u64,
    /// The module.
    pub module: ModulePath,
    /// The version.
    pub version: Version,
    /// When it was pinned whole, in nanoseconds since the Unix epoch (strictly increasing).
    pub at_unix_nanos: u64,
}

/// The pin log of an [`Index`]: `index.pins()`.
#[derive(Debug, Clone, Copy)]
pub struct Pins<'a> {
    pub(crate) index: &'a Index,
}

impl Pins<'_> {
    /// The newest pin's number (0 when there is none).
    pub fn last_seq(&self) -> Result<u64, IndexError> {
        self.index.flush_if_unflushed()?;
        Ok(last(self.index.meta())?.map_or(0, |(seq, _)| seq))
    }

    /// At most `max` pins numbered above `after_seq`, oldest first, for which `keep` is true;
    /// also the number of the last pin looked at (to resume after, even when `keep` refused
    /// it). Looks at no more than `max_scanned` pins.
    pub fn page(
        &self,
        after_seq: u64,
        max: usize,
        max_scanned: usize,
        mut keep: impl FnMut(&ModulePath) -> bool,
    ) -> Result<(Vec<Pin>, u64), IndexError> {
        self.index.flush_if_unflushed()?;
        let mut pins = Vec::new();
        let mut cursor = after_seq;
        let start = feed_key(after_seq.saturating_add(1));
        for item in self.index.meta().scan_from(PINS, &start)?.take(max_scanned) {
            if pins.len() >= max {
                break;
            }
            let (key, value) = item?;
            let pin = parse_pin(&key, &value)?;
            cursor = pin.seq;
            if keep(&pin.module) {
                pins.push(pin);
            }
        }
        Ok((pins, cursor))
    }

    /// The number of the first pin at or after `unix_nanos` (timestamps only grow, so this is
    /// a binary search), or `None` when every pin is older.
    pub fn first_at_or_after(&self, unix_nanos: u64) -> Result<Option<u64>, IndexError> {
        let last = self.last_seq()?;
        let (mut low, mut high) = (1, last.saturating_add(1));
        // Invariant: pins below `low` are older; pins at `high` or above are not.
        while low < high {
            let mid = low + (high - low) / 2;
            if self.at(mid)? < unix_nanos {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        Ok((low <= last).then_some(low))
    }

    fn at(&self, seq: u64) -> Result<u64, IndexError> {
        let value = self.index.meta().get(PINS, &feed_key(seq))?;
        let value = value.ok_or(IndexError::MissingPin(seq))?;
        Ok(split_value(&value).ok_or(IndexError::MissingPin(seq))?.0)
    }
}

/// The pin-log write that numbers `version_key` next: its key and value.
pub(crate) fn next_pin(meta: &dyn MetaStore, version_key: &[u8]) -> Result<PinWrite, IndexError> {
    let (seq, at) = match last(meta)? {
        Some((seq, at)) => (seq + 1, now_nanos().max(at + 1)),
        None => (1, now_nanos()),
    };
    Ok(PinWrite::new(seq, at, version_key))
}

/// A pin to write in a commit ([`PinWrite::write`]).
#[derive(Debug)]
pub(crate) struct PinWrite {
    key: [u8; 8],
    value: Vec<u8>,
}

impl PinWrite {
    fn new(seq: u64, at_unix_nanos: u64, version_key: &[u8]) -> PinWrite {
        let mut value = Vec::with_capacity(8 + version_key.len());
        value.extend_from_slice(&at_unix_nanos.to_be_bytes());
        value.extend_from_slice(version_key);
        PinWrite {
            key: feed_key(seq),
            value,
        }
    }

    /// The write: the key must still be free, or another commit took this number.
    pub(crate) fn write(&self) -> Write<'_> {
        Write::new(PINS, &self.key, None, &self.value)
    }
}

/// Gives a store written before the pin log one: its whole versions, oldest obtained first.
pub(crate) fn backfill_if_missing(meta: &dyn MetaStore) -> Result<(), IndexError> {
    if last(meta)?.is_some() {
        return Ok(());
    }
    let mut whole = Vec::new();
    for item in meta.scan_prefix(VERSIONS, &[])? {
        let (key, value) = item?;
        // A damaged entry still gets its number: it is whole again once repaired.
        if let Ok(entry) = decode(&value)
            && entry.is_full()
        {
            whole.push((entry.obtained_at_unix_secs(), key));
        }
    }
    whole.sort();
    let mut previous = 0;
    for (seq, (secs, key)) in (1..).zip(&whole) {
        let at = secs.saturating_mul(1_000_000_000).max(previous + 1);
        previous = at;
        let pin = PinWrite::new(seq, at, key);
        if meta.commit(&[pin.write()])? == Commit::Stale {
            return Err(IndexError::MissingPin(seq));
        }
    }
    meta.flush()?;
    Ok(())
}

fn last(meta: &dyn MetaStore) -> Result<Option<(u64, u64)>, IndexError> {
    let Some((key, value)) = meta.last(PINS)? else {
        return Ok(None);
    };
    let pin = parse_pin(&key, &value)?;
    Ok(Some((pin.seq, pin.at_unix_nanos)))
}

fn parse_pin(key: &[u8], value: &[u8]) -> Result<Pin, IndexError> {
    let seq = parse_feed_key(key).ok_or(IndexError::MissingPin(0))?;
    let (at_unix_nanos, version_key) = split_value(value).ok_or(IndexError::MissingPin(seq))?;
    let (module, version) = parse_version_key(version_key)?;
    Ok(Pin {
        seq,
        module,
        version,
        at_unix_nanos,
    })
}

fn split_value(value: &[u8]) -> Option<(u64, &[u8])> {
    let (at, key) = value.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*at), key))
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use delos_pool_protocol::hash::H1Hash;

    use super::*;
    use crate::conformance::{module, stand_in_h1, version};
    use crate::{HashedBlob, Source, VersionEntry};

    fn entry(index: &Index, obtained_at: u64, zip: Option<&[u8]>) -> VersionEntry {
        let go_mod = b"module example.com/old\n";
        let blob = index.blobs().write(&go_mod[..]).unwrap();
        let info = br#"{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}"#.to_vec();
        let entry = VersionEntry::new(
            info,
            HashedBlob::new(blob, H1Hash::of_go_mod(go_mod)),
            obtained_at,
            Source::Import,
        );
        match zip {
            Some(bytes) => {
                let blob = index.blobs().write(bytes).unwrap();
                entry.with_zip(HashedBlob::new(blob, stand_in_h1(bytes)))
            }
            None => entry,
        }
    }

    #[test]
    fn a_store_from_before_the_pin_log_gets_one_at_open_in_the_order_versions_came() {
        let dir = tempfile::tempdir().unwrap();
        let m = module("example.com/old");
        {
            let index = Index::open(dir.path()).unwrap();
            let later = entry(&index, 200, Some(b"PK later"));
            index.store(&m, &version("v1.0.1"), later).unwrap();
            let earlier = entry(&index, 100, Some(b"PK earlier"));
            index.store(&m, &version("v1.0.0"), earlier).unwrap();
            let mod_only = entry(&index, 50, None);
            index.store(&m, &version("v0.9.0"), mod_only).unwrap();
        }
        // What a store written before the pin log looks like: no pins tree at all.
        {
            let db = sled::open(dir.path().join("meta-sled")).unwrap();
            db.drop_tree(PINS.as_str()).unwrap();
            db.flush().unwrap();
        }
        let index = Index::open(dir.path()).unwrap();
        let (pins, _) = index.pins().page(0, 10, 10, |_| true).unwrap();
        let got: Vec<_> = pins
            .iter()
            .map(|pin| (pin.seq, pin.version.as_str(), pin.at_unix_nanos))
            .collect();
        assert_eq!(
            got,
            [
                (1, "v1.0.0", 100_000_000_000),
                (2, "v1.0.1", 200_000_000_000)
            ]
        );
    }
}
