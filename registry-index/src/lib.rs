//! What a Delos node knows and holds, on disk: content-addressed blobs and an immutable index
//! of module versions.
//!
//! ```text
//! <data dir>/blobs/sha256/ab/<sha256 hex>      module zips and go.mod files, named by content
//! <data dir>/blobs/tmp/                         writes in progress (emptied on open)
//! <data dir>/meta-sled/                         sled: trees "versions-v1", "records-v1",
//!                                               "feed-v1", "conflicts-v1", "feed-id-v1",
//!                                               "sync-cursors-v2", "signer-counts-v1",
//!                                               "sumdb-tiles-v1", "sumdb-heads-v1",
//!                                               "sumdb-forks-v1"
//!                                               (see `schema`)
//! ```
//!
//! # Storing a version
//!
//! Write the blobs first, then store the entry that references them:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use delos_pool_protocol::{hash::H1Hash, module_path::ModulePath, version::Version};
//! use delos_registry_index::{HashedBlob, Index, Source, VersionEntry};
//!
//! let index = Index::open("/var/lib/delos")?;
//! let go_mod = b"module example.com/m\n";
//! let go_mod_blob = index.blobs().write(&go_mod[..])?;
//! let zip_blob = index.blobs().write_limited(std::fs::File::open("m.zip")?, 500 << 20)?;
//! let entry = VersionEntry::new(
//!     br#"{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"}"#.to_vec(),
//!     HashedBlob::new(go_mod_blob, H1Hash::of_go_mod(go_mod)),
//!     1_704_067_200,
//!     Source::Vcs,
//! )
//! .with_zip(HashedBlob::new(zip_blob, H1Hash::parse("h1:...")?));
//! let module = ModulePath::parse("example.com/m")?;
//! index.store(&module, &Version::parse("v1.0.0")?, entry)?; // durable when this returns
//! # Ok(())
//! # }
//! ```
//!
//! # Durability guarantees
//!
//! - **A blob is durable when [`BlobStore::write`] returns.** It was streamed into a temp file,
//!   fsynced, linked under its sha256 name (never overwriting) and its directory fsynced.
//!   A failed or interrupted write leaves at most a temp file, removed by the next open.
//! - **A version is durable and complete when [`Index::store`] returns `Ok`.** Its blobs are
//!   on disk before its one metadata record is written (an atomic compare-and-swap), and the
//!   record is flushed (fsync) before `store` returns. A crash at any moment (`kill -9`, power
//!   loss on a filesystem that honours fsync) leaves either the whole version or none of it.
//!   Reads never return a record that is not yet durable: while any store is between its
//!   metadata write and its flush, reads flush first.
//! - **Batches keep these guarantees, and cost less.** [`BlobStore::write_batch`] makes many
//!   blobs durable with two `syncfs` calls; [`Index::store_batch`] and
//!   [`Records::insert_batch`] plan every step as a single call would (same rules, same
//!   expectations) and write the batch as one atomic commit with one flush, replaying it one
//!   step at a time if anything changed behind it. Each is durable when the call returns.
//! - **The first entry wins, forever.** A version is pinned by its go.mod and zip `h1:` hashes;
//!   a different offer gets [`IndexError::Conflict`] and changes nothing; the same offer again
//!   is an idempotent success. A `.mod`-only entry may gain its zip, nothing else ever changes
//!   (rules in [`versions`]).
//! - **Half-present versions are never served.** Every entry's blobs are checked, on open or
//!   (with [`OpenCheck::Deferred`]) by a pass beside the reads, each entry the pass has not
//!   reached being checked when read; an entry whose blob is missing is reported in
//!   [`Index::open_report`], hidden from reads, lists and counts, and repaired when the same
//!   content is stored again.
//! - **Reads can verify.** [`BlobStore::open_verified`] re-hashes a blob and moves a corrupt
//!   file aside (`.corrupt`), returning [`BlobError::CorruptBlob`].
//!
//! # Provenance
//!
//! Signed provenance records (already verified) are kept per signer per version in
//! [`records`], appended to a contiguous local [`feed`] for peers in the same atomic step, and
//! checked against the pinned entry: disagreement is kept as [`conflicts`] evidence and never
//! changes what is served. How many records each signer holds is counted in the same step,
//! so a node can cap what untrusted signers store ([`RecordCap`],
//! [`Records::insert_capped`]).
//!
//! # Checksum-database cache
//!
//! The relay of `/sumdb/` keeps what it verified in [`sumdb_cache`]: full tiles as blobs
//! (durable the same way), the newest signed tree head per database, and fork evidence.
//!
//! No file name is ever built from a module path or version: the API takes validated
//! `pool-protocol` types, and those only ever become sled keys.
//!
//! # Blocking
//!
//! The API is synchronous and does disk I/O with fsync. Call it from `spawn_blocking` (or a
//! dedicated thread) in async code, never directly on an async worker thread.

mod blobs;
pub mod checksum_log;
pub mod conflicts;
mod entry;
pub mod entry_codec;
mod error;
pub mod feed;
mod feed_id;
mod index;
mod meta;
mod open_check;
mod open_report;
mod overlay;
pub mod pins;
mod record_plan;
pub mod records;
mod records_state;
mod repin;
pub mod schema;
mod signer_counts;
mod sled_store;
mod stats;
pub mod sumdb_cache;
pub mod sumdb_mirror;
pub mod sync_cursors;
pub mod versions;

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod large_blob;
#[cfg(test)]
mod memory_store;

pub use blobs::{
    BlobError, BlobReader, BlobStore, MappedBlob, StagedBlob, StoredBlob, UnhashedStaged,
};
pub use checksum_log::{Appended, ChecksumLog, LogError, PublicConflict};
pub use conflicts::{ConflictEvidence, ConflictKind, Conflicts};
pub use entry::{HashedBlob, Source, VersionEntry};
pub use entry_codec::DecodeError;
pub use error::{Conflict, IndexError, ModuleVersion};
pub use feed::{Feed, FeedItem};
pub use feed_id::FeedIdError;
pub use index::{BatchItem, Index, IndexConfig, Listed};
pub use meta::{Commit, EngineError, KeyValue, KvIter, MetaError, MetaStore, Swap, Write};
pub use open_check::OpenCheck;
pub use open_report::{Damage, OpenReport};
pub use pins::{Pin, Pins};
pub use records::{RecordChange, RecordError, RecordOffer, RecordStored, Records, Sharing};
pub use repin::{RepinError, Repinned};
pub use signer_counts::RecordCap;
pub use sled_store::{DEFAULT_CACHE_CAPACITY_BYTES, SledStore};
pub use stats::Stats;
pub use sumdb_cache::{SumdbCache, SumdbCacheError, SumdbFork};
pub use sumdb_mirror::TilePosition;
pub use sync_cursors::{SyncCursor, SyncCursorError, SyncCursors};
pub use versions::{Change, Stored};
