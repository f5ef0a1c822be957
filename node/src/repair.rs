//! Re-checking `.mod`-only pins against the VCS, and the operator's repair of a poisoned one.
//!
//! Before the fill path's cross-checks (see `docs/architecture.md`, "What a VCS fill may pin"),
//! a `go` that read a damaged VCS clone could make a node pin a `.mod`-only version with the
//! synthesized `module <path>` as its `.mod`, sign it and serve it forever. [`verify_mod_only`]
//! fills every `.mod`-only version afresh from the VCS (pinning nothing) and reports those whose
//! VCS now yields a full version with another `go.mod`. [`repin`] replaces one such entry: the
//! fresh fill is validated like any fill, the node signs a record of it, and the store swaps the
//! entry and the node's record in one commit, keeping the old record as conflict evidence
//! (`delos_registry_index::Index::repin_mod_only`). It is the one exception to "pinned
//! forever", and only an operator's command makes it.

use std::sync::Arc;

use delos_pool_protocol::hash::H1Hash;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use delos_registry_index::{Index, IndexError, RepinError, Repinned, Sharing};
use futures::StreamExt as _;

use crate::fetch::{FetchError, Fetcher};
use crate::provenance::{OwnRecords, ProvenanceError};

/// How many versions [`verify_mod_only`] re-fills at once (the worker pool bounds `go` too).
const CONCURRENT_CHECKS: usize = 4;

/// What re-filling one `.mod`-only version showed, when it is not simply the same again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The VCS yields a full version whose `go.mod` differs from the pinned `.mod`: the pin is
    /// wrong, and [`repin`] can replace it.
    Poisoned {
        /// The module.
        module: ModulePath,
        /// The version.
        version: Version,
        /// The pinned `.mod`'s `h1:`.
        pinned: H1Hash,
        /// The `h1:` of the `go.mod` the VCS yields now.
        from_vcs: H1Hash,
    },
    /// The VCS yields the whole version with the pinned `.mod`: the next request for the zip
    /// completes the entry; nothing is wrong.
    Completable {
        /// The module.
        module: ModulePath,
        /// The version.
        version: Version,
    },
    /// The VCS yields no zip and another `.mod` (nothing to repin with; look into it).
    ModDiffers {
        /// The module.
        module: ModulePath,
        /// The version.
        version: Version,
    },
    /// The version could not be filled again (no VCS route, a failing fill).
    Unchecked {
        /// The module.
        module: ModulePath,
        /// The version.
        version: Version,
        /// Why, in one line.
        reason: String,
    },
}

impl Finding {
    /// Whether an operator must act on it.
    pub fn needs_operator(&self) -> bool {
        matches!(self, Self::Poisoned { .. } | Self::ModDiffers { .. })
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Poisoned {
                module,
                version,
                pinned,
                from_vcs,
            } => write!(
                f,
                "{module}@{version}: POISONED: pinned .mod-only with go.mod {pinned}, the VCS now \
                 yields the whole version with go.mod {from_vcs}; replace it with `delos repin \
                 {module}@{version}`"
            ),
            Self::Completable { module, version } => write!(
                f,
                "{module}@{version}: the VCS now yields its zip with the pinned .mod; the next \
                 request completes it"
            ),
            Self::ModDiffers { module, version } => write!(
                f,
                "{module}@{version}: the VCS yields another .mod and still no zip; check the \
                 repository"
            ),
            Self::Unchecked {
                module,
                version,
                reason,
            } => write!(f, "{module}@{version}: not checked: {reason}"),
        }
    }
}

/// What [`verify_mod_only`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// How many `.mod`-only versions were re-filled.
    pub checked: usize,
    /// Every version that is not simply the same again.
    pub findings: Vec<Finding>,
}

