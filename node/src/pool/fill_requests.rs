//! Fill requests between members (`/delos/<pool>/fill/1`, see [`crate::p2p::fill_requests`]):
//! a node that cannot fill a version (or answer a query) itself asks the members it trusts;
//! a node asked fills for the members it trusts, as for its own clients.
//!
//! Asking (`MemberFills`): connected members whose node key is a `--trusted-signer`, by round
//! trip, at most [`MAX_ASKED`]; a refusal or a failure moves on to the next. A filled version
//! comes with the member's signed record, which is verified and weighed with the trust policy
//! before it is stored; the bytes are then fetched and checked as for any peer fill.
//!
//! Answering ([`FillForPeers`], `--fill-for-peers`, on by default): only members whose node
//! key this node trusts may start work; the others, private modules, a member over its rate
//! ([`PER_PEER_BURST`] at once, [`PER_PEER_PER_SECOND`] after) and asks beyond
//! [`IN_FLIGHT`] at once are refused without work and counted
//! (`delos_pool_fill_requests_refused_*`). A fill started for a member asks no member in turn,
//! and a question this node is itself asking the pool is refused to whoever asks it back, so
//! two members that trust each other never wait on each other.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use delos_pool_protocol::messages::{
    FillAnswer, FillAsk, MAX_FILL_QUERY_BYTES, MAX_LISTED_VERSIONS,
};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::signing::{SignedRecord, SignerId};
use delos_pool_protocol::trust::TrustPolicy;
use delos_pool_protocol::version::Version;
use delos_registry_index::Index;
use futures::FutureExt;
use futures::future::BoxFuture;
use libp2p::PeerId;

use super::peer_fill::signer_of;
use super::{PoolStats, RecordLimits};
use crate::fetch::{FetchError, Fetcher, RemoteFill};
use crate::p2p::{FillAskError, FillService, PoolHandle};
use crate::telemetry::FillRefusal;

/// Members asked at most for one version or query.
pub const MAX_ASKED: usize = 3;
/// Fill requests a node answers at once; one beyond is refused as busy.
pub const IN_FLIGHT: usize = 16;
/// Requests one member may make at once before its rate applies.
pub const PER_PEER_BURST: f64 = 32.0;
/// Requests per second one member may make after its burst.
pub const PER_PEER_PER_SECOND: f64 = 4.0;
/// Members whose rate is remembered.
const RATED_PEERS: usize = 1024;
/// The longest a query asked of a member may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

/// The questions this node is asking members now, so one asked back is refused at once.
#[derive(Debug, Default)]
pub struct AskedNow(Mutex<HashSet<(ModulePath, String)>>);

impl AskedNow {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<(ModulePath, String)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks `key` as being asked until the guard drops.
    fn asking(self: &Arc<Self>, key: (ModulePath, String)) -> AskingGuard {
        self.lock().insert(key.clone());
        AskingGuard {
            set: Arc::clone(self),
            key,
        }
    }

    fn contains(&self, key: &(ModulePath, String)) -> bool {
        self.lock().contains(key)
    }
}

struct AskingGuard {
    set: Arc<AskedNow>,
    key: (ModulePath, String),
}

impl Drop for AskingGuard {
    fn drop(&mut self) {
        self.set.lock().remove(&self.key);
    }
}

/// The key of an ask in [`AskedNow`].
fn ask_key(ask: &FillAsk) -> (ModulePath, String) {
    let what = match ask {
        FillAsk::Version { version, .. } => version.as_str().to_owned(),
        FillAsk::List { .. } => String::from("list"),
        FillAsk::Resolve { query, .. } => format!("query:{query}"),
        _ => String::new(),
    };
    (ask.module().clone(), what)
}

/// Asks trusted members to fill or answer for this node.
#[derive(Debug)]
pub(crate) struct MemberFills {
    handle: PoolHandle,
    trust: TrustPolicy,
    index: Arc<Index>,
    asked_now: Arc<AskedNow>,
    fill_timeout: Duration,
}

