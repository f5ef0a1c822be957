//! `list`, `@latest` and version queries asked of an upstream proxy over HTTP: its `@v/list`,
//! its `@latest`, and `@v/<query>.info` for a branch, a hash prefix or a version prefix.
//! What comes back is only a version to fill; the version itself is then filled and checked
//! like any other (its `.mod` and zip against the checksum database).

use delos_pool_protocol::messages::MAX_INFO_BYTES;
use delos_pool_protocol::module_path::{ModulePath, escape_case};
use delos_pool_protocol::version::{Version, check_path_version};

use super::{Failure, get_small};
use crate::fetch::error::FetchError;
use crate::fetch::go_json::InfoJson;
use crate::http_client::HttpClient;

/// The most bytes of a `list` answer (a module with many thousands of versions).
const MAX_LIST_BYTES: u64 = 4 << 20;

/// The tagged versions the proxy at `base` lists for `module`: canonical, fitting the path,
/// pseudo-versions left out (as the `go` command does), in semver order.
pub(crate) async fn proxy_list(
    client: &HttpClient,
    base: &str,
    module: &ModulePath,
) -> Result<Vec<Version>, FetchError> {
    let fail = Failure {
        base,
        module,
        query: "list",
    };
    let url = format!("{base}/{}/@v/list", module.escape());
    let body = get_small(client, &fail, &url, MAX_LIST_BYTES).await?;
    let text = String::from_utf8_lossy(&body);
    let mut versions: Vec<Version> = text
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|field| Version::parse(field).ok())
        .filter(|v| v.is_canonical() && !v.is_pseudo())
        .filter(|v| check_path_version(module, v).is_ok())
        .collect();
    versions.sort();
    versions.dedup();
    Ok(versions)
}

/// The canonical version the proxy at `base` resolves `query` to (`latest` through its
/// `@latest`, anything else through `@v/<query>.info`).
pub(crate) async fn proxy_resolve(
    client: &HttpClient,
    base: &str,
    module: &ModulePath,
    query: &str,
) -> Result<Version, FetchError> {
    let fail = Failure {
        base,
        module,
        query,
    };
    let url = match query {
        "latest" => format!("{base}/{}/@latest", module.escape()),
        _ => format!("{base}/{}/@v/{}.info", module.escape(), escape_case(query)),
    };
    let body = get_small(client, &fail, &url, MAX_INFO_BYTES).await?;
    let info: InfoJson = serde_json::from_slice(&body)
        .map_err(|err| fail.upstream(format!("unreadable .info: {err}")))?;
    let version = Version::parse(&info.version)
        .ok()
        .filter(Version::is_canonical)
        .ok_or_else(|| fail.upstream(format!("resolved to {:?}", info.version)))?;
    check_path_version(module, &version)
        .map_err(|err| FetchError::not_found(module, query, err.to_string()))?;
    Ok(version)
}
