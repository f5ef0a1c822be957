//! Hosts known not to resolve: once a fill or query failed because its module's host has no
//! DNS name (`go` says "no such host"), every further miss under that host is answered "not
//! found" at once for the negative cache's lifetime, without starting `go`. A flood of misses
//! for random paths under such a host then costs one `go` run, not one per path.

use delos_pool_protocol::module_path::ModulePath;

use super::ttl_cache::TtlCache;

/// What `go` prints when a host's name does not resolve.
const NO_SUCH_HOST: &str = "no such host";

/// Hosts that did not resolve recently, with the failure that showed it.
#[derive(Debug)]
pub(crate) struct AbsentHosts(TtlCache<String, String>);

impl AbsentHosts {
    /// Remembering each host for `ttl`, at most `capacity` hosts.
    pub(crate) fn new(ttl: std::time::Duration, capacity: usize) -> AbsentHosts {
        AbsentHosts(TtlCache::new(ttl, capacity))
    }

    /// Why `module`'s host is known not to resolve, if it is.
    pub(crate) fn reason(&self, module: &ModulePath) -> Option<String> {
        let host = host_of(module);
        self.0
            .get_fresh(&host.to_owned())
            .map(|reason| format!("host {host} does not resolve (seen just now: {reason})"))
    }

    /// Remembers `module`'s host when `reason` (a failed fill's or query's) says it does not
    /// resolve.
    pub(crate) fn learn(&self, module: &ModulePath, reason: &str) {
        if reason.contains(NO_SUCH_HOST) {
            let cut: String = reason.chars().take(300).collect();
            self.0.put(host_of(module).to_owned(), cut);
        }
    }
}

/// The host of a module path: its first element.
fn host_of(module: &ModulePath) -> &str {
    module.as_str().split('/').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_host_that_did_not_resolve_answers_every_path_under_it() {
        let absent = AbsentHosts::new(Duration::from_secs(60), 16);
        let module = |path: &str| ModulePath::parse(path).unwrap();
        absent.learn(
            &module("nope.invalid/a"),
            "unrecognized import path: dial tcp: lookup nope.invalid: no such host",
        );
        absent.learn(&module("example.org/b"), "unknown revision v9.9.9");
        let reason = absent.reason(&module("nope.invalid/other/path")).unwrap();
        assert!(
            reason.contains("host nope.invalid does not resolve"),
            "{reason}"
        );
        assert!(
            absent.reason(&module("example.org/b")).is_none(),
            "not a DNS failure"
        );
        assert!(
            absent.reason(&module("nope.invalid.org/x")).is_none(),
            "another host"
        );
    }
}
