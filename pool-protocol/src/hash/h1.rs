//! `H1Hash`: Go's `h1:` directory hash (`dirhash.Hash1`), and [`H1Builder`] which computes it.
//!
//! The hash covers a set of named files: sort the names bytewise, write one line
//! `"<lowercase hex sha256 of content>  <name>\n"` per file into a running SHA-256, and print
//! the result as `h1:` plus standard padded base64. For a module zip the names are the full
//! entry names (prefix included, directory entries as empty files); for a `go.mod` the set is
//! one file named `go.mod`.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::Sha256;

/// The text before the base64 digest.
const PREFIX: &str = "h1:";

/// The length of 32 bytes in padded base64.
const BASE64_LEN: usize = 44;

/// A Go `h1:` hash, as found in `go.sum` lines and the checksum database.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct H1Hash([u8; 32]);

/// A string that is not `h1:` followed by 44 characters of standard padded base64 of 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid h1 hash {input:?}: expected \"h1:\" and 44 characters of padded base64")]
#[non_exhaustive]
pub struct InvalidH1Hash {
    /// The rejected input.
    pub input: String,
}

/// A file name containing a newline, which the `h1:` summary format cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("file name {name:?} contains a newline; h1 hashes cannot cover it")]
#[non_exhaustive]
pub struct NameWithNewline {
    /// The rejected file name.
    pub name: String,
}

impl H1Hash {
    /// Parses `h1:<44 characters of standard padded base64>`. Only the canonical encoding is
    /// accepted (no stray padding bits), so each hash has exactly one spelling.
    pub fn parse(s: &str) -> Result<H1Hash, InvalidH1Hash> {
        let invalid = || InvalidH1Hash {
            input: s.to_owned(),
        };
        let encoded = s.strip_prefix(PREFIX).ok_or_else(invalid)?;
        if encoded.len() != BASE64_LEN {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        match STANDARD.decode_slice(encoded, &mut bytes) {
            Ok(32) => Ok(H1Hash(bytes)),
            _ => Err(invalid()),
        }
    }

    /// The `h1:` hash of a `go.mod` file, as in a `go.sum` line `M V/go.mod h1:...`: the hash of
    /// a one-file set whose single name is `go.mod`.
    pub fn of_go_mod(go_mod: &[u8]) -> H1Hash {
        let mut builder = H1Builder::new();
        builder.push(String::from("go.mod"), Sha256::digest(go_mod));
        builder.finish()
    }

    /// Wraps the 32 bytes of an `h1:` digest.
    pub fn from_bytes(bytes: [u8; 32]) -> H1Hash {
        H1Hash(bytes)
    }

    /// The 32 raw bytes of the digest (the SHA-256 of the summary).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for H1Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", STANDARD.encode(self.0))
    }
}

impl fmt::Debug for H1Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "H1Hash({self})")
    }
}

impl FromStr for H1Hash {
    type Err = InvalidH1Hash;

    fn from_str(s: &str) -> Result<H1Hash, InvalidH1Hash> {
        H1Hash::parse(s)
    }
}

impl TryFrom<String> for H1Hash {
    type Error = InvalidH1Hash;

    fn try_from(s: String) -> Result<H1Hash, InvalidH1Hash> {
        H1Hash::parse(&s)
    }
}

impl From<H1Hash> for String {
    fn from(hash: H1Hash) -> String {
        hash.to_string()
    }
}

/// Collects `(name, content sha256)` pairs and computes their `h1:` hash.
///
/// Names may be added in any order and may repeat (Go's `HashZip` lists a duplicated zip entry
/// once per occurrence); [`H1Builder::finish`] sorts them bytewise as Go's `slices.Sort` does.
#[derive(Debug, Clone, Default)]
pub struct H1Builder {
    files: Vec<(String, Sha256)>,
}

impl H1Builder {
    /// An empty set of files.
    pub fn new() -> H1Builder {
        H1Builder::default()
    }

    /// Adds a file by name and the SHA-256 of its contents. A name containing `\n` is refused,
    /// as Go's `dirhash` refuses it.
    pub fn add(&mut self, name: &str, content_sha256: &Sha256) -> Result<(), NameWithNewline> {
        if name.contains('\n') {
            return Err(NameWithNewline {
                name: name.to_owned(),
            });
        }
        self.push(name.to_owned(), *content_sha256);
        Ok(())
    }

    /// The number of files added so far.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file has been added.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Sorts the names bytewise and hashes the summary lines.
    pub fn finish(mut self) -> H1Hash {
        // `str`'s `Ord` compares the UTF-8 bytes, which is exactly Go's string order.
        self.files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut summary = sha2::Sha256::new();
        let mut hex = [0u8; 64];
        for (name, content) in &self.files {
            // Cannot fail: the buffer is exactly twice the digest length.
            let _ = hex::encode_to_slice(content.as_bytes(), &mut hex);
            summary.update(hex);
            summary.update(b"  ");
            summary.update(name.as_bytes());
            summary.update(b"\n");
        }
        H1Hash(summary.finalize().into())
    }

