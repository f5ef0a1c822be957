//! `TreeHead`: the size and hash of the log's tree, the text a checksum database signs
//! (`go.sum database tree\nN\nhash\n`), and `SignedTreeHead`, one whose signature checked.

use std::fmt;

use super::note::{Note, NoteError, SignerKey, VerifiedNote, Verifiers};
use super::text::excerpt;
use super::tlog::{Hash, MAX_TREE_SIZE};

/// The first line of a tree head text. A future incompatible format would change it.
const FIRST_LINE: &str = "go.sum database tree\n";

/// The longest tree head text Go's `tlog.ParseTree` reads.
pub const MAX_TREE_TEXT_BYTES: usize = 1_000_000;

/// The size and root hash of the log's tree at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TreeHead {
    size: u64,
    hash: Hash,
}

/// A signed tree head that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeHeadError {
    /// The note around the tree head is malformed or not signed by a known key.
    #[error("reading tree note: {0}")]
    Note(#[from] NoteError),
    /// The text is not `go.sum database tree`, a canonical decimal size and a base64 hash,
    /// each on its own line.
    #[error("malformed tree note {text:?}")]
    Malformed {
        /// The start of the rejected text.
        text: String,
    },
    /// A tree size larger than [`MAX_TREE_SIZE`].
    #[error("tree size {size} is larger than the largest tree ({MAX_TREE_SIZE} records)")]
    TooLarge {
        /// The size.
        size: u64,
    },
}

impl TreeHead {
    /// A tree of `size` records whose hash is `hash`.
    pub fn new(size: u64, hash: Hash) -> Result<TreeHead, TreeHeadError> {
        if size > MAX_TREE_SIZE {
            return Err(TreeHeadError::TooLarge { size });
        }
        Ok(TreeHead { size, hash })
    }

    /// The empty tree, which every log starts from.
    pub fn empty() -> TreeHead {
        TreeHead {
            size: 0,
            hash: Hash::EMPTY_TREE,
        }
    }

    /// The number of records.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree hash.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// The text a database signs: `go.sum database tree\n<size>\n<base64 hash>\n` (Go's
    /// `tlog.FormatTree`).
    pub fn to_text(&self) -> String {
        format!("{FIRST_LINE}{}\n{}\n", self.size, self.hash)
    }

    /// Reads a tree head text (Go's `tlog.ParseTree`): lines after the third are ignored, for
    /// compatible extensions of the format.
    pub fn parse_text(text: &[u8]) -> Result<TreeHead, TreeHeadError> {
        let malformed = || TreeHeadError::Malformed {
            text: excerpt(text),
        };
        if text.len() > MAX_TREE_TEXT_BYTES {
            return Err(malformed());
        }
        let rest = text
            .strip_prefix(FIRST_LINE.as_bytes())
            .ok_or_else(malformed)?;
        let mut lines = rest.split(|&b| b == b'\n');
        let (Some(size), Some(hash), Some(_)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(malformed());
        };
        let size = std::str::from_utf8(size)
            .ok()
            .filter(|s| is_canonical_decimal(s))
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|&size| size <= MAX_TREE_SIZE)
            .ok_or_else(malformed)?;
        let hash = std::str::from_utf8(hash)
            .ok()
            .and_then(|s| Hash::parse(s).ok())
            .ok_or_else(malformed)?;
        Ok(TreeHead { size, hash })
    }

    /// This tree head as a note signed by `signer`, ready to serve at `/latest` and in lookups.
    pub fn sign(&self, signer: &SignerKey) -> Note {
        Note::from_valid_text(self.to_text()).sign(signer)
    }
}

impl fmt::Display for TreeHead {
    /// `tree#<size> <hash>`, for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tree#{} {}", self.size, self.hash)
    }
}

/// Whether `s` is a decimal number as Go's `strconv.FormatInt` writes it: digits only, and no
/// leading zero unless it is `0`.
pub(crate) fn is_canonical_decimal(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

/// A tree head in a note signed by at least one known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    head: TreeHead,
    note: VerifiedNote,
}

impl SignedTreeHead {
    /// Opens a signed tree note (the body of `/latest`, or the end of a lookup) with the known
    /// `verifiers` and reads the tree head in it.
    pub fn open(message: &[u8], verifiers: &Verifiers) -> Result<SignedTreeHead, TreeHeadError> {
        let note = Note::parse(message)?.open(verifiers)?;
        let head = TreeHead::parse_text(note.text().as_bytes())?;
        Ok(SignedTreeHead { head, note })
    }

    /// The tree head.
    pub fn head(&self) -> TreeHead {
        self.head
    }

