//! Warm answers without a store round trip: [`Answers`] keeps, by request path, the answers
//! that cannot change, ready to send, and keeps zips mapped from the store.
//!
//! - `.info` and `.mod` of a canonical version are pinned for good: once answered they are
//!   kept (bytes, content type, cache policy and `ETag` prebuilt) until evicted for room.
//! - `list`, `@latest` and query answers change when a version is pinned, a record stored or
//!   an upstream answer changed
//!   ([`Fetcher::answers_generation`](crate::fetch::Fetcher::answers_generation)): one is kept
//!   while that number stands still. After [`CHANGING_FOR`] it has aged: it is still sent at
//!   once, while one recomputation runs behind it ([`Answers::refresh_slot`]), so an aged
//!   upstream answer is noticed (and refreshed behind) by the fill path about as soon as
//!   without this cache, and no client waits for that.
//! - `.zip`: the path is kept with its blob's sha256, and the blob itself in [`ZipMaps`]: a
//!   read-only map, checked against the sha256 once when mapped, sent as it is.
//!
//! Answers are sent with an `ETag` (the sha256 of the body; a zip's is its blob's name) and a
//! request whose `If-None-Match` names it gets `304 Not Modified`.

mod conditional;
mod zip_maps;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use bytes::Bytes;
use delos_pool_protocol::hash::Sha256;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::telemetry::{HttpMetrics, RequestKind};

pub(crate) use conditional::{Encoding, accepts_gzip, not_modified, ok};
pub(crate) use zip_maps::ZipMaps;

/// How long a `list` or `@latest` answer is sent without being recomputed behind it, while
/// nothing changes.
pub(crate) const CHANGING_FOR: Duration = Duration::from_secs(1);
/// At most this many aged answers are recomputed at once; past it an aged answer is sent
/// without starting another (a later request starts it).
const MAX_REFRESHING: usize = 64;
/// What an entry costs beyond its path and body: the entry, its header values, the map's slot.
const ENTRY_OVERHEAD_BYTES: u64 = 256;
/// Answers expected per MiB of cache, for sizing the map up front.
const ANSWERS_PER_MIB: u64 = 2048;

/// How much the HTTP layer keeps of warm answers and zips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerCacheLimits {
    /// Bytes of answers (paths, bodies, headers) kept in memory; 0: none.
    pub answer_bytes: u64,
    /// Bytes of zips kept mapped (address space, not memory: the pages are the page cache's);
    /// 0: none, every zip streamed from its file.
    pub mapped_zip_bytes: u64,
}

/// What an answer's body is.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// The bytes themselves, and gzipped (when at least [`super::COMPRESS_FROM_BYTES`] long).
    Bytes {
        /// As they are.
        plain: Bytes,
        /// Gzipped, for clients that accept it.
        gzipped: Option<Bytes>,
    },
    /// A stored zip, found in [`ZipMaps`] by its sha256.
    Zip {
        /// The blob.
        sha256: Sha256,
        /// Its size.
        size: u64,
    },
}

/// How long an answer holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Holds {
    /// For good (a pinned version's files).
    Forever,
    /// While the fill path's answers generation is `generation`, and until `until`.
    While {
        /// [`Fetcher::answers_generation`](crate::fetch::Fetcher::answers_generation) when made.
        generation: u64,
        /// When it is dropped even if nothing changed.
        until: Instant,
    },
}

/// One answer, ready to send.
#[derive(Debug)]
pub(crate) struct Answer {
    /// What was asked (for the request counter).
    pub(crate) kind: RequestKind,
    /// The body.
    pub(crate) body: Body,
    /// `Content-Type`.
    pub(crate) content_type: HeaderValue,
    /// `Cache-Control`.
    pub(crate) cache_control: HeaderValue,
    /// `ETag`, quoted.
    pub(crate) etag: HeaderValue,
    /// How long it holds.
    pub(crate) holds: Holds,
}

impl Answer {
    /// An answer of `bytes`, its `ETag` their sha256.
    pub(crate) fn bytes(
        kind: RequestKind,
        bytes: Bytes,
        content_type: HeaderValue,
        cache_control: HeaderValue,
        holds: Holds,
    ) -> Answer {
        let etag = etag_of(&Sha256::digest(&bytes), Strength::Weak);
        let gzipped = (bytes.len() >= usize::from(super::COMPRESS_FROM_BYTES))
            .then(|| gzip(&bytes))
            .flatten();
        Answer {
            kind,
            body: Body::Bytes {
                plain: bytes,
                gzipped,
            },
            content_type,
            cache_control,
            etag,
            holds,
        }
    }

    /// The answer of a stored zip, its `ETag` the blob's sha256.
    pub(crate) fn zip(
        sha256: Sha256,
        size: u64,
        content_type: HeaderValue,
        cache_control: HeaderValue,
    ) -> Answer {
        Answer {
            kind: RequestKind::Zip,
            body: Body::Zip { sha256, size },
            content_type,
            cache_control,
            etag: etag_of(&sha256, Strength::Strong),
            holds: Holds::Forever,
        }
    }

