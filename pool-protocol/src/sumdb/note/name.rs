//! `KeyName` and `KeyHash`: the two things that name a note key, `<name>+<hash>`.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::InvalidKeyName;

/// The name of a note key, by convention the `host[/path]` of the checksum database that signs
/// with it: non-empty, without Unicode spaces and without `+` (Go's `note.isValidName`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyName(String);

/// The 32-bit hash that tells keys of the same name apart: the first four bytes (big-endian) of
/// SHA-256 of the name, a newline and the key data (algorithm byte and public key).
/// `Display` gives the 8 lowercase hex digits of key strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyHash(pub u32);

impl KeyName {
    /// Checks `name` against the rules.
    pub fn new(name: &str) -> Result<KeyName, InvalidKeyName> {
        // Rust's `char::is_whitespace` and Go's `unicode.IsSpace` are the same set: the
        // Unicode White_Space property.
        if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
            return Err(InvalidKeyName {
                name: name.to_owned(),
            });
        }
        Ok(KeyName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for KeyName {
    type Err = InvalidKeyName;

    fn from_str(s: &str) -> Result<KeyName, InvalidKeyName> {
        KeyName::new(s)
    }
}

impl KeyHash {
    /// The hash of a key named `name` whose key data (algorithm byte, then key) is `key_data`.
    pub fn of(name: &KeyName, key_data: &[u8]) -> KeyHash {
        let mut hasher = Sha256::new();
        hasher.update(name.0.as_bytes());
        hasher.update(b"\n");
        hasher.update(key_data);
        let digest = hasher.finalize();
        KeyHash(u32::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]))
    }

    /// Parses the 8 hex digits of a key string. Like Go, upper-case digits are accepted.
    pub(crate) fn parse_hex(s: &str) -> Option<KeyHash> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(s, 16).ok().map(KeyHash)
    }
}

impl fmt::Display for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}