impl MemberFills {
    /// Asking through `handle` the members `trust` trusts; records stored in `index`; a fill
    /// waited for at most `fill_timeout`.
    pub(crate) fn new(
        handle: PoolHandle,
        trust: TrustPolicy,
        index: Arc<Index>,
        asked_now: Arc<AskedNow>,
        fill_timeout: Duration,
    ) -> MemberFills {
        MemberFills {
            handle,
            trust,
            index,
            asked_now,
            fill_timeout,
        }
    }

    /// The first answer that is not a refusal from a trusted member, and who gave it.
    async fn ask(&self, ask: &FillAsk, timeout: Duration) -> Option<(PeerId, FillAnswer)> {
        let mut peers = self.handle.connected_peers().await.ok()?;
        peers.sort_by_key(|peer| peer.round_trip.unwrap_or(Duration::MAX));
        let own = self.trust.own();
        let trusted = peers.into_iter().map(|peer| peer.peer_id).filter(|peer| {
            signer_of(peer).is_some_and(|signer| signer != own && self.trust.is_trusted(&signer))
        });
        let _asking = self.asked_now.asking(ask_key(ask));
        for peer in trusted.take(MAX_ASKED) {
            let mut asked = self.handle.ask_fill(peer, ask, timeout).await;
            if let Err(err @ FillAskError::Frame { .. }) = &asked {
                // The stream broke (reset, closed early): once more, on a new stream.
                tracing::debug!(%peer, error = %err, "fill request failed; asking again");
                asked = self.handle.ask_fill(peer, ask, timeout).await;
            }
            match asked {
                Ok(FillAnswer::Refused { reason }) => {
                    tracing::debug!(%peer, %reason, "a member refused a fill request");
                }
                Ok(answer) => return Some((peer, answer)),
                Err(err) => tracing::debug!(%peer, error = %err, "fill request failed"),
            }
        }
        None
    }

    /// [`crate::fetch::PeerSource::fill_through`].
    pub(crate) async fn fill(&self, module: &ModulePath, version: &Version) -> Option<RemoteFill> {
        let ask = FillAsk::Version {
            module: module.clone(),
            version: version.clone(),
        };
        let (peer, answer) = self.ask(&ask, self.fill_timeout).await?;
        let (record, remote) = match answer {
            FillAnswer::Filled { record } => (record, RemoteFill::Filled),
            FillAnswer::ModOnly { record } => (record, RemoteFill::ModOnly),
            FillAnswer::NotFound { reason } => return Some(RemoteFill::NotFound(reason)),
            _ => return None,
        };
        match self.keep_record(module, version, &record).await {
            Ok(()) => Some(remote),
            Err(why) => {
                tracing::warn!(%peer, %module, %version, %why, "a member's fill answer is unusable");
                None
            }
        }
    }

    /// Verifies a member's record of `module@version` and stores it when its signer is trusted.
    async fn keep_record(
        &self,
        module: &ModulePath,
        version: &Version,
        wire: &[u8],
    ) -> Result<(), String> {
        let signed = SignedRecord::from_wire(wire).map_err(|e| e.to_string())?;
        let record = signed.verify().map_err(|e| e.to_string())?;
        if record.record().module() != module || record.record().version() != version {
            return Err(String::from("the record is of another version"));
        }
        if !self.trust.is_trusted(&record.signer()) {
            return Err(String::from("the record's signer is not trusted"));
        }
        let private = PrivatePatterns::default();
        let limits = RecordLimits::unlimited();
        super::events::store_record(&self.index, &private, &limits, record)
            .await
            .map(|_| ())
            .ok_or_else(|| String::from("the record could not be stored"))
    }

    /// [`crate::fetch::PeerSource::list_through`].
    pub(crate) async fn list(&self, module: &ModulePath) -> Option<Result<Vec<Version>, String>> {
        let ask = FillAsk::List {
            module: module.clone(),
        };
        match self.ask(&ask, QUERY_TIMEOUT).await?.1 {
            FillAnswer::Versions { versions } => Some(Ok(versions)),
            FillAnswer::NotFound { reason } => Some(Err(reason)),
            _ => None,
        }
    }