    /// Whether the answer may be sent at `generation`, and whether it has aged.
    fn holds_at(&self, generation: u64, now: Instant) -> Option<Freshness> {
        match self.holds {
            Holds::Forever => Some(Freshness::Fresh),
            Holds::While {
                generation: made_at,
                ..
            } if made_at != generation => None,
            Holds::While { until, .. } if now < until => Some(Freshness::Fresh),
            Holds::While { .. } => Some(Freshness::Aged),
        }
    }

    fn weight(&self, path: &str) -> u64 {
        let body = match &self.body {
            Body::Bytes { plain, gzipped } => {
                plain.len() as u64 + gzipped.as_ref().map_or(0, |g| g.len() as u64)
            }
            Body::Zip { .. } => 0,
        };
        path.len() as u64 + body + ENTRY_OVERHEAD_BYTES
    }
}

/// `bytes` gzipped (at the default level: done once per answer).
fn gzip(bytes: &[u8]) -> Option<Bytes> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

/// Whether an `ETag` promises the very bytes (a zip, never compressed) or only the same
/// content (small answers, which the compression layer may gzip).
#[derive(Debug, Clone, Copy)]
enum Strength {
    Strong,
    Weak,
}

/// The `ETag` of a body whose sha256 is `sha256`: its hex, quoted, weak ones prefixed `W/`.
fn etag_of(sha256: &Sha256, strength: Strength) -> HeaderValue {
    let prefix = match strength {
        Strength::Strong => "",
        Strength::Weak => "W/",
    };
    HeaderValue::try_from(format!("{prefix}\"{}\"", sha256.to_hex()))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

#[derive(Debug, Clone)]
struct ByWeight;

impl Weighter<Box<str>, Arc<Answer>> for ByWeight {
    fn weight(&self, path: &Box<str>, answer: &Arc<Answer>) -> u64 {
        answer.weight(path)
    }
}

/// Whether a kept answer is to be recomputed behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Sent as it is.
    Fresh,
    /// Sent as it is, and recomputed behind it: it may be out of date.
    Aged,
}

/// A kept answer as found.
#[derive(Debug)]
pub(crate) struct Kept {
    /// The answer to send.
    pub(crate) answer: Arc<Answer>,
    /// Whether to recompute it behind the sending.
    pub(crate) freshness: Freshness,
}

/// The warm answers of the node, by request path, and its mapped zips.
#[derive(Debug)]
pub(crate) struct Answers {
    /// `None` when `--answer-cache-mib` is 0.
    by_path: Option<Cache<Box<str>, Arc<Answer>, ByWeight>>,
    /// The paths whose aged answer is being recomputed.
    refreshing: Mutex<HashSet<Box<str>>>,
    zips: Arc<ZipMaps>,
    metrics: HttpMetrics,
}

/// The right to recompute one aged answer; frees the path on drop.
#[derive(Debug)]
pub(crate) struct RefreshSlot {
    answers: Arc<Answers>,
    path: Box<str>,
}

impl RefreshSlot {
    /// The path whose answer to recompute.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }
}

impl Drop for RefreshSlot {
    fn drop(&mut self) {
        lock(&self.answers.refreshing).remove(&self.path);
    }
}

