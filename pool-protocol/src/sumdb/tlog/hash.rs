//! `Hash`: a SHA-256 node of the checksum database's Merkle tree, and the two ways to make one.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// A 32-byte SHA-256 hash in the log's tree: a record (leaf) hash, an interior node hash or a
/// tree hash.
///
/// `Display` and [`Hash::parse`] use standard padded base64, as the tree head text, signed
/// notes and Go's `tlog.Hash.String` do.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash([u8; 32]);

/// A string that is not the padded base64 of 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tree hash {input:?}: expected 44 characters of padded base64 of 32 bytes")]
#[non_exhaustive]
pub struct InvalidHash {
    /// The rejected input.
    pub input: String,
}

impl Hash {
    /// The size of a hash in bytes, and of each hash in a tile.
    pub const SIZE: usize = 32;

    /// The hash of the empty tree: SHA-256 of no bytes (RFC 6962 §2.1).
    pub const EMPTY_TREE: Hash = Hash([
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9,
        0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52,
        0xb8, 0x55,
    ]);

    /// The leaf hash of a record: SHA-256 of a zero byte and the record data. For a checksum
    /// database the data is the record text (the go.sum lines, each ending in a newline).
    pub fn of_record(data: &[u8]) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update([0x00]);
        hasher.update(data);
        Hash(hasher.finalize().into())
    }

    /// The hash of an interior node: SHA-256 of a one byte, the left and the right child.
    pub fn of_node(left: &Hash, right: &Hash) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update([0x01]);
        hasher.update(left.0);
        hasher.update(right.0);
        Hash(hasher.finalize().into())
    }

    /// Wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Hash {
        Hash(bytes)
    }

    /// The hash in `bytes`, if it is exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        bytes.try_into().ok().map(Hash)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses standard padded base64 of 32 bytes.
    ///
    /// Only the canonical spelling is accepted: Go's decoder also takes nonzero padding bits,
    /// which no Go encoder writes, so a hash here has one spelling.
    pub fn parse(s: &str) -> Result<Hash, InvalidHash> {
        let invalid = || InvalidHash {
            input: s.to_owned(),
        };
        if s.len() != 44 {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        match STANDARD.decode_slice(s, &mut bytes) {
            Ok(32) => Ok(Hash(bytes)),
            _ => Err(invalid()),
        }
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&STANDARD.encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = InvalidHash;

    fn from_str(s: &str) -> Result<Hash, InvalidHash> {
        Hash::parse(s)
    }
}
