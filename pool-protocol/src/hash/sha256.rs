//! `Sha256`: the SHA-256 of a byte string, used as a content address.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::Digest;

/// The SHA-256 digest of some bytes.
///
/// `Display` and serde use the 64-digit lowercase hex form; `Debug` wraps it as `Sha256(..)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256([u8; 32]);

/// A string that is not the 64-digit lowercase hex form of a SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sha256 {input:?}: expected 64 lowercase hex digits")]
#[non_exhaustive]
pub struct InvalidSha256 {
    /// The rejected input.
    pub input: String,
}

impl Sha256 {
    /// Hashes `bytes`.
    pub fn digest(bytes: &[u8]) -> Sha256 {
        Sha256(sha2::Sha256::digest(bytes).into())
    }

    /// Wraps a digest computed elsewhere (for example by a streaming [`sha2::Sha256`]).
    pub fn from_bytes(bytes: [u8; 32]) -> Sha256 {
        Sha256(bytes)
    }

    /// The 32 raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64-digit lowercase hex form, as `sha256sum` prints it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses the 64-digit lowercase hex form. Upper-case digits are rejected so that every
    /// digest has exactly one spelling.
    pub fn from_hex(s: &str) -> Result<Sha256, InvalidSha256> {
        let invalid = || InvalidSha256 {
            input: s.to_owned(),
        };
        let is_lower_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        if s.len() != 64 || !s.as_bytes().iter().all(is_lower_hex) {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| invalid())?;
        Ok(Sha256(bytes))
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

impl FromStr for Sha256 {
    type Err = InvalidSha256;

    fn from_str(s: &str) -> Result<Sha256, InvalidSha256> {
        Sha256::from_hex(s)
    }
}

impl TryFrom<String> for Sha256 {
    type Error = InvalidSha256;

    fn try_from(s: String) -> Result<Sha256, InvalidSha256> {
        Sha256::from_hex(&s)
    }
}

impl From<Sha256> for String {
    fn from(hash: Sha256) -> String {
        hash.to_hex()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `printf 'hello\n' | sha256sum`
    const HELLO: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    #[test]
    fn digest_matches_sha256sum() {
        assert_eq!(Sha256::digest(b"hello\n").to_hex(), HELLO);
    }

    #[test]
    fn hex_round_trips() {
        let hash = Sha256::from_hex(HELLO).unwrap();
        assert_eq!(hash.to_string(), HELLO);
        assert_eq!(HELLO.parse::<Sha256>().unwrap(), hash);
        assert_eq!(format!("{hash:?}"), format!("Sha256({HELLO})"));
        assert_eq!(Sha256::from_bytes(*hash.as_bytes()), hash);
    }

    #[test]
    fn rejects_non_canonical_hex() {
        for bad in [
            "",
            &HELLO[..63],
            &format!("{HELLO}0"),
            &HELLO.to_uppercase(),
            &format!("g{}", &HELLO[1..]),
        ] {
            let err = Sha256::from_hex(bad).unwrap_err();
            assert_eq!(err.input, bad);
        }
    }
}