    /// Adds a name already known to be free of newlines (for example one that passed
    /// `CheckFilePath`, which refuses control characters).
    pub(crate) fn push(&mut self, name: String, content_sha256: Sha256) {
        self.files.push((name, content_sha256));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// goproxy-protocol.md §4, the worked example `example.org/hello.git@v1.0.0`.
    const HELLO_GO_MOD: &[u8] = b"module example.org/hello.git\n\ngo 1.21\n";
    const HELLO_GO: &[u8] = b"package hello\n\nfunc Hello() string { return \"hello v1.0.0\" }\n";
    const HELLO_SUM: &str = "h1:OTavDhu2+htbSCou3/NNW4Jc96pqnEISq/z/wq3Vxvo=";
    const HELLO_GO_MOD_SUM: &str = "h1:QJ+/gTmvQBuUneasCzJSE+xoq4qt4XbqZ6dJE1/ib7w=";

    #[test]
    fn worked_example_file_hashes() {
        assert_eq!(
            Sha256::digest(HELLO_GO_MOD).to_hex(),
            "438a6d3cebb4e4fee45d15fae4f8cf167ea3bbcd9960f5613086d935099f2763"
        );
        assert_eq!(
            Sha256::digest(HELLO_GO).to_hex(),
            "ab06ff6633041dcd87c43317c95797e702f908720b5ed7e8499bca7e162c3904"
        );
    }

    #[test]
    fn worked_example_zip_hash_in_any_order() {
        let mut builder = H1Builder::new();
        let go = "example.org/hello.git@v1.0.0/hello.go";
        let go_mod = "example.org/hello.git@v1.0.0/go.mod";
        builder.add(go, &Sha256::digest(HELLO_GO)).unwrap();
        builder.add(go_mod, &Sha256::digest(HELLO_GO_MOD)).unwrap();
        assert_eq!(builder.len(), 2);
        assert_eq!(builder.finish().to_string(), HELLO_SUM);
    }

    #[test]
    fn worked_example_go_mod_hash() {
        assert_eq!(
            H1Hash::of_go_mod(HELLO_GO_MOD).to_string(),
            HELLO_GO_MOD_SUM
        );
    }

    #[test]
    fn legacy_synthesized_go_mod_vector() {
        let hash = H1Hash::of_go_mod(b"module example.org/legacy.git\n");
        assert_eq!(
            hash.to_string(),
            "h1:vGq8iPZ1LHCfg9oPoO320Fp+VM+MFIvR3c/53RXZPU4="
        );
    }

    #[test]
    fn empty_set_hashes_the_empty_summary() {
        let empty = Sha256::digest(b"");
        assert_eq!(H1Builder::new().finish().as_bytes(), empty.as_bytes());
    }

    #[test]
    fn newline_in_name_is_refused() {
        let err = H1Builder::new()
            .add("a\nb", &Sha256::digest(b""))
            .unwrap_err();
        assert_eq!(err.name, "a\nb");
    }

    #[test]
    fn parse_round_trips_and_serde_uses_the_text() {
        let hash = H1Hash::parse(HELLO_SUM).unwrap();
        assert_eq!(hash.to_string(), HELLO_SUM);
        assert_eq!(HELLO_SUM.parse::<H1Hash>().unwrap(), hash);
        assert_eq!(H1Hash::from_bytes(*hash.as_bytes()), hash);
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{HELLO_SUM}\""));
        assert_eq!(serde_json::from_str::<H1Hash>(&json).unwrap(), hash);
        assert!(serde_json::from_str::<H1Hash>("\"h1:nope\"").is_err());
        let sha = Sha256::digest(HELLO_GO);
        let json = serde_json::to_string(&sha).unwrap();
        assert_eq!(serde_json::from_str::<Sha256>(&json).unwrap(), sha);
    }

    #[test]
    fn parse_rejects_malformed() {
        let body = &HELLO_SUM[3..];
        for bad in [
            "",
            body,
            &format!("h2:{body}"),
            &HELLO_SUM[..46],
            &format!("{HELLO_SUM}="),
            "h1:OTavDhu2+htbSCou3/NNW4Jc96pqnEISq/z/wq3Vxvo!",
            // Same digest with a non-zero padding bit: not the canonical spelling.
            "h1:OTavDhu2+htbSCou3/NNW4Jc96pqnEISq/z/wq3Vxvp=",
            "h1:OTavDhu2-htbSCou3_NNW4Jc96pqnEISq_z_wq3Vxvo=",
        ] {
            assert_eq!(H1Hash::parse(bad).unwrap_err().input, bad);
        }
    }
}
