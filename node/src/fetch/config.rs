//! [`FetchConfig`]: how the fill path runs the `go` command and how long answers are cached.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use delos_pool_protocol::private::PrivatePatterns;

/// Settings of a [`Fetcher`](super::Fetcher), built by the node from its validated config.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchConfig {
    /// The `GOPROXY` value the `go` workers use (`direct`, or a proxy URL list).
    pub upstream: String,
    /// How many `go` processes may run at once.
    pub workers: usize,
    /// Wall-clock limit of one `go` process; past it, its whole process group is killed.
    pub timeout: Duration,
    /// How long a `list`, `@latest` or query answer from the VCS is served before it is
    /// refreshed (stale answers are still served while the refresh runs).
    pub list_ttl: Duration,
    /// How long a "not found" answer from the VCS is remembered, so probes are answered fast.
    pub negative_ttl: Duration,
    /// Serve only what is stored; never start `go`.
    pub offline: bool,
    /// The `GOSUMDB` value the `go` workers use (`sum.golang.org`, `off`, ...).
    pub gosumdb: String,
    /// The node's private modules, parsed once (passed as `GOPRIVATE` and `GONOSUMDB`).
    pub private: PrivatePatterns,
    /// A directory owned by the node for the workers' GOPATH, module cache and build cache.
    pub work_dir: PathBuf,
    /// The most fills (and VCS queries) that may be pending at once; more are refused.
    pub max_pending: usize,
    /// Variables passed to `go` besides the fixed ones (`HOME`, `PATH`, `GIT_CONFIG_GLOBAL`,
    /// `SSH_AUTH_SOCK`, `NETRC`, proxy and TLS settings): by default, those of the node's own
    /// environment, so private VCS credentials work.
    pub pass_env: Vec<(OsString, OsString)>,
}

impl FetchConfig {
    /// The defaults (`direct`, 4 workers, 5 min timeout, 1 min list TTL, `sum.golang.org`),
    /// working in `work_dir`.
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        Self {
            upstream: String::from("direct"),
            workers: 4,
            timeout: Duration::from_secs(300),
            list_ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(10),
            offline: false,
            gosumdb: String::from("sum.golang.org"),
            private: PrivatePatterns::default(),
            work_dir: work_dir.into(),
            max_pending: 1024,
            pass_env: inherited_env(),
        }
    }
}

/// Variables taken from the node's own environment when set: what git, ssh and the network
/// stack need to reach private repositories and proxies.
const PASS_THROUGH: &[&str] = &[
    "HOME",
    "PATH",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_NOSYSTEM",
    "SSH_AUTH_SOCK",
    "NETRC",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// The [`PASS_THROUGH`] variables that are set in this process.
fn inherited_env() -> Vec<(OsString, OsString)> {
    PASS_THROUGH
        .iter()
        .filter_map(|key| Some((OsString::from(key), std::env::var_os(key)?)))
        .collect()
}
