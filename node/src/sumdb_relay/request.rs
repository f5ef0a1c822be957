//! [`RelayRequest`]: a `/sumdb/<name>/…` path, checked and split into the database and what
//! is asked of it. Names may contain `/`, so the longest configured name that prefixes the
//! path wins; lookups keep their `!`-escapes for the upstream URL.

use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::sumdb::Tile;
use delos_pool_protocol::version::Version;

/// The longest path accepted.
const MAX_PATH_BYTES: usize = 1024;

/// What a request asks of a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `supported`: whether this node relays the database.
    Supported,
    /// `latest`: the newest signed tree head.
    Latest,
    /// `lookup/<module>@<version>`, escaped as in the URL.
    Lookup {
        /// The module path.
        module: ModulePath,
        /// The version.
        version: Version,
        /// `<escaped module>@<escaped version>`, sent upstream as it came.
        escaped: String,
    },
    /// `tile/…`.
    Tile(Tile),
}

/// A request to the relay: which configured database (by position) and what of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayRequest {
    /// The position of the database in the relay's list.
    pub database: usize,
    /// What is asked.
    pub endpoint: Endpoint,
}

/// Why a `/sumdb/` path is not a request for a configured database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The path is malformed (traversal, escapes, empty segments, too long).
    #[error("malformed sumdb path {path:?}: {reason}")]
    Malformed {
        /// The path after `/sumdb/`, cut short.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// No configured database has this name.
    #[error("no checksum database is relayed for {path:?}")]
    UnknownDatabase {
        /// The path after `/sumdb/`, cut short.
        path: String,
    },
    /// The database is known but the path under it is not an endpoint.
    #[error("unknown checksum database path {path:?}")]
    UnknownEndpoint {
        /// The path after `/sumdb/`, cut short.
        path: String,
    },
}

impl RelayRequest {
    /// Parses `path`, the raw URL path after `/sumdb/`, against the configured `names`.
    /// The go command escapes the `!` of a lookup's case-encoding as `%21` (url.PathEscape):
    /// that is read as `!`, the one percent-escape a valid path holds; every other is refused.
    pub fn parse<'a>(
        path: &str,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<RelayRequest, RequestError> {
        let unescaped = path.replace("%21", "!");
        let path = unescaped.as_str();
        check_raw(path)?;
        let (database, rest) = names
            .into_iter()
            .enumerate()
            .filter_map(|(at, name)| {
                let rest = path.strip_prefix(name)?.strip_prefix('/')?;
                Some((at, name.len(), rest))
            })
            .max_by_key(|(_, len, _)| *len)
            .map(|(at, _, rest)| (at, rest))
            .ok_or_else(|| RequestError::UnknownDatabase { path: short(path) })?;
        let endpoint = endpoint(rest).map_err(|err| match err {
            Some(reason) => RequestError::Malformed {
                path: short(path),
                reason,
            },
            None => RequestError::UnknownEndpoint { path: short(path) },
        })?;
        Ok(RelayRequest { database, endpoint })
    }
}

/// The endpoint of `rest`; `Err(Some(reason))` when malformed, `Err(None)` when unknown.
fn endpoint(rest: &str) -> Result<Endpoint, Option<&'static str>> {
    match rest {
        "supported" => return Ok(Endpoint::Supported),
        "latest" => return Ok(Endpoint::Latest),
        _ => {}
    }
    if let Some(lookup) = rest.strip_prefix("lookup/") {
        return parse_lookup(lookup).map_err(Some);
    }
    if rest.starts_with("tile/") {
        return Tile::parse_path(rest)
            .map(Endpoint::Tile)
            .map_err(|_| Some("invalid tile path"));
    }
    Err(None)
}

fn parse_lookup(lookup: &str) -> Result<Endpoint, &'static str> {
    let (module, version) = lookup
        .rsplit_once('@')
        .ok_or("a lookup is <module>@<version>")?;
    let module = ModulePath::unescape(module).map_err(|_| "invalid module path")?;
    let version = unescape_version(version)
        .and_then(|v| Version::parse(&v).ok())
        .filter(Version::is_canonical)
        .ok_or("invalid version")?;
    Ok(Endpoint::Lookup {
        module,
        version,
        escaped: lookup.to_owned(),
    })
}

/// Go's `module.UnescapeVersion`: `!x` is `X`; a capital letter is not allowed.
fn unescape_version(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match c {
            '!' => out.push(
                chars
                    .next()
                    .filter(char::is_ascii_lowercase)?
                    .to_ascii_uppercase(),
            ),
            c if c.is_ascii_uppercase() => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// Refuses what no checksum database path contains: percent-escapes, traversal, empty
/// segments, non-printable or non-ASCII bytes, and overlong paths.
fn check_raw(path: &str) -> Result<(), RequestError> {
    let malformed = |reason| RequestError::Malformed {
        path: short(path),
        reason,
    };
    if path.len() > MAX_PATH_BYTES {
        return Err(malformed("path too long"));
    }
    if !path.bytes().all(|b| b.is_ascii_graphic()) || path.contains(['%', '\\']) {
        return Err(malformed("unexpected character"));
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(malformed("empty or dot segment"));
    }
    Ok(())
}

fn short(path: &str) -> String {
    path.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 2] = ["sum.example.org", "sum.example.org/db"];

    fn parse(path: &str) -> Result<RelayRequest, RequestError> {
        RelayRequest::parse(path, NAMES)
    }

    #[test]
    fn names_with_slashes_pick_the_longest_match() {
        assert_eq!(parse("sum.example.org/supported").unwrap().database, 0);
        let request = parse("sum.example.org/db/latest").unwrap();
        assert_eq!((request.database, request.endpoint), (1, Endpoint::Latest));
    }

    #[test]
    fn the_go_commands_percent_escaped_bang_is_a_bang() {
        let request = parse("sum.example.org/lookup/example.org/%21mixed%21case@v1.0.0").unwrap();
        let Endpoint::Lookup { module, .. } = request.endpoint else {
            panic!("not a lookup");
        };
        assert_eq!(module.as_str(), "example.org/MixedCase");
        assert!(parse("sum.example.org/lookup/example.org/%41@v1.0.0").is_err());
    }

    #[test]
    fn lookups_keep_their_escapes() {
        let request = parse("sum.example.org/lookup/example.org/!mixed!case@v1.0.0").unwrap();
        let Endpoint::Lookup {
            module, escaped, ..
        } = request.endpoint
        else {
            panic!("not a lookup");
        };
        assert_eq!(module.as_str(), "example.org/MixedCase");
        assert_eq!(escaped, "example.org/!mixed!case@v1.0.0");
    }

    #[test]
    fn tiles_parse_canonically() {
        let request = parse("sum.example.org/tile/8/data/x001/234.p/5").unwrap();
        assert!(matches!(request.endpoint, Endpoint::Tile(t) if t.width() == 5));
        assert!(parse("sum.example.org/tile/8/0/x000/000.p/1").is_err());
    }

    #[test]
    fn malformed_and_unknown_paths_are_told_apart() {
        for bad in [
            "sum.example.org/../x/latest",
            "sum.example.org//latest",
            "sum.example.org/lookup/a%2fb@v1.0.0",
            "sum.example.org/lookup/example.org/m@latest",
            "sum.example.org/lookup/example.org/Upper@v1.0.0",
        ] {
            assert!(
                matches!(parse(bad), Err(RequestError::Malformed { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            parse("other.example/supported"),
            Err(RequestError::UnknownDatabase { .. })
        ));
        assert!(matches!(
            parse("sum.example.org/nothing"),
            Err(RequestError::UnknownEndpoint { .. })
        ));
    }
}
