//! [`CachedQuery`]: a VCS question whose answer is cached for a time to live, asked at most
//! once at a time, and served stale (while a background refresh runs) once it has aged.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use super::error::FetchError;
use super::single_flight::SingleFlight;
use super::stats::Counters;
use super::ttl_cache::{Lookup, TtlCache};

/// Answers cached by key, refreshed through one shared run per key.
#[derive(Debug)]
pub(crate) struct CachedQuery<K, V> {
    cache: TtlCache<K, V>,
    flight: SingleFlight<K, V>,
}

impl<K, V> CachedQuery<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Answers stay fresh for `ttl`; at most `capacity` are kept and `max_pending` asked at once.
    pub(crate) fn new(ttl: Duration, capacity: usize, max_pending: usize) -> Self {
        Self {
            cache: TtlCache::new(ttl, capacity),
            flight: SingleFlight::new(max_pending),
        }
    }

    /// Whether an answer (fresh or stale) is cached for `key`.
    pub(crate) fn contains(&self, key: &K) -> bool {
        !matches!(self.cache.get(key), Lookup::Missing)
    }

    /// Questions being asked now.
    pub(crate) fn pending(&self) -> usize {
        self.flight.len()
    }

    /// The cached answer (fresh, or stale with a refresh started in the background), else
    /// the answer of `ask`, waited for. A failed refresh keeps the stale answer.
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
        match self.cache.get(&key) {
            Lookup::Fresh(value) => {
                Counters::bump(&counters.list_cache_hits);
                Ok(value)
            }
            Lookup::Stale(value) => {
                Counters::bump(&counters.list_cache_hits);
                let (this, question) = (Arc::clone(self), ask());
                tokio::spawn(async move { this.refresh(key, question).await });
                Ok(value)
            }
            Lookup::Missing => {
                Counters::bump(&counters.list_cache_misses);
                self.refresh(key, ask()).await
            }
        }
    }

    /// Asks (or joins the pending ask for `key`) and caches a successful answer.
    async fn refresh<Fut>(self: &Arc<Self>, key: K, question: Fut) -> Result<V, FetchError>
    where
        Fut: Future<Output = Result<V, FetchError>> + Send + 'static,
    {
        let (this, cache_key) = (Arc::clone(self), key.clone());
        let work = async move {
            let answer = question.await;
            if let Ok(value) = &answer {
                this.cache.put(cache_key, value.clone());
            }
            answer
        };
        self.flight.run(key, work).await.1
    }
}
