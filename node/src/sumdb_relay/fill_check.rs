//! [`FillCheck`]: the relay as the checksum database the fill path checks an upstream proxy's
//! bytes against. A record comes through the relay's own lookup: its signed head verified and
//! accepted, the record proved a leaf of that tree, and cached like any lookup.

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::{Lookup, RecordText};
use delos_pool_protocol::version::Version;
use futures::future::BoxFuture;

use super::workers::named_database;
use super::{Relay, RelayError};
use crate::error_chain::error_chain;
use crate::fetch::{SumCheck, SumCheckError};

/// One relayed database, as the fill path's `SumCheck`: what upstream proxies send is
/// checked against its verified records.
#[derive(Debug, Clone)]
pub struct FillCheck {
    relay: Relay,
    db: usize,
}

impl Relay {
    /// The check of upstream fills against the database `gosumdb` (a `--gosumdb` value) names,
    /// when this relay serves it (matched by verifier key; the relay's own URL for it is used);
    /// `None` for `off` and for a database the relay does not serve.
    pub fn fill_check(&self, gosumdb: &str) -> Option<FillCheck> {
        let wanted = named_database(gosumdb)?;
        let db = self
            .inner
            .databases
            .iter()
            .position(|state| state.db.verifier() == wanted.verifier())?;
        Some(FillCheck {
            relay: self.clone(),
            db,
        })
    }
}

impl SumCheck for FillCheck {
    fn record<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Result<RecordText, SumCheckError>> {
        Box::pin(async move {
            let Some(db) = self.relay.inner.databases.get(self.db) else {
                return Err(SumCheckError::Failed(String::from("no such database")));
            };
            let escaped = format!("{}@{}", module.escape(), version.escape());
            match self.relay.lookup(db, module, version, escaped).await {
                Ok(body) => Lookup::parse(&body)
                    .map(|lookup| lookup.record().clone())
                    .map_err(|err| SumCheckError::Failed(err.to_string())),
                Err(err @ RelayError::NotFound { .. }) => {
                    Err(SumCheckError::Absent(err.to_string()))
                }
                Err(err) => Err(SumCheckError::Failed(error_chain(&err))),
            }
        })
    }
}