    /// [`crate::fetch::PeerSource::resolve_through`].
    pub(crate) async fn resolve(
        &self,
        module: &ModulePath,
        query: &str,
    ) -> Option<Result<Version, String>> {
        if query.len() > MAX_FILL_QUERY_BYTES {
            return None;
        }
        let ask = FillAsk::Resolve {
            module: module.clone(),
            query: query.to_owned(),
        };
        match self.ask(&ask, QUERY_TIMEOUT).await?.1 {
            FillAnswer::Resolved { version } if version.is_canonical() => Some(Ok(version)),
            FillAnswer::NotFound { reason } => Some(Err(reason)),
            _ => None,
        }
    }
}

/// Answers trusted members' fill requests from the node's fill path.
#[derive(Debug)]
pub struct FillForPeers {
    fetcher: Fetcher,
    trust: TrustPolicy,
    stats: Arc<PoolStats>,
    asked_now: Arc<AskedNow>,
    rates: Mutex<HashMap<PeerId, Bucket>>,
}

/// A member's token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl FillForPeers {
    /// Filling with `fetcher` for the members `trust` trusts; counting in `stats`; refusing
    /// what this node is itself asking (`asked_now`).
    pub fn new(
        fetcher: Fetcher,
        trust: TrustPolicy,
        stats: Arc<PoolStats>,
        asked_now: Arc<AskedNow>,
    ) -> FillForPeers {
        FillForPeers {
            fetcher,
            trust,
            stats,
            asked_now,
            rates: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one of `peer`'s tokens; false when it has none.
    fn take_token(&self, peer: PeerId) -> bool {
        let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if !rates.contains_key(&peer) && rates.len() >= RATED_PEERS {
            rates.retain(|_, bucket| bucket.tokens < PER_PEER_BURST - 1.0);
        }
        let bucket = rates.entry(peer).or_insert(Bucket {
            tokens: PER_PEER_BURST,
            at: now,
        });
        take(bucket, now)
    }

    fn refuse(&self, why: FillRefusal, reason: &str) -> FillAnswer {
        self.stats.fill_request_refused(why);
        FillAnswer::Refused {
            reason: reason.to_owned(),
        }
    }

    async fn answer_ask(&self, peer: PeerId, ask: FillAsk) -> FillAnswer {
        let trusted = signer_of(&peer).is_some_and(|signer| self.trust.is_trusted(&signer));
        if !trusted {
            return self.refuse(
                FillRefusal::Untrusted,
                "this node fills only for members it trusts",
            );
        }
        if self.fetcher.is_private(ask.module()) {
            return self.refuse(FillRefusal::Private, "not filled for members");
        }
        if !self.take_token(peer) {
            return self.refuse(
                FillRefusal::Rate,
                "over the rate of fill requests; ask later",
            );
        }
        if self.asked_now.contains(&ask_key(&ask)) {
            return FillAnswer::Refused {
                reason: String::from("this node is asking the pool the same thing"),
            };
        }
        self.stats.fill_request_answered();
        match ask {
            FillAsk::Version { module, version } => self.fill(&module, &version).await,
            FillAsk::List { module } => match self.fetcher.list(&module).await {
                Ok(mut versions) => {
                    versions.truncate(MAX_LISTED_VERSIONS);
                    FillAnswer::Versions { versions }
                }
                Err(err) => failed(&err),
            },
            FillAsk::Resolve { module, query } => {
                match self.fetcher.resolve(&module, &query).await {
                    Ok((version, _)) => FillAnswer::Resolved { version },
                    Err(err) => failed(&err),
                }
            }
            _ => FillAnswer::Refused {
                reason: String::from("unknown request"),
            },
        }
    }

    async fn fill(&self, module: &ModulePath, version: &Version) -> FillAnswer {
        if !version.is_canonical() {
            return FillAnswer::Refused {
                reason: String::from("not a canonical version"),
            };
        }
        let filled = self.fetcher.version_for_peer(module, version).await;
        let mod_only = match filled {
            Ok(_) => false,
            Err(FetchError::ZipUnavailable { .. }) => true,
            Err(err) => return failed(&err),
        };
        let Some(record) = self.own_record(module, version).await else {
            return FillAnswer::Refused {
                reason: String::from("filled, but this node holds no record of its own for it"),
            };
        };
        match mod_only {
            false => FillAnswer::Filled { record },
            true => FillAnswer::ModOnly { record },
        }
    }

    /// The wire form of this node's own record of `module@version`.
    async fn own_record(&self, module: &ModulePath, version: &Version) -> Option<Vec<u8>> {
        let own: SignerId = self.fetcher.own_signer()?;
        let (index, module, version) = (
            Arc::clone(self.fetcher.index()),
            module.clone(),
            version.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let records = index.records().for_version(&module, &version).ok()?;
            let own = records.into_iter().find(|r| r.signer() == own)?;
            own.signed().to_wire().ok()
        })
        .await
        .ok()?
    }
}

