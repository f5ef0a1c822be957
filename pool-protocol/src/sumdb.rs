//! The Go checksum database's vocabulary (`golang.org/x/mod/sumdb`): signed notes, the tiled
//! transparency log, tiles and their paths, inclusion and consistency proofs, tree heads and
//! lookup bodies. Pure: callers fetch and store; this module formats, parses and checks.
//!
//! Two users, two flows:
//!
//! * A **relay** that caches what a database such as `sum.golang.org` serves trusts nothing it
//!   fetched until: the head opens with the database's verifier key
//!   ([`SignedTreeHead::open`]); a newer head extends the one it had
//!   ([`TilePlan::for_tree_size`], fetch, [`TilePlan::check`], [`check_consistency`], whose
//!   [`Fork`] is the evidence when it does not); a lookup's record is a leaf of a checked head
//!   ([`Lookup::open`], [`TilePlan::for_record`], [`CheckedTiles::check_record`]); a tile's
//!   bytes are part of a checked head ([`TilePlan::for_tile`], [`CheckedTiles::check_tile`]).
//! * A node that **runs its own database** appends records ([`RecordText::go_sum`],
//!   [`stored_hashes`] into its flat hash store), computes the tree hash ([`tree_hash`]),
//!   signs heads ([`TreeHead::sign`]), and serves lookups ([`Lookup`]), hash tiles
//!   ([`new_tiles`], [`read_tile_data`]) and data tiles ([`format_data_tile`]).
//!
//! ```
//! use delos_pool_protocol::sumdb::{
//!     KeyName, Lookup, RecordText, SignerKey, TilePlan, TreeHead, Verifiers, read_tile_data,
//!     stored_hashes, tree_hash,
//! };
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The database: append one record, sign the head, answer a lookup.
//! let signer = SignerKey::from_seed(KeyName::new("sum.example.org")?, [7; 32]);
//! let record = RecordText::parse(b"example.org/m v1.0.0 h1:x=\nexample.org/m v1.0.0/go.mod h1:y=\n")?;
//! let mut store = Vec::new();
//! store.extend(stored_hashes(0, record.hash(), &store)?);
//! let head = TreeHead::new(1, tree_hash(1, &store)?)?;
//! let body = Lookup::new(0, record, head.sign(&signer).to_bytes()).to_bytes();
//!
//! // The relay: open the lookup with the verifier key, then check the record against tiles.
//! let verifiers = Verifiers::new([signer.verifier_key()])?;
//! let lookup = Lookup::parse(&body)?;
//! let signed = lookup.open(&verifiers)?;
//! let plan = TilePlan::for_record(signed.head(), 8, lookup.id())?;
//! let fetched = plan
//!     .tiles()
//!     .iter()
//!     .map(|tile| read_tile_data(tile, &store)) // in a real relay: from the database
//!     .collect::<Result<Vec<_>, _>>()?;
//! let tiles = plan.check(fetched)?;
//! tiles.check_record(lookup.id(), lookup.record())?;
//! # Ok(())
//! # }
//! ```

pub mod fork_proof;
pub mod lookup;
pub mod note;
pub mod proof;
#[cfg(test)]
mod proptests;
pub mod record;
#[cfg(test)]
mod test_log;
pub mod text;
pub mod tile;
pub mod tlog;
pub mod tree_head;

pub use fork_proof::{
    ForkProofError, MAX_FORK_PROOF_RECORDS, MAX_FORK_PROOF_TILE_BYTES, ProvedFork, check_fork,
    check_fork_with_tiles, fork_proof_tiles,
};
pub use lookup::{Lookup, LookupError};
pub use note::{
    InvalidKeyName, InvalidSignerKey, InvalidVerifierKey, KeyHash, KeyName, KeyProblem, Note,
    NoteError, NoteSignature, SignerKey, VerifiedNote, VerifierKey, Verifiers,
};
pub use proof::{
    ConsistencyError, Fork, InvalidProof, RecordProof, TreeProof, check_consistency, check_record,
    check_tree, prove_record, prove_tree,
};
pub use record::{InvalidRecordText, RecordText};
pub use text::TextProblem;
pub use tile::{
    CheckedTiles, GO_TILE_HEIGHT, MAX_TILE_HEIGHT, Tile, TileError, TileLevel, TilePlan,
    format_data_tile, hash_from_tile, new_tiles, parse_data_tile, read_tile_data,
};
pub use tlog::{
    Hash, HashReader, HashReaderFn, IndexNotStored, InvalidHash, MAX_TREE_SIZE, SizeError,
    TlogError, split_stored_hash_index, stored_hash_count, stored_hash_index, stored_hashes,
    tree_hash,
};
pub use tree_head::{SignedTreeHead, TreeHead, TreeHeadError};
