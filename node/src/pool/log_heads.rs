//! The pool watching the checksum logs its members write: every member publishes its log's
//! signed head on the heads topic (on change, and again every [`REPUBLISH`] round, which makes
//! it a new message that members forward once per log and round); every member
//! keeps the newest head per log (by verifier key) and the heads of recent sizes, and when
//! one key signed two heads of one size with different hashes, keeps both as evidence
//! (the store, and a file anyone can check offline with `delos audit --evidence`), logs it
//! at warn once, counts it, and gossips the proof once.
//!
//! A head of another size than the newest kept is proved consistent with it first
//! (`log_heads/consistency.rs`): the larger tree's tiles, fetched over the pool's log protocol from the
//! members that write or mirror the log, must check against the larger signed head and
//! contain the smaller tree. When they do not, the two heads and those tiles are the evidence.
//! A head whose tiles no member serves (or serves wrongly) is kept unproved, as before.

mod consistency;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use delos_pool_protocol::codec;
use delos_pool_protocol::messages::HeadGossip;
use delos_pool_protocol::sumdb::{
    ProvedFork, SignedTreeHead, TreeHead, VerifierKey, Verifiers, check_fork, check_fork_with_tiles,
};
use delos_registry_index::{Index, SumdbFork};
use libp2p::PeerId;
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use tokio::sync::{broadcast, watch};

use super::PoolStats;
use super::log_members::AskMembers;
use crate::forked_logs::ForkedLogs;
use crate::p2p::{HandleError, PoolHandle};

/// How often a writer publishes its head again though it did not change (for members that
/// joined since): each round's publish is a new message that travels the whole pool once.
pub const REPUBLISH: Duration = Duration::from_secs(300);
/// How soon a publish that found no peer is tried again.
const RETRY: Duration = Duration::from_secs(2);
/// Heads of recent sizes remembered per log (beyond the newest, which the store keeps).
const SIZES_PER_LOG: usize = 256;
/// Logs watched at most; heads of further logs are ignored.
const MAX_LOGS: usize = 4096;
/// New newest heads queued for each mirror task.
const NEWEST_HEADS: usize = 64;

/// Checks gossiped heads and fork proofs, keeps what they show.
#[derive(Debug)]
pub struct HeadWatch {
    index: Arc<Index>,
    handle: PoolHandle,
    stats: Arc<PoolStats>,
    evidence_dir: Option<PathBuf>,
    forked: Arc<ForkedLogs>,
    /// Heads of recent sizes per verifier key (the first seen for each size).
    recent: Mutex<HashMap<String, BTreeMap<u64, Vec<u8>>>>,
    /// The last republish round forwarded per verifier key.
    forwarded: Mutex<RoundGate>,
    /// Every new newest head kept, `(verifier key, signed note)`, for mirrors.
    newest: broadcast::Sender<(String, Vec<u8>)>,
    /// How tiles are fetched from members to prove heads consistent.
    logs: AskMembers,
}

/// What a heads-topic message showed.
#[derive(Debug)]
enum Verdict {
    /// Invalid (a key or note that does not check): penalise the sender.
    Invalid(String),
    /// Nothing new.
    Known,
    /// A new head, or a new proof received as such.
    New,
    /// A known head published again in a new round: forwarded for members that joined since.
    Republished,
    /// A head that contradicts one this node saw: a fork found here.
    Fork(Box<FoundFork>),
    /// A head of another size than the newest kept: to be proved consistent with it first.
    Unproved(Box<consistency::Pending>),
}

#[derive(Debug)]
struct FoundFork {
    verifier: String,
    first: Vec<u8>,
    second: Vec<u8>,
    proved: ProvedFork,
    /// The larger tree's tiles proving a fork between different sizes (none for one size).
    tiles: Vec<Vec<u8>>,
}

