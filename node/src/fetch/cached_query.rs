//! [`CachedQuery`]: a question to the upstream (a proxy, or the VCS through `go`) whose answer,
//! positive or "not found", is cached for a time to live, asked at most once at a time, and
//! served stale at once (while one background refresh runs, once the requests around it
//! pause: see [`Foreground`]) once it has aged: a client never waits for a refresh when the
//! node has any answer.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::client;
use super::error::FetchError;
use super::foreground::Foreground;
use super::single_flight::SingleFlight;
use super::stats::Counters;
use super::ttl_cache::{Lookup, TtlCache};

/// A cached answer: the value, or the "not found" the upstream gave.
type Answer<V> = Result<V, Arc<FetchError>>;

/// Answers cached by key, refreshed through one shared run per key.
#[derive(Debug)]
pub(crate) struct CachedQuery<K, V> {
    cache: TtlCache<K, Answer<V>>,
    flight: SingleFlight<K, V>,
    /// Answers cached so far; see [`Self::answers_cached`].
    answered: AtomicU64,
    /// Refreshes of aged answers wait for a pause in its requests.
    foreground: Arc<Foreground>,
}

impl<K, V> CachedQuery<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + PartialEq + Send + Sync + 'static,
{
    /// Answers stay fresh for `ttl`; at most `capacity` are kept and `max_pending` asked at once;
    /// a refresh waits for a pause in `foreground`'s requests.
    pub(crate) fn new(
        ttl: Duration,
        capacity: usize,
        max_pending: usize,
        foreground: Arc<Foreground>,
    ) -> Self {
        Self {
            cache: TtlCache::new(ttl, capacity),
            flight: SingleFlight::new(max_pending),
            answered: AtomicU64::new(0),
            foreground,
        }
    }

    /// How many times a cached answer changed (a refresh that brought the same answer does
    /// not count): it changes whenever an answer derived from the cache may have changed.
    pub(crate) fn answers_cached(&self) -> u64 {
        self.answered.load(Ordering::Acquire)
    }

    /// Questions being asked now.
    pub(crate) fn pending(&self) -> usize {
        self.flight.len()
    }

    /// The cached answer (fresh, or stale with a refresh started in the background), else
    /// the answer of `ask`, waited for. A refresh that fails (the upstream down, a timeout)
    /// keeps the answer the node had, and so does a "not found" after a value.
    pub(crate) async fn get<F, Fut>(
        self: &Arc<Self>,
        key: K,
        counters: &Counters,
        ask: F,
    ) -> Result<V, FetchError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, FetchError>> + Send + 'static,
    {
        let cached = match self.cache.get(&key) {
            Lookup::Fresh(answer) => answer,
            Lookup::Stale(answer) => {
                let (this, question) = (Arc::clone(self), ask());
                tokio::spawn(client::carried(async move {
                    this.foreground.settled().await;
                    this.refresh(key, question).await
                }));
                answer
            }
            Lookup::Missing => {
                Counters::bump(&counters.list_cache_misses);
                return self.refresh(key, ask()).await;
            }
        };
        match cached {
            Ok(value) => {
                Counters::bump(&counters.list_cache_hits);
                Ok(value)
            }
            Err(not_found) => {
                Counters::bump(&counters.negative_cache_hits);
                Err(FetchError::Shared(not_found))
            }
        }
    }

