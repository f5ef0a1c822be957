//! The miss path of a version, `Inner::fill` (its sources, in order: peers with a full claim,
//! the `--upstream` list, trusted members asked to fill it, then `.mod`-only answers), and the
//! epilogue every fill ends in, `Inner::finish` (counted by source, handed to the checksum
//! log, signed as the node's record naming that source, announced to the pool).

use std::sync::Arc;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::provenance::Source as RecordSource;
use delos_pool_protocol::signing::VerifiedRecord;

use super::from_vcs::Request;
use super::{Counters, FetchError, Filled, FilledFrom, Inner, PeerClaim, RecentFill, RemoteFill};
use crate::provenance::sharing_of;

impl Inner {
    /// The miss path: the sources of a version, in order.
    pub(super) async fn fill(&self, request: &Request) -> Result<Filled, FetchError> {
        // 1. Peers, when the pool vouches for the whole version (trusted or agreeing signers).
        if let Some(filled) = self.fill_from_peers(request, PeerClaim::Full).await {
            return Ok(filled);
        }
        // 2. The upstream list: its proxies over HTTP, `direct` through `go mod download`;
        //    not for a host that did not resolve a moment ago.
        let upstream = match self.absent.reason(&request.module) {
            Some(reason) => {
                Counters::bump(&self.counters.negative_cache_hits);
                Err(FetchError::not_found(
                    &request.module,
                    &request.query,
                    reason,
                ))
            }
            None => self.fill_from_upstream(request).await,
        };
        if upstream.is_ok() {
            return upstream;
        }
        // 3. When that failed: members this node trusts that fill for others, asked to fill
        //    it; what they filled is then fetched and verified as from any peer.
        match self.fill_through_peers(request).await {
            Some(RemoteFill::Filled) => {
                if let Some(filled) = self.fill_from_peers(request, PeerClaim::Full).await {
                    return Ok(filled);
                }
            }
            Some(RemoteFill::NotFound(reason)) => {
                let reason = format!("{reason} (answered by a trusted pool member)");
                return Err(FetchError::not_found(
                    &request.module,
                    &request.query,
                    reason,
                ));
            }
            Some(RemoteFill::ModOnly) | None => {}
        }
        // 4. Then: a `.mod`-only version the store holds already, or the peers' `.mod` and
        //    `.info` when the pool vouches for the `.mod` only.
        if let Some(held) = self.held_mod_only(request).await {
            return Ok(held);
        }
        match self.fill_from_peers(request, PeerClaim::ModOnly).await {
            Some(filled) => Ok(filled),
            None => upstream,
        }
    }

    /// The epilogue of every fill: count a failure (remembering a "not found" briefly), or
    /// hand a whole pin to the checksum log, sign the node's record naming its source, hand
    /// that record to the pool, and only then count the fill by source.
    pub(super) async fn finish(
        &self,
        request: &Request,
        filled: Result<Filled, FetchError>,
        started: std::time::Instant,
    ) -> Result<Filled, FetchError> {
        let done = match &filled {
            Ok(done) => done,
            Err(err) => {
                Counters::bump(&self.counters.fills_failed);
                tracing::info!("fill of {}@{} failed: {err}", request.module, request.query);
                if let FetchError::NotFound { reason, .. } = err {
                    let key = (request.module.clone(), request.query.clone());
                    self.negative.put(key, reason.clone());
                    self.absent.learn(&request.module, reason);
                }
                return filled;
            }
        };
        let duration = started.elapsed();
        if let Some(log) = self.log.get()
            && done.entry.is_full()
        {
            log.pinned(&request.module, &done.version);
        }
        if let Some(record) = self.sign_own(&request.module, done).await
            && let Some(peers) = self.peers.get()
            && !self.private.matches(request.module.as_str())
        {
            peers.announce_own(record);
        }
        // Counted last: whoever sees the count can read the fill's provenance record.
        if let Some(source) = done.from.counted_as() {
            self.counters.filled(source);
            self.recent.record(RecentFill {
                module: request.module.clone(),
                version: done.version.clone(),
                source: crate::telemetry::label::BoundedLabel::as_str(source),
                duration,
                at: std::time::SystemTime::now(),
            });
            tracing::info!(
                "filled {}@{} from {}",
                request.module,
                done.version,
                done.from.describe()
            );
        }
        filled
    }

    /// Signs and stores the node's record of `filled`, naming where the bytes came from;
    /// returns it when it is new in the store (so it is announced once). Nothing is signed
    /// for an entry this fill did not produce (a moved tag) or did not fetch.
    async fn sign_own(&self, module: &ModulePath, filled: &Filled) -> Option<VerifiedRecord> {
        let own = self.own_records.clone()?;
        if !filled.pinned_is_ours {
            tracing::debug!(%module, version = %filled.version, "pinned entry predates this fill; not signing");
            return None;
        }
        let source = match &filled.from {
            FilledFrom::Vcs(origin) => own.vcs_source(origin.as_ref()),
            FilledFrom::Peer(Some(signer)) => RecordSource::Peer(*signer),
            FilledFrom::Peer(None) => return None,
            FilledFrom::Upstream(base) => RecordSource::Upstream(base.clone()),
            FilledFrom::Store => return None,
        };
        let sharing = sharing_of(&self.private, module);
        let (index, module) = (Arc::clone(&self.index), module.clone());
        let (version, entry) = (filled.version.clone(), filled.entry.clone());
        let signed = tokio::task::spawn_blocking(move || {
            match own.sign_and_store_from(&index, &module, &version, &entry, source, sharing) {
                Ok((record, stored)) => stored.change.took_slot().then_some(record),
                Err(err) => {
                    let error = crate::error_chain::error_chain(&err);
                    tracing::warn!(%module, %version, %error, "could not record provenance");
                    None
                }
            }
        })
        .await;
        signed.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "provenance task ended abnormally");
            None
        })
    }
}
