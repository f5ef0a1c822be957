//! [`LogRequest`]: one request of the checksum-log protocol (`/delos/<pool>/sumdb/1`), a path of
//! a checksum database (`latest`, `tile/…`, `lookup/…`) asked of a member that writes or mirrors
//! that log.

use serde::{Deserialize, Serialize};

use crate::codec::Canonical;

/// The longest log name a request may carry (a checksum database's name, `host[/path]`).
pub const MAX_LOG_NAME_BYTES: usize = 256;
/// The longest path a request may carry (a lookup's module path and version, escaped).
pub const MAX_LOG_PATH_BYTES: usize = 1024;
/// The most bytes of one answer (a data tile of 256 records with long module paths).
pub const MAX_LOG_ANSWER_BYTES: u64 = 8 << 20;

/// A request for one path of a checksum database, by the database's name. The answer is a
/// [`TransferHeader`](super::TransferHeader) and, when found, exactly that many bytes: what the
/// database's HTTP server would send for `/<path>`. Nothing in the answer is trusted: the asker
/// checks it against the log's verifier key and the heads it verified, as for any database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedLogRequest")]
pub struct LogRequest {
    log: String,
    path: String,
}

/// [`LogRequest`]'s wire shape before its check (same fields, same order).
#[derive(Deserialize)]
struct UncheckedLogRequest {
    log: String,
    path: String,
}

/// A log request whose name or path is empty or too long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log request for {log:?} path {path:?}: name or path empty or too long")]
pub struct InvalidLogRequest {
    /// The log name (cut to its limit).
    pub log: String,
    /// The path (cut to its limit).
    pub path: String,
}

impl LogRequest {
    /// A request for `path` of the log named `log`.
    pub fn new(log: &str, path: &str) -> Result<LogRequest, InvalidLogRequest> {
        let fits = |text: &str, max| !text.is_empty() && text.len() <= max;
        if !fits(log, MAX_LOG_NAME_BYTES) || !fits(path, MAX_LOG_PATH_BYTES) {
            return Err(InvalidLogRequest {
                log: log.chars().take(MAX_LOG_NAME_BYTES).collect(),
                path: path.chars().take(MAX_LOG_PATH_BYTES).collect(),
            });
        }
        Ok(LogRequest {
            log: log.to_owned(),
            path: path.to_owned(),
        })
    }

    /// The log's name (the checksum database's name).
    pub fn log(&self) -> &str {
        &self.log
    }

    /// The path asked for, as after `/sumdb/<name>/`.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl TryFrom<UncheckedLogRequest> for LogRequest {
    type Error = InvalidLogRequest;

    fn try_from(raw: UncheckedLogRequest) -> Result<LogRequest, InvalidLogRequest> {
        LogRequest::new(&raw.log, &raw.path)
    }
}

impl Canonical for LogRequest {
    const MAX_BYTES: usize = MAX_LOG_NAME_BYTES + MAX_LOG_PATH_BYTES + 32;
    const NAME: &'static str = "log request";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    #[test]
    fn log_requests_round_trip_and_bad_ones_do_not_decode() {
        let request = LogRequest::new("sum.corp.example", "tile/8/0/000").unwrap();
        let wire = codec::encode(&request).unwrap();
        assert_eq!(codec::decode::<LogRequest>(&wire).unwrap(), request);
        assert!(LogRequest::new("", "latest").is_err());
        assert!(LogRequest::new("db", &"x".repeat(MAX_LOG_PATH_BYTES + 1)).is_err());
        let empty = UncheckedShape {
            log: String::from("db"),
            path: String::new(),
        };
        let wire = codec::encode(&empty).unwrap();
        assert!(codec::decode::<LogRequest>(&wire).is_err());
    }

    #[derive(Serialize, Deserialize)]
    struct UncheckedShape {
        log: String,
        path: String,
    }

    impl Canonical for UncheckedShape {
        const MAX_BYTES: usize = 4096;
        const NAME: &'static str = "unchecked log request";
    }
}
