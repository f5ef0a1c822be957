//! [`ForkedLogs`]: the checksum logs proved forked (fork evidence members gossiped or this node
//! found), by verifier key. Their records are no longer believed: the relay refuses to serve
//! such a database, so clients fail closed instead of trusting either history. The evidence
//! is kept for good; the log's operator recovers by rotating to a new name and key (clients
//! and relays then name the new key), or a member's operator lifts the distrust on a stopped
//! node (`delos lift-fork`).

use std::collections::HashSet;
use std::sync::RwLock;

use delos_registry_index::{Index, SumdbCacheError};

/// The verifier keys of logs proved forked. Shared by the pool (which adds) and the relay
/// (which refuses).
#[derive(Debug, Default)]
pub struct ForkedLogs {
    keys: RwLock<HashSet<String>>,
}

impl ForkedLogs {
    /// The logs the store holds fork evidence for; blocking.
    pub fn load(index: &Index) -> Result<ForkedLogs, SumdbCacheError> {
        let keys = index
            .pool_log_heads()
            .forks()?
            .into_iter()
            .map(|fork| fork.database)
            .collect();
        Ok(ForkedLogs {
            keys: RwLock::new(keys),
        })
    }

    /// Marks the log `verifier` as forked.
    pub fn add(&self, verifier: &str) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        keys.insert(verifier.to_owned());
    }

    /// How many logs are proved forked.
    pub fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no log is proved forked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the log `verifier` is proved forked.
    pub fn contains(&self, verifier: &str) -> bool {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.contains(verifier)
    }
}