fn lock(set: &Mutex<HashSet<Box<str>>>) -> std::sync::MutexGuard<'_, HashSet<Box<str>>> {
    // Every operation is one insert or remove: a poisoned set is still consistent.
    set.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Answers {
    /// Caches sized by `limits`, counting in `metrics`, mapping zips from `index`.
    pub(crate) fn new(
        limits: AnswerCacheLimits,
        index: Arc<delos_registry_index::Index>,
        metrics: HttpMetrics,
    ) -> Answers {
        let by_path = (limits.answer_bytes > 0).then(|| {
            let items = (limits.answer_bytes >> 20).max(1) * ANSWERS_PER_MIB;
            Cache::with_weighter(
                usize::try_from(items).unwrap_or(usize::MAX),
                limits.answer_bytes,
                ByWeight,
            )
        });
        Answers {
            by_path,
            refreshing: Mutex::default(),
            zips: Arc::new(ZipMaps::new(
                limits.mapped_zip_bytes,
                index,
                metrics.clone(),
            )),
            metrics,
        }
    }

    /// The kept answer to `path`, if it still holds at `generation`; not counted (see
    /// [`Self::count`]).
    pub(crate) fn get(&self, path: &str, generation: u64) -> Option<Kept> {
        let answer = self.by_path.as_ref()?.get(path)?;
        let freshness = answer.holds_at(generation, Instant::now())?;
        Some(Kept { answer, freshness })
    }

    /// The right to recompute the aged answer to `path`, unless it is being recomputed
    /// already or [`MAX_REFRESHING`] are.
    pub(crate) fn refresh_slot(self: &Arc<Self>, path: &str) -> Option<RefreshSlot> {
        let mut refreshing = lock(&self.refreshing);
        if refreshing.len() >= MAX_REFRESHING || !refreshing.insert(path.into()) {
            return None;
        }
        Some(RefreshSlot {
            answers: Arc::clone(self),
            path: path.into(),
        })
    }

    /// Counts one download request's lookup: a hit, or a miss.
    pub(crate) fn count(&self, hit: bool) {
        match hit {
            true => self.metrics.answer_cache_hit(),
            false => self.metrics.answer_cache_miss(),
        }
    }

    /// Keeps `answer` for `path`.
    pub(crate) fn put(&self, path: &str, answer: Arc<Answer>) {
        if let Some(by_path) = &self.by_path {
            by_path.insert(path.into(), answer);
        }
    }

    /// Forgets the answer to `path` (its zip is gone from the store).
    pub(crate) fn forget(&self, path: &str) {
        if let Some(by_path) = &self.by_path {
            by_path.remove(path);
        }
    }

    /// The mapped zips (fills hand theirs over here too: see [`crate::fetch::PinnedZips`]).
    pub(crate) fn zips(&self) -> &Arc<ZipMaps> {
        &self.zips
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers() -> (tempfile::TempDir, Arc<Answers>) {
        let dir = tempfile::tempdir().unwrap();
        let index = Arc::new(delos_registry_index::Index::open(dir.path()).unwrap());
        let limits = AnswerCacheLimits {
            answer_bytes: 1 << 20,
            mapped_zip_bytes: 0,
        };
        let answers = Answers::new(limits, index, HttpMetrics::default());
        (dir, Arc::new(answers))
    }

    #[test]
    fn a_changing_answer_ages_and_is_gone_once_its_generation_changes() {
        let (_dir, answers) = answers();
        let text = HeaderValue::from_static("text/plain");
        let kept_until = |until| {
            let holds = Holds::While {
                generation: 7,
                until,
            };
            let body = Bytes::from_static(b"v1.0.0\n");
            Arc::new(Answer::bytes(
                RequestKind::List,
                body,
                text.clone(),
                text.clone(),
                holds,
            ))
        };
        let now = Instant::now();
        answers.put("/young/@v/list", kept_until(now + Duration::from_secs(60)));
        answers.put("/old/@v/list", kept_until(now - Duration::from_secs(1)));
        let freshness = |path, generation| answers.get(path, generation).map(|k| k.freshness);
        assert_eq!(freshness("/young/@v/list", 7), Some(Freshness::Fresh));
        assert_eq!(freshness("/old/@v/list", 7), Some(Freshness::Aged));
        assert_eq!(freshness("/young/@v/list", 8), None, "something changed");
        assert_eq!(freshness("/old/@v/list", 8), None, "something changed");
    }

    #[test]
    fn one_refresh_per_path_and_at_most_max_refreshing() {
        let (_dir, answers) = answers();
        let slot = answers.refresh_slot("/m/@v/list").unwrap();
        assert_eq!(slot.path(), "/m/@v/list");
        assert!(
            answers.refresh_slot("/m/@v/list").is_none(),
            "one at a time"
        );
        drop(slot);
        let again = answers.refresh_slot("/m/@v/list");
        assert!(again.is_some(), "free once the refresh ended");
        let others: Vec<_> = (1..MAX_REFRESHING)
            .map(|n| answers.refresh_slot(&format!("/m{n}/@v/list")).unwrap())
            .collect();
        assert!(answers.refresh_slot("/full/@v/list").is_none(), "bounded");
        drop(others);
        assert!(answers.refresh_slot("/full/@v/list").is_some());
    }

    #[test]
    fn answers_are_kept_by_path() {
        let (_dir, answers) = answers();
        let text = HeaderValue::from_static("text/plain");
        for (path, body) in [
            ("/m/@v/list", "v1\n"),
            ("/m/@v/v1.info", "{\"Version\":\"v1\"}"),
        ] {
            let answer = Answer::bytes(
                RequestKind::Info,
                Bytes::from(body),
                text.clone(),
                text.clone(),
                Holds::Forever,
            );
            answers.put(path, Arc::new(answer));
        }
        for (path, body) in [
            ("/m/@v/list", "v1\n"),
            ("/m/@v/v1.info", "{\"Version\":\"v1\"}"),
        ] {
            let kept = answers.get(path, 0).unwrap();
            assert_eq!(kept.freshness, Freshness::Fresh);
            match &kept.answer.body {
                Body::Bytes { plain, .. } => assert_eq!(plain, body.as_bytes(), "{path}"),
                Body::Zip { .. } => panic!("a zip"),
            }
        }
    }
}