impl HeadWatch {
    /// A watch keeping heads and evidence in `index` (and evidence files in `evidence_dir`),
    /// adding forked logs to `forked`.
    pub fn new(
        index: Arc<Index>,
        handle: PoolHandle,
        stats: Arc<PoolStats>,
        evidence_dir: Option<PathBuf>,
        forked: Arc<ForkedLogs>,
    ) -> HeadWatch {
        let handle_for_logs = handle.clone();
        HeadWatch {
            index,
            handle,
            stats,
            evidence_dir,
            forked,
            recent: Mutex::new(HashMap::new()),
            forwarded: Mutex::new(RoundGate::default()),
            newest: broadcast::channel(NEWEST_HEADS).0,
            logs: AskMembers::new(handle_for_logs),
        }
    }

    /// Every head that becomes the newest kept for its log from now on, `(verifier key,
    /// signed note)` (a slow receiver misses some: it lags).
    pub fn subscribe(&self) -> broadcast::Receiver<(String, Vec<u8>)> {
        self.newest.subscribe()
    }

    /// Judges a heads-topic message, keeps what it shows, and answers gossipsub.
    pub async fn on_gossip(
        self: Arc<Self>,
        message_id: MessageId,
        source: PeerId,
        gossip: HeadGossip,
    ) {
        self.stats.head_received();
        let this = Arc::clone(&self);
        let mut verdict = tokio::task::spawn_blocking(move || this.judge(gossip, true)).await;
        if let Ok(Ok(Verdict::Unproved(pending))) = verdict {
            verdict = Ok(Arc::clone(&self).prove(*pending).await);
        }
        let acceptance = match verdict {
            Ok(Ok(Verdict::Invalid(why))) => {
                tracing::info!(peer = %source, %why, "rejecting gossiped head");
                MessageAcceptance::Reject
            }
            Ok(Ok(Verdict::Known | Verdict::Unproved(_))) => MessageAcceptance::Ignore,
            Ok(Ok(Verdict::New | Verdict::Republished)) => MessageAcceptance::Accept,
            Ok(Ok(Verdict::Fork(fork))) => {
                self.announce_fork(*fork).await;
                MessageAcceptance::Accept
            }
            Ok(Err(err)) => {
                let error = crate::error_chain::error_chain(&err);
                tracing::warn!(%error, "could not keep a gossiped head");
                MessageAcceptance::Ignore
            }
            Err(_) => MessageAcceptance::Ignore,
        };
        if let Err(err) = self
            .handle
            .report_validation(message_id, source, acceptance)
            .await
        {
            tracing::debug!(error = %err, "validation result not delivered");
        }
    }

    /// Checks `gossip` and keeps what it shows; blocking. With `prove`, a head of another size
    /// than the newest kept comes back [`Verdict::Unproved`] (to be proved with tiles before
    /// it is kept); without, it is kept at once (the node's own heads).
    fn judge(
        &self,
        gossip: HeadGossip,
        prove: bool,
    ) -> Result<Verdict, delos_registry_index::SumdbCacheError> {
        let verifier_text = gossip.verifier().to_owned();
        let Ok(key) = verifier_text.parse::<VerifierKey>() else {
            return Ok(Verdict::Invalid(format!(
                "bad verifier key {verifier_text:?}"
            )));
        };
        let Ok(verifiers) = Verifiers::new([key]) else {
            return Ok(Verdict::Invalid(String::from("unusable verifier key")));
        };
        match gossip {
            HeadGossip::Head { note, round, .. } => {
                let verdict = self.judge_head(&verifier_text, &verifiers, note, round, prove)?;
                Ok(self.forward_once_per_round(&verifier_text, round, verdict))
            }
            HeadGossip::Fork { first, second, .. } => {
                self.judge_fork_proof(verifier_text, &verifiers, first, second, Vec::new())
            }
            HeadGossip::ForkAcross {
                first,
                second,
                tiles,
                ..
            } => self.judge_fork_proof(verifier_text, &verifiers, first, second, tiles),
            _ => Ok(Verdict::Known),
        }
    }

