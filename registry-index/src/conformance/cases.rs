//! The conformance cases; each runs against every backend.

mod batches;
mod checksum_log;
mod damage;
mod deferred_check;
mod pinning;
mod pins;
mod provenance;
mod queries;
mod repin;
mod signer_counts;
mod sumdb_cache;
mod sync_cursors;

pub(crate) use batches::*;
pub(crate) use checksum_log::*;
pub(crate) use damage::*;
pub(crate) use deferred_check::*;
pub(crate) use pinning::*;
pub(crate) use pins::*;
pub(crate) use provenance::*;
pub(crate) use queries::*;
pub(crate) use repin::*;
pub(crate) use signer_counts::*;
pub(crate) use sumdb_cache::*;
pub(crate) use sync_cursors::*;

const GO_MOD: &[u8] = b"module example.com/a/b\n\ngo 1.22\n";
const ZIP: &[u8] = b"PK stand-in zip bytes, version one";
