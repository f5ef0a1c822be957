//! [`FairQueue`]: the `go` workers' permits, handed out round-robin across clients, with a
//! bounded number of waiters.
//!
//! A flood of misses from one client (say, probes for modules that do not exist) must not
//! starve another client's real miss. Every waiter queues under its client's address (see
//! [`client`](super::client)); a freed permit goes to the next client in turn, so a client
//! waits behind at most one run per other waiting client, not behind the flood. A client
//! with [`MAX_WAITING_PER_CLIENT`] waiters, or a queue of [`MAX_WAITING`], is refused at
//! once ([`FetchError::Overloaded`], answered 503 with `Retry-After`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::error::FetchError;

/// The most waiters of one client.
pub(crate) const MAX_WAITING_PER_CLIENT: usize = 64;
/// The most waiters in all.
pub(crate) const MAX_WAITING: usize = 1024;

/// Who is waiting: a client address, or the node itself (background refreshes, maintenance).
type Client = Option<IpAddr>;

/// Permits shared fairly among clients.
#[derive(Debug, Clone)]
pub(crate) struct FairQueue {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    free: usize,
    waiting: usize,
    /// Each client's waiters, in arrival order.
    queues: HashMap<Client, VecDeque<oneshot::Sender<()>>>,
    /// Clients with waiters, in turn order.
    turns: VecDeque<Client>,
}

/// One permit; given back (to the next client in turn) when dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    state: Arc<Mutex<State>>,
}

/// A waiter's end of the queue: gives back a permit it was handed but never took.
struct Waiter {
    state: Arc<Mutex<State>>,
    handed: oneshot::Receiver<()>,
}

impl FairQueue {
    /// `permits` permits (at least one).
    pub(crate) fn new(permits: usize) -> FairQueue {
        FairQueue {
            state: Arc::new(Mutex::new(State {
                free: permits.max(1),
                waiting: 0,
                queues: HashMap::new(),
                turns: VecDeque::new(),
            })),
        }
    }

    /// A permit for `client`, waiting for its turn; refused at once when its queue or the
    /// whole queue is full.
    pub(crate) async fn acquire(&self, client: Client) -> Result<Permit, FetchError> {
        let handed = {
            let mut state = lock(&self.state);
            if state.free > 0 && state.waiting == 0 {
                state.free -= 1;
                return Ok(self.permit());
            }
            let mine = state.queues.get(&client).map_or(0, VecDeque::len);
            if mine >= MAX_WAITING_PER_CLIENT {
                return Err(FetchError::Overloaded {
                    limit: MAX_WAITING_PER_CLIENT,
                });
            }
            if state.waiting >= MAX_WAITING {
                return Err(FetchError::Overloaded { limit: MAX_WAITING });
            }
            let (hand, handed) = oneshot::channel();
            let queue = state.queues.entry(client).or_default();
            queue.push_back(hand);
            if queue.len() == 1 {
                state.turns.push_back(client);
            }
            state.waiting += 1;
            handed
        };
        let mut waiter = Waiter {
            state: Arc::clone(&self.state),
            handed,
        };
        match (&mut waiter.handed).await {
            Ok(()) => Ok(self.permit()),
            Err(_) => Err(FetchError::TaskFailed),
        }
    }

    fn permit(&self) -> Permit {
        Permit {
            state: Arc::clone(&self.state),
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        hand_on(&self.state);
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        // Handed a permit after it stopped waiting: pass it on.
        if self.handed.try_recv().is_ok() {
            hand_on(&self.state);
        }
    }
}

/// Gives a freed permit to the first live waiter of the next client in turn, else frees it.
fn hand_on(state: &Mutex<State>) {
    let mut state = lock(state);
    while let Some(client) = state.turns.pop_front() {
        let Some(queue) = state.queues.get_mut(&client) else {
            continue;
        };
        let next = queue.pop_front();
        let more = !queue.is_empty();
        if more {
            state.turns.push_back(client);
        } else {
            state.queues.remove(&client);
        }
        let Some(next) = next else { continue };
        state.waiting -= 1;
        if next.send(()).is_ok() {
            return;
        }
    }
    state.free += 1;
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every operation leaves the state consistent before it can panic.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn permits_go_round_robin_and_queues_are_bounded() {
        let queue = FairQueue::new(1);
        let (flood, other): (Client, Client) =
            (Some([10, 0, 0, 1].into()), Some([10, 0, 0, 2].into()));
        let held = queue.acquire(flood).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for (n, client) in [(1, flood), (2, flood), (3, flood), (4, other)] {
            let (queue, order) = (queue.clone(), Arc::clone(&order));
            waiting.push(tokio::spawn(async move {
                let permit = queue.acquire(client).await.unwrap();
                order.lock().unwrap().push(n);
                tokio::task::yield_now().await;
                drop(permit);
            }));
            tokio::task::yield_now().await;
        }
        drop(held);
        for task in waiting {
            task.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            [1, 4, 2, 3],
            "the other client waits behind one flood run, not three"
        );

        let held = queue.acquire(flood).await.unwrap();
        let mut parked = Vec::new();
        for _ in 0..MAX_WAITING_PER_CLIENT {
            let queue = queue.clone();
            parked.push(tokio::spawn(
                async move { queue.acquire(flood).await.map(drop) },
            ));
        }
        while lock(&queue.state).waiting < MAX_WAITING_PER_CLIENT {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            queue.acquire(flood).await,
            Err(FetchError::Overloaded { .. })
        ));
        // Another client still queues; an abandoned waiter does not lose the permit.
        let abandoned =
            tokio::time::timeout(std::time::Duration::from_millis(10), queue.acquire(other)).await;
        assert!(abandoned.is_err());
        drop(held);
        for task in parked {
            task.await.unwrap().unwrap();
        }
        assert!(queue.acquire(other).await.is_ok());
    }
}
