//! Versions kept out of the log because a public checksum database records other hashes for
//! them: the database's verified lookup answer is kept as evidence, and the log's writer
//! never appends a version that has one.

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;

use super::{ChecksumLog, LogError};
use crate::meta::{Commit, Write};
use crate::schema::{SUMDB_LOG_CONFLICTS, parse_version_key, version_key};

/// A pinned version whose hashes a public checksum database contradicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicConflict {
    /// The module.
    pub module: ModulePath,
    /// The version.
    pub version: Version,
    /// The public database's name.
    pub database: String,
    /// Its lookup answer for the version (record id, record, signed head), as the relay
    /// verified it: evidence anyone can check with the database's key.
    pub lookup: Vec<u8>,
    /// When the disagreement was found (Unix seconds).
    pub found_at_unix_secs: u64,
}

impl ChecksumLog<'_> {
    /// Keeps `conflict` (the first one found for a version stays); durable when this returns.
    /// Returns whether it is new.
    pub fn add_public_conflict(&self, conflict: &PublicConflict) -> Result<bool, LogError> {
        let meta = self.index.meta();
        let key = version_key(&conflict.module, &conflict.version);
        let value = encode(conflict);
        loop {
            if meta.get(SUMDB_LOG_CONFLICTS, &key)?.is_some() {
                return Ok(false);
            }
            let put = Write::new(SUMDB_LOG_CONFLICTS, &key, None, &value);
            if meta.commit(&[put])? == Commit::Done {
                meta.flush()?;
                return Ok(true);
            }
        }
    }

    /// The conflict kept for `module@version`, if any.
    pub fn public_conflict(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Option<PublicConflict>, LogError> {
        let key = version_key(module, version);
        match self.index.meta().get(SUMDB_LOG_CONFLICTS, &key)? {
            None => Ok(None),
            Some(value) => decode(&key, &value).map(Some),
        }
    }

    /// Whether `module@version` is kept out of the log by a conflict.
    pub(super) fn has_public_conflict(&self, key: &[u8]) -> Result<bool, LogError> {
        Ok(self.index.meta().get(SUMDB_LOG_CONFLICTS, key)?.is_some())
    }

    /// Every conflict kept, by module path and version.
    pub fn public_conflicts(&self) -> Result<Vec<PublicConflict>, LogError> {
        self.index
            .meta()
            .scan_prefix(SUMDB_LOG_CONFLICTS, &[])?
            .map(|pair| {
                let (key, value) = pair?;
                decode(&key, &value)
            })
            .collect()
    }
}

fn encode(conflict: &PublicConflict) -> Vec<u8> {
    let name = conflict.database.as_bytes();
    let len = u16::try_from(name.len()).unwrap_or(u16::MAX);
    let mut value = conflict.found_at_unix_secs.to_be_bytes().to_vec();
    value.extend_from_slice(&len.to_be_bytes());
    value.extend_from_slice(&name[..usize::from(len)]);
    value.extend_from_slice(&conflict.lookup);
    value
}

fn decode(key: &[u8], value: &[u8]) -> Result<PublicConflict, LogError> {
    let corrupt = || LogError::Corrupt {
        tree: SUMDB_LOG_CONFLICTS.as_str(),
        key: String::from_utf8_lossy(key).into_owned(),
    };
    let (module, version) = parse_version_key(key).map_err(|_| corrupt())?;
    let (found_at, rest) = value.split_first_chunk::<8>().ok_or_else(corrupt)?;
    let (len, rest) = rest.split_first_chunk::<2>().ok_or_else(corrupt)?;
    let len = usize::from(u16::from_be_bytes(*len));
    let (name, lookup) = (rest.get(..len).ok_or_else(corrupt)?, &rest[len..]);
    Ok(PublicConflict {
        module,
        version,
        database: String::from_utf8(name.to_vec()).map_err(|_| corrupt())?,
        lookup: lookup.to_vec(),
        found_at_unix_secs: u64::from_be_bytes(*found_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Index;

    fn conflict(version: &str) -> PublicConflict {
        PublicConflict {
            module: ModulePath::parse("example.org/m").unwrap(),
            version: Version::parse(version).unwrap(),
            database: String::from("sum.golang.org"),
            lookup: b"7\nexample.org/m v1.0.0 h1:x\n\nnote".to_vec(),
            found_at_unix_secs: 1_767_225_600,
        }
    }

    #[test]
    fn a_conflict_is_kept_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let log = index.checksum_log();
        let first = conflict("v1.0.0");
        assert!(log.add_public_conflict(&first).unwrap());
        let mut later = first.clone();
        later.found_at_unix_secs += 60;
        assert!(!log.add_public_conflict(&later).unwrap(), "the first stays");
        assert_eq!(
            log.public_conflict(&first.module, &first.version).unwrap(),
            Some(first.clone())
        );
        let other = conflict("v1.1.0");
        log.add_public_conflict(&other).unwrap();
        assert_eq!(log.public_conflicts().unwrap(), vec![first, other]);
        let absent = Version::parse("v2.0.0").unwrap();
        assert_eq!(
            log.public_conflict(&ModulePath::parse("example.org/m").unwrap(), &absent)
                .unwrap(),
            None
        );
    }
}