    /// A fork proof gossiped by a member: checked with the key (and the tiles it carries),
    /// kept as evidence when it proves a fork this node did not hold yet.
    fn judge_fork_proof(
        &self,
        verifier_text: String,
        verifiers: &Verifiers,
        first: Vec<u8>,
        second: Vec<u8>,
        tiles: Vec<Vec<u8>>,
    ) -> Result<Verdict, delos_registry_index::SumdbCacheError> {
        let proved = match check_fork_with_tiles(verifiers, &first, &second, tiles.clone()) {
            Ok(proved) => proved,
            Err(err) => return Ok(Verdict::Invalid(format!("fork proof: {err}"))),
        };
        let found = FoundFork {
            verifier: verifier_text,
            first,
            second,
            proved,
            tiles,
        };
        if self.keep_fork(&found)? {
            tracing::warn!(log = %found.verifier, "a member proved a checksum log forked");
            return Ok(Verdict::New);
        }
        Ok(Verdict::Known)
    }

    /// Keeps a fork proved here or by a member: in the store, as an evidence file, and in the
    /// logs no longer believed; false (and nothing done) when the store held it already.
    /// Blocking.
    fn keep_fork(&self, found: &FoundFork) -> Result<bool, delos_registry_index::SumdbCacheError> {
        let fork = SumdbFork {
            database: found.verifier.clone(),
            older: found.first.clone(),
            newer: found.second.clone(),
        };
        if !self.index.pool_log_heads().add_fork(&fork)? {
            return Ok(false);
        }
        self.forked(&found.verifier);
        self.keep_evidence_file(found);
        Ok(true)
    }

    fn judge_head(
        &self,
        verifier: &str,
        verifiers: &Verifiers,
        note: Vec<u8>,
        round: u64,
        prove: bool,
    ) -> Result<Verdict, delos_registry_index::SumdbCacheError> {
        let Ok(signed) = SignedTreeHead::open(&note, verifiers) else {
            return Ok(Verdict::Invalid(String::from(
                "a head that does not open with its key",
            )));
        };
        let head = signed.head();
        let (newest, newest_head) = self.newest_of(verifier, verifiers)?;
        // The head of the same size seen before, if any.
        let same_size = match (&newest, newest_head) {
            (Some(bytes), Some(newest)) if newest.size() == head.size() => Some(bytes.clone()),
            _ => self.recent_of(verifier, head.size()),
        };
        if let Some(seen) = same_size {
            let seen_head = SignedTreeHead::open(&seen, verifiers)
                .map(|s| s.head())
                .ok();
            if seen_head.is_some_and(|seen| seen.hash() == head.hash()) {
                return Ok(Verdict::Known);
            }
            return match check_fork(verifiers, &seen, &note, &[]) {
                Ok(proved) => {
                    let found = FoundFork {
                        verifier: verifier.to_owned(),
                        first: seen,
                        second: note,
                        proved,
                        tiles: Vec::new(),
                    };
                    match self.keep_fork(&found)? {
                        true => Ok(Verdict::Fork(Box::new(found))),
                        false => Ok(Verdict::Known),
                    }
                }
                Err(_) => Ok(Verdict::Known),
            };
        }
        if let (true, Some(older), Some(_)) = (prove, newest, newest_head) {
            return Ok(Verdict::Unproved(Box::new(consistency::Pending {
                verifier: verifier.to_owned(),
                older,
                newer: note,
                round,
            })));
        }
        self.keep_head(verifier, verifiers, note)
    }

    /// The newest head kept for `verifier`: its note, and its tree when it still opens.
    fn newest_of(
        &self,
        verifier: &str,
        verifiers: &Verifiers,
    ) -> Result<(Option<Vec<u8>>, Option<TreeHead>), delos_registry_index::SumdbCacheError> {
        let newest = self.index.pool_log_heads().newest_head(verifier)?;
        let tree = newest
            .as_deref()
            .and_then(|bytes| SignedTreeHead::open(bytes, verifiers).ok())
            .map(|signed| signed.head());
        Ok((newest, tree))
    }