/// Why a check or a repair failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepairError {
    /// Reading the store failed.
    #[error("reading the store")]
    Store(#[from] IndexError),
    /// The fresh fill failed.
    #[error("filling {0} again from the VCS")]
    Fill(String, #[source] FetchError),
    /// The version is not something [`repin`] replaces.
    #[error("{0}")]
    NotPoisoned(String),
    /// Signing the node's record of the replacement failed.
    #[error("signing the record of the replacement")]
    Sign(#[from] ProvenanceError),
    /// The store refused the replacement.
    #[error("replacing the pinned entry")]
    Repin(#[from] RepinError),
    /// A blocking task ended abnormally.
    #[error("a store task ended abnormally")]
    Task,
}

/// Re-fills every `.mod`-only version from the VCS (pinning nothing) and reports what differs.
pub async fn verify_mod_only(fetcher: &Fetcher) -> Result<VerifyReport, RepairError> {
    let pins = mod_only_pins(fetcher.index()).await?;
    let checked = pins.len();
    let findings = futures::stream::iter(pins)
        .map(|(module, version, pinned)| check_one(fetcher, module, version, pinned))
        .buffer_unordered(CONCURRENT_CHECKS)
        .filter_map(|finding| async move { finding })
        .collect()
        .await;
    Ok(VerifyReport { checked, findings })
}

/// Every `.mod`-only pin, with its `.mod`'s `h1:`.
async fn mod_only_pins(
    index: &Arc<Index>,
) -> Result<Vec<(ModulePath, Version, H1Hash)>, RepairError> {
    let index = Arc::clone(index);
    tokio::task::spawn_blocking(move || {
        let mut pins = Vec::new();
        for listed in index.iter()? {
            let (module, version, entry) = listed?;
            if !entry.is_full() {
                pins.push((module, version, *entry.go_mod().h1()));
            }
        }
        Ok(pins)
    })
    .await
    .map_err(|_| RepairError::Task)?
}

async fn check_one(
    fetcher: &Fetcher,
    module: ModulePath,
    version: Version,
    pinned: H1Hash,
) -> Option<Finding> {
    let produced = match fetcher.produce_from_vcs(&module, &version).await {
        Ok(produced) => produced,
        Err(err) => {
            let reason = crate::error_chain::error_chain(&err);
            return Some(Finding::Unchecked {
                module,
                version,
                reason,
            });
        }
    };
    let from_vcs = *produced.entry.go_mod().h1();
    match (produced.entry.is_full(), from_vcs == pinned) {
        (true, false) => Some(Finding::Poisoned {
            module,
            version,
            pinned,
            from_vcs,
        }),
        (true, true) => Some(Finding::Completable { module, version }),
        (false, false) => Some(Finding::ModDiffers { module, version }),
        (false, true) => None,
    }
}

/// Replaces the poisoned `.mod`-only pin of `module@version` with a fresh, validated VCS fill,
/// signs the node's record of it (with `own`) and keeps the old record as evidence.
pub async fn repin(
    fetcher: &Fetcher,
    own: &OwnRecords,
    module: &ModulePath,
    version: &Version,
) -> Result<Repinned, RepairError> {
    let at = format!("{module}@{version}");
    let produced = fetcher
        .produce_from_vcs(module, version)
        .await
        .map_err(|err| RepairError::Fill(at.clone(), err))?;
    if !produced.entry.is_full() {
        let reason = produced.zip_problem.unwrap_or_default();
        return Err(RepairError::NotPoisoned(format!(
            "{at}: the VCS still yields no zip ({reason}); nothing to replace it with"
        )));
    }
    let source = own.vcs_source(produced.origin.as_ref());
    let record = own.sign(module, version, &produced.entry, source)?;
    let sharing = match fetcher.is_private(module) {
        true => Sharing::Private,
        false => Sharing::Public,
    };
    let (index, module, version) = (Arc::clone(fetcher.index()), module.clone(), version.clone());
    let entry = produced.entry;
    let repinned = tokio::task::spawn_blocking(move || {
        index.repin_mod_only(&module, &version, &entry, &record, sharing)
    })
    .await
    .map_err(|_| RepairError::Task)??;
    tracing::warn!("{at}: the operator replaced the .mod-only pin; the old record is evidence");
    Ok(repinned)
}
