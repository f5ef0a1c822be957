//! Checksum logs between members: [`MemberLogs`] answers other members' log requests (the
//! node's own log, and the logs it mirrors), [`AskMembers`] is how the relay reads a mirrored
//! log over the pool, and [`mirror_logs`] keeps this node's mirrors in sync.
//!
//! What members may see: a log's signed heads and hash tiles go to any member (they name
//! nothing, and are what a member needs to prove heads consistent). Data tiles and lookups
//! name modules, private ones included, so they go only to members this node trusts (a
//! `--trusted-signer` whose key is the member's node key): a company's mirrors, not a public
//! pool.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Bytes;
use delos_pool_protocol::messages::LogRequest;
use delos_pool_protocol::trust::TrustPolicy;
use futures::FutureExt;
use futures::future::BoxFuture;
use libp2p::PeerId;
use tokio::sync::broadcast;

use crate::checksum_db::{ChecksumDb, OwnLookup};
use crate::p2p::{LogSource, PoolHandle, SourceError, TransferError};
use crate::pool::peer_fill::signer_of;
use crate::sumdb_relay::{Endpoint, PoolLogError, PoolLogs, Relay, RelayRequest};

/// The most members asked for one path.
const MAX_MEMBERS_ASKED: usize = 8;
/// The longest one member may take to answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a mirror asks the pool for its log's newest head, besides gossiped heads.
pub const MIRROR_POLL: Duration = Duration::from_secs(15);

/// Answers members' requests for the node's own log and the logs it mirrors.
#[derive(Debug)]
pub struct MemberLogs {
    own: Option<ChecksumDb>,
    relay: Relay,
    trust: TrustPolicy,
}

impl MemberLogs {
    /// Answers for `own` (the node's checksum database, if any) and the logs `relay` mirrors;
    /// data tiles and lookups only to members `trust` trusts.
    pub fn new(own: Option<ChecksumDb>, relay: Relay, trust: TrustPolicy) -> MemberLogs {
        MemberLogs { own, relay, trust }
    }

    /// Whether `peer` may see module paths: data tiles and lookups.
    fn may_see_names(&self, peer: &PeerId) -> bool {
        signer_of(peer).is_some_and(|signer| self.trust.is_trusted(&signer))
    }

    async fn answer(
        &self,
        peer: PeerId,
        request: &LogRequest,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        let path = request.path();
        let names_path =
            path.starts_with("lookup/") || (path.starts_with("tile/") && path.contains("/data/"));
        if names_path && !self.may_see_names(&peer) {
            return Ok(None);
        }
        match &self.own {
            Some(db) if db.name() == request.log() => own_answer(db, request).await,
            _ => self
                .relay
                .answer_member(request.log(), request.path())
                .await
                .map_err(|err| SourceError(Box::new(err))),
        }
    }
}

/// The node's own log's answer to `request`, from the log as it is (a lookup never fills).
async fn own_answer(db: &ChecksumDb, request: &LogRequest) -> Result<Option<Vec<u8>>, SourceError> {
    let boxed = |err: crate::checksum_db::ChecksumDbError| SourceError(Box::new(err));
    let full = format!("{}/{}", request.log(), request.path());
    let Ok(parsed) = RelayRequest::parse(&full, [db.name()]) else {
        return Ok(None);
    };
    match parsed.endpoint {
        Endpoint::Supported => Ok(None),
        Endpoint::Latest => db.latest().await.map(Some).map_err(boxed),
        Endpoint::Tile(tile) => db.tile(tile).await.map_err(boxed),
        Endpoint::Lookup {
            module, version, ..
        } => {
            if let Some(body) = db.cached_lookup(&module, &version) {
                return Ok(Some(body.to_vec()));
            }
            match db.lookup(&module, &version).await.map_err(boxed)? {
                OwnLookup::Found(body) => Ok(Some(body.to_vec())),
                _ => Ok(None),
            }
        }
    }
}

