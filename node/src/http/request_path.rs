//! Parses a raw download-protocol path (`/{module}/@v/{file}` or `/{module}/@latest`) into a
//! validated [`ProxyPath`].
//!
//! The rules follow `docs/goproxy-protocol.md` §1.2: split the *raw* path at the last `/@v/` (or
//! a trailing `/@latest`), percent-decode each `/`-separated segment on its own (so `%2F` can
//! never create a separator, and `+` stays a `+`), then undo the `!`-case escaping and check the
//! result with `pool-protocol`. Nothing here touches the disk or the network: a request that
//! fails to parse never reaches the store or a `go` process.

use std::fmt;

use delos_pool_protocol::module_path::{InvalidModulePath, ModulePath};
use delos_pool_protocol::version::{
    IncompatibleVersion, InvalidVersion, Version, check_path_version, unescape_version_query,
};
use percent_encoding::percent_decode_str;

/// Raw paths longer than this are refused before any decoding. Go limits no module path
/// length itself, but real ones are far shorter, and the cap bounds the work a request causes.
pub const MAX_PATH_BYTES: usize = 2048;

/// The separator before a version file.
const VERSION_DIR: &str = "/@v/";
/// The suffix of a `@latest` request.
const LATEST: &str = "/@latest";

/// One download-protocol request: which module, and what about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyPath {
    /// The module, unescaped and checked (`example.org/MixedCase`).
    pub module: ModulePath,
    /// What is asked for.
    pub request: ProxyRequest,
}

/// What a download-protocol request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyRequest {
    /// `@v/list`: the known versions.
    List,
    /// `@v/{version}.info`: a canonical version, or a query to resolve.
    Info(InfoQuery),
    /// `@v/{version}.mod`: the go.mod of a canonical version.
    Mod(Version),
    /// `@v/{version}.zip`: the module zip of a canonical version.
    Zip(Version),
    /// `@latest`: the latest version's `.info`.
    Latest,
}

/// What an `.info` request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InfoQuery {
    /// A canonical version valid for the module path; the answer must name exactly it.
    Version(Version),
    /// Anything else Go accepts as a file name (`master`, `e6fe82be54cb`, `v3.0.0` for a
    /// module without go.mod, `v1`): resolved to a canonical version by the fetcher.
    Query(String),
}

