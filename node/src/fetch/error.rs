//! [`FetchError`]: why a module version, list or query could not be answered.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::module_path::ModulePath;
use delos_registry_index::{BlobError, IndexError};

/// An error of the [`Fetcher`](super::Fetcher), naming the module and version or query.
///
/// [`FetchError::is_not_found`] tells the HTTP layer which errors are "this node cannot serve
/// it" (404, so `GOPROXY=node,direct` falls through) and which are real faults (5xx).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The version or query does not exist, is invalid, or `go` could not produce it.
    #[error("{module}@{query}: {reason}")]
    NotFound {
        /// The module.
        module: ModulePath,
        /// The version or query as requested (`list` and `latest` for those requests).
        query: String,
        /// Why, in one line (usually `go`'s own error).
        reason: String,
    },
    /// The `.info` and `.mod` exist but the zip cannot be built (needs a newer Go, too large).
    #[error("{module}@{version}: zip unavailable: {reason}")]
    ZipUnavailable {
        /// The module.
        module: ModulePath,
        /// The canonical version.
        version: String,
        /// Why, in one line.
        reason: String,
    },
    /// Not stored, and the node is offline.
    #[error("{module}@{query}: not stored on this node (offline)")]
    Offline {
        /// The module.
        module: ModulePath,
        /// The version or query as requested.
        query: String,
    },
    /// `go` did not finish within the fetch timeout; its process group was killed.
    #[error("{module}@{query}: the fetch timed out after {timeout:?}")]
    TimedOut {
        /// The module.
        module: ModulePath,
        /// The version or query as requested.
        query: String,
        /// The limit that was reached.
        timeout: Duration,
    },
    /// An upstream proxy failed (a 5xx, no answer) or sent bytes that fail a check; nothing
    /// was pinned. Under the GOPROXY list rules this is an error, not "not found".
    #[error("{module}@{query}: {reason}")]
    Upstream {
        /// The module.
        module: ModulePath,
        /// The version or query as requested.
        query: String,
        /// Which proxy, and what went wrong, in one line.
        reason: String,
    },
    /// Too many fills are pending; the request was not queued.
    #[error("too many fetches pending ({limit})")]
    Overloaded {
        /// The limit of pending fetches.
        limit: usize,
    },
    /// The index failed.
    #[error("store failed")]
    Store(#[from] IndexError),
    /// The blob store failed.
    #[error("blob store failed")]
    Blob(#[from] BlobError),
    /// Reading a file `go` wrote, or preparing the work directory, failed.
    #[error("I/O on the fetch work area failed")]
    WorkArea(#[source] io::Error),
    /// The `go` command could not be started.
    #[error("starting the go command failed")]
    Spawn(#[source] io::Error),
    /// A fetch task panicked or was cancelled.
    #[error("a fetch task ended abnormally")]
    TaskFailed,
    /// The same error, shared by every request that waited for one fill.
    #[error(transparent)]
    Shared(Arc<FetchError>),
}

impl FetchError {
    /// Whether this means "this node cannot serve it" (answer 404) rather than a fault (5xx).
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::NotFound { .. }
            | Self::ZipUnavailable { .. }
            | Self::Offline { .. }
            | Self::TimedOut { .. } => true,
            Self::Shared(inner) => inner.is_not_found(),
            _ => false,
        }
    }

    /// Whether the upstream answered that the thing does not exist (not a timeout, not the
    /// node offline): an answer worth caching like a positive one.
    pub(crate) fn is_answer_not_found(&self) -> bool {
        match self {
            Self::NotFound { .. } => true,
            Self::Shared(inner) => inner.is_answer_not_found(),
            _ => false,
        }
    }

    /// Whether the node refused the work for load (answer 503 with `Retry-After`).
    pub fn is_overloaded(&self) -> bool {
        match self {
            Self::Overloaded { .. } => true,
            Self::Shared(inner) => inner.is_overloaded(),
            _ => false,
        }
    }

    /// Whether an upstream proxy failed (answer 502: the node is a gateway to it).
    pub fn is_upstream(&self) -> bool {
        match self {
            Self::Upstream { .. } => true,
            Self::Shared(inner) => inner.is_upstream(),
            _ => false,
        }
    }

    /// A "not found" error with a one-line reason.
    pub(crate) fn not_found(module: &ModulePath, query: &str, reason: impl AsRef<str>) -> Self {
        Self::NotFound {
            module: module.clone(),
            query: query.to_owned(),
            reason: one_line(reason.as_ref()),
        }
    }

    /// Unwraps a shared error where this is the last holder.
    pub(crate) fn from_shared(shared: Arc<FetchError>) -> Self {
        Arc::try_unwrap(shared).unwrap_or_else(Self::Shared)
    }
}

/// Joins the non-empty lines of `text` with `; ` and caps the length, so the HTTP layer can
/// show it as one line.
pub(crate) fn one_line(text: &str) -> String {
    const MAX_CHARS: usize = 500;
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    joined.chars().take(MAX_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_one_line_and_classes_are_right() -> Result<(), Box<dyn std::error::Error>> {
        let module = ModulePath::parse("example.org/m.git")?;
        let err = FetchError::not_found(&module, "v1.0.0", "first\n\n  second  \n");
        assert_eq!(err.to_string(), "example.org/m.git@v1.0.0: first; second");
        assert!(err.is_not_found());
        assert!(FetchError::from_shared(Arc::new(err)).is_not_found());
        let shared = Arc::new(FetchError::TaskFailed);
        let kept = Arc::clone(&shared);
        assert!(matches!(
            FetchError::from_shared(shared),
            FetchError::Shared(_)
        ));
        assert!(!kept.is_not_found());
        assert!(!FetchError::Overloaded { limit: 1 }.is_not_found());
        assert_eq!(one_line(&"x".repeat(600)).len(), 500);
        Ok(())
    }
}
