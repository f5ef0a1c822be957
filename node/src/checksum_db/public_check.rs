//! Public versions are checked before they enter the log: their record must agree with the
//! proved record of a public checksum database the node relays (`--checksum-db-check`), so the
//! node's log never vouches for hashes the public ecosystem contradicts. Private modules are
//! never looked up there.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::sumdb::{Lookup, RecordText};
use delos_pool_protocol::version::Version;
use delos_registry_index::{Index, PublicConflict};

use super::ChecksumDbError;
use crate::sumdb_relay::{Relay, RelayError};

/// The check of public versions against one relayed public database.
#[derive(Debug, Clone)]
pub struct PublicCheck {
    relay: Relay,
    database: String,
    private: PrivatePatterns,
}

/// What the check says of one pinned version.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The public database records the same hashes, or the module is private: append it.
    Agrees,
    /// The public database records other hashes: keep the version out, with the evidence.
    Contradicted(Box<PublicConflict>),
    /// Not checked now (the database is unreachable, has no record, or sent what failed
    /// verification): the version waits and is checked again later.
    Unchecked {
        /// Why, for `/status` and the log.
        reason: String,
        /// The database could not be reached: later versions of a round need not be tried.
        unreachable: bool,
    },
}

impl PublicCheck {
    /// A check of public versions against `database`, one of the databases `relay` relays;
    /// modules matching `private` are never looked up.
    pub fn new(relay: Relay, database: String, private: PrivatePatterns) -> PublicCheck {
        PublicCheck {
            relay,
            database,
            private,
        }
    }

    /// The public database's name.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Checks the pinned `module@version` against the public database's proved record.
    pub(crate) async fn check(
        &self,
        index: &Arc<Index>,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Verdict, ChecksumDbError> {
        if self.private.matches(module.as_str()) {
            return Ok(Verdict::Agrees);
        }
        let lookup = match self
            .relay
            .proved_lookup(&self.database, module, version)
            .await
        {
            Ok(lookup) => lookup,
            Err(err) => {
                let unreachable = matches!(err, RelayError::Unavailable { .. });
                let reason = crate::error_chain::error_chain(&err);
                return Ok(Verdict::Unchecked {
                    reason,
                    unreachable,
                });
            }
        };
        let (index, m, v) = (Arc::clone(index), module.clone(), version.clone());
        let ours = tokio::task::spawn_blocking(move || index.checksum_log().pinned_record(&m, &v))
            .await
            .map_err(|_| ChecksumDbError::Task)??;
        let theirs = match Lookup::parse(&lookup) {
            Ok(parsed) => parsed.record().clone(),
            // The relay verified it; unreadable here would be a bug, not evidence.
            Err(err) => {
                return Ok(Verdict::Unchecked {
                    reason: format!("the verified lookup does not parse: {err}"),
                    unreachable: false,
                });
            }
        };
        if agrees(&ours, &theirs) {
            return Ok(Verdict::Agrees);
        }
        Ok(Verdict::Contradicted(Box::new(PublicConflict {
            module: module.clone(),
            version: version.clone(),
            database: self.database.clone(),
            lookup: lookup.to_vec(),
            found_at_unix_secs: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_secs()),
        })))
    }
}

/// Whether every line of `ours` (the zip's and the go.mod's `go.sum` lines) is a line of the
/// public record, as the `go` command checks a hash against a lookup.
fn agrees(ours: &RecordText, theirs: &RecordText) -> bool {
    ours.as_str()
        .lines()
        .all(|line| theirs.as_str().lines().any(|public| public == line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(text: &str) -> RecordText {
        RecordText::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn agreement_is_every_line_of_ours_in_theirs() {
        let ours = record("m v1.0.0 h1:a=\nm v1.0.0/go.mod h1:b=\n");
        assert!(agrees(&ours, &ours));
        assert!(agrees(
            &ours,
            &record("m v1.0.0 h1:a=\nm v1.0.0/go.mod h1:b=\nm v1.0.0 h2:c=\n")
        ));
        assert!(!agrees(
            &ours,
            &record("m v1.0.0 h1:x=\nm v1.0.0/go.mod h1:b=\n")
        ));
        assert!(!agrees(
            &ours,
            &record("m v1.0.0 h1:a=\nm v1.0.0/go.mod h1:x=\n")
        ));
        assert!(!agrees(&ours, &record("m v1.0.0 h1:a=\n")));
    }
}
