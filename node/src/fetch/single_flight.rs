//! [`SingleFlight`]: concurrent requests for the same key share one run of the work.
//!
//! The first request for a key spawns the work as its own task and registers a channel; later
//! requests for the same key wait on that channel. Because the work runs in a spawned task, a
//! client that disconnects (its request future dropped) does not cancel it: the version is still
//! stored for the next request. The map of pending keys is bounded.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use super::error::FetchError;

/// The outcome every waiter of one run receives.
type Shared<V> = Option<Result<V, Arc<FetchError>>>;

/// Deduplicates concurrent work by key.
#[derive(Debug)]
pub(crate) struct SingleFlight<K, V> {
    pending: Arc<Mutex<HashMap<K, watch::Receiver<Shared<V>>>>>,
    limit: usize,
}

impl<K, V> SingleFlight<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// At most `limit` keys may be pending at once.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            pending: Arc::default(),
            limit: limit.max(1),
        }
    }

    /// How many keys are pending now.
    pub(crate) fn len(&self) -> usize {
        lock(&self.pending).len()
    }

    /// Runs `work` for `key` unless a run is pending, and waits for the (shared) outcome.
    /// Returns whether this call started the run, with the outcome.
    pub(crate) async fn run<F>(&self, key: K, work: F) -> (bool, Result<V, FetchError>)
    where
        F: Future<Output = Result<V, FetchError>> + Send + 'static,
    {
        let (started, mut receiver) = match self.join_or_start(key, work) {
            Ok(joined) => joined,
            Err(err) => return (false, Err(err)),
        };
        let outcome = match receiver.wait_for(Option::is_some).await {
            Ok(done) => done.clone(),
            Err(_) => None,
        };
        let result = match outcome {
            Some(Ok(value)) => Ok(value),
            Some(Err(shared)) => Err(FetchError::from_shared(shared)),
            None => Err(FetchError::TaskFailed),
        };
        (started, result)
    }

    fn join_or_start<F>(
        &self,
        key: K,
        work: F,
    ) -> Result<(bool, watch::Receiver<Shared<V>>), FetchError>
    where
        F: Future<Output = Result<V, FetchError>> + Send + 'static,
    {
        let mut pending = lock(&self.pending);
        if let Some(receiver) = pending.get(&key) {
            return Ok((false, receiver.clone()));
        }
        if pending.len() >= self.limit {
            return Err(FetchError::Overloaded { limit: self.limit });
        }
        let (sender, receiver) = watch::channel(None);
        pending.insert(key.clone(), receiver.clone());
        let done = Done {
            pending: Arc::clone(&self.pending),
            key: Some(key),
        };
        tokio::spawn(async move {
            let _done = done;
            let outcome = work.await.map_err(Arc::new);
            sender.send_replace(Some(outcome));
        });
        Ok((true, receiver))
    }
}

/// Removes the key from the pending map when the run ends, even if the work panicked.
struct Done<K: Eq + Hash, V> {
    pending: Arc<Mutex<HashMap<K, watch::Receiver<Shared<V>>>>>,
    key: Option<K>,
}

impl<K: Eq + Hash, V> Drop for Done<K, V> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            lock(&self.pending).remove(&key);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The map stays consistent even if a holder panicked: every operation is one insert/remove.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_run_that_survives_them() {
        let flight: Arc<SingleFlight<u32, u32>> = Arc::new(SingleFlight::new(8));
        let runs = Arc::new(AtomicUsize::new(0));
        let mut callers = Vec::new();
        for _ in 0..20 {
            let (flight, runs) = (Arc::clone(&flight), Arc::clone(&runs));
            callers.push(tokio::spawn(async move {
                let work = async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok(7)
                };
                flight.run(1, work).await
            }));
        }
        callers[0].abort();
        let mut starters = 0;
        for caller in callers.into_iter().skip(1) {
            let (started, value) = caller.await.expect("caller task");
            starters += usize::from(started);
            assert_eq!(value.expect("shared value"), 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "one run for 20 callers");
        assert!(starters <= 1);
        assert_eq!(flight.len(), 0, "the key is released when the run ends");
    }

    #[tokio::test]
    async fn a_full_map_refuses_new_keys() {
        let flight: Arc<SingleFlight<u32, u32>> = Arc::new(SingleFlight::new(1));
        let slow = Arc::clone(&flight);
        let first = tokio::spawn(async move {
            slow.run(1, async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok(1)
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (_, refused) = flight.run(2, async { Ok(2) }).await;
        assert!(matches!(refused, Err(FetchError::Overloaded { limit: 1 })));
        assert_eq!(first.await.expect("first").1.expect("value"), 1);
        assert_eq!(flight.run(2, async { Ok(2) }).await.1.expect("now free"), 2);
    }
}
