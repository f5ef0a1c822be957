//! `NoteSignature`: one signature line of a note, `— <name> <base64(key hash ‖ signature)>`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{KeyHash, KeyName, SignerKey};

/// What every signature line starts with: an em dash (U+2014) and a space.
pub(super) const LINE_PREFIX: &str = "— ";

/// One signature of a note, verified or not: who claims to have signed (name and key hash)
/// and the signature bytes. `Display` gives the line without its newline.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    name: KeyName,
    key_hash: KeyHash,
    base64: String,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// Reads a signature line (without its newline): the prefix, a valid name, one space, and
    /// canonical base64 of at least five bytes, the first four the key hash.
    pub(super) fn parse_line(line: &str) -> Option<NoteSignature> {
        let (name, base64) = line.strip_prefix(LINE_PREFIX)?.split_once(' ')?;
        let name = KeyName::new(name).ok()?;
        let bytes = STANDARD.decode(base64).ok().filter(|b| b.len() >= 5)?;
        let (hash, signature) = bytes.split_at(4);
        Some(NoteSignature {
            name,
            key_hash: KeyHash(u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]])),
            base64: base64.to_owned(),
            signature: signature.to_vec(),
        })
    }

    /// `signer`'s signature of `text`.
    pub(super) fn sign(signer: &SignerKey, text: &str) -> NoteSignature {
        let signature = signer.sign(text.as_bytes());
        let mut bytes = signer.key_hash().0.to_be_bytes().to_vec();
        bytes.extend_from_slice(&signature);
        NoteSignature {
            name: signer.name().clone(),
            key_hash: signer.key_hash(),
            base64: STANDARD.encode(&bytes),
            signature: signature.to_vec(),
        }
    }

    /// Whether this signature claims the key `name`+`key_hash`.
    pub(super) fn is_by(&self, name: &KeyName, key_hash: KeyHash) -> bool {
        self.name == *name && self.key_hash == key_hash
    }

    /// The name of the key that claims to have signed.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The hash of the key that claims to have signed.
    pub fn key_hash(&self) -> KeyHash {
        self.key_hash
    }

    /// The signature bytes (after the key hash): 64 bytes for Ed25519.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

impl fmt::Display for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{LINE_PREFIX}{} {}", self.name, self.base64)
    }
}