    /// The note, with which of its signatures were verified.
    pub fn note(&self) -> &VerifiedNote {
        &self.note
    }

    /// The signed note exactly as it was received, to cache, forward or show in a fork report.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.note().to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sumdb::note::VerifierKey;

    /// tlog/note_test.go TestFormatTree and TestParseTree: Tree{123456789012,
    /// RecordHash("hello world")}.
    const GOLDEN: &str =
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";

    /// docs/checksum-db.md §2 (generated with x/mod): the tree of "leaf 0".."leaf 7" signed by
    /// note_test.go's PeterNeumann key.
    const SIGNED_8: &str = "go.sum database tree\n8\nxcLIIO00L92ozolra5z1uMAKIcxLIHFMxuXTwFw1JAs=\n\n\
        — PeterNeumann x08go6sHsTd/yFEKMujR7gpdO6wZOmER/lvwRgbDGLOeXGKUR7qnIgC2w4GLgfyBjgdFx5wD7Z1BsVp9u7bKMiu/DgQ=\n";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    fn peter() -> Verifiers {
        Verifiers::new([VerifierKey::parse(PETER_VKEY).unwrap()]).unwrap()
    }

    #[test]
    fn tree_heads_format_and_parse_as_go() {
        let head = TreeHead::new(123456789012, Hash::of_record(b"hello world")).unwrap();
        assert_eq!(head.to_text(), GOLDEN);
        assert_eq!(TreeHead::parse_text(GOLDEN.as_bytes()).unwrap(), head);
        // Junk after the three lines is ignored.
        for extra in ["JOE".to_owned(), "JOE\n".to_owned(), "JOE\n".repeat(1000)] {
            let text = format!("{GOLDEN}{extra}");
            assert_eq!(TreeHead::parse_text(text.as_bytes()).unwrap(), head);
        }
    }

    #[test]
    fn malformed_tree_heads_are_refused() {
        let bad = [
            // TestParseTree.
            format!("not-{GOLDEN}"),
            GOLDEN.replace("123456789012", "0xabcdef"),
            GOLDEN.replace("Bb0=", "BTOOBIG="),
            // Non-canonical sizes, a missing line, a size beyond int64.
            GOLDEN.replace("123456789012", "+123456789012"),
            GOLDEN.replace("123456789012", "0123456789012"),
            GOLDEN.replace("123456789012", "-0"),
            GOLDEN.replace("123456789012", "9223372036854775808"),
            GOLDEN.trim_end_matches('\n').to_owned(),
            "go.sum database tree v2\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n".to_owned(),
        ];
        for text in bad {
            assert!(TreeHead::parse_text(text.as_bytes()).is_err(), "{text:?}");
        }
        let max = GOLDEN.replace("123456789012", "9223372036854775807");
        assert_eq!(
            TreeHead::parse_text(max.as_bytes()).unwrap().size(),
            MAX_TREE_SIZE
        );
    }

    #[test]
    fn the_observed_empty_tree_parses() {
        // docs/checksum-db.md §1.4: /latest of an empty database.
        let text = b"go.sum database tree\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
        assert_eq!(TreeHead::parse_text(text).unwrap(), TreeHead::empty());
    }

    #[test]
    fn signed_heads_open_with_the_key() {
        let signed = SignedTreeHead::open(SIGNED_8.as_bytes(), &peter()).unwrap();
        assert_eq!(signed.head().size(), 8);
        assert_eq!(
            signed.head().hash().to_string(),
            "xcLIIO00L92ozolra5z1uMAKIcxLIHFMxuXTwFw1JAs="
        );
        assert_eq!(signed.to_bytes(), SIGNED_8.as_bytes());
        let error = SignedTreeHead::open(SIGNED_8.as_bytes(), &Verifiers::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "reading tree note: note has no verifiable signatures"
        );
    }

    #[test]
    fn flipped_bits_of_a_signed_head_fail_to_open() {
        // Every bit of the text's first two lines (the size is the second), and one bit of
        // every other byte (hash, separators, name, key hash, signature): no verified signature
        // by the key is left. (All bits everywhere pass too, but take seconds in debug builds.)
        let message = SIGNED_8.as_bytes();
        let size_line_end = "go.sum database tree\n8\n".len();
        let bits =
            (0..size_line_end * 8).chain((size_line_end..message.len()).map(|i| i * 8 + i % 8));
        for bit in bits {
            let mut changed = message.to_vec();
            changed[bit / 8] ^= 1 << (bit % 8);
            assert!(
                SignedTreeHead::open(&changed, &peter()).is_err(),
                "bit {bit}: {:?}",
                String::from_utf8_lossy(&changed)
            );
        }
    }
}
