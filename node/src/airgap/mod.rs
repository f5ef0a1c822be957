//! Air gap and upkeep of a stopped node's store: [`import`] loads a Go module cache
//! (`$GOMODCACHE/cache/download`) or a GOPROXY file tree, every version checked as a fill from
//! a peer is; [`export`] writes the store as a GOPROXY file tree another site can import or
//! serve; [`verify_blobs`] re-hashes every stored blob and moves corrupt ones aside.
//!
//! All of it is blocking and runs while the node is stopped (the store's lock says so).

pub mod export;
pub mod import;
mod progress;
mod source_tree;
pub mod verify_blobs;

pub use progress::Progress;
pub use source_tree::{FoundVersion, SourceTreeError, find_versions};
