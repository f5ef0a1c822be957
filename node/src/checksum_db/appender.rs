//! The appender task of the checksum database, its catch-up scan, and the check of public
//! versions that comes before every append.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_registry_index::{Index, LogError, PublicConflict};
use tokio::sync::mpsc;

use super::public_check::Verdict;
use super::{ChecksumDbError, Inner};

/// The most versions appended as one batch (one commit, one fsync).
const BATCH: usize = 1024;
/// How many public versions are checked at once.
const CHECKS_AT_ONCE: usize = 8;
/// How often the store is scanned again for versions out of the log while some wait to be
/// checked or were missed.
pub(super) const RECHECK: Duration = Duration::from_secs(300);

type ModuleVersion = (ModulePath, Version);

/// Appends what the fill path queues, a batch at a time, and signs each new head; every
/// [`RECHECK`], while versions wait, rescans the store.
pub(super) async fn run(db: Arc<Inner>, mut pinned: mpsc::Receiver<ModuleVersion>) {
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    recheck.tick().await;
    loop {
        let waiting = db.missed.load(Ordering::Acquire) || !db.unchecked().is_empty();
        let first = tokio::select! {
            next = pinned.recv() => match next {
                Some(next) => Some(next),
                None => return,
            },
            _ = recheck.tick(), if waiting => None,
        };
        let rescan = first.is_none();
        let mut batch: Vec<ModuleVersion> = first.into_iter().collect();
        while !rescan && batch.len() < BATCH {
            match pinned.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        if let Err(err) = append(&db, batch, rescan).await {
            let error = crate::error_chain::error_chain(&err);
            tracing::warn!(db = db.name, %error, "checksum log append failed; rescanning later");
            db.missed.store(true, Ordering::Release);
        }
    }
}

/// Catches the log up with the store at start: every whole pin it lacks, checked, appended.
pub(super) async fn catch_up(db: &Arc<Inner>) -> Result<(), ChecksumDbError> {
    let missing = blocking(db, out_of_log_pins).await?;
    admit_and_append(db, missing).await
}

/// Appends `batch` (and, on a rescan or when a version was missed, every whole pin the log
/// lacks), then signs the head of the new size.
async fn append(
    db: &Arc<Inner>,
    batch: Vec<ModuleVersion>,
    rescan: bool,
) -> Result<(), ChecksumDbError> {
    let rescan = db.missed.swap(false, Ordering::AcqRel) || rescan;
    let mut versions = if rescan {
        blocking(db, out_of_log_pins).await?
    } else {
        Vec::new()
    };
    let mut seen: HashSet<ModuleVersion> = versions.iter().cloned().collect();
    versions.extend(batch.into_iter().filter(|v| seen.insert(v.clone())));
    admit_and_append(db, versions).await?;
    let (size, _) = Inner::sign_latest(db).await?;
    tracing::debug!(db = db.name, size, "checksum log head signed");
    Ok(())
}

/// Checks `versions` (in order) and appends those admitted, a batch at a time; logs progress
/// when there are many.
async fn admit_and_append(
    db: &Arc<Inner>,
    versions: Vec<ModuleVersion>,
) -> Result<(), ChecksumDbError> {
    let total = versions.len();
    let many = total > BATCH;
    if many {
        tracing::info!(
            db = db.name,
            versions = total,
            "appending pinned versions to the checksum log"
        );
    }
    let mut done = 0;
    for chunk in versions.chunks(BATCH) {
        let admitted = admit(db, chunk.to_vec()).await?;
        let appended = blocking(db, move |index| {
            Ok(index.checksum_log().append(&admitted)?)
        })
        .await?;
        db.stats.appended(appended.ids.len() as u64);
        done += chunk.len();
        if many {
            tracing::info!(
                db = db.name,
                done,
                total,
                size = appended.size,
                "checksum log catch-up"
            );
        }
    }
    Ok(())
}

/// The versions of `versions` that may enter the log: all of them without a public check;
/// with one, those the public database agrees with (private ones are not looked up). A
/// contradicted version is kept as a conflict; one that cannot be checked now waits.
pub(super) async fn admit(
    db: &Arc<Inner>,
    versions: Vec<ModuleVersion>,
) -> Result<Vec<ModuleVersion>, ChecksumDbError> {
    let Some(check) = &db.check else {
        return Ok(versions);
    };
    let versions = blocking(db, move |index| not_logged(index, versions)).await?;
    let mut admitted = Vec::with_capacity(versions.len());
    let mut unreachable: Option<String> = None;
    for group in versions.chunks(CHECKS_AT_ONCE) {
        if let Some(why) = &unreachable {
            for (module, version) in group {
                db.set_unchecked(module, version, why.clone());
            }
            continue;
        }
        let checks = group.iter().map(|(m, v)| check.check(&db.index, m, v));
        let verdicts = futures::future::join_all(checks).await;
        for ((module, version), verdict) in group.iter().zip(verdicts) {
            match verdict? {
                Verdict::Agrees => {
                    db.clear_unchecked(module, version);
                    admitted.push((module.clone(), version.clone()));
                }
                Verdict::Contradicted(conflict) => {
                    keep_conflict(db, *conflict).await?;
                    db.clear_unchecked(module, version);
                }
                Verdict::Unchecked {
                    reason,
                    unreachable: down,
                } => {
                    tracing::info!(
                        db = db.name,
                        module = %module,
                        version = %version,
                        %reason,
                        "not in the checksum log until checked against {}",
                        check.database()
                    );
                    if down {
                        unreachable = Some(reason.clone());
                    }
                    db.set_unchecked(module, version, reason);
                }
            }
        }
    }
    Ok(admitted)
}

/// Keeps `conflict` as evidence (durably), logs it once at warn, and counts it.
async fn keep_conflict(db: &Arc<Inner>, conflict: PublicConflict) -> Result<(), ChecksumDbError> {
    let (module, version, database) = (
        conflict.module.clone(),
        conflict.version.clone(),
        conflict.database.clone(),
    );
    let (new, count) = blocking(db, move |index| {
        let log = index.checksum_log();
        let new = log.add_public_conflict(&conflict)?;
        Ok((new, log.public_conflicts()?.len()))
    })
    .await?;
    if new {
        tracing::warn!(
            db = db.name,
            module = %module,
            version = %version,
            public = database,
            "the public checksum database records other hashes for a pinned version; \
             it stays out of this checksum database (see /provenance)"
        );
    }
    db.stats.set_public_conflicts(count as u64);
    Ok(())
}

/// Every whole version the store pins that the log lacks and no conflict keeps out, oldest
/// pin first (obtained at, then path and version).
fn out_of_log_pins(index: &Index) -> Result<Vec<ModuleVersion>, ChecksumDbError> {
    let log = index.checksum_log();
    let mut missing = Vec::new();
    for listed in index.iter().map_err(LogError::from)? {
        let (module, version, entry) = listed.map_err(LogError::from)?;
        if entry.is_full()
            && log.id_of(&module, &version)?.is_none()
            && log.public_conflict(&module, &version)?.is_none()
        {
            missing.push((entry.obtained_at_unix_secs(), module, version));
        }
    }
    missing.sort();
    Ok(missing.into_iter().map(|(_, m, v)| (m, v)).collect())
}

/// `versions` without those already in the log or kept out by a conflict.
fn not_logged(
    index: &Index,
    versions: Vec<ModuleVersion>,
) -> Result<Vec<ModuleVersion>, ChecksumDbError> {
    let log = index.checksum_log();
    let mut left = Vec::with_capacity(versions.len());
    for (module, version) in versions {
        if log.id_of(&module, &version)?.is_none()
            && log.public_conflict(&module, &version)?.is_none()
        {
            left.push((module, version));
        }
    }
    Ok(left)
}

/// Runs a store operation on the blocking pool.
async fn blocking<T: Send + 'static>(
    db: &Arc<Inner>,
    op: impl FnOnce(&Index) -> Result<T, ChecksumDbError> + Send + 'static,
) -> Result<T, ChecksumDbError> {
    let index = Arc::clone(&db.index);
    tokio::task::spawn_blocking(move || op(&index))
        .await
        .map_err(|_| ChecksumDbError::Task)?
}
