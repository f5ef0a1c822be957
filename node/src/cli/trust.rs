//! [`TrustArgs`]: whose provenance records the node believes.

use std::num::NonZeroU8;

use clap::Args;
use delos_pool_protocol::signing::SignerId;
use delos_pool_protocol::trust::TrustPolicy;

/// Whose provenance records the node believes (flatten into commands that run a node).
/// `Default` is what no flag gives: no trusted signer, the default quorum.
#[derive(Debug, Clone, Default, Args)]
pub struct TrustArgs {
    /// Believe records signed by this signer on its own (repeatable): its signing key
    /// (`ed25519:<hex>`, the signing-key line of `delos id` on the signer's node) or its PeerId
    /// (12D3KooW..., the peer-id line, when the node signs with its node key). The node's own
    /// signing key is always trusted.
    #[arg(
        long = "trusted-signer",
        value_name = "KEY|PEERID",
        env = "DELOS_TRUSTED_SIGNERS",
        value_delimiter = ',',
        value_parser = crate::keys::parse_signer
    )]
    pub trusted_signers: Vec<SignerId>,

    /// Number of distinct signers that must agree before records from untrusted signers are
    /// believed [default: 2].
    #[arg(long, value_name = "N", env = "DELOS_QUORUM")]
    pub quorum: Option<NonZeroU8>,
}

impl TrustArgs {
    /// The trust policy for a node whose own signing key is `own`.
    pub fn policy(&self, own: SignerId) -> TrustPolicy {
        let quorum = self.quorum.unwrap_or(TrustPolicy::DEFAULT_QUORUM);
        TrustPolicy::new(own, self.trusted_signers.iter().copied(), quorum)
    }
}
