//! What the node's checksum database answers: the latest signed head, lookups (checking and
//! appending a version pinned whole first, when the log does not hold it yet) and tiles of
//! the latest head.

use std::sync::Arc;

use axum::body::Bytes;

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{Lookup, RecordText, Tile};
use delos_pool_protocol::version::Version;
use delos_registry_index::{LogError, PublicConflict};

use super::{ChecksumDb, ChecksumDbError, appender};

/// What the database answers for a lookup.
#[derive(Debug)]
pub enum OwnLookup {
    /// The lookup body: the record's id, the record, a signed head that covers it.
    Found(Bytes),
    /// The version is not pinned whole (the caller fills it first, or answers 404).
    NotFound,
    /// The public database records other hashes: the version stays out of the log.
    Contradicted(Box<PublicConflict>),
    /// The version could not be checked against the public database yet (why).
    Unchecked(String),
}

/// Where a version stands with the log.
enum LogState {
    Logged(u64, RecordText),
    Contradicted(Box<PublicConflict>),
    /// Pinned whole, not in the log.
    Out,
    /// Not pinned, or pinned without its zip.
    NotWhole,
}

/// Why a lookup has no record to answer with, once admission ran.
#[derive(Debug)]
enum Unlogged {
    Unchecked,
    Contradicted(Box<PublicConflict>),
    NotFound,
}

/// What the log holds for a version once a lookup's admission ran (`admitted_here`: this
/// lookup appended it) decides the answer, whoever appended it: the appender, checking the
/// same version for the fill that pinned it, may have logged it meanwhile, and then this
/// lookup's admission found nothing left to admit.
fn after_admission(now: LogState, admitted_here: bool) -> Result<(u64, RecordText), Unlogged> {
    match now {
        LogState::Logged(id, record) => Ok((id, record)),
        LogState::Contradicted(conflict) => Err(Unlogged::Contradicted(conflict)),
        LogState::Out if !admitted_here => Err(Unlogged::Unchecked),
        LogState::Out | LogState::NotWhole => Err(Unlogged::NotFound),
    }
}

impl ChecksumDb {
    /// The signed head of the log as it is now (`/latest`).
    pub async fn latest(&self) -> Result<Vec<u8>, ChecksumDbError> {
        Ok(self.sign_latest().await?.1)
    }

    /// The lookup body of `module@version` already answered once, from memory.
    pub fn cached_lookup(&self, module: &ModulePath, version: &Version) -> Option<Bytes> {
        let key = (module.clone(), version.clone());
        self.inner.lookups.get(&key).map(|(body, _)| body)
    }

    /// The lookup of `module@version` (`/lookup/…`): its record id, its record and a head
    /// that covers it. A version pinned whole but not logged yet is checked (with a public
    /// check) and appended first.
    pub async fn lookup(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<OwnLookup, ChecksumDbError> {
        let state = self.log_state(module, version).await?;
        let (id, record) = match state {
            LogState::Logged(id, record) => (id, record),
            LogState::Contradicted(conflict) => return Ok(OwnLookup::Contradicted(conflict)),
            LogState::NotWhole => return Ok(OwnLookup::NotFound),
            LogState::Out => {
                let wanted = vec![(module.clone(), version.clone())];
                let admitted = appender::admit(&self.inner, wanted).await?;
                let admitted_here = !admitted.is_empty();
                if admitted_here {
                    let index = Arc::clone(self.index());
                    tokio::task::spawn_blocking(move || index.checksum_log().append(&admitted))
                        .await
                        .map_err(|_| ChecksumDbError::Task)??;
                }
                let now = self.log_state(module, version).await?;
                match after_admission(now, admitted_here) {
                    Ok(logged) => logged,
                    Err(Unlogged::Unchecked) => {
                        return Ok(OwnLookup::Unchecked(self.unchecked_reason(module, version)));
                    }
                    Err(Unlogged::Contradicted(conflict)) => {
                        return Ok(OwnLookup::Contradicted(conflict));
                    }
                    Err(Unlogged::NotFound) => return Ok(OwnLookup::NotFound),
                }
            }
        };
        let (_, head) = self.sign_latest().await?;
        let body = Bytes::from(Lookup::new(id, record, head).to_bytes());
        let key = (module.clone(), version.clone());
        self.inner.lookups.insert(key, body.clone());
        Ok(OwnLookup::Found(body))
    }

    /// Where `module@version` stands with the log.
    async fn log_state(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<LogState, ChecksumDbError> {
        let (index, m, v) = (Arc::clone(self.index()), module.clone(), version.clone());
        tokio::task::spawn_blocking(move || {
            let log = index.checksum_log();
            if let Some(id) = log.id_of(&m, &v)? {
                return match log.record(id)? {
                    Some(record) => Ok(LogState::Logged(id, record)),
                    None => Ok(LogState::NotWhole),
                };
            }
            if let Some(conflict) = log.public_conflict(&m, &v)? {
                return Ok(LogState::Contradicted(Box::new(conflict)));
            }
            match log.pinned_record(&m, &v) {
                Ok(_) => Ok(LogState::Out),
                Err(LogError::NotPinned(_) | LogError::NoZip(_)) => Ok(LogState::NotWhole),
                Err(err) => Err(err),
            }
        })
        .await
        .map_err(|_| ChecksumDbError::Task)?
        .map_err(ChecksumDbError::from)
    }

    fn unchecked_reason(&self, module: &ModulePath, version: &Version) -> String {
        self.inner
            .unchecked()
            .get(&(module.clone(), version.clone()))
            .cloned()
            .unwrap_or_else(|| String::from("not checked yet"))
    }

    /// The bytes of `tile` in the tree of the latest head (`/tile/…`); `None` when it is not
    /// part of that tree.
    pub async fn tile(&self, tile: Tile) -> Result<Option<Vec<u8>>, ChecksumDbError> {
        let (size, _) = self.sign_latest().await?;
        let index = Arc::clone(self.index());
        tokio::task::spawn_blocking(move || index.checksum_log().tile(&tile, size))
            .await
            .map_err(|_| ChecksumDbError::Task)?
            .map_err(ChecksumDbError::from)
    }
}

#[cfg(test)]
mod tests {
    use delos_pool_protocol::hash::H1Hash;

    use super::*;

    fn record() -> RecordText {
        let module = ModulePath::parse("example.org/hello.git").expect("a module path");
        let version = Version::parse("v1.0.0").expect("a version");
        let h1 = H1Hash::from_bytes([7; 32]);
        RecordText::go_sum(&module, &version, &h1, &h1)
    }

    #[test]
    fn a_version_logged_by_the_appender_meanwhile_is_answered_with_its_record() {
        let logged = after_admission(LogState::Logged(3, record()), false);
        assert!(matches!(logged, Ok((3, _))), "{logged:?}");
    }

    #[test]
    fn a_version_no_one_admitted_waits_for_its_check() {
        let unlogged = after_admission(LogState::Out, false);
        assert!(matches!(unlogged, Err(Unlogged::Unchecked)), "{unlogged:?}");
    }

    #[test]
    fn a_version_admitted_here_is_answered_once_logged() {
        assert!(after_admission(LogState::Logged(0, record()), true).is_ok());
        let gone = after_admission(LogState::NotWhole, true);
        assert!(matches!(gone, Err(Unlogged::NotFound)), "{gone:?}");
    }
}
