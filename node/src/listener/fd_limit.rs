//! Raises the process's soft limit on open files to its hard limit at start, as the Go
//! runtime does: every HTTP connection, stored blob read, pool stream and `go` child needs a
//! descriptor, and the usual soft limit of 1024 is far below what `max_connections` allows.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Descriptors kept for everything that is not an HTTP connection (store, pool, children).
const RESERVED_DESCRIPTORS: u64 = 512;

/// Raises the soft open-file limit to the hard one, and warns when `max_connections` HTTP
/// connections would not fit under it beside the node's other descriptors.
pub fn raise_file_limit(max_connections: usize) {
    let soft = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(err) => {
                tracing::warn!(error = %err, soft, hard, "could not raise the open-file limit");
                soft
            }
        },
        Ok((soft, _)) => soft,
        Err(err) => {
            tracing::warn!(error = %err, "could not read the open-file limit");
            return;
        }
    };
    let wanted = (max_connections as u64).saturating_add(RESERVED_DESCRIPTORS);
    if soft < wanted {
        tracing::warn!(
            limit = soft,
            max_connections,
            "the open-file limit is below max_connections plus {RESERVED_DESCRIPTORS}: the \
             node may run out of descriptors before it refuses connections; raise the limit \
             (LimitNOFILE=, ulimit -n) or lower --max-connections"
        );
    }
}
