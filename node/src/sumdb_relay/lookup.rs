//! `lookup/<module>@<version>`: refused for private modules before anything leaves the node;
//! otherwise fetched, its head accepted and its record proved a leaf of that tree.

use axum::body::Bytes;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{GO_TILE_HEIGHT, Lookup, RecordText, TilePlan};
use delos_pool_protocol::version::Version;

use super::{DbState, LOOKUP_FRESH, Relay, RelayError};

/// The most bytes of a lookup answer (a record and a signed note with many cosignatures).
const MAX_LOOKUP_BYTES: usize = 256 << 10;

impl Relay {
    /// Answers a lookup: fresh from memory, else from the database once verified, else (the
    /// database unreachable) stale from memory.
    pub(super) async fn lookup(
        &self,
        db: &DbState,
        module: &ModulePath,
        version: &Version,
        escaped: String,
    ) -> Result<Bytes, RelayError> {
        if self.inner.private.matches(module.as_str()) {
            self.inner.stats.private_refused();
            return Err(RelayError::Private {
                module: module.as_str().to_owned(),
            });
        }
        let key = (db.id, escaped);
        let memo = self.inner.lookups.get(&key);
        if let Some((body, age)) = &memo
            && *age < LOOKUP_FRESH
        {
            self.inner.stats.cache_hit();
            return Ok(body.clone());
        }
        if db.db.is_pool_mirror()
            && let Some(body) = self.mirror_lookup(db, module, version).await?
        {
            let body = self.cosigned_lookup(&body).map_or(body, Bytes::from);
            self.inner.lookups.insert(key, body.clone());
            return Ok(body);
        }
        let path = format!("lookup/{}", key.1);
        match self
            .inner
            .upstream
            .get(&db.db, &path, MAX_LOOKUP_BYTES)
            .await
        {
            Ok(body) => {
                self.verify_lookup(db, module, version, &body).await?;
                let body = self.cosigned_lookup(&body).map_or(body, Bytes::from);
                self.inner.lookups.insert(key, body.clone());
                Ok(body)
            }
            Err(err) if err.is_not_found() => Err(RelayError::NotFound {
                database: db.name().to_owned(),
                what: format!("{module}@{version}"),
            }),
            Err(source) => match memo {
                Some((body, _)) => {
                    self.inner.stats.stale_served();
                    Ok(body)
                }
                None => Err(RelayError::Unavailable {
                    database: db.name().to_owned(),
                    source,
                }),
            },
        }
    }

    /// A verified lookup body with the witness's cosignature on its head.
    fn cosigned_lookup(&self, body: &[u8]) -> Option<Vec<u8>> {
        let lookup = Lookup::parse(body).ok()?;
        let head = self.cosigned(lookup.signed_head())?;
        Some(Lookup::new(lookup.id(), lookup.record().clone(), head).to_bytes())
    }

    /// Checks a lookup body: its head opens with the key and is accepted, its record is the
    /// asked module version's and is the leaf `id` of that tree.
    async fn verify_lookup(
        &self,
        db: &DbState,
        module: &ModulePath,
        version: &Version,
        body: &[u8],
    ) -> Result<(), RelayError> {
        let refuse = |e: &dyn std::fmt::Display| self.refuse(db, "lookup", e);
        let lookup = Lookup::parse(body).map_err(|e| refuse(&e))?;
        let signed = lookup.open(&db.verifiers).map_err(|e| refuse(&e))?;
        if !is_record_of(lookup.record(), module, version) {
            return Err(refuse(&format!(
                "the record is not that of {module}@{version}"
            )));
        }
        self.accept_head(db, signed.head(), lookup.signed_head())
            .await?;
        let plan = TilePlan::for_record(signed.head(), GO_TILE_HEIGHT, lookup.id())
            .map_err(|e| refuse(&e))?;
        let tiles = self.checked_tiles(db, plan, true).await?;
        tiles
            .check_record(lookup.id(), lookup.record())
            .map_err(|e| refuse(&e))
    }
}

/// Whether `record` has a line for `module version` (the zip's or the go.mod's).
fn is_record_of(record: &RecordText, module: &ModulePath, version: &Version) -> bool {
    let go_mod = format!("{}/go.mod", version.as_str());
    record
        .lines_for(module.as_str(), version.as_str())
        .next()
        .is_some()
        || record.lines_for(module.as_str(), &go_mod).next().is_some()
}
