//! [`Database`]: one checksum database the relay serves, from a value in `GOSUMDB`'s own
//! syntax: a verifier key `name+hash+key`, optionally followed by a space and the database's
//! URL, or the known name `sum.golang.org`.

use std::fmt;

use delos_pool_protocol::sumdb::{InvalidVerifierKey, VerifierKey};

/// The verifier key of `sum.golang.org`, as built into the `go` command (`modfetch/key.go`).
pub const SUM_GOLANG_ORG_KEY: &str =
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";

/// A configured checksum database: its verifier key (whose name is the database's name) and
/// where its `/lookup`, `/tile` and `/latest` paths are read: a base URL, or the pool (a
/// member's log this node mirrors, read from the members that write or mirror it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    verifier: VerifierKey,
    location: Location,
}

/// Where a database's paths are read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    /// A base URL, without a trailing `/`.
    Url(String),
    /// The pool's checksum-log protocol.
    Pool,
}

/// A `--sumdb` value that is not a database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sumdb {value:?}: {problem}")]
pub struct InvalidDatabase {
    /// The value as given.
    pub value: String,
    /// What is wrong with it.
    #[source]
    pub problem: DatabaseProblem,
}

/// What is wrong with a `--sumdb` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseProblem {
    /// Neither one nor two whitespace-separated fields.
    #[error("want a verifier key, optionally followed by a space and a URL")]
    Fields,
    /// The first field is neither a verifier key nor a known name.
    #[error("malformed verifier key")]
    Key(#[source] InvalidVerifierKey),
    /// The name is not `host[/path]`.
    #[error("name must be host[/path]")]
    Name,
    /// The URL is not an `http://` or `https://` URL.
    #[error("URL must start with http:// or https://")]
    Url,
}

impl Database {
    /// Go's own checksum database, `sum.golang.org`, with its published key.
    pub fn sum_golang_org() -> Database {
        let verifier = VerifierKey::parse(SUM_GOLANG_ORG_KEY)
            .unwrap_or_else(|_| unreachable!("the built-in key parses"));
        Database {
            verifier,
            location: Location::Url("https://sum.golang.org".to_owned()),
        }
    }

    /// A pool member's log that this node mirrors (`--mirror-log`): read over the pool from
    /// the members that write or mirror it, every byte checked against `verifier`.
    pub fn pool_mirror(verifier: VerifierKey) -> Database {
        Database {
            verifier,
            location: Location::Pool,
        }
    }

    /// Whether this is a pool member's log read over the pool.
    pub fn is_pool_mirror(&self) -> bool {
        self.location == Location::Pool
    }

    /// Parses a value in `GOSUMDB` syntax (without `off`, which is no database).
    pub fn parse(value: &str) -> Result<Database, InvalidDatabase> {
        let invalid = |problem| InvalidDatabase {
            value: value.to_owned(),
            problem,
        };
        let fields: Vec<&str> = value.split_whitespace().collect();
        let (key, url) = match fields.as_slice() {
            [key] => (*key, None),
            [key, url] => (*key, Some(*url)),
            _ => return Err(invalid(DatabaseProblem::Fields)),
        };
        let known = match key {
            "sum.golang.org" => Some(("https://sum.golang.org", SUM_GOLANG_ORG_KEY)),
            "sum.golang.google.cn" => Some(("https://sum.golang.google.cn", SUM_GOLANG_ORG_KEY)),
            _ => None,
        };
        let (default_url, key) = match known {
            Some((known_url, known_key)) => (Some(known_url), known_key),
            None => (None, key),
        };
        let verifier = VerifierKey::parse(key).map_err(|e| invalid(DatabaseProblem::Key(e)))?;
        let name = verifier.name().as_str();
        if !is_host_path(name) {
            return Err(invalid(DatabaseProblem::Name));
        }
        let url = match url.or(default_url) {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(_) => return Err(invalid(DatabaseProblem::Url)),
            None => format!("https://{name}"),
        };
        Ok(Database {
            verifier,
            location: Location::Url(url),
        })
    }

    /// The database's name (its key's name), as it appears in `/sumdb/<name>/`.
    pub fn name(&self) -> &str {
        self.verifier.name().as_str()
    }

    /// The key its signed tree heads must verify with.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The base URL, without a trailing `/` (none for a log read over the pool).
    pub fn url(&self) -> Option<&str> {
        match &self.location {
            Location::Url(url) => Some(url),
            Location::Pool => None,
        }
    }
}

impl fmt::Display for Database {
    /// The `GOSUMDB` form: key, space, URL (or `pool` for a log read over the pool).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::Url(url) => write!(f, "{} {url}", self.verifier),
            Location::Pool => write!(f, "{} pool", self.verifier),
        }
    }
}

/// Go's check that `https://<name>` is exactly a scheme, a non-empty host and a clean path.
fn is_host_path(name: &str) -> bool {
    let host = name.split('/').next().unwrap_or_default();
    !host.is_empty()
        && !name.ends_with('/')
        && !name.contains("//")
        && name.split('/').all(|part| part != "." && part != "..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~/:".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_name_key_and_url_forms_parse() {
        let known = Database::parse("sum.golang.org").unwrap();
        assert_eq!(known, Database::sum_golang_org());
        assert_eq!(known.url(), Some("https://sum.golang.org"));
        let key = "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
        let bare = Database::parse(key).unwrap();
        assert_eq!(bare.name(), "localhost.localdev/sumdb");
        assert_eq!(bare.url(), Some("https://localhost.localdev/sumdb"));
        let with_url = Database::parse(&format!("{key} http://127.0.0.1:9/db/")).unwrap();
        assert_eq!(with_url.url(), Some("http://127.0.0.1:9/db"));
        assert_eq!(with_url.to_string(), format!("{key} http://127.0.0.1:9/db"));
    }

    #[test]
    fn malformed_values_are_refused() {
        for (value, problem) in [
            ("", DatabaseProblem::Fields),
            ("a b c", DatabaseProblem::Fields),
            ("sum.golang.org ftp://x", DatabaseProblem::Url),
        ] {
            assert_eq!(
                Database::parse(value).unwrap_err().problem,
                problem,
                "{value}"
            );
        }
        assert!(matches!(
            Database::parse("corp.example").unwrap_err().problem,
            DatabaseProblem::Key(_)
        ));
    }
}
