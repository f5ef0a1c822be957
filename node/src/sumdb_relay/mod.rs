//! The checksum-database relay behind `/sumdb/<name>/…`: `go` clients whose network reaches
//! only this node verify modules through it, and the node's own fill workers do too.
//!
//! Nothing fetched is served or cached before it is verified:
//! 1. a signed tree head must open with the database's key ([`SignedTreeHead::open`]) and be
//!    consistent with the newest head the relay has verified, proved from tiles; a head of the
//!    same size with another hash, or a failed proof, is a fork: both notes are kept as
//!    evidence in the store, logged once, and counted (`/status`, `/metrics`);
//! 2. a lookup's record must be a leaf of its (accepted) tree, proved from tiles, and be the
//!    record of the module version asked for;
//! 3. a tile's bytes must check against an accepted tree.
//!
//! Full tiles (data tiles too) are kept in the store for good ([`delos_registry_index::sumdb_cache`]);
//! partial tiles, lookups and the latest head are kept in bounded memory and served stale while
//! the database is unreachable. Lookups of private modules are refused before anything leaves
//! the node. Upstream order: each `--upstream` proxy that answers `supported`, then the
//! database itself, all through the node's one [`HttpClient`].

mod database;
mod error;
mod fill_check;
mod heads;
mod lookup;
mod memo;
mod mirror;
pub mod request;
mod tiles;
mod upstream;
mod workers;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::private::PrivatePatterns;
use delos_pool_protocol::sumdb::{Note, NoteError, SignedTreeHead, SignerKey, TreeHead, Verifiers};
use delos_pool_protocol::version::Version;
use delos_registry_index::{Index, SumdbFork};

pub use database::{Database, DatabaseProblem, InvalidDatabase, SUM_GOLANG_ORG_KEY};
pub use error::RelayError;
pub use fill_check::FillCheck;
pub(crate) use memo::Memo;
pub use mirror::MirrorSync;
pub use request::{Endpoint, RelayRequest, RequestError};
pub use upstream::{PoolLogError, PoolLogs, UpstreamError};
pub use workers::workers_gosumdb;

use self::upstream::Upstream;
use crate::forked_logs::ForkedLogs;
use crate::http_client::HttpClient;
use crate::telemetry::SumdbStats;

/// A lookup answer younger than this is served without asking the database.
const LOOKUP_FRESH: Duration = Duration::from_secs(300);
/// A latest head younger than this is served without asking the database.
const LATEST_FRESH: Duration = Duration::from_secs(10);
/// Lookups kept in memory, and their bytes in all.
const LOOKUP_ENTRIES: usize = 16_384;
const LOOKUP_BYTES: usize = 32 << 20;
/// Verified tiles kept in memory (partial tiles, and full ones in front of the store).
const TILE_ENTRIES: usize = 8192;
const TILE_BYTES: usize = 64 << 20;

/// The `text/plain` content type of lookups, heads and data tiles, as Go's server sends it.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=UTF-8";
/// The content type of hash tiles.
pub const BINARY_CONTENT_TYPE: &str = "application/octet-stream";

/// A relay answer: the bytes and their content type.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The body.
    pub body: Bytes,
    /// Its content type.
    pub content_type: &'static str,
}

/// The relay, as a cloneable handle.
#[derive(Debug, Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    databases: Vec<DbState>,
    upstream: Upstream,
    index: Arc<Index>,
    private: PrivatePatterns,
    stats: SumdbStats,
    lookups: Memo<(usize, String)>,
    tiles: Memo<(usize, String)>,
    latest: Memo<usize>,
    forked: Arc<ForkedLogs>,
    /// The node's witness key: every head the relay verified is served with its cosignature.
    witness: Option<SignerKey>,
}

/// One database and what the relay has verified of it.
#[derive(Debug)]
struct DbState {
    id: usize,
    db: Database,
    verifiers: Verifiers,
    /// The verifier key's text, as fork evidence names the log.
    verifier_text: String,
    /// The newest head verified (a copy of the store's).
    newest: Mutex<Option<Head>>,
    /// Held while the newest head moves, so two moves do not race.
    advancing: tokio::sync::Mutex<()>,
}

/// A verified tree head and its signed note as received.
#[derive(Debug, Clone)]
struct Head {
    tree: TreeHead,
    note: Bytes,
}

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayStartError {
    /// A database's key set is invalid.
    #[error("the verifier key of checksum database {database}")]
    Key {
        /// The database.
        database: String,
        /// Why.
        #[source]
        source: NoteError,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] delos_registry_index::SumdbCacheError),
}

impl Relay {
    /// A relay of `databases`, fetching with `client` through the proxies of the GOPROXY list
    /// `upstream`, caching in `index`, refusing lookups of `private` modules and every request
    /// of a database whose log `forked` names. Reads the newest
    /// heads from the store: call from a blocking context.
    pub fn new(
        databases: Vec<Database>,
        client: HttpClient,
        upstream: &str,
        index: Arc<Index>,
        private: PrivatePatterns,
        stats: SumdbStats,
        forked: Arc<ForkedLogs>,
    ) -> Result<Relay, RelayStartError> {
        let mut states = Vec::with_capacity(databases.len());
        for (id, db) in databases.into_iter().enumerate() {
            states.push(DbState::load(id, db, &index)?);
        }
        stats.set_forks(index.sumdb_cache().forks()?.len() as u64);
        Ok(Relay {
            inner: Arc::new(Inner {
                databases: states,
                upstream: Upstream::new(client, upstream, stats.clone()),
                index,
                private,
                stats,
                lookups: Memo::new(LOOKUP_ENTRIES, LOOKUP_BYTES),
                tiles: Memo::new(TILE_ENTRIES, TILE_BYTES),
                latest: Memo::new(64, 1 << 20),
                forked,
                witness: None,
            }),
        })
    }

