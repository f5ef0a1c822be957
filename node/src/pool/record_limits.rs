//! `RecordLimits`: how many records from peers the node keeps. Any valid signature can be made
//! by anyone (keys cost nothing), so without a bound a stranger could fill the node's disk with
//! records of made-up versions. Records of signers the node does not trust are kept only while
//! their signer holds fewer than `max_records_per_signer` and the store fewer than
//! `max_records` in all (the second bound is what stops one party minting many keys). Records
//! of trusted signers, and the node's own, are never capped (but count toward the total).
//!
//! The counts live in the store and change in the same commit as the record
//! ([`Records::insert_capped`](delos_registry_index::Records::insert_capped)), so they survive
//! restarts and concurrent inserts cannot pass the cap together.

use delos_pool_protocol::signing::SignerId;
use delos_pool_protocol::trust::TrustPolicy;
use delos_registry_index::RecordCap;

/// The default `max_records_per_signer`: far more module versions than one organisation's
/// node fills (a large application's dependency closure is a few thousand), and at about 1 KiB
/// stored per record (its wire form in the records tree and in the feed), 100 MiB per signer.
pub const DEFAULT_MAX_RECORDS_PER_SIGNER: u64 = 100_000;

/// The default `max_records`: room for ten signers at the per-signer cap, about 1 GiB of
/// records; past it only trusted signers' records and the node's own are stored.
pub const DEFAULT_MAX_RECORDS: u64 = 1_000_000;

/// Whose records are capped, and at what.
#[derive(Debug, Clone)]
pub struct RecordLimits {
    trust: Option<TrustPolicy>,
    cap: RecordCap,
}

impl RecordLimits {
    /// Caps every signer `trust` does not trust (its own key is trusted) at `cap`.
    pub fn new(trust: TrustPolicy, cap: RecordCap) -> RecordLimits {
        RecordLimits {
            trust: Some(trust),
            cap,
        }
    }

    /// No cap for anyone (tests, tools).
    pub fn unlimited() -> RecordLimits {
        RecordLimits {
            trust: None,
            cap: RecordCap::UNLIMITED,
        }
    }

    /// The cap a record signed by `signer` is stored under.
    pub fn cap_for(&self, signer: &SignerId) -> RecordCap {
        match &self.trust {
            Some(trust) if !trust.is_trusted(signer) => self.cap,
            _ => RecordCap::UNLIMITED,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU8;

    use delos_pool_protocol::signing::NodeKey;

    use super::*;

    fn signer(seed: u8) -> SignerId {
        NodeKey::from_secret_bytes([seed; 32]).signer_id()
    }

    #[test]
    fn only_untrusted_signers_are_capped() {
        let trust = TrustPolicy::new(signer(1), [signer(2)], NonZeroU8::MIN);
        let cap = RecordCap::new(5, 50);
        let limits = RecordLimits::new(trust, cap);
        assert_eq!(limits.cap_for(&signer(1)), RecordCap::UNLIMITED, "own key");
        assert_eq!(limits.cap_for(&signer(2)), RecordCap::UNLIMITED, "trusted");
        assert_eq!(limits.cap_for(&signer(3)), cap);
        assert_eq!(
            RecordLimits::unlimited().cap_for(&signer(3)),
            RecordCap::UNLIMITED
        );
    }
}
