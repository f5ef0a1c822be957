//! Counts and sizes of what the index serves, for status pages and metrics.

use crate::entry::VersionEntry;

/// What the index currently serves. Damaged entries (see
/// [`OpenReport`](crate::OpenReport)) are not counted until repaired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Module versions stored, full and `.mod`-only.
    pub versions: u64,
    /// Module versions stored with their zip.
    pub full_versions: u64,
    /// Sum of the go.mod and zip sizes of all versions, in bytes. Blobs shared by versions
    /// (identical go.mod files) count once per version.
    pub blob_bytes: u64,
}

impl Stats {
    /// Counts one more entry.
    pub(crate) fn add(&mut self, entry: &VersionEntry) {
        // Wrapping: concurrent stores may settle their counts out of order, so a counter can
        // dip below zero for an instant; the final sum is exact.
        self.versions = self.versions.wrapping_add(1);
        self.full_versions = self.full_versions.wrapping_add(u64::from(entry.is_full()));
        self.blob_bytes = self.blob_bytes.wrapping_add(entry.blob_bytes());
    }

    /// Counts one entry less.
    pub(crate) fn remove(&mut self, entry: &VersionEntry) {
        self.versions = self.versions.wrapping_sub(1);
        self.full_versions = self.full_versions.wrapping_sub(u64::from(entry.is_full()));
        self.blob_bytes = self.blob_bytes.wrapping_sub(entry.blob_bytes());
    }
}