    /// Keeps `note` (a head of `verifier` that contradicts nothing kept) as the head of its
    /// size, and as the newest when it is larger; blocking.
    fn keep_head(
        &self,
        verifier: &str,
        verifiers: &Verifiers,
        note: Vec<u8>,
    ) -> Result<Verdict, delos_registry_index::SumdbCacheError> {
        let Ok(signed) = SignedTreeHead::open(&note, verifiers) else {
            return Ok(Verdict::Known);
        };
        let head = signed.head();
        let store = self.index.pool_log_heads();
        let (newest, newest_head) = self.newest_of(verifier, verifiers)?;
        if !self.remember(verifier, head, &note) {
            return Ok(Verdict::Known);
        }
        if newest_head.is_none_or(|newest| head.size() > newest.size()) {
            store.set_newest_head(verifier, newest.as_deref(), &note)?;
            // No receiver (no mirror) is fine.
            let _ = self.newest.send((verifier.to_owned(), note));
        }
        Ok(Verdict::New)
    }

    /// A known head published again in a new round travels on (once per log and round, and
    /// only for a round within one of this node's, so replays with made-up rounds cannot make
    /// the pool carry a log's head more than once a round); a new head always does.
    fn forward_once_per_round(&self, verifier: &str, round: u64, verdict: Verdict) -> Verdict {
        let mut gate = self.forwarded.lock().unwrap_or_else(|p| p.into_inner());
        match verdict {
            Verdict::Known if gate.republish(verifier, round, current_round()) => {
                Verdict::Republished
            }
            Verdict::New => {
                gate.seen(verifier, round, current_round());
                Verdict::New
            }
            other => other,
        }
    }

    /// The head of `size` remembered for `verifier`.
    fn recent_of(&self, verifier: &str, size: u64) -> Option<Vec<u8>> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.get(verifier)?.get(&size).cloned()
    }

    /// Remembers `note` as the head of its size; false when the log is one too many.
    fn remember(&self, verifier: &str, head: TreeHead, note: &[u8]) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if !recent.contains_key(verifier) && recent.len() >= MAX_LOGS {
            return false;
        }
        let sizes = recent.entry(verifier.to_owned()).or_default();
        sizes.entry(head.size()).or_insert_with(|| note.to_vec());
        while sizes.len() > SIZES_PER_LOG {
            sizes.pop_first();
        }
        true
    }

    /// Stops believing the log `verifier` and counts the logs proved forked.
    fn forked(&self, verifier: &str) {
        self.forked.add(verifier);
        self.stats.set_log_forks(self.forked.len() as u64);
    }

    /// Logs and gossips a fork found here (its evidence file is written where it was found).
    async fn announce_fork(&self, fork: FoundFork) {
        tracing::warn!(
            log = %fork.verifier,
            size = fork.proved.newer.size(),
            "a checksum log forked: one key signed two heads of one size with different hashes"
        );
        let gossip = match fork.tiles.is_empty() {
            true => HeadGossip::Fork {
                verifier: fork.verifier,
                first: fork.first,
                second: fork.second,
            },
            false => HeadGossip::ForkAcross {
                verifier: fork.verifier,
                first: fork.first,
                second: fork.second,
                tiles: fork.tiles,
            },
        };
        match codec::encode(&gossip) {
            Ok(wire) => {
                if let Err(err) = self.handle.publish_head(wire).await {
                    tracing::debug!(error = %err, "fork proof not published");
                }
            }
            Err(err) => tracing::warn!(error = %err, "fork proof not encodable"),
        }
    }

    /// Writes the evidence as `<evidence dir>/fork-<log name>-<size>-<digest>.json`; blocking.
    fn keep_evidence_file(&self, fork: &FoundFork) {
        let Some(dir) = &self.evidence_dir else {
            return;
        };
        let evidence =
            crate::evidence::ForkEvidenceFile::new(&fork.verifier, &fork.first, &fork.second)
                .with_tiles(&fork.tiles);
        if let Err(err) = evidence.write_into(dir, fork.proved.newer.size()) {
            tracing::warn!(error = %err, "could not write the fork evidence file");
        }
    }
}

