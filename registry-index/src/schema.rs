//! Every metadata tree name and key encoding of the index, in one place.
//!
//! Tree names carry a version suffix (`-v1`): a change to a key or value encoding gets a new
//! tree name and a migration, never a silent reinterpretation of old bytes. Values of the
//! versions tree are encoded by [`crate::entry_codec`], which carries its own format byte.

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::signing::SignerId;
use delos_pool_protocol::version::Version;

/// The name of one metadata tree (a sorted key/value map) of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TreeName(&'static str);

impl TreeName {
    /// The name as the engine stores it.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// Module versions: key `module path, 0x00, version`, value an
/// [`entry_codec`](crate::entry_codec) record.
pub const VERSIONS: TreeName = TreeName("versions-v1");

/// Signed provenance records, one per signer per module version: key `module path, 0x00,
/// version, 0x00, signer public key (32 bytes)`, value the record's wire form
/// ([`SignedRecord::to_wire`](delos_pool_protocol::SignedRecord::to_wire)) exactly as received.
pub const RECORDS: TreeName = TreeName("records-v1");

/// The local feed of records for peers: key the sequence number (`u64`, big-endian, from 1, no
/// gaps), value a record's wire form. Append-only.
pub const FEED: TreeName = TreeName("feed-v1");

/// Conflict evidence, at most one per disputed signer per module version: key as in
/// [`RECORDS`] (the disputed record's signer), value a [`crate::conflicts`] evidence encoding.
pub const CONFLICTS: TreeName = TreeName("conflicts-v1");

/// Per peer, the last sequence number of its feed this node has synced: key the peer's bytes
/// (a PeerId's binary form), value a `u64`, big-endian. Superseded by [`SYNC_CURSORS_V2`]; only
/// read, for cursors written before it. See [`crate::sync_cursors`].
pub const SYNC_CURSORS: TreeName = TreeName("sync-cursors-v1");

/// Per peer, the cursor into its feed: key as in [`SYNC_CURSORS`], value the last sequence
/// number synced (`u64`, big-endian) followed by the 16-byte id of the feed it counts in (absent
/// when the peer did not say). See [`crate::sync_cursors`].
pub const SYNC_CURSORS_V2: TreeName = TreeName("sync-cursors-v2");

/// This node's feed id: one key, `id`, value 16 random bytes drawn when the feed was first
/// opened (see [`Feed::id`](crate::Feed::id)).
pub const FEED_ID: TreeName = TreeName("feed-id-v1");

/// The [`FEED_ID`] key.
pub(crate) const FEED_ID_KEY: &[u8] = b"id";

/// How many slots of [`RECORDS`] each signer holds, for the cap on records from peers: key a
/// signer's public key (32 bytes), value a `u64`, big-endian; under the key `all` the number
/// of all slots. Updated in the same commit as the slot (see
/// [`Records::insert_capped`](crate::Records::insert_capped)).
pub const SIGNER_COUNTS: TreeName = TreeName("signer-counts-v1");

/// The [`SIGNER_COUNTS`] key of the count of every signer's slots together (3 bytes, so it
/// never equals a 32-byte signer key).
pub(crate) const ALL_SIGNERS_KEY: &[u8] = b"all";

/// The checksum log's size: one key, `size`, value a `u64`, big-endian. See
/// [`crate::checksum_log`].
pub const SUMDB_LOG_META: TreeName = TreeName("sumdb-log-meta-v1");

/// The checksum log's record texts: key the record id (`u64`, big-endian, from 0, no gaps).
pub const SUMDB_LOG_RECORDS: TreeName = TreeName("sumdb-log-records-v1");

/// The checksum log's stored hashes: key the stored hash index (`u64`, big-endian), value the
/// 32-byte hash.
pub const SUMDB_LOG_HASHES: TreeName = TreeName("sumdb-log-hashes-v1");

/// Which module versions are in the checksum log: key as in [`VERSIONS`], value the record id.
pub const SUMDB_LOG_IDS: TreeName = TreeName("sumdb-log-ids-v1");

/// The checksum log's signed heads: key the tree size (`u64`, big-endian), value the signed
/// note; the first head stored for a size stays.
pub const SUMDB_LOG_HEADS: TreeName = TreeName("sumdb-log-heads-v1");

/// The checksum-database relay's full tiles: key `u16 big-endian length of the database name,
/// name, tile path` (`tile/8/0/x001/234`), value the sha256 (32 bytes) of the blob holding the
/// tile's bytes. See [`crate::sumdb_cache`].
pub const SUMDB_TILES: TreeName = TreeName("sumdb-tiles-v1");

/// The newest signed tree head the relay verified per database: key the database name, value
/// the signed note as received.
pub const SUMDB_HEADS: TreeName = TreeName("sumdb-heads-v1");

/// Fork evidence, two signed heads of one database that cannot both be true: key the length-
/// prefixed database name (as in [`SUMDB_TILES`]) then the sha256 of both notes, value the
/// older note's length (`u64`, big-endian), the older note, the newer note.
pub const SUMDB_FORKS: TreeName = TreeName("sumdb-forks-v1");

/// Versions kept out of the checksum log because a public checksum database records other
/// hashes for them: key as in [`VERSIONS`], value the time found (`u64` Unix seconds,
/// big-endian), the length-prefixed database name (`u16` big-endian) and that database's
/// verified lookup answer. See [`crate::checksum_log`].
pub const SUMDB_LOG_CONFLICTS: TreeName = TreeName("sumdb-log-conflicts-v1");

/// The newest signed head of each checksum log gossiped in the pool: key the log's verifier
/// key, value the signed note.
pub const POOL_LOG_HEADS: TreeName = TreeName("pool-log-heads-v1");

/// Fork evidence of checksum logs gossiped in the pool, as [`SUMDB_FORKS`] with the verifier
/// key in place of the database name.
pub const POOL_LOG_FORKS: TreeName = TreeName("pool-log-forks-v1");

/// A mirror's index of another member's checksum log: key the length-prefixed database name
/// (as in [`SUMDB_TILES`]) then `r`, module path, space, version, value the record id (`u64`
/// big-endian); under the name then `s`, how many records are indexed; under the name then
/// `p`, height, level (`0xff`: data) and index (`u64` big-endian), the widest partial tile kept
/// there (its width, `u32` big-endian, then its bytes). See
/// [`crate::sumdb_mirror`].
pub const SUMDB_MIRROR_IDS: TreeName = TreeName("sumdb-mirror-ids-v1");

/// The pin log: key the pin's number (`u64`, big-endian, from 1, no gaps), value the time it
/// was pinned whole (`u64` nanoseconds since the Unix epoch, big-endian, strictly increasing)
/// followed by its [`VERSIONS`] key. See [`crate::pins`].
pub const PINS: TreeName = TreeName("pins-v1");

/// Every tree the index uses; a backend may open them all up front.
pub const ALL_TREES: &[TreeName] = &[
    VERSIONS,
    RECORDS,
    FEED,
    CONFLICTS,
    SYNC_CURSORS,
    SYNC_CURSORS_V2,
    SIGNER_COUNTS,
    FEED_ID,
    SUMDB_LOG_META,
    SUMDB_LOG_RECORDS,
    SUMDB_LOG_HASHES,
    SUMDB_LOG_IDS,
    SUMDB_LOG_HEADS,
    SUMDB_LOG_CONFLICTS,
    SUMDB_TILES,
    SUMDB_HEADS,
    SUMDB_FORKS,
    POOL_LOG_HEADS,
    POOL_LOG_FORKS,
    SUMDB_MIRROR_IDS,
    PINS,
];

/// Separates the module path from the version in a key. A validated module path never contains
/// a NUL byte, so the module path ends exactly where the first NUL is.
pub(crate) const SEPARATOR: u8 = 0x00;

/// `module path bytes, 0x00, version bytes`.
pub(crate) fn version_key(module: &ModulePath, version: &Version) -> Vec<u8> {
    let mut key = module_prefix(module);
    key.extend_from_slice(version.as_str().as_bytes());
    key
}

/// `module path bytes, 0x00`: every key of this module's versions, and no other module's.
///
/// The separator is what makes `a/b` not match `a/b-c` or `a/b/v2`: their keys continue with
/// `-` or `/` where the keys of `a/b` have the NUL.
pub(crate) fn module_prefix(module: &ModulePath) -> Vec<u8> {
    let path = module.as_str().as_bytes();
    let mut prefix = Vec::with_capacity(path.len() + 1 + 24);
    prefix.extend_from_slice(path);
    prefix.push(SEPARATOR);
    prefix
}

/// `module path, 0x00, version, 0x00`: every records- or conflicts-tree key of this version.
pub(crate) fn version_prefix(module: &ModulePath, version: &Version) -> Vec<u8> {
    let mut prefix = version_key(module, version);
    prefix.push(SEPARATOR);
    prefix
}

/// `module path, 0x00, version, 0x00, signer`: the records- and conflicts-tree key.
pub(crate) fn signer_key(module: &ModulePath, version: &Version, signer: &SignerId) -> Vec<u8> {
    let mut key = version_prefix(module, version);
    key.extend_from_slice(signer.as_bytes());
    key
}

/// The signer of a records-tree key: its last 32 bytes.
pub(crate) fn signer_of_key(key: &[u8]) -> Option<SignerId> {
    let start = key.len().checked_sub(32)?;
    let bytes = <[u8; 32]>::try_from(key.get(start..)?).ok()?;
    Some(SignerId::from_bytes(bytes))
}

/// The feed-tree key of sequence number `seq`: big-endian, so key order is number order.
pub(crate) fn feed_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The sequence number of a feed-tree key, if it is one.
pub(crate) fn parse_feed_key(key: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(key).ok().map(u64::from_be_bytes)
}

/// A versions-tree key that does not decode to a valid module path and version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed versions-tree key {key:?}")]
pub struct MalformedKey {
    /// The key's bytes, lossily shown as text.
    pub key: String,
}

/// Splits a versions-tree key back into its module path and version, re-validating both.
pub(crate) fn parse_version_key(key: &[u8]) -> Result<(ModulePath, Version), MalformedKey> {
    let malformed = || MalformedKey {
        key: String::from_utf8_lossy(key).into_owned(),
    };
    let split = key
        .iter()
        .position(|&b| b == SEPARATOR)
        .ok_or_else(malformed)?;
    let (path, version) = (key.get(..split), key.get(split + 1..));
    let path = path
        .and_then(|p| std::str::from_utf8(p).ok())
        .ok_or_else(malformed)?;
    let version = version
        .and_then(|v| std::str::from_utf8(v).ok())
        .ok_or_else(malformed)?;
    let module = ModulePath::parse(path).map_err(|_| malformed())?;
    let version = Version::parse(version).map_err(|_| malformed())?;
    Ok((module, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> ModulePath {
        ModulePath::parse(s).unwrap()
    }

    fn version(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn keys_round_trip() {
        let key = version_key(
            &path("example.com/a/b"),
            &version("v1.2.3-pre+incompatible"),
        );
        let (module, parsed) = parse_version_key(&key).unwrap();
        assert_eq!(module.as_str(), "example.com/a/b");
        assert_eq!(parsed.as_str(), "v1.2.3-pre+incompatible");
    }

    #[test]
    fn prefix_matches_only_its_own_module() {
        let prefix = module_prefix(&path("example.com/a/b"));
        let own = version_key(&path("example.com/a/b"), &version("v1.0.0"));
        assert!(own.starts_with(&prefix));
        for other in [
            "example.com/a/b-c",
            "example.com/a/b/v2",
            "example.com/a/bc",
        ] {
            let key = version_key(&path(other), &version("v2.0.0"));
            assert!(
                !key.starts_with(&prefix),
                "{other} matched the prefix of example.com/a/b"
            );
        }
    }

    #[test]
    fn feed_keys_sort_as_numbers() {
        let keys: Vec<[u8; 8]> = [1u64, 2, 255, 256, u64::MAX].map(feed_key).to_vec();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(parse_feed_key(&feed_key(258)), Some(258));
        assert_eq!(parse_feed_key(b"short"), None);
    }

    #[test]
    fn signer_keys_of_one_version_share_its_prefix_only() {
        let signer = SignerId::from_bytes([7; 32]);
        let prefix = version_prefix(&path("example.com/a"), &version("v1.0.0"));
        let own = signer_key(&path("example.com/a"), &version("v1.0.0"), &signer);
        let longer = signer_key(&path("example.com/a"), &version("v1.0.0-pre"), &signer);
        assert!(own.starts_with(&prefix));
        assert!(!longer.starts_with(&prefix));
    }

    #[test]
    fn the_signer_of_a_records_key_is_its_tail() {
        let signer = SignerId::from_bytes([7; 32]);
        let key = signer_key(&path("example.com/a"), &version("v1.0.0"), &signer);
        assert_eq!(signer_of_key(&key), Some(signer));
        assert_eq!(signer_of_key(b"short"), None);
    }

    #[test]
    fn garbage_keys_are_refused() {
        for key in [
            &b"no separator"[..],
            b"example.com/a\0not-a-version",
            b"\0v1.0.0",
            b"\xff\0v1.0.0",
        ] {
            assert!(parse_version_key(key).is_err(), "{key:?}");
        }
    }
}
