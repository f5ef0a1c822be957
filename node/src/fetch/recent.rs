//! [`RecentFills`]: the last fills that stored a version, kept in memory for the status page
//! (a bounded ring: the oldest goes when it is full; nothing survives a restart).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;

/// How many fills the ring keeps.
pub const RECENT_FILLS: usize = 50;

/// One fill that stored a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentFill {
    /// The module.
    pub module: ModulePath,
    /// The version stored.
    pub version: Version,
    /// Where it came from: `vcs`, `peer` or `upstream`.
    pub source: &'static str,
    /// How long the fill took.
    pub duration: Duration,
    /// When it finished.
    pub at: SystemTime,
}

/// The last [`RECENT_FILLS`] fills, newest first.
#[derive(Debug, Default)]
pub(crate) struct RecentFills {
    ring: Mutex<VecDeque<RecentFill>>,
}

impl RecentFills {
    /// Remembers `fill`, forgetting the oldest when the ring is full.
    pub(crate) fn record(&self, fill: RecentFill) {
        let mut ring = self
            .ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if ring.len() >= RECENT_FILLS {
            ring.pop_back();
        }
        ring.push_front(fill);
    }

    /// The fills remembered, newest first.
    pub(crate) fn list(&self) -> Vec<RecentFill> {
        let ring = self
            .ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        ring.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_fills_newest_first() {
        let recent = RecentFills::default();
        for n in 0..(RECENT_FILLS + 5) {
            recent.record(RecentFill {
                module: ModulePath::parse("example.org/m").unwrap(),
                version: Version::parse(&format!("v1.0.{n}")).unwrap(),
                source: "vcs",
                duration: Duration::from_millis(5),
                at: SystemTime::now(),
            });
        }
        let list = recent.list();
        assert_eq!(list.len(), RECENT_FILLS);
        assert_eq!(
            list[0].version.as_str(),
            format!("v1.0.{}", RECENT_FILLS + 4)
        );
        assert_eq!(list[RECENT_FILLS - 1].version.as_str(), "v1.0.5");
    }
}
