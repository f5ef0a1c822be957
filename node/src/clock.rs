//! The wall clock, read the one way the node stamps what it stores and signs.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch now; 0 on a clock set before 1970.
pub(crate) fn now_unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}
