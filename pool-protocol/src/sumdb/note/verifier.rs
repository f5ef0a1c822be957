//! `VerifierKey`: a note key's public half, `<name>+<hash>+<base64(0x01 ‖ key)>`.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};

use super::{InvalidVerifierKey, KeyHash, KeyName, KeyProblem};

/// The algorithm byte of Ed25519 keys, the only algorithm notes use.
pub(super) const ALG_ED25519: u8 = 1;

/// A key that verifies note signatures: a name, the key hash and an Ed25519 public key. Its
/// text form is a verifier key string such as the one in `GOSUMDB`,
/// `sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    name: KeyName,
    hash: KeyHash,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Parses a verifier key string (Go's `note.NewVerifier`), checking the key hash.
    ///
    /// Stricter than Go in two ways: the base64 must be canonical, and the 32 bytes must be a
    /// usable Ed25519 public key (a curve point that is not of small order).
    pub fn parse(key: &str) -> Result<VerifierKey, InvalidVerifierKey> {
        let refuse = |problem| InvalidVerifierKey {
            key: key.to_owned(),
            problem,
        };
        let (name, hash, data) = split_key(key).ok_or(refuse(KeyProblem::Syntax))?;
        let computed = KeyHash::of(&name, &data);
        if computed != hash {
            return Err(refuse(KeyProblem::HashMismatch {
                stated: hash,
                computed,
            }));
        }
        let public = ed25519_bytes(&data).map_err(refuse)?;
        let key = VerifyingKey::from_bytes(&public)
            .ok()
            .filter(|key| !key.is_weak())
            .ok_or(refuse(KeyProblem::NotAKey))?;
        Ok(VerifierKey { name, hash, key })
    }

    /// The verifier key of `name` for an Ed25519 public key (Go's `NewEd25519VerifierKey`).
    pub fn new(name: KeyName, key: VerifyingKey) -> VerifierKey {
        let hash = KeyHash::of(&name, &key_data(&key.to_bytes()));
        VerifierKey { name, hash, key }
    }

    /// The key's name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key hash.
    pub fn key_hash(&self) -> KeyHash {
        self.hash
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Whether `signature` (64 bytes) is this key's Ed25519 signature of `message`.
    ///
    /// Verification is strict (`verify_strict`): non-canonical and small-order signature
    /// components, which no honest signer produces, are refused.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature)
            .is_ok_and(|signature| self.key.verify_strict(message, &signature).is_ok())
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = key_data(&self.key.to_bytes());
        write!(f, "{}+{}+{}", self.name, self.hash, STANDARD.encode(data))
    }
}

impl FromStr for VerifierKey {
    type Err = InvalidVerifierKey;

    fn from_str(s: &str) -> Result<VerifierKey, InvalidVerifierKey> {
        VerifierKey::parse(s)
    }
}

/// Splits `<name>+<8 hex digits>+<base64>` into a valid name, the hash and the non-empty
/// decoded key data. The base64 may itself hold `+`.
pub(super) fn split_key(key: &str) -> Option<(KeyName, KeyHash, Vec<u8>)> {
    let (name, rest) = key.split_once('+')?;
    let (hash, data) = rest.split_once('+')?;
    let name = KeyName::new(name).ok()?;
    let hash = KeyHash::parse_hex(hash)?;
    let data = STANDARD.decode(data).ok().filter(|data| !data.is_empty())?;
    Some((name, hash, data))
}

/// The 32 key bytes of Ed25519 key data (algorithm byte 1, then the key).
pub(super) fn ed25519_bytes(data: &[u8]) -> Result<[u8; 32], KeyProblem> {
    match data.split_first() {
        Some((&ALG_ED25519, key)) => key
            .try_into()
            .map_err(|_| KeyProblem::WrongLength { len: key.len() }),
        Some((&algorithm, _)) => Err(KeyProblem::UnknownAlgorithm { algorithm }),
        None => Err(KeyProblem::Syntax),
    }
}

/// Ed25519 key data: the algorithm byte, then the 32 key bytes.
pub(super) fn key_data(key: &[u8; 32]) -> Vec<u8> {
    let mut data = Vec::with_capacity(33);
    data.push(ALG_ED25519);
    data.extend_from_slice(key);
    data
}
