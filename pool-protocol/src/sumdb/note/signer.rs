//! `SignerKey`: a note key's secret half, `PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};

use super::verifier::{ed25519_bytes, key_data, split_key};
use super::{InvalidSignerKey, KeyHash, KeyName, KeyProblem, VerifierKey};
use crate::signing::{NodeKey, RandomnessUnavailable};

/// What a signer key string starts with, so it is never mistaken for a verifier key.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// A key that signs notes: a name and an Ed25519 secret key. Anyone holding it can sign as the
/// database, so `Debug` shows only the name and key hash, and the secret key string comes only
/// from [`to_secret_string`](Self::to_secret_string).
#[derive(Clone)]
pub struct SignerKey {
    name: KeyName,
    hash: KeyHash,
    signing: SigningKey,
}

impl SignerKey {
    /// A new key named `name`, from the operating system's random number generator (Go's
    /// `note.GenerateKey`).
    pub fn generate(name: KeyName) -> Result<SignerKey, RandomnessUnavailable> {
        let mut seed = NodeKey::generate()?.secret_bytes();
        let key = SignerKey::from_seed(name, seed);
        seed.fill(0);
        Ok(key)
    }

    /// The key named `name` whose 32-byte Ed25519 secret (seed) is `seed`.
    pub fn from_seed(name: KeyName, seed: [u8; 32]) -> SignerKey {
        let signing = SigningKey::from_bytes(&seed);
        let hash = KeyHash::of(&name, &key_data(&signing.verifying_key().to_bytes()));
        SignerKey {
            name,
            hash,
            signing,
        }
    }

    /// Parses a signer key string (Go's `note.NewSigner`). The key hash in it must be that of
    /// the public key the seed gives.
    pub fn parse(key: &str) -> Result<SignerKey, InvalidSignerKey> {
        let refuse = |problem| InvalidSignerKey { problem };
        let (name, hash, data) = key
            .strip_prefix(PRIVATE_PREFIX)
            .and_then(split_key)
            .ok_or(refuse(KeyProblem::Syntax))?;
        let signer = SignerKey::from_seed(name, ed25519_bytes(&data).map_err(refuse)?);
        if signer.hash != hash {
            return Err(refuse(KeyProblem::HashMismatch {
                stated: hash,
                computed: signer.hash,
            }));
        }
        Ok(signer)
    }

    /// The signer key string, `PRIVATE+KEY+<name>+<hash>+<base64>`. It is secret.
    pub fn to_secret_string(&self) -> String {
        let data = key_data(&self.signing.to_bytes());
        format!(
            "{PRIVATE_PREFIX}{}+{}+{}",
            self.name,
            self.hash,
            STANDARD.encode(data)
        )
    }

    /// The matching verifier key, to give to clients (`GOSUMDB=<verifier key>`).
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey::new(self.name.clone(), self.signing.verifying_key())
    }

    /// The key's name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key hash.
    pub fn key_hash(&self) -> KeyHash {
        self.hash
    }

    /// The Ed25519 signature of `message` (deterministic: the same message always gets the
    /// same signature).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}
