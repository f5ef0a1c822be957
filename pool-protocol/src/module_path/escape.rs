//! The `!`-case encoding shared by module paths and versions in URLs and cache directories.
//!
//! Go's proxy protocol must survive case-insensitive file systems, so every ASCII capital is
//! written as `!` plus its lowercase form (`MixedCase` becomes `!mixed!case`). Decoding is strict:
//! anything that the encoder could not have produced is refused, so each text has exactly one
//! escaped form.

use std::fmt;

/// Why an escaped path or version could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EscapeErrorKind {
    /// A capital letter appeared in escaped text, where it must have been written as `!` + lowercase.
    UpperCase {
        /// The capital letter found.
        ch: char,
    },
    /// A `!` was followed by something other than a lowercase ASCII letter.
    BangNotBeforeLowercase {
        /// The character after the `!`.
        next: char,
    },
    /// The text ended with a lone `!`.
    TrailingBang,
    /// A non-ASCII character appeared; escaped text is always ASCII.
    NonAscii {
        /// The character found.
        ch: char,
    },
}

impl fmt::Display for EscapeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UpperCase { ch } => write!(
                f,
                "capital letter {ch:?} must be escaped as \"!{}\"",
                ch.to_ascii_lowercase()
            ),
            Self::BangNotBeforeLowercase { next } => {
                write!(f, "'!' followed by {next:?}, not a lowercase letter")
            }
            Self::TrailingBang => f.write_str("trailing '!'"),
            Self::NonAscii { ch } => write!(f, "non-ASCII character {ch:?}"),
        }
    }
}

/// Writes each ASCII capital in `text` as `!` followed by its lowercase form.
///
/// Callers pass text that has already passed a path or version check, so it holds no `!` and no
/// non-ASCII characters; such text round-trips through [`unescape`].
pub(crate) fn escape(text: &str) -> String {
    let capitals = text.bytes().filter(u8::is_ascii_uppercase).count();
    let mut out = String::with_capacity(text.len() + capitals);
    for ch in text.chars() {
        if ch.is_ascii_uppercase() {
            out.push('!');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Decodes `!`-case text, refusing anything [`escape`] could not have produced.
pub(crate) fn unescape(escaped: &str) -> Result<String, EscapeErrorKind> {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(ch) = chars.next() {
        if !ch.is_ascii() {
            return Err(EscapeErrorKind::NonAscii { ch });
        }
        if ch.is_ascii_uppercase() {
            return Err(EscapeErrorKind::UpperCase { ch });
        }
        if ch != '!' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            None => return Err(EscapeErrorKind::TrailingBang),
            Some(next) if next.is_ascii_lowercase() => out.push(next.to_ascii_uppercase()),
            Some(next) if !next.is_ascii() => return Err(EscapeErrorKind::NonAscii { ch: next }),
            Some(next) => return Err(EscapeErrorKind::BangNotBeforeLowercase { next }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_capitals_only() {
        assert_eq!(
            escape("example.org/MixedCase.git"),
            "example.org/!mixed!case.git"
        );
        assert_eq!(escape("v1.0.0-RC1"), "v1.0.0-!r!c1");
        assert_eq!(escape("Main"), "!main");
        assert_eq!(escape("plain/x_y~z"), "plain/x_y~z");
    }

    #[test]
    fn unescapes_what_escape_produces() {
        assert_eq!(
            unescape("example.org/!mixed!case.git").as_deref(),
            Ok("example.org/MixedCase.git")
        );
        assert_eq!(unescape("!main").as_deref(), Ok("Main"));
    }

    #[test]
    fn refuses_what_escape_cannot_produce() {
        assert_eq!(
            unescape("example.org/MixedCase.git"),
            Err(EscapeErrorKind::UpperCase { ch: 'M' })
        );
        assert_eq!(unescape("a!"), Err(EscapeErrorKind::TrailingBang));
        assert_eq!(
            unescape("a!1"),
            Err(EscapeErrorKind::BangNotBeforeLowercase { next: '1' })
        );
        assert_eq!(
            unescape("a!!b"),
            Err(EscapeErrorKind::BangNotBeforeLowercase { next: '!' })
        );
        assert_eq!(
            unescape("a!B"),
            Err(EscapeErrorKind::BangNotBeforeLowercase { next: 'B' })
        );
        assert_eq!(
            unescape("caf\u{e9}"),
            Err(EscapeErrorKind::NonAscii { ch: '\u{e9}' })
        );
        assert_eq!(
            unescape("!\u{e9}"),
            Err(EscapeErrorKind::NonAscii { ch: '\u{e9}' })
        );
    }
}
