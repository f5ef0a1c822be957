//! A signer named either way `delos id` prints it: the signing key (`ed25519:<64 hex>`) or the
//! PeerId (`12D3KooW...`) of a node whose identity key is also its signing key. Both name the
//! same ed25519 public key; this is the one place that turns either text into a [`SignerId`]
//! (`--trusted-signer`, `DELOS_TRUSTED_SIGNERS`, `trusted_signers` in the config file).
//!
//! A PeerId names the key only when it *embeds* it (an identity multihash, as every ed25519
//! PeerId does). A hashed PeerId (the `Qm...` ids of RSA keys) holds only a digest of its key,
//! so no signer can be derived from it and it is refused.

use delos_pool_protocol::signing::{SignerId, SignerIdProblem};
use libp2p::multihash::Multihash;
use libp2p_identity::PeerId;

/// The text that starts a signing key.
const KEY_PREFIX: &str = "ed25519:";
/// The multihash code of a PeerId that embeds its public key.
const IDENTITY_MULTIHASH: u64 = 0x00;
/// The multihash code of a PeerId that holds a SHA-256 digest of its key (RSA keys).
const SHA256_MULTIHASH: u64 = 0x12;

/// A text that names no usable signer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid signer {input:?}: {problem}")]
#[non_exhaustive]
pub struct InvalidSigner {
    /// The rejected text.
    pub input: String,
    /// What is wrong with it.
    pub problem: SignerProblem,
}

/// Why a text names no usable signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignerProblem {
    /// Neither a signing key nor a PeerId.
    #[error(
        "expected a signing key (\"ed25519:\" and 64 lowercase hex digits) or a PeerId \
         (12D3KooW...), as `delos id` prints them"
    )]
    Syntax,
    /// A PeerId holding only a hash of its key (RSA keys): the key cannot be recovered.
    #[error(
        "this PeerId holds only a hash of its key (an RSA or other large key), not an \
         ed25519 key; give the signer's ed25519:<hex> signing key instead"
    )]
    HashedPeerId,
    /// A PeerId that embeds a key of another type than ed25519.
    #[error("this PeerId embeds a key that is not ed25519; Delos signers are ed25519 keys")]
    NotEd25519,
    /// The 32 bytes are not a usable ed25519 public key (off the curve, or weak).
    #[error("not a usable ed25519 public key")]
    NotAKey,
}

/// Parses a signer from its signing key (`ed25519:<64 hex>`) or its PeerId (`12D3KooW...`).
pub fn parse_signer(text: &str) -> Result<SignerId, InvalidSigner> {
    let invalid = |problem| InvalidSigner {
        input: text.to_owned(),
        problem,
    };
    if text.starts_with(KEY_PREFIX) {
        return text.parse::<SignerId>().map_err(|err| match err.reason {
            SignerIdProblem::NotAKey => invalid(SignerProblem::NotAKey),
            _ => invalid(SignerProblem::Syntax),
        });
    }
    let peer: PeerId = text.parse().map_err(|_| invalid(SignerProblem::Syntax))?;
    signer_of_peer(&peer).map_err(invalid)
}

/// The ed25519 key a PeerId embeds, as a [`SignerId`].
fn signer_of_peer(peer: &PeerId) -> Result<SignerId, SignerProblem> {
    let multihash: &Multihash<64> = peer.as_ref();
    match multihash.code() {
        IDENTITY_MULTIHASH => {}
        SHA256_MULTIHASH => return Err(SignerProblem::HashedPeerId),
        _ => return Err(SignerProblem::Syntax),
    }
    let public = libp2p_identity::PublicKey::try_decode_protobuf(multihash.digest())
        .map_err(|_| SignerProblem::NotEd25519)?
        .try_into_ed25519()
        .map_err(|_| SignerProblem::NotEd25519)?;
    let signer = SignerId::from_bytes(public.to_bytes());
    match signer.verifying_key() {
        Some(_) => Ok(signer),
        None => Err(SignerProblem::NotAKey),
    }
}

#[cfg(test)]
mod tests {
    use delos_pool_protocol::signing::NodeKey;

    use super::*;
    use crate::keys::peer_id;

    fn key() -> NodeKey {
        NodeKey::from_secret_bytes([9; 32])
    }

    #[test]
    fn both_names_of_a_key_give_the_same_signer() {
        let key = key();
        let by_key = parse_signer(&key.signer_id().to_string()).unwrap();
        let by_peer = parse_signer(&peer_id(&key).to_string()).unwrap();
        assert_eq!(by_key, key.signer_id());
        assert_eq!(by_peer, key.signer_id());
        assert!(peer_id(&key).to_string().starts_with("12D3KooW"));
    }

    #[test]
    fn a_hashed_peer_id_is_refused_by_name() {
        let digest = [0x5a; 32];
        let hashed = Multihash::<64>::wrap(SHA256_MULTIHASH, &digest).unwrap();
        let text = PeerId::from_multihash(hashed).unwrap().to_string();
        assert!(text.starts_with("Qm"), "{text}");
        let err = parse_signer(&text).unwrap_err();
        assert_eq!(err.problem, SignerProblem::HashedPeerId);
        assert!(err.to_string().contains(&text), "{err}");
        assert!(err.to_string().contains("ed25519:<hex>"), "{err}");
    }

    #[test]
    fn an_embedded_key_that_is_not_ed25519_is_refused() {
        // An identity multihash whose digest is no protobuf public key at all.
        let embedded = Multihash::<64>::wrap(IDENTITY_MULTIHASH, &[0xff; 36]).unwrap();
        let text = PeerId::from_multihash(embedded).unwrap().to_string();
        assert_eq!(
            parse_signer(&text).unwrap_err().problem,
            SignerProblem::NotEd25519
        );
    }

    #[test]
    fn garbage_and_bad_keys_are_refused_naming_the_input() {
        let hex = hex_of(&key().signer_id());
        for (text, problem) in [
            ("12D3KooWnotakey", SignerProblem::Syntax),
            ("", SignerProblem::Syntax),
            ("ed25519:zz", SignerProblem::Syntax),
            (hex.as_str(), SignerProblem::Syntax),
        ] {
            let err = parse_signer(text).unwrap_err();
            assert_eq!(err.problem, problem, "{text}");
            assert_eq!(err.input, text);
        }
        // The identity point: a weak key that "verifies" forged signatures.
        let weak = format!("ed25519:01{}", "00".repeat(31));
        assert_eq!(
            parse_signer(&weak).unwrap_err().problem,
            SignerProblem::NotAKey
        );
    }

    fn hex_of(signer: &SignerId) -> String {
        signer
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
