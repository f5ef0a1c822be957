//! Proving a gossiped head of another size consistent with the newest one kept for its log:
//! the larger tree's tiles that a consistency check reads
//! ([`fork_proof_tiles`](delos_pool_protocol::sumdb::fork_proof_tiles)) are fetched over the
//! pool's log protocol from the members that write or mirror the log, checked against the
//! larger signed head, and must contain the smaller tree. When they do not, the two heads and
//! those tiles are a fork anyone can check offline. When no member serves tiles that check,
//! the head is kept unproved (a fork still shows once two heads of one size meet).

use std::sync::Arc;

use delos_pool_protocol::sumdb::{
    ForkProofError, SignedTreeHead, VerifierKey, Verifiers, check_fork_with_tiles, fork_proof_tiles,
};
use delos_registry_index::SumdbCacheError;

use super::{FoundFork, HeadWatch, Verdict};
use crate::sumdb_relay::PoolLogs;

/// The most bytes of one hash tile (256 hashes of 32 bytes).
const MAX_HASH_TILE_BYTES: usize = 256 * 32;

/// A gossiped head of another size than the newest kept, waiting for its proof.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The log's verifier key.
    pub(super) verifier: String,
    /// The newest head kept for the log.
    pub(super) older: Vec<u8>,
    /// The gossiped head.
    pub(super) newer: Vec<u8>,
    /// The republish round it came in.
    pub(super) round: u64,
}

impl HeadWatch {
    /// Proves `pending` consistent with the newest head kept, keeps what that shows, and
    /// judges the message as [`HeadWatch::judge`] would.
    pub(super) async fn prove(
        self: Arc<Self>,
        pending: Pending,
    ) -> Result<Verdict, SumdbCacheError> {
        let Some(verifiers) = verifiers_of(&pending.verifier) else {
            return Ok(Verdict::Invalid(String::from("unusable verifier key")));
        };
        let tiles = match self.fetch_tiles(&verifiers, &pending).await {
            Some(tiles) => tiles,
            None => return self.keep_blocking(pending, verifiers).await,
        };
        match check_fork_with_tiles(&verifiers, &pending.older, &pending.newer, tiles.clone()) {
            Ok(proved) => {
                let this = Arc::clone(&self);
                let found = tokio::task::spawn_blocking(move || {
                    let found = FoundFork {
                        verifier: pending.verifier,
                        first: pending.older,
                        second: pending.newer,
                        proved,
                        tiles,
                    };
                    Ok(this.keep_fork(&found)?.then_some(found))
                })
                .await
                .unwrap_or(Ok(None))?;
                Ok(found.map_or(Verdict::Known, |found| Verdict::Fork(Box::new(found))))
            }
            Err(ForkProofError::Consistent) => self.keep_blocking(pending, verifiers).await,
            Err(err) => {
                tracing::debug!(log = %pending.verifier, error = %err,
                    "the tiles members served prove nothing; head kept unproved");
                self.keep_blocking(pending, verifiers).await
            }
        }
    }

    /// The tiles of the larger of the two heads that the check reads, from members; `None`
    /// when some tile could not be had.
    async fn fetch_tiles(&self, verifiers: &Verifiers, pending: &Pending) -> Option<Vec<Vec<u8>>> {
        let older = SignedTreeHead::open(&pending.older, verifiers).ok()?.head();
        let newer = SignedTreeHead::open(&pending.newer, verifiers).ok()?.head();
        let plan = fork_proof_tiles(older, newer).ok()?;
        let name = pending.verifier.split('+').next()?;
        let mut tiles = Vec::with_capacity(plan.tiles().len());
        for tile in plan.tiles() {
            match self.logs.get(name, &tile.path(), MAX_HASH_TILE_BYTES).await {
                Ok(bytes) => tiles.push(bytes.to_vec()),
                Err(err) => {
                    tracing::debug!(log = %pending.verifier, tile = %tile.path(), error = %err,
                        "no member served a tile to prove a head; head kept unproved");
                    return None;
                }
            }
        }
        Some(tiles)
    }

    /// Keeps the pending head (proved, or unprovable here) and judges the message.
    async fn keep_blocking(
        self: Arc<Self>,
        pending: Pending,
        verifiers: Verifiers,
    ) -> Result<Verdict, SumdbCacheError> {
        tokio::task::spawn_blocking(move || {
            let verdict = self.keep_head(&pending.verifier, &verifiers, pending.newer)?;
            Ok(self.forward_once_per_round(&pending.verifier, pending.round, verdict))
        })
        .await
        .unwrap_or(Ok(Verdict::Known))
    }
}

fn verifiers_of(verifier: &str) -> Option<Verifiers> {
    let key = verifier.parse::<VerifierKey>().ok()?;
    Verifiers::new([key]).ok()
}
