//! `InfoTime`: the `Time` of a module version's `.info`, kept as the RFC 3339 text Go wrote.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest accepted text: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+hh:mm`.
const MAX_LEN: usize = 35;

/// The commit time a `.info` file reports, as RFC 3339 text (`2026-01-01T00:00:00Z`).
///
/// Kept as text rather than converted to seconds so that a record states exactly what `go mod
/// download` reported (Go writes `time.Time` with optional fractional seconds and a zone
/// offset), without a date library here. Only the RFC 3339 shape and field ranges are checked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InfoTime(String);

/// A string that is not an RFC 3339 date-time as Go writes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid .info time {input:?}: expected RFC 3339 such as 2026-01-01T00:00:00Z")]
#[non_exhaustive]
pub struct InvalidInfoTime {
    /// The rejected input.
    pub input: String,
}

impl InfoTime {
    /// Parses RFC 3339 text: `YYYY-MM-DDTHH:MM:SS`, optional `.` and 1-9 digits, then `Z` or
    /// `+hh:mm`/`-hh:mm`.
    pub fn parse(s: &str) -> Result<InfoTime, InvalidInfoTime> {
        if s.len() <= MAX_LEN && is_rfc3339(s.as_bytes()) {
            Ok(InfoTime(s.to_owned()))
        } else {
            Err(InvalidInfoTime {
                input: s.to_owned(),
            })
        }
    }

    /// The text, as Go wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The number in `digits` if every byte is an ASCII digit and it lies in `range`.
fn number_in(digits: &[u8], range: std::ops::RangeInclusive<u32>) -> bool {
    let all_digits = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
    let value = digits
        .iter()
        .fold(0u32, |n, d| n * 10 + u32::from(d.wrapping_sub(b'0')));
    all_digits && range.contains(&value)
}

fn is_rfc3339(s: &[u8]) -> bool {
    let Some((date_time, rest)) = s.split_at_checked(19) else {
        return false;
    };
    let punctuation = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    punctuation.iter().all(|&(i, c)| date_time[i] == c)
        && number_in(&date_time[0..4], 0..=9999)
        && number_in(&date_time[5..7], 1..=12)
        && number_in(&date_time[8..10], 1..=31)
        && number_in(&date_time[11..13], 0..=23)
        && number_in(&date_time[14..16], 0..=59)
        && number_in(&date_time[17..19], 0..=59)
        && is_fraction_and_zone(rest)
}

fn is_fraction_and_zone(s: &[u8]) -> bool {
    let zone = match s.strip_prefix(b".") {
        Some(fraction) => {
            let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
            if !(1..=9).contains(&digits) {
                return false;
            }
            &fraction[digits..]
        }
        None => s,
    };
    match zone {
        b"Z" => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            number_in(&[*h1, *h2], 0..=23) && number_in(&[*m1, *m2], 0..=59)
        }
        _ => false,
    }
}

impl fmt::Display for InfoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for InfoTime {
    type Err = InvalidInfoTime;

    fn from_str(s: &str) -> Result<InfoTime, InvalidInfoTime> {
        InfoTime::parse(s)
    }
}

impl TryFrom<String> for InfoTime {
    type Error = InvalidInfoTime;

    fn try_from(s: String) -> Result<InfoTime, InvalidInfoTime> {
        InfoTime::parse(&s)
    }
}

impl From<InfoTime> for String {
    fn from(time: InfoTime) -> String {
        time.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_forms_are_accepted() {
        for ok in [
            "2026-01-01T00:00:00Z",
            "2019-02-06T14:05:31.123456789Z",
            "2019-02-06T14:05:31.5+02:00",
            "2019-02-06T14:05:31-07:30",
        ] {
            assert_eq!(InfoTime::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn other_text_is_refused() {
        for bad in [
            "",
            "2026-01-01",
            "2026-01-01 00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00.1234567890Z",
            "2026-01-01T00:00:00+0200",
            "2026-01-01T00:00:00Zjunk",
            "2026-01-01T00:00:00z",
            "+026-01-01T00:00:00Z",
        ] {
            assert!(InfoTime::parse(bad).is_err(), "{bad:?}");
        }
    }
}