    /// Asks (or joins the pending ask for `key`) and caches the answer: a value, or a
    /// "not found" the upstream gave where no value is cached.
    async fn refresh<Fut>(self: &Arc<Self>, key: K, question: Fut) -> Result<V, FetchError>
    where
        Fut: Future<Output = Result<V, FetchError>> + Send + 'static,
    {
        let (this, cache_key) = (Arc::clone(self), key.clone());
        let work = async move {
            match question.await {
                Ok(value) => {
                    let same = matches!(
                        this.cache.get(&cache_key),
                        Lookup::Fresh(Ok(old)) | Lookup::Stale(Ok(old)) if old == value
                    );
                    this.cache.put(cache_key, Ok(value.clone()));
                    if !same {
                        this.answered.fetch_add(1, Ordering::AcqRel);
                    }
                    Ok(value)
                }
                Err(err) if err.is_answer_not_found() => {
                    let shared = Arc::new(err);
                    // A version list once given is not taken back by a "not found" (a
                    // repository gone, a proxy that lost it): the old answer stays.
                    match this.cache.get(&cache_key) {
                        Lookup::Fresh(Ok(_)) | Lookup::Stale(Ok(_)) => {}
                        Lookup::Fresh(Err(_)) | Lookup::Stale(Err(_)) => {
                            // Still "not found": renewed, nothing changed.
                            this.cache.put(cache_key, Err(Arc::clone(&shared)));
                        }
                        Lookup::Missing => {
                            this.cache.put(cache_key, Err(Arc::clone(&shared)));
                            this.answered.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                    Err(FetchError::Shared(shared))
                }
                Err(err) => Err(err),
            }
        };
        self.flight.run(key, client::carried(work)).await.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Versions = CachedQuery<&'static str, Vec<&'static str>>;

    async fn ask(query: &Arc<Versions>, answer: Vec<&'static str>) -> Vec<&'static str> {
        let counters = Counters::default();
        let got = query.get("m", &counters, move || async move { Ok(answer) });
        got.await.unwrap()
    }

    /// Answers fresh for [`TTL`], refreshed once `foreground`'s requests pause.
    fn versions(foreground: Arc<Foreground>) -> Arc<Versions> {
        Arc::new(Versions::new(TTL, 16, 16, foreground))
    }

    /// How long the answers of [`versions`] stay fresh (on the real clock).
    const TTL: Duration = Duration::from_millis(200);

    /// Waits for the background refresh an aged answer started (the answer is fresh again).
    async fn settle(query: &Versions) {
        for _ in 0..500 {
            if matches!(query.cache.get(&"m"), Lookup::Fresh(_)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("the refresh did not end");
    }

    #[tokio::test]
    async fn only_an_answer_that_changed_counts_as_a_change() {
        let query = versions(Arc::new(Foreground::default()));
        assert_eq!(ask(&query, vec!["v1.0.0"]).await, ["v1.0.0"]);
        let first = query.answers_cached();
        assert_eq!(first, 1);

        tokio::time::sleep(Duration::from_millis(250)).await;
        // Aged: the old answer at once, the refresh behind it brings the same answer.
        assert_eq!(ask(&query, vec!["v1.0.0"]).await, ["v1.0.0"]);
        settle(&query).await;
        assert_eq!(
            query.answers_cached(),
            first,
            "the same answer is no change"
        );

        tokio::time::sleep(Duration::from_millis(250)).await;
        // Aged again, and this time the upstream has a new version.
        let stale = ask(&query, vec!["v1.0.0", "v1.1.0"]).await;
        assert_eq!(stale, ["v1.0.0"], "the aged answer, at once");
        settle(&query).await;
        assert_eq!(
            query.answers_cached(),
            first + 1,
            "a new answer is a change"
        );
        assert_eq!(ask(&query, vec![]).await, ["v1.0.0", "v1.1.0"]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_aged_answer_is_refreshed_only_once_the_burst_of_requests_around_it_passed() {
        use super::super::foreground::{MAX_WAIT, QUIET};
        use tokio::time::Instant;

        let foreground = Arc::new(Foreground::default());
        let query = versions(Arc::clone(&foreground));
        assert_eq!(ask(&query, vec!["v1.0.0"]).await, ["v1.0.0"]);
        // The cache ages on the real clock; the burst runs on tokio's paused one.
        std::thread::sleep(TTL + TTL / 4);

        let asked = Arc::new(std::sync::Mutex::new(None::<Instant>));
        let recorded = Arc::clone(&asked);
        foreground.request_started();
        let counters = Counters::default();
        let stale = query.get("m", &counters, move || async move {
            *recorded.lock().unwrap() = Some(Instant::now());
            Ok(vec!["v1.0.0", "v1.1.0"])
        });
        assert_eq!(stale.await.unwrap(), ["v1.0.0"], "the aged answer, at once");
        // A build goes on asking: a request every QUIET / 2, ending more than QUIET before
        // the longest wait would run the refresh anyway.
        let requests = (MAX_WAIT - QUIET).as_millis() / (QUIET / 2).as_millis() - 1;
        for _ in 0..requests {
            tokio::time::sleep(QUIET / 2).await;
            foreground.request_started();
            assert!(
                asked.lock().unwrap().is_none(),
                "the refresh ran in the middle of the burst"
            );
        }
        let last_request = Instant::now();
        settle(&query).await;
        let asked_at = asked.lock().unwrap().expect("the refresh asked");
        assert!(
            asked_at >= last_request + QUIET,
            "the refresh ran {:?} after the last request",
            asked_at - last_request
        );
        assert_eq!(ask(&query, vec![]).await, ["v1.0.0", "v1.1.0"]);
    }
}
