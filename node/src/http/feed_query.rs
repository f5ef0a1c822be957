//! The query strings of the public feeds: `/index?since=&limit=` and
//! `/catalog?token=&pagesize=`, parsed into a `PageQuery`.

use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::percent_decode_str;

/// The most lines one `/index` page holds, and its default (as index.golang.org).
pub(crate) const MAX_INDEX_LIMIT: usize = 2000;
/// The most modules one `/catalog` page holds, and its default (as Athens).
pub(crate) const MAX_CATALOG_PAGE: usize = 1000;

/// A malformed feed query parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// `since` is not an RFC 3339 time in UTC (`2006-01-02T15:04:05.999999999Z`).
    #[error("since={0:?} is not an RFC 3339 time in UTC such as 2019-04-10T19:08:52.997264Z")]
    Since(String),
    /// A count (`limit`, `pagesize`) is not a positive whole number.
    #[error("{name}={value:?} is not a positive whole number")]
    Count {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// `token` is not one this node handed out.
    #[error("token={0:?} is not a catalog token of this node")]
    Token(String),
}

/// One page request of a feed: where it starts (`/index`: a time in Unix nanoseconds;
/// `/catalog`: the number of the last pin the previous page looked at) and its most items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageQuery {
    pub(crate) start: u64,
    pub(crate) size: usize,
}

impl PageQuery {
    /// `/index`: `since` (default: the beginning) and `limit` (default and cap 2000).
    pub(crate) fn index(query: Option<&str>) -> Result<PageQuery, QueryError> {
        PageQuery::parse(query, ("since", parse_since), ("limit", MAX_INDEX_LIMIT))
    }

    /// `/catalog`: `token` (default: the beginning) and `pagesize` (default and cap 1000).
    pub(crate) fn catalog(query: Option<&str>) -> Result<PageQuery, QueryError> {
        PageQuery::parse(
            query,
            ("token", parse_token),
            ("pagesize", MAX_CATALOG_PAGE),
        )
    }

    fn parse(
        query: Option<&str>,
        (start_name, parse_start): (&str, ParseStart),
        (size_name, max_size): (&'static str, usize),
    ) -> Result<PageQuery, QueryError> {
        let mut parsed = PageQuery {
            start: 0,
            size: max_size,
        };
        for (name, value) in pairs(query).filter(|(_, value)| !value.is_empty()) {
            if name == start_name {
                parsed.start = parse_start(&value)?;
            } else if name == size_name {
                parsed.size = count(size_name, &value)?.min(max_size);
            }
        }
        Ok(parsed)
    }
}

/// Reads a page's start parameter.
type ParseStart = fn(&str) -> Result<u64, QueryError>;

fn parse_token(value: &str) -> Result<u64, QueryError> {
    value
        .parse()
        .map_err(|_| QueryError::Token(value.to_owned()))
}

/// The `name=value` pairs of a query string, percent-decoded (`+` is a space).
fn pairs(query: Option<&str>) -> impl Iterator<Item = (String, String)> + '_ {
    let decode = |text: &str| {
        let spaced = text.replace('+', " ");
        percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
    };
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(move |pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
}

fn count(name: &'static str, value: &str) -> Result<usize, QueryError> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(QueryError::Count {
            name,
            value: value.to_owned(),
        }),
    }
}

fn parse_since(value: &str) -> Result<u64, QueryError> {
    let at = humantime::parse_rfc3339_weak(value.trim_end_matches('Z'))
        .ok()
        .filter(|_| value.ends_with('Z'))
        .ok_or_else(|| QueryError::Since(value.to_owned()))?;
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    Ok(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

/// `unix_nanos` as RFC 3339 in UTC with nanoseconds, as the `/index` `Timestamp`.
pub(crate) fn format_timestamp(unix_nanos: u64) -> String {
    let at = UNIX_EPOCH + std::time::Duration::from_nanos(unix_nanos);
    humantime::format_rfc3339_nanos(at.max(SystemTime::UNIX_EPOCH)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_feeds_default_cap_and_refuse_bad_sizes() {
        type Parse = fn(Option<&str>) -> Result<PageQuery, QueryError>;
        let feeds: [(Parse, &str, usize); 2] = [
            (PageQuery::index, "limit", 2000),
            (PageQuery::catalog, "pagesize", 1000),
        ];
        for (parse, size_name, max) in feeds {
            assert_eq!(
                parse(None).unwrap(),
                PageQuery {
                    start: 0,
                    size: max
                }
            );
            assert_eq!(
                parse(Some(&format!("{size_name}=99999"))).unwrap().size,
                max
            );
            assert_eq!(parse(Some(&format!("{size_name}=7"))).unwrap().size, 7);
            for bad in ["0", "ten"] {
                assert!(parse(Some(&format!("{size_name}={bad}"))).is_err());
            }
        }
        assert_eq!(PageQuery::catalog(Some("token=42")).unwrap().start, 42);
        assert!(PageQuery::catalog(Some("token=abc")).is_err());
    }

    #[test]
    fn since_round_trips_through_the_timestamp_format() {
        let nanos = 1_554_923_332_997_264_001;
        let text = format_timestamp(nanos);
        assert_eq!(text, "2019-04-10T19:08:52.997264001Z");
        let query = PageQuery::index(Some(&format!("since={text}&limit=3"))).unwrap();
        assert_eq!(query.start, nanos);
        assert_eq!(query.size, 3);
        let encoded = PageQuery::index(Some("since=2019-04-10T19%3A08%3A52Z")).unwrap();
        assert_eq!(encoded.start, 1_554_923_332_000_000_000);
        assert!(PageQuery::index(Some("since=2019-04-10T19:08:52+02:00")).is_err());
        assert!(PageQuery::index(Some("since=yesterday")).is_err());
    }
}
