//! One conformance suite, run against every metadata backend (sled, and an in-memory map that
//! proves the [`MetaStore`](crate::MetaStore) boundary holds).
//!
//! Each case gets a [`Backend`] it can open, drop and reopen, so crash-free restarts and the
//! open-time check are part of the suite.

mod cases;

use std::path::Path;

use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;

use crate::memory_store::MemoryStore;
use crate::{BlobStore, HashedBlob, Index, IndexConfig, OpenCheck, Source, VersionEntry};

/// A metadata engine under test: opens an [`Index`] over the same data each time.
pub(crate) trait Backend {
    /// Opens the index, its open-time check done; the previous handle must have been dropped.
    fn open(&self) -> Index {
        self.open_checking(OpenCheck::BeforeOpen)
    }
    /// Opens the index with the open-time check run as `check` says.
    fn open_checking(&self, check: OpenCheck) -> Index;
    /// The data directory, for tampering with blob files.
    fn dir(&self) -> &Path;
}

struct Sled(tempfile::TempDir);

impl Backend for Sled {
    /// Opens the store, waiting (up to 10 s) while sled's file lock is held: another test of
    /// this binary that forks a child (the large-blob tests re-execute it) lends the child a
    /// copy of every open descriptor until it execs, so a reopen right after a close can find
    /// the lock still taken for a moment. A lock held by this test itself would still fail.
    fn open_checking(&self, check: OpenCheck) -> Index {
        let started = std::time::Instant::now();
        let config = IndexConfig {
            check,
            ..IndexConfig::default()
        };
        loop {
            match Index::open_with(self.0.path(), &config) {
                Err(err)
                    if format!("{err:?}").contains("could not acquire lock")
                        && started.elapsed() < std::time::Duration::from_secs(10) =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other.unwrap(),
            }
        }
    }
    fn dir(&self) -> &Path {
        self.0.path()
    }
}

struct Memory(tempfile::TempDir, MemoryStore);

impl Backend for Memory {
    fn open_checking(&self, check: OpenCheck) -> Index {
        let blobs = BlobStore::open(self.0.path().join("blobs")).unwrap();
        Index::with_backend(blobs, Box::new(self.1.clone()), check).unwrap()
    }
    fn dir(&self) -> &Path {
        self.0.path()
    }
}

pub(crate) fn module(path: &str) -> ModulePath {
    ModulePath::parse(path).unwrap()
}

pub(crate) fn version(text: &str) -> Version {
    Version::parse(text).unwrap()
}

/// Writes the blobs and builds an entry for them. The zip's `h1:` stands in for the real
/// dirhash (the index stores, never computes, `h1:` hashes): it is derived from the bytes, so
/// different zip content gets a different `h1:`, unless `zip_h1` overrides it.
pub(crate) fn offer(index: &Index, go_mod: &[u8], zip: Option<&[u8]>) -> VersionEntry {
    offer_with_h1(index, go_mod, zip.map(|bytes| (bytes, stand_in_h1(bytes))))
}

pub(crate) fn stand_in_h1(bytes: &[u8]) -> H1Hash {
    H1Hash::from_bytes(*Sha256::digest(bytes).as_bytes())
}

pub(crate) fn offer_with_h1(
    index: &Index,
    go_mod: &[u8],
    zip: Option<(&[u8], H1Hash)>,
) -> VersionEntry {
    let go_mod_blob = index.blobs().write(go_mod).unwrap();
    let info = br#"{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}"#.to_vec();
    let entry = VersionEntry::new(
        info,
        HashedBlob::new(go_mod_blob, H1Hash::of_go_mod(go_mod)),
        1_704_164_645,
        Source::Peer("12D3KooWtest".into()),
    );
    match zip {
        Some((bytes, h1)) => {
            entry.with_zip(HashedBlob::new(index.blobs().write(bytes).unwrap(), h1))
        }
        None => entry,
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sled {
            $(#[test] fn $case() {
                super::cases::$case(&super::Sled(tempfile::tempdir().unwrap()));
            })*
        }
        mod memory {
            $(#[test] fn $case() {
                let backend = super::Memory(tempfile::tempdir().unwrap(), Default::default());
                super::cases::$case(&backend);
            })*
        }
    };
}

conformance!(
    store_batch_matches_single_stores,
    insert_batch_matches_single_inserts,
    round_trip,
    round_trip_survives_reopen,
    mod_only_entry_is_distinguishable,
    mod_only_entry_upgrades_with_same_go_mod,
    upgrade_with_other_go_mod_conflicts,
    first_write_wins_with_conflict,
    same_hashes_again_is_idempotent,
    same_h1_other_zip_bytes_keeps_first_bytes,
    full_entry_ignores_mod_only_offer,
    prefix_isolation,
    versions_list_in_semver_order,
    iterate_everything,
    blobs_must_be_stored_first,
    non_canonical_versions_are_refused,
    missing_blob_is_reported_hidden_and_repaired,
    missing_zip_is_repaired_by_other_bytes_with_same_h1,
    mod_only_offer_cannot_repair_missing_zip,
    a_deferred_check_hides_damage_at_once_and_reports_it_when_done,
    stores_beside_a_deferred_check_are_counted_once,
    concurrent_stores_pin_exactly_one,
    stats_count_versions_and_bytes,
    records_round_trip_with_exact_wire_bytes,
    a_record_is_held_only_with_its_exact_bytes,
    a_module_s_records_are_read_without_the_versions_skipped,
    same_signer_keeps_first_upgrades_mod_only_and_flags_contradiction,
    feed_is_contiguous_and_never_holds_private_records,
    record_disagreeing_with_the_pin_is_evidence_and_pin_stays,
    record_seen_before_the_pin_becomes_evidence_with_the_own_record,
    concurrent_inserts_number_the_feed_without_gaps,
    commit_writes_all_or_nothing,
    sync_cursors_are_per_peer_and_survive_reopen,
    signer_counts_follow_new_slots_and_survive_reopen,
    a_capped_insert_stores_nothing_past_the_cap,
    the_total_cap_counts_every_signer,
    counts_are_rebuilt_for_a_store_made_before_them,
    a_cursor_from_before_feed_ids_is_read_without_one,
    the_feed_id_survives_reopen,
    a_poisoned_mod_only_pin_is_replaced_once_keeping_the_old_record_as_evidence,
    repin_refuses_what_is_not_a_repair,
    the_checksum_log_appends_pins_in_batches_and_serves_checked_tiles,
    the_checksum_log_refuses_what_is_not_pinned_whole_and_keeps_the_first_head,
    a_version_a_public_database_contradicts_stays_out_of_the_log,
    sumdb_tiles_heads_and_forks_survive_reopen,
    forgotten_forks_stay_forgotten_and_spare_other_logs,
    the_pin_log_numbers_versions_as_they_become_whole,
    concurrent_stores_number_pins_without_gaps,
);