/// Takes one token of `bucket` at `now` (after crediting the time since its last use at the
/// rate, up to the burst); false when it has none.
fn take(bucket: &mut Bucket, now: Instant) -> bool {
    let earned = now.duration_since(bucket.at).as_secs_f64() * PER_PEER_PER_SECOND;
    bucket.tokens = (bucket.tokens + earned).min(PER_PEER_BURST);
    bucket.at = now;
    if bucket.tokens < 1.0 {
        return false;
    }
    bucket.tokens -= 1.0;
    true
}

/// The answer for a failed fill or query: "not found" as such, anything else a refusal.
fn failed(err: &FetchError) -> FillAnswer {
    let reason = FillAnswer::reason(&err.to_string());
    match err.is_not_found() {
        true => FillAnswer::NotFound { reason },
        false => FillAnswer::Refused { reason },
    }
}

impl FillService for FillForPeers {
    fn answer<'a>(&'a self, peer: PeerId, ask: FillAsk) -> BoxFuture<'a, FillAnswer> {
        self.answer_ask(peer, ask).boxed()
    }

    fn busy(&self) {
        self.stats.fill_request_refused(FillRefusal::Busy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket_after(taken: usize) -> (usize, usize) {
        let mut rates: HashMap<PeerId, Bucket> = HashMap::new();
        let peer = PeerId::random();
        let (mut granted, mut refused) = (0, 0);
        let now = Instant::now();
        for _ in 0..taken {
            let bucket = rates.entry(peer).or_insert(Bucket {
                tokens: PER_PEER_BURST,
                at: now,
            });
            match take(bucket, now) {
                true => granted += 1,
                false => refused += 1,
            }
        }
        (granted, refused)
    }

    #[test]
    fn a_member_gets_its_burst_at_once_and_no_more() {
        let (granted, refused) = bucket_after(100);
        assert_eq!(granted, PER_PEER_BURST as usize);
        assert_eq!(refused, 100 - PER_PEER_BURST as usize);
    }

    #[test]
    fn tokens_come_back_at_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket {
            tokens: 0.0,
            at: start,
        };
        assert!(!take(&mut bucket, start));
        let later = start + Duration::from_secs_f64(1.0 / PER_PEER_PER_SECOND);
        assert!(take(&mut bucket, later), "one token after 1/rate seconds");
        assert!(!take(&mut bucket, later));
        let much_later = later + Duration::from_secs(3600);
        let granted = (0..100).filter(|_| take(&mut bucket, much_later)).count();
        assert_eq!(
            granted, PER_PEER_BURST as usize,
            "never more than the burst"
        );
    }

    #[test]
    fn asks_are_keyed_by_what_they_ask() {
        let module = ModulePath::parse("example.org/m").unwrap();
        let version = FillAsk::Version {
            module: module.clone(),
            version: Version::parse("v1.0.0").unwrap(),
        };
        let list = FillAsk::List {
            module: module.clone(),
        };
        let query = FillAsk::Resolve {
            module,
            query: String::from("v1.0.0"),
        };
        let keys = [ask_key(&version), ask_key(&list), ask_key(&query)];
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[2], "a query is not the version it names");
        let asked = Arc::new(AskedNow::default());
        {
            let _guard = asked.asking(keys[0].clone());
            assert!(asked.contains(&keys[0]));
        }
        assert!(!asked.contains(&keys[0]), "forgotten when the ask ends");
    }
}
