//! `Lookup`: the body of a checksum database's `/lookup/M@V` answer: the record id, the record
//! text, a blank line, and the signed tree head the record is in.

use super::note::Verifiers;
use super::record::{InvalidRecordText, RecordText};
use super::text::excerpt;
use super::tree_head::{SignedTreeHead, TreeHeadError, is_canonical_decimal};

/// A lookup body, read but not yet checked: nothing in it is trusted until
/// [`Lookup::open`] has checked the head and tiles of that tree have shown the record in it
/// ([`CheckedTiles::check_record`](crate::sumdb::CheckedTiles::check_record)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    id: u64,
    record: RecordText,
    signed_head: Vec<u8>,
}

/// Why a lookup body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The first line is not a record id in canonical decimal.
    #[error("malformed record id line {line:?}")]
    Id {
        /// The start of the first line.
        line: String,
    },
    /// No blank line ends the record text.
    #[error("record text is not followed by a blank line")]
    Unterminated,
    /// The record text breaks the record text rules.
    #[error(transparent)]
    Record(#[from] InvalidRecordText),
    /// The signed tree head is malformed or not signed by a known key.
    #[error(transparent)]
    Head(#[from] TreeHeadError),
    /// The record id is not below the signed tree's size.
    #[error("cannot validate record {record} in tree of size {tree_size}")]
    NotInTree {
        /// The record id.
        record: u64,
        /// The signed tree's size.
        tree_size: u64,
    },
}

impl Lookup {
    /// The lookup answer for record `id`, `record`, in the tree of the signed note
    /// `signed_head` (as [`Note::to_bytes`](crate::sumdb::Note::to_bytes) gives it).
    pub fn new(id: u64, record: RecordText, signed_head: Vec<u8>) -> Lookup {
        Lookup {
            id,
            record,
            signed_head,
        }
    }

    /// Splits a lookup body (Go's `tlog.ParseRecord` and what follows it): the id line, the
    /// record text up to the first blank line, and the rest, the signed tree note.
    pub fn parse(body: &[u8]) -> Result<Lookup, LookupError> {
        let newline = body.iter().position(|&b| b == b'\n');
        let (id_line, rest) = match newline {
            Some(at) => (&body[..at], &body[at + 1..]),
            None => (body, &[][..]),
        };
        let id = std::str::from_utf8(id_line)
            .ok()
            .filter(|s| newline.is_some() && is_canonical_decimal(s))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| LookupError::Id {
                line: excerpt(id_line),
            })?;
        let end = rest
            .windows(2)
            .position(|pair| pair == b"\n\n")
            .ok_or(LookupError::Unterminated)?;
        let record = RecordText::parse(&rest[..=end])?;
        Ok(Lookup {
            id,
            record,
            signed_head: rest[end + 2..].to_vec(),
        })
    }

    /// The body: `<id>\n<record text>\n<signed tree note>` (Go's `tlog.FormatRecord` followed
    /// by the note).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = format!("{}\n{}\n", self.id, self.record).into_bytes();
        body.extend_from_slice(&self.signed_head);
        body
    }

    /// The record id (its index in the log).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The record text.
    pub fn record(&self) -> &RecordText {
        &self.record
    }

    /// The signed tree note, as received.
    pub fn signed_head(&self) -> &[u8] {
        &self.signed_head
    }

    /// Opens the signed tree head with the known `verifiers` and checks that the record id is
    /// inside that tree (steps 1 and 3 of Go's client; then the caller merges the head into its
    /// timeline and checks the record against tiles of the tree).
    pub fn open(&self, verifiers: &Verifiers) -> Result<SignedTreeHead, LookupError> {
        let head = SignedTreeHead::open(&self.signed_head, verifiers)?;
        let tree_size = head.head().size();
        if self.id >= tree_size {
            return Err(LookupError::NotInTree {
                record: self.id,
                tree_size,
            });
        }
        Ok(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sumdb::note::NoteError;

    /// docs/checksum-db.md §1.2, observed from x/mod's reference server: record 0 of a scratch
    /// database whose key, named corp.example, is not published.
    const OBSERVED: &str = "0\n\
        example.org/pub v1.0.0 h1:hroKYilh4yBYM8F6DNstA12PipYTgkhweLckqChDvsU=\n\
        example.org/pub v1.0.0/go.mod h1:Zo7xw5WturV+2MJbeVMYSEESKORXHhxjGmu3QDYx0WY=\n\
        \n\
        go.sum database tree\n\
        1\n\
        npnT5hMVEmuaVAULeqgcZ3e8Z74/wQc+ecqxBXxhZvQ=\n\
        \n\
        — corp.example mhvNXdXSzOBhaZrgxRUtP1PWMXXhnXJN+caOTS8rNlJKAxkf+p85+r3h3b42apCFbN09HXRKuN6a/m6id3Fy9sDYhQ0=\n";

    #[test]
    fn the_observed_lookup_parses_and_formats_back() {
        let lookup = Lookup::parse(OBSERVED.as_bytes()).unwrap();
        assert_eq!(lookup.id(), 0);
        assert!(
            lookup
                .record()
                .as_str()
                .starts_with("example.org/pub v1.0.0 h1:")
        );
        assert_eq!(lookup.to_bytes(), OBSERVED.as_bytes());
        // Without corp.example's key the head cannot be trusted; the signer is still named.
        match lookup.open(&Verifiers::default()) {
            Err(LookupError::Head(TreeHeadError::Note(NoteError::NoVerifiableSignatures {
                unverified,
            }))) => assert_eq!(unverified[0].name().as_str(), "corp.example"),
            other => panic!("{other:?}"),
        }
        // The one-record tree's hash is the record's leaf hash.
        let note = crate::sumdb::note::Note::parse(lookup.signed_head()).unwrap();
        let head = crate::sumdb::tree_head::TreeHead::parse_text(note.text().as_bytes()).unwrap();
        assert_eq!(head.hash(), lookup.record().hash());
    }

    #[test]
    fn records_split_at_the_first_blank_line() {
        // tlog/note_test.go TestParseRecord.
        let lookup = Lookup::parse(b"123456789012\nhello, world\n\njunk on end\x01\xff").unwrap();
        assert_eq!(lookup.id(), 123456789012);
        assert_eq!(lookup.record().as_str(), "hello, world\n");
        assert_eq!(lookup.signed_head(), b"junk on end\x01\xff");
        let lookup = Lookup::parse(b"123456789012\nhello, world\n\n").unwrap();
        assert!(lookup.signed_head().is_empty());
        // TestFormatRecord: the id line, the text and a blank line.
        assert_eq!(lookup.to_bytes(), b"123456789012\nhello, world\n\n");
    }

    #[test]
    fn malformed_lookups_are_refused() {
        // tlog/note_test.go TestParseRecord's bad records, and non-canonical ids.
        let bad: [&[u8]; 8] = [
            b"not-123456789012\nhello, world\n\n",
            b"123\nhello\x01world\n\n",
            b"123\nhello\xffworld\n\n",
            b"123\nhello world\n",
            b"0x123\nhello world\n\n",
            b"+123\nhello world\n\n",
            b"0123\nhello world\n\n",
            b"123",
        ];
        for body in bad {
            assert!(
                Lookup::parse(body).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
