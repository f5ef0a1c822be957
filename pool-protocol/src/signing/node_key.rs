//! `NodeKey`: the ed25519 secret key a node signs its records with.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey};

use super::{SignedRecord, SignerId, SigningError, signed_message};
use crate::codec;
use crate::provenance::ProvenanceRecord;

/// An ed25519 signing key: a node's own key (also its libp2p identity) or an organisation's
/// shared signing key.
///
/// `Debug` shows only the public [`SignerId`]; the secret is wiped from memory on drop.
#[derive(Clone)]
pub struct NodeKey {
    signing: SigningKey,
}

/// The operating system's random number generator failed, so no key could be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomnessUnavailable(getrandom::Error);

impl NodeKey {
    /// Makes a new key from 32 bytes of the operating system's random number generator.
    ///
    /// This is the one place this crate asks anything of the operating system.
    pub fn generate() -> Result<NodeKey, RandomnessUnavailable> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(RandomnessUnavailable)?;
        let key = NodeKey::from_secret_bytes(secret);
        secret.fill(0);
        Ok(key)
    }

    /// The key whose 32-byte ed25519 secret (seed) is `secret`.
    pub fn from_secret_bytes(secret: [u8; 32]) -> NodeKey {
        NodeKey {
            signing: SigningKey::from_bytes(&secret),
        }
    }

    /// The 32-byte ed25519 secret (seed), for writing the key file. Handle with care.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public half, which names this key's records.
    pub fn signer_id(&self) -> SignerId {
        self.signing.verifying_key().into()
    }

    /// Encodes `record` through the [`codec`] and signs the domain-separated bytes.
    pub fn sign(&self, record: &ProvenanceRecord) -> Result<SignedRecord, SigningError> {
        let bytes = codec::encode(record)?;
        let signature = self.signing.sign(&signed_message(&bytes));
        Ok(SignedRecord::from_parts(
            bytes,
            signature.to_bytes(),
            self.signer_id(),
        ))
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKey")
            .field("signer", &self.signer_id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_round_trips() {
        let key = NodeKey::generate().unwrap();
        let again = NodeKey::from_secret_bytes(key.secret_bytes());
        assert_eq!(again.signer_id(), key.signer_id());
    }

    #[test]
    fn generated_keys_differ() {
        let a = NodeKey::generate().unwrap();
        let b = NodeKey::generate().unwrap();
        assert_ne!(a.signer_id(), b.signer_id());
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let key = NodeKey::from_secret_bytes([0xab; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.contains(&hex::encode([0xab; 32])), "{shown}");
        assert!(shown.contains("ed25519:"), "{shown}");
    }
}
