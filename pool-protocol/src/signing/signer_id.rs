//! `SignerId`: the ed25519 public key that names whoever signed a record.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The text before the hex key in [`SignerId`]'s text form.
const PREFIX: &str = "ed25519:";

/// Who signed a record: a 32-byte ed25519 public key.
///
/// The text form (`Display`, `FromStr`, human-readable serde such as JSON) is `ed25519:` followed
/// by 64 lowercase hex digits, which is what `delos id` prints as `signing-key:` and what
/// `--trusted-signer` takes. In binary encodings (the [`codec`](crate::codec)) it is the 32 raw
/// bytes. The prefix keeps a key apart from the 64-hex-digit SHA-256 content addresses that
/// appear beside it.
///
/// A node's default signing key is also its libp2p identity key, so for such nodes the signer
/// and the PeerId name the same key; `delos-node` converts between the two. This crate does not
/// depend on libp2p, so it does not print PeerIds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignerId([u8; 32]);

/// A string that is not a usable [`SignerId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid signer key {input:?}: {reason}")]
#[non_exhaustive]
pub struct InvalidSignerId {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub reason: SignerIdProblem,
}

/// What is wrong with a rejected signer key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignerIdProblem {
    /// Not `ed25519:` followed by 64 lowercase hex digits.
    #[error("expected \"ed25519:\" and 64 lowercase hex digits")]
    Syntax,
    /// The 32 bytes are not a point on the curve, or a weak (small-order) key that verifies
    /// signatures for many messages.
    #[error("not a usable ed25519 public key")]
    NotAKey,
}

impl SignerId {
    /// Wraps 32 public-key bytes as they appear in a record (not checked to be a curve point:
    /// verification does that).
    pub fn from_bytes(bytes: [u8; 32]) -> SignerId {
        SignerId(bytes)
    }

    /// The 32 public-key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The ed25519 key, if these bytes are a usable (on-curve, not small-order) public key.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_bytes(&self.0)
            .ok()
            .filter(|key| !key.is_weak())
    }
}

impl From<VerifyingKey> for SignerId {
    fn from(key: VerifyingKey) -> SignerId {
        SignerId(key.to_bytes())
    }
}

impl fmt::Display for SignerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", hex::encode(self.0))
    }
}

impl fmt::Debug for SignerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignerId({self})")
    }
}

impl FromStr for SignerId {
    type Err = InvalidSignerId;

    /// Parses the text form, and refuses keys that could never verify a signature.
    fn from_str(s: &str) -> Result<SignerId, InvalidSignerId> {
        let invalid = |reason| InvalidSignerId {
            input: s.to_owned(),
            reason,
        };
        let digits = s
            .strip_prefix(PREFIX)
            .filter(|d| d.len() == 64 && d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .ok_or_else(|| invalid(SignerIdProblem::Syntax))?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| invalid(SignerIdProblem::Syntax))?;
        let id = SignerId(bytes);
        match id.verifying_key() {
            Some(_) => Ok(id),
            None => Err(invalid(SignerIdProblem::NotAKey)),
        }
    }
}

impl Serialize for SignerId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            self.0.serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for SignerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SignerId, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            <[u8; 32]>::deserialize(deserializer).map(SignerId)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn id() -> SignerId {
        SigningKey::from_bytes(&[7; 32]).verifying_key().into()
    }

    #[test]
    fn text_form_round_trips() {
        let text = id().to_string();
        assert!(text.starts_with("ed25519:"));
        assert_eq!(text.len(), 8 + 64);
        assert_eq!(text.parse::<SignerId>().unwrap(), id());
    }

    #[test]
    fn bad_text_is_refused() {
        let hex = hex::encode(id().as_bytes());
        for bad in [
            hex.clone(),
            format!("ed25519:{}", hex.to_uppercase()),
            format!("ed25519:{}", &hex[..62]),
            format!("ed25519:{hex}00"),
            format!("ED25519:{hex}"),
        ] {
            let err = bad.parse::<SignerId>().unwrap_err();
            assert_eq!(err.reason, SignerIdProblem::Syntax, "{bad}");
        }
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (y = 1) has small order: it "verifies" forged signatures.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let text = format!("ed25519:{}", hex::encode(identity));
        let err = text.parse::<SignerId>().unwrap_err();
        assert_eq!(err.reason, SignerIdProblem::NotAKey);
    }

    #[test]
    fn json_uses_the_text_form() {
        let json = serde_json::to_string(&id()).unwrap();
        assert_eq!(json, format!("\"{}\"", id()));
        assert_eq!(serde_json::from_str::<SignerId>(&json).unwrap(), id());
    }
}
