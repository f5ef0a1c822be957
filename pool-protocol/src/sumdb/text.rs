//! The text rules shared by signed notes and record texts: valid UTF-8 and no control
//! characters but newline.

/// What makes bytes unusable as a note's or a record's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextProblem {
    /// Not valid UTF-8 from this byte on.
    #[error("invalid UTF-8 at byte {offset}")]
    NotUtf8 {
        /// The offset of the first invalid byte.
        offset: usize,
    },
    /// A control character other than newline (below U+0020).
    #[error("control character {byte:#04x} at byte {offset}")]
    ControlCharacter {
        /// Its offset.
        offset: usize,
        /// The character.
        byte: u8,
    },
    /// The text does not end with a newline.
    #[error("text does not end with a newline")]
    Unterminated,
    /// A blank line, which a record text cannot hold (it ends the record in a lookup).
    #[error("blank line at byte {offset}")]
    BlankLine {
        /// The offset of the blank line's newline.
        offset: usize,
    },
    /// More bytes than the limit.
    #[error("longer than {limit} bytes")]
    TooLong {
        /// The limit.
        limit: usize,
    },
}

/// `bytes` as text, if it is valid UTF-8 without control characters other than newline.
pub(crate) fn plain_text(bytes: &[u8]) -> Result<&str, TextProblem> {
    let text = std::str::from_utf8(bytes).map_err(|error| TextProblem::NotUtf8 {
        offset: error.valid_up_to(),
    })?;
    match text.bytes().position(|b| b < 0x20 && b != b'\n') {
        Some(offset) => Err(TextProblem::ControlCharacter {
            offset,
            byte: bytes[offset],
        }),
        None => Ok(text),
    }
}

/// The start of `bytes`, as text for an error message (at most 120 bytes, lossily decoded).
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 120;
    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]).into_owned();
    if bytes.len() > MAX {
        shown + "…"
    } else {
        shown
    }
}