/// Why a request path is not a download-protocol request this node can answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestPathError {
    /// The raw path is longer than [`MAX_PATH_BYTES`].
    #[error("request path is {len} bytes, longer than {MAX_PATH_BYTES}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// Neither `/@v/` nor a trailing `/@latest` is in the path, or the file after `/@v/` is
    /// not `list`, `.info`, `.mod` or `.zip`.
    #[error("{path:?} is not a module proxy path")]
    NotProxyPath {
        /// The raw path.
        path: String,
    },
    /// A segment holds a malformed escape or decodes to bytes that are not UTF-8.
    #[error("undecodable percent-escape in {segment:?}")]
    Undecodable {
        /// The raw segment.
        segment: String,
    },
    /// A percent-escape decoded to `/` (`%2F`), which would forge a path separator.
    #[error("escaped '/' inside the path segment {segment:?}")]
    EscapedSlash {
        /// The raw segment.
        segment: String,
    },
    /// The version part before `.info`/`.mod`/`.zip` is empty.
    #[error("empty version in {path:?}")]
    EmptyVersion {
        /// The raw path.
        path: String,
    },
    /// The module path is not a valid escaped module path.
    #[error(transparent)]
    Module(#[from] InvalidModulePath),
    /// The version (or query) is not valid.
    #[error(transparent)]
    Version(#[from] InvalidVersion),
    /// `.mod` and `.zip` take canonical versions only (`v1.2.3`, not `v1.2` or `v1.2.3+meta`).
    #[error("version {version:?} is not canonical")]
    NotCanonical {
        /// The unescaped version.
        version: String,
    },
    /// The version does not fit the module path's major-version suffix.
    #[error(transparent)]
    PathVersion(#[from] IncompatibleVersion),
}

impl RequestPathError {
    /// Whether the client sent bytes that cannot be decoded at all (answered 400). Every other
    /// refusal means "not here" and is answered 404, so `GOPROXY=node,direct` falls through.
    pub fn is_undecodable(&self) -> bool {
        matches!(self, Self::Undecodable { .. })
    }
}

impl ProxyPath {
    /// Parses a raw (still percent-encoded) request path such as
    /// `/example.org/%21mixed%21case.git/@v/v1.0.0.info`.
    pub fn parse(raw: &str) -> Result<ProxyPath, RequestPathError> {
        if raw.len() > MAX_PATH_BYTES {
            return Err(RequestPathError::TooLong { len: raw.len() });
        }
        let not_proxy = || RequestPathError::NotProxyPath {
            path: raw.to_owned(),
        };
        let rest = raw.strip_prefix('/').ok_or_else(not_proxy)?;
        if let Some(module) = rest.strip_suffix(LATEST) {
            let module = parse_module(module)?;
            return Ok(ProxyPath {
                module,
                request: ProxyRequest::Latest,
            });
        }
        let (module, file) = rest.rsplit_once(VERSION_DIR).ok_or_else(not_proxy)?;
        let module = parse_module(module)?;
        let request = parse_file(&module, file, raw)?;
        Ok(ProxyPath { module, request })
    }
}

/// Decodes the module part segment by segment, then undoes `!`-escaping and checks the path.
fn parse_module(raw: &str) -> Result<ModulePath, RequestPathError> {
    let decoded = raw
        .split('/')
        .map(decode_segment)
        .collect::<Result<Vec<_>, _>>()?
        .join("/");
    Ok(ModulePath::unescape(&decoded)?)
}

/// Percent-decodes one segment; `+` is left alone and `%2F` is refused.
fn decode_segment(segment: &str) -> Result<String, RequestPathError> {
    let undecodable = || RequestPathError::Undecodable {
        segment: segment.to_owned(),
    };
    if has_malformed_escape(segment) {
        return Err(undecodable());
    }
    let decoded = percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| undecodable())?;
    if decoded.contains('/') {
        return Err(RequestPathError::EscapedSlash {
            segment: segment.to_owned(),
        });
    }
    Ok(decoded.into_owned())
}

/// Whether a `%` is not followed by two hex digits (`percent_decode` would pass it through).
fn has_malformed_escape(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    bytes.iter().enumerate().any(|(at, &byte)| {
        byte == b'%'
            && !(bytes.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// Parses the file after `/@v/`: `list`, or `{version}.info|.mod|.zip`.
fn parse_file(
    module: &ModulePath,
    raw_file: &str,
    raw: &str,
) -> Result<ProxyRequest, RequestPathError> {
    let not_proxy = || RequestPathError::NotProxyPath {
        path: raw.to_owned(),
    };
    if raw_file.contains('/') {
        return Err(not_proxy());
    }
    let file = decode_segment(raw_file)?;
    if file == "list" {
        return Ok(ProxyRequest::List);
    }
    let (stem, kind) = split_extension(&file).ok_or_else(not_proxy)?;
    if stem.is_empty() {
        return Err(RequestPathError::EmptyVersion {
            path: raw.to_owned(),
        });
    }
    match kind {
        FileKind::Info => Ok(ProxyRequest::Info(parse_info_query(module, stem)?)),
        FileKind::Mod => Ok(ProxyRequest::Mod(parse_canonical(module, stem)?)),
        FileKind::Zip => Ok(ProxyRequest::Zip(parse_canonical(module, stem)?)),
    }
}

/// The three version files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Info,
    Mod,
    Zip,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Info => ".info",
            Self::Mod => ".mod",
            Self::Zip => ".zip",
        })
    }
}

fn split_extension(file: &str) -> Option<(&str, FileKind)> {
    [FileKind::Info, FileKind::Mod, FileKind::Zip]
        .into_iter()
        .find_map(|kind| Some((file.strip_suffix(&kind.to_string())?, kind)))
}

/// A canonical version that fits the module path, for `.mod` and `.zip`.
fn parse_canonical(module: &ModulePath, escaped: &str) -> Result<Version, RequestPathError> {
    let version = Version::unescape(escaped)?;
    if !version.is_canonical() {
        return Err(RequestPathError::NotCanonical {
            version: version.into_string(),
        });
    }
    check_path_version(module, &version)?;
    Ok(version)
}

/// A canonical version that fits the path, or else a query that is at least a valid file name.
fn parse_info_query(module: &ModulePath, escaped: &str) -> Result<InfoQuery, RequestPathError> {
    let text = unescape_version_query(escaped)?;
    match Version::parse(&text) {
        Ok(version) if version.is_canonical() && check_path_version(module, &version).is_ok() => {
            Ok(InfoQuery::Version(version))
        }
        _ => Ok(InfoQuery::Query(text)),
    }
}

#[cfg(test)]
mod tests;
