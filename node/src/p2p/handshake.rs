//! Handshake gates: this node keeps at most one not-yet-accepted stream per peer and protocol.
//!
//! libp2p-stream (0.5.0-alpha) hands every negotiated inbound stream to the protocol's accept
//! loop through a channel with a single slot, and silently drops the stream when the slot is
//! still taken (rust-libp2p issue #5651). A burst of streams of one protocol from one node
//! therefore loses all but the first few on the serving side, and their dialer sees the stream
//! end where the response header should be. A dialer that opens its next stream to a peer only
//! after the previous one was answered (the server answers only streams its accept loop took)
//! never collides with itself; the bodies still flow concurrently, only the handshakes queue.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use libp2p::{PeerId, StreamProtocol};
use tokio::sync::OwnedMutexGuard;

/// At most this many (peer, protocol) pairs are gated at once; a handshake beyond that goes
/// ungated (a stream lost that way is retried; see `retry`).
const MAX_GATES: usize = 4096;

/// The longest one handshake may hold its turn: a peer that takes a stream but never answers
/// holds up this node's other requests to it only this long.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type Key = (PeerId, StreamProtocol);

/// One pair's gate and how many handshakes hold or wait for it (the entry goes at zero).
struct Gate {
    lock: Arc<tokio::sync::Mutex<()>>,
    users: usize,
}

/// The gates of one node, shared by every clone of its `PoolHandle`.
#[derive(Clone, Default)]
pub(crate) struct HandshakeGates(Arc<Mutex<HashMap<Key, Gate>>>);

impl std::fmt::Debug for HandshakeGates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandshakeGates")
            .field("gated", &self.len())
            .finish()
    }
}

/// The right to open a stream to a peer and wait for its answer; the next handshake with the
/// same peer and protocol starts when this is dropped (also when its future is cancelled).
pub(crate) struct HandshakeTurn {
    gates: HandshakeGates,
    key: Key,
    registered: bool,
    guard: Option<OwnedMutexGuard<()>>,
}

impl HandshakeGates {
    /// Runs `handshake` (open a stream, send the request, read the answer's header) in this
    /// node's turn for `peer` and `protocol`; `None` when it took longer than
    /// [`HANDSHAKE_TIMEOUT`] (waiting for the turn is not counted).
    pub(crate) async fn run<T>(
        &self,
        peer: PeerId,
        protocol: &StreamProtocol,
        handshake: impl Future<Output = T>,
    ) -> Option<T> {
        let _turn = self.enter(peer, protocol).await;
        tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
            .await
            .ok()
    }

    /// Waits until no other handshake of this node with `peer` over `protocol` is open.
    async fn enter(&self, peer: PeerId, protocol: &StreamProtocol) -> HandshakeTurn {
        let key = (peer, protocol.clone());
        let lock = self.register(&key);
        let mut turn = HandshakeTurn {
            gates: self.clone(),
            key,
            registered: lock.is_some(),
            guard: None,
        };
        if let Some(lock) = lock {
            turn.guard = Some(lock.lock_owned().await);
        }
        turn
    }

    /// Counts one more user of `key`'s gate and returns its lock; `None` when at [`MAX_GATES`].
    fn register(&self, key: &Key) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let mut gates = self.lock();
        if !gates.contains_key(key) && gates.len() >= MAX_GATES {
            tracing::debug!(peer = %key.0, "too many handshake gates; opening the stream ungated");
            return None;
        }
        let gate = gates.entry(key.clone()).or_insert_with(|| Gate {
            lock: Arc::default(),
            users: 0,
        });
        gate.users += 1;
        Some(Arc::clone(&gate.lock))
    }

    /// Counts one user of `key`'s gate less, removing the gate when nobody uses it.
    fn unregister(&self, key: &Key) {
        let mut gates = self.lock();
        if let Some(gate) = gates.get_mut(key) {
            gate.users = gate.users.saturating_sub(1);
            if gate.users == 0 {
                gates.remove(key);
            }
        }
    }

    /// How many pairs have a gate now.
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Gate>> {
        // A panic while holding this lock cannot leave the map inconsistent: every change is
        // one insert, decrement or remove.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for HandshakeTurn {
    fn drop(&mut self) {
        drop(self.guard.take());
        if self.registered {
            self.gates.unregister(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_handshake_per_pair_and_gates_go_when_unused() {
        let gates = HandshakeGates::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        let protocol = StreamProtocol::new("/t/1");
        let first = gates.enter(a, &protocol).await;
        let other_peer = gates.enter(b, &protocol).await;
        let second = gates.enter(a, &protocol);
        let blocked = tokio::time::timeout(Duration::from_millis(50), second).await;
        assert!(
            blocked.is_err(),
            "a second handshake with a waited for the first"
        );
        assert_eq!(gates.len(), 2, "the cancelled waiter left no extra gate");
        let waiting = tokio::spawn({
            let gates = gates.clone();
            let protocol = protocol.clone();
            async move { drop(gates.enter(a, &protocol).await) }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        waiting.await.unwrap();
        drop(other_peer);
        assert_eq!(gates.len(), 0, "unused gates are removed");
    }
}