    /// Cosigns every head this relay verified with `witness` (an extra signature line, which
    /// the `go` command ignores), so clients and auditors see which nodes vouch for which
    /// size. Call before the relay is cloned; a shared relay is left as it is.
    pub fn with_witness(mut self, witness: SignerKey) -> Relay {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.witness = Some(witness);
        }
        self
    }

    /// `note` (a signed head the relay verified) with the witness's cosignature added.
    fn cosigned(&self, note: &[u8]) -> Option<Vec<u8>> {
        let witness = self.inner.witness.as_ref()?;
        let parsed = Note::parse(note).ok()?;
        Some(parsed.sign(witness).to_bytes())
    }

    /// The configured databases' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.inner.databases.iter().map(|state| state.db.name())
    }

    /// Answers `path`, the raw URL path after `/sumdb/`.
    pub async fn serve(&self, path: &str) -> Result<Answer, RelayError> {
        let request = RelayRequest::parse(path, self.names())?;
        let db = &self.inner.databases[request.database];
        self.believed(db)?;
        let text = |body| Answer {
            body,
            content_type: TEXT_CONTENT_TYPE,
        };
        let answer = match request.endpoint {
            Endpoint::Supported => Ok(text(Bytes::new())),
            Endpoint::Latest => self.latest(db).await.map(text),
            Endpoint::Lookup {
                module,
                version,
                escaped,
            } => self.lookup(db, &module, &version, escaped).await.map(text),
            Endpoint::Tile(tile) => self.tile(db, tile).await,
        };
        if answer.is_ok() {
            self.inner.stats.served();
        }
        answer
    }

    /// The lookup answer for `module@version` of the relayed database named `database`,
    /// verified as for a client (its head accepted, its record proved in that tree), or from
    /// the relay's memory while fresh. Private modules are refused, as in a client's lookup.
    pub async fn proved_lookup(
        &self,
        database: &str,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Bytes, RelayError> {
        let db = self
            .inner
            .databases
            .iter()
            .find(|db| db.name() == database)
            .ok_or_else(|| RequestError::UnknownDatabase {
                path: database.to_owned(),
            })?;
        self.believed(db)?;
        let escaped = format!("{}@{}", module.escape(), version.escape());
        self.lookup(db, module, version, escaped).await
    }

    /// Refuses a database whose log pool members proved forked.
    fn believed(&self, db: &DbState) -> Result<(), RelayError> {
        if self.inner.forked.contains(&db.verifier_text) {
            return Err(RelayError::Distrusted {
                database: db.name().to_owned(),
            });
        }
        Ok(())
    }

    /// Every fork kept as evidence (reads the store: call from a blocking context).
    pub fn forks(&self) -> Result<Vec<SumdbFork>, RelayError> {
        Ok(self.inner.index.sumdb_cache().forks()?)
    }

    /// Counts and logs a refusal of what the database sent; the error to answer with.
    fn refuse(
        &self,
        db: &DbState,
        what: &'static str,
        reason: impl std::fmt::Display,
    ) -> RelayError {
        self.inner.stats.refused();
        tracing::warn!(database = db.name(), what, %reason, "refused what the checksum database sent");
        db.refused(what, reason)
    }

    /// Runs a store operation on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Index) -> Result<T, delos_registry_index::SumdbCacheError> + Send + 'static,
    ) -> Result<T, RelayError> {
        let index = Arc::clone(&self.inner.index);
        Ok(tokio::task::spawn_blocking(move || op(&index)).await??)
    }
}

impl DbState {
    fn load(id: usize, db: Database, index: &Index) -> Result<DbState, RelayStartError> {
        let verifiers =
            Verifiers::new([db.verifier().clone()]).map_err(|source| RelayStartError::Key {
                database: db.name().to_owned(),
                source,
            })?;
        let stored = index.sumdb_cache().newest_head(db.name())?;
        // A stored head was verified when stored; one that no longer opens (the key was
        // changed under the same name) is not trusted, and the timeline starts over.
        let newest = stored.and_then(|note| {
            let signed = SignedTreeHead::open(&note, &verifiers).ok()?;
            Some(Head {
                tree: signed.head(),
                note: Bytes::from(note),
            })
        });
        Ok(DbState {
            id,
            verifier_text: db.verifier().to_string(),
            db,
            verifiers,
            newest: Mutex::new(newest),
            advancing: tokio::sync::Mutex::new(()),
        })
    }

    fn newest(&self) -> Option<Head> {
        self.newest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_newest(&self, head: Head) {
        *self.newest.lock().unwrap_or_else(|p| p.into_inner()) = Some(head);
    }

    fn name(&self) -> &str {
        self.db.name()
    }

    fn refused(&self, what: &'static str, reason: impl std::fmt::Display) -> RelayError {
        RelayError::Refused {
            database: self.name().to_owned(),
            what,
            reason: reason.to_string(),
        }
    }
}
