//! What can go wrong in the blob store, naming the blob or file involved.

use std::io;
use std::path::PathBuf;

use delos_pool_protocol::hash::Sha256;

/// An error from [`BlobStore`](super::BlobStore).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// Reading the caller's input failed; nothing was stored.
    #[error("reading the blob input failed")]
    ReadInput(#[source] io::Error),
    /// The input was longer than the limit the caller set; nothing was stored.
    #[error("blob input exceeds the limit of {max_bytes} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        max_bytes: u64,
    },
    /// No blob with this sha256 is stored.
    #[error("blob sha256:{} is not stored", .0.to_hex())]
    MissingBlob(Sha256),
    /// The stored file no longer hashes to its name. It was moved aside (`<hex>.corrupt`) and
    /// the blob now counts as missing, so it can be stored again.
    #[error("blob sha256:{} is corrupt on disk and was quarantined", .0.to_hex())]
    CorruptBlob(Sha256),
    /// A filesystem operation on a store file or directory failed.
    #[error("blob store I/O on {path}")]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl BlobError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
