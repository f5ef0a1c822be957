//! The appender task of the checksum database and its catch-up scan.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_registry_index::Index;
use tokio::sync::mpsc;

use super::{ChecksumDbError, Inner};

/// The most versions appended as one batch (one commit, one fsync).
const BATCH: usize = 1024;

/// Appends what the fill path queues, a batch at a time, and signs each new head.
pub(super) async fn run(db: Arc<Inner>, mut pinned: mpsc::Receiver<(ModulePath, Version)>) {
    while let Some(first) = pinned.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match pinned.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        if let Err(err) = append(&db, batch).await {
            let error = crate::error_chain::error_chain(&err);
            tracing::warn!(db = db.name, %error, "checksum log append failed; rescanning later");
            db.missed.store(true, Ordering::Release);
        }
    }
}

/// Appends `batch` (and, when a version was missed, every whole pin the log lacks), then
/// signs the head of the new size.
async fn append(db: &Arc<Inner>, batch: Vec<(ModulePath, Version)>) -> Result<(), ChecksumDbError> {
    let missed = db.missed.swap(false, Ordering::AcqRel);
    let (index, name) = (Arc::clone(&db.index), db.name.clone());
    tokio::task::spawn_blocking(move || {
        if missed {
            catch_up(&index, &name)?;
        }
        index.checksum_log().append(&batch)?;
        Ok::<_, ChecksumDbError>(())
    })
    .await
    .map_err(|_| ChecksumDbError::Task)??;
    let (size, _) = Inner::sign_latest(db).await?;
    tracing::debug!(db = db.name, size, "checksum log head signed");
    Ok(())
}

/// Appends every whole version the store pins that the log lacks, oldest pin first (obtained
/// at, then path and version), in batches; blocking.
pub(super) fn catch_up(index: &Index, name: &str) -> Result<(), ChecksumDbError> {
    let log = index.checksum_log();
    let mut missing = Vec::new();
    for listed in index.iter().map_err(delos_registry_index::LogError::from)? {
        let (module, version, entry) = listed.map_err(delos_registry_index::LogError::from)?;
        if entry.is_full() && log.id_of(&module, &version)?.is_none() {
            missing.push((entry.obtained_at_unix_secs(), module, version));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort();
    let total = missing.len();
    tracing::info!(
        db = name,
        versions = total,
        "appending pinned versions to the checksum log"
    );
    let versions: Vec<(ModulePath, Version)> =
        missing.into_iter().map(|(_, m, v)| (m, v)).collect();
    for (done, chunk) in versions.chunks(BATCH).enumerate() {
        let appended = log.append(chunk)?;
        let count = (done * BATCH + chunk.len()).min(total);
        tracing::info!(
            db = name,
            appended = count,
            of = total,
            size = appended.size,
            "checksum log catching up"
        );
    }
    Ok(())
}
