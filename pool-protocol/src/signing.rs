//! Signed provenance records: who vouches for a record, and the check that they did.
//!
//! A [`SignedRecord`] carries the exact encoded bytes of a
//! [`ProvenanceRecord`] (as [`codec::encode`] made them), an ed25519 signature, and the
//! [`SignerId`] it claims. The signature covers [`DOMAIN`] followed by those bytes, so a Delos
//! record signature can never be replayed as a signature over anything else a key signs (a libp2p
//! handshake, a future record format): the prefix is fixed, ends in a NUL byte that no record
//! format name contains, and the record bytes are everything after it.
//!
//! Records are stored and forwarded as the bytes that were signed, never re-encoded, so a
//! signature stays checkable forever. [`SignedRecord::verify`] is the only way to get a
//! [`VerifiedRecord`], which is what the [`trust`](crate::trust) policy accepts.
//!
//! # Why a signer is a public key here, not a PeerId
//!
//! A node's default signing key is its libp2p identity key, so its records could be named by
//! its PeerId. This crate nevertheless names signers by the raw ed25519 public key
//! ([`SignerId`], shown as `ed25519:<hex>`) and does not depend on libp2p: with `--signing-key`
//! an organisation's shared key signs for many nodes and is no node's PeerId, the key is what a
//! trust list must pin, and the pure vocabulary crate stays free of the networking stack's
//! versions. `delos-node` converts (`keys::peer_id_of`): for an ed25519 key the PeerId is a
//! pure function of the public key.

mod node_key;
mod signer_id;

pub use node_key::{NodeKey, RandomnessUnavailable};
pub use signer_id::{InvalidSignerId, SignerId, SignerIdProblem};

use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use crate::codec::{self, Canonical, CodecError, MAX_RECORD_BYTES};
use crate::provenance::ProvenanceRecord;

/// The domain-separation prefix signed before the record bytes.
pub const DOMAIN: &[u8] = b"delos/provenance/v1\0";

/// A provenance record's bytes, with a signature and the signer it claims. Not yet checked.
///
/// Its own wire form (for gossip and storage) also goes through the [`codec`]:
/// [`SignedRecord::to_wire`] and [`SignedRecord::from_wire`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRecord {
    bytes: Vec<u8>,
    signature: ([u8; 32], [u8; 32]),
    signer: SignerId,
}

/// A signed record whose signature, signer and encoding have all been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRecord {
    record: ProvenanceRecord,
    signed: SignedRecord,
}

/// Why a record could not be signed or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// The record (or the signed record's wire form) is too large, malformed or not canonical.
    #[error("signed record is not well-formed")]
    Codec(#[from] CodecError),
    /// The claimed signer is not a usable ed25519 public key.
    #[error("signer {signer} is not a usable ed25519 public key")]
    UnusableSigner {
        /// The claimed signer.
        signer: SignerId,
    },
    /// The signature does not verify (strictly) for the claimed signer and these bytes.
    #[error("signature by {signer} does not verify")]
    BadSignature {
        /// The claimed signer.
        signer: SignerId,
        /// The ed25519 error.
        #[source]
        source: ed25519_dalek::SignatureError,
    },
}

impl Canonical for SignedRecord {
    /// The record itself, plus the signature, the signer and a few length bytes.
    const MAX_BYTES: usize = MAX_RECORD_BYTES + 128;
    const NAME: &'static str = "signed provenance record";
}

/// The bytes an ed25519 signature covers: [`DOMAIN`] then the encoded record.
pub(crate) fn signed_message(record_bytes: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(DOMAIN.len() + record_bytes.len());
    message.extend_from_slice(DOMAIN);
    message.extend_from_slice(record_bytes);
    message
}

impl SignedRecord {
    /// Assembles a signed record from its parts as received (nothing is checked until
    /// [`verify`](Self::verify)).
    pub fn from_parts(bytes: Vec<u8>, signature: [u8; 64], signer: SignerId) -> SignedRecord {
        let mut low = [0u8; 32];
        let mut high = [0u8; 32];
        low.copy_from_slice(&signature[..32]);
        high.copy_from_slice(&signature[32..]);
        SignedRecord {
            bytes,
            signature: (low, high),
            signer,
        }
    }

    /// The encoded record, exactly as signed.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The 64-byte ed25519 signature.
    pub fn signature(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.signature.0);
        out[32..].copy_from_slice(&self.signature.1);
        out
    }

    /// The signer this record claims (true only once verified).
    pub fn signer(&self) -> SignerId {
        self.signer
    }

    /// This signed record's own wire form, through the [`codec`].
    pub fn to_wire(&self) -> Result<Vec<u8>, CodecError> {
        codec::encode(self)
    }

    /// Reads a signed record's wire form (size-limited, canonical, no trailing bytes). The
    /// record inside is not checked until [`verify`](Self::verify).
    pub fn from_wire(wire: &[u8]) -> Result<SignedRecord, CodecError> {
        codec::decode(wire)
    }

    /// Checks this record and returns it with its decoded contents.
    pub fn verify(&self) -> Result<VerifiedRecord, SigningError> {
        // 1. Size: the record bytes must fit MAX_RECORD_BYTES; checked before any decoding.
        // 2. Decode: bincode through the codec into a ProvenanceRecord, whose own validation
        //    (format version, canonical version, bounded texts) runs as part of decoding;
        //    trailing bytes are refused.
        // 3. Canonical: re-encoding must give these exact bytes, so one record has one byte
        //    string and one signature; non-minimal integers and the like are refused.
        //    (Steps 1-3 are `codec::decode`.)
        let record: ProvenanceRecord = codec::decode(&self.bytes)?;
        // 4. Signer: the claimed signer must be an on-curve, not small-order ed25519 key.
        let key = self
            .signer
            .verifying_key()
            .ok_or(SigningError::UnusableSigner {
                signer: self.signer,
            })?;
        // 5. Signature: `verify_strict` over DOMAIN + bytes with the claimed signer's key. It
        //    also refuses non-canonical `s` and small-order `R`, so signatures are not malleable
        //    and a record signed by key A never verifies as signed by B.
        let signature = Signature::from_bytes(&self.signature());
        key.verify_strict(&signed_message(&self.bytes), &signature)
            .map_err(|source| SigningError::BadSignature {
                signer: self.signer,
                source,
            })?;
        Ok(VerifiedRecord {
            record,
            signed: self.clone(),
        })
    }
}

impl VerifiedRecord {
    /// The decoded record.
    pub fn record(&self) -> &ProvenanceRecord {
        &self.record
    }

    /// The signer, whose signature has been checked.
    pub fn signer(&self) -> SignerId {
        self.signed.signer
    }

    /// The signed form, to store or forward as evidence.
    pub fn signed(&self) -> &SignedRecord {
        &self.signed
    }
}

#[cfg(test)]
mod tests;