/// Which republished heads travel on: per log, the last round forwarded.
#[derive(Debug, Default)]
struct RoundGate {
    last: HashMap<String, u64>,
}

impl RoundGate {
    /// Whether a known head of `verifier` published in `round` travels on (this node's round
    /// is `now`): once per log and round, for a round within one of `now`.
    fn republish(&mut self, verifier: &str, round: u64, now: u64) -> bool {
        let in_time = round + 1 >= now && round <= now + 1;
        let first = self.last.get(verifier).is_none_or(|&last| round > last);
        if !in_time || !first || (!self.last.contains_key(verifier) && self.last.len() >= MAX_LOGS)
        {
            return false;
        }
        self.last.insert(verifier.to_owned(), round);
        true
    }

    /// Notes that a new head of `verifier` travelled in `round`, so its republish in the same
    /// round does not travel again.
    fn seen(&mut self, verifier: &str, round: u64, now: u64) {
        if round > now + 1 || (!self.last.contains_key(verifier) && self.last.len() >= MAX_LOGS) {
            return;
        }
        let last = self.last.entry(verifier.to_owned()).or_insert(round);
        *last = (*last).max(round);
    }
}

/// This node's republish round: its clock's Unix time in [`REPUBLISH`] intervals.
fn current_round() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() / REPUBLISH.as_secs())
}

/// Publishes the node's own log head: when it changes, every [`REPUBLISH`], and again soon
/// after a publish that found no peer. Also keeps it in `watch`.
pub async fn publish_heads(
    handle: PoolHandle,
    watch: Arc<HeadWatch>,
    verifier: String,
    mut heads: watch::Receiver<Option<Vec<u8>>>,
) {
    let mut republish = tokio::time::interval(REPUBLISH);
    republish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failed = false;
    loop {
        tokio::select! {
            changed = heads.changed() => if changed.is_err() { return },
            _ = republish.tick() => {}
            () = tokio::time::sleep(RETRY), if failed => {}
        }
        let Some(note) = heads.borrow_and_update().clone() else {
            continue;
        };
        // Kept like any member's head, so a twin signing another history under the same key
        // is caught here too.
        let own = HeadGossip::Head {
            verifier: verifier.clone(),
            note: note.clone(),
            round: current_round(),
        };
        let judge = Arc::clone(&watch);
        if let Ok(Ok(Verdict::Fork(fork))) =
            tokio::task::spawn_blocking(move || judge.judge(own, false)).await
        {
            watch.announce_fork(*fork).await;
        }
        let gossip = HeadGossip::Head {
            verifier: verifier.clone(),
            note,
            round: current_round(),
        };
        let Ok(wire) = codec::encode(&gossip) else {
            tracing::warn!("own head not encodable");
            continue;
        };
        failed = match handle.publish_head(wire).await {
            Ok(_) => false,
            Err(HandleError::Publish(libp2p::gossipsub::PublishError::Duplicate)) => false,
            Err(HandleError::Stopped) => return,
            Err(err) => {
                tracing::debug!(error = %err, "own head not published yet");
                true
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::RoundGate;

    #[test]
    fn a_known_head_travels_once_per_round_and_only_near_now() {
        let mut gate = RoundGate::default();
        assert!(gate.republish("k", 100, 100));
        assert!(!gate.republish("k", 100, 100), "once per round");
        assert!(
            gate.republish("k", 101, 100),
            "the publisher's clock may run ahead by one"
        );
        assert!(!gate.republish("k", 100, 101), "an older round never again");
        assert!(!gate.republish("j", 105, 100), "a made-up future round");
        assert!(!gate.republish("j", 90, 100), "a replayed old round");
        gate.seen("i", 100, 100);
        assert!(
            !gate.republish("i", 100, 100),
            "a new head already travelled this round"
        );
        assert!(gate.republish("i", 101, 101));
    }
}
