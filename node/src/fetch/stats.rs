//! The fill path's counters: defined, named and registered with every other metric in
//! [`crate::telemetry`].

pub(crate) use crate::telemetry::FetchCounters as Counters;
pub use crate::telemetry::{FetchStats, PeerFillMicros};