impl LogSource for MemberLogs {
    fn get<'a>(
        &'a self,
        peer: PeerId,
        request: &'a LogRequest,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, SourceError>> {
        self.answer(peer, request).boxed()
    }
}

/// Reads a log over the pool: asks connected members (the one that answered last for the log
/// first, then by round trip) until one has the path.
#[derive(Debug)]
pub struct AskMembers {
    handle: PoolHandle,
    last_good: Mutex<HashMap<String, PeerId>>,
}

impl AskMembers {
    /// Asking through `handle`.
    pub fn new(handle: PoolHandle) -> AskMembers {
        AskMembers {
            handle,
            last_good: Mutex::new(HashMap::new()),
        }
    }

    async fn ask(&self, log: &str, path: &str, max_bytes: usize) -> Result<Bytes, PoolLogError> {
        let unavailable = |reason: String| PoolLogError::Unavailable {
            log: log.to_owned(),
            reason,
        };
        let request = LogRequest::new(log, path).map_err(|e| unavailable(e.to_string()))?;
        let mut peers = self
            .handle
            .connected_peers()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        peers.sort_by_key(|peer| peer.round_trip.unwrap_or(Duration::MAX));
        let mut order: Vec<PeerId> = peers.iter().map(|peer| peer.peer_id).collect();
        let preferred = self.lock().get(log).copied();
        if let Some(preferred) = preferred
            && let Some(at) = order.iter().position(|p| *p == preferred)
        {
            order.remove(at);
            order.insert(0, preferred);
        }
        let (mut not_found, mut last_error) = (0, None);
        for peer in order.into_iter().take(MAX_MEMBERS_ASKED) {
            let bounds = (max_bytes as u64, ASK_TIMEOUT);
            match self.handle.log_get(peer, &request, bounds).await {
                Ok(body) => {
                    self.lock().insert(log.to_owned(), peer);
                    return Ok(Bytes::from(body));
                }
                Err(TransferError::NotFound { .. }) => not_found += 1,
                Err(err) => last_error = Some(err.to_string()),
            }
        }
        match last_error {
            None if not_found > 0 => Err(PoolLogError::NotFound {
                log: log.to_owned(),
                path: path.to_owned(),
            }),
            None => Err(unavailable(String::from("no member is connected"))),
            Some(reason) => Err(unavailable(reason)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PeerId>> {
        self.last_good.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl PoolLogs for AskMembers {
    fn get<'a>(
        &'a self,
        log: &'a str,
        path: &'a str,
        max_bytes: usize,
    ) -> BoxFuture<'a, Result<Bytes, PoolLogError>> {
        self.ask(log, path, max_bytes).boxed()
    }
}

/// Keeps the relay's mirrors in sync: at once, on every head gossiped for a mirrored log (from
/// `heads`), and every [`MIRROR_POLL`]. Runs until `heads` closes.
pub async fn mirror_logs(relay: Relay, mut heads: broadcast::Receiver<(String, Vec<u8>)>) {
    let mirrored = relay.mirrored_logs();
    if mirrored.is_empty() {
        return;
    }
    let mut poll = tokio::time::interval(MIRROR_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let offered = tokio::select! {
            _ = poll.tick() => None,
            head = heads.recv() => match head {
                Ok((verifier, note)) if mirrored.contains(&verifier) => Some((verifier, note)),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        let logs: Vec<(String, Option<Vec<u8>>)> = match offered {
            Some((verifier, note)) => vec![(verifier, Some(note))],
            None => mirrored.iter().map(|v| (v.clone(), None)).collect(),
        };
        for (verifier, note) in logs {
            match relay.sync_mirror(&verifier, note.as_deref()).await {
                Ok(sync) if sync.indexed > 0 => tracing::info!(
                    log = %verifier, size = sync.size, indexed = sync.indexed,
                    "mirrored log synced"
                ),
                Ok(_) => {}
                Err(err) => {
                    let error = crate::error_chain::error_chain(&err);
                    tracing::debug!(log = %verifier, %error, "mirrored log not synced");
                }
            }
        }
    }
}
