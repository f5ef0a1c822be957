//! `HashReader`: how the tree functions read hashes a store (or a set of checked tiles) holds,
//! and `TlogError`, what can go wrong while they do.

use super::{Hash, SizeError};

/// Reads stored hashes by their stored hash index (see
/// [`stored_hash_index`](super::stored_hash_index)).
///
/// A checksum database keeps its hashes in a flat list in this order, so a store implements
/// this with one read per index; [`CheckedTiles`](crate::sumdb::CheckedTiles) implements it from
/// tiles checked against a signed tree. The functions of this module ask for all the hashes
/// they need in one call, not necessarily in increasing order.
pub trait HashReader {
    /// Why reading failed.
    type Error;

    /// The hashes at `indexes`, one per index and in the same order.
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error>;
}

/// An index asked of an in-memory hash list that is not in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stored hash index {index} is not stored (only {stored} hashes are)")]
#[non_exhaustive]
pub struct IndexNotStored {
    /// The index asked for.
    pub index: u64,
    /// How many hashes are stored.
    pub stored: usize,
}

/// A list of stored hashes in stored hash index order (position = index).
impl HashReader for [Hash] {
    type Error = IndexNotStored;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, IndexNotStored> {
        indexes
            .iter()
            .map(|&index| {
                usize::try_from(index)
                    .ok()
                    .and_then(|at| self.get(at).copied())
                    .ok_or(IndexNotStored {
                        index,
                        stored: self.len(),
                    })
            })
            .collect()
    }
}

impl HashReader for Vec<Hash> {
    type Error = IndexNotStored;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, IndexNotStored> {
        self.as_slice().read_hashes(indexes)
    }
}

impl<R: HashReader + ?Sized> HashReader for &R {
    type Error = R::Error;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, R::Error> {
        (**self).read_hashes(indexes)
    }
}

/// A closure used as a [`HashReader`], for a store that reads hashes its own way:
/// `HashReaderFn(|indexes: &[u64]| store.read(indexes))`.
#[derive(Debug, Clone, Copy)]
pub struct HashReaderFn<F>(pub F);

impl<F, E> HashReader for HashReaderFn<F>
where
    F: Fn(&[u64]) -> Result<Vec<Hash>, E>,
{
    type Error = E;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, E> {
        (self.0)(indexes)
    }
}

/// Why a tree function that reads stored hashes failed. `E` is the reader's own error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlogError<E> {
    /// The hash reader failed.
    #[error("reading stored hashes failed")]
    Read(#[source] E),
    /// The hash reader broke its contract: it returned another number of hashes than asked.
    #[error("hash reader returned {got} hashes for {asked} indexes")]
    WrongCount {
        /// How many indexes were asked for.
        asked: usize,
        /// How many hashes came back.
        got: usize,
    },
    /// The sizes or record index asked for do not fit together.
    #[error(transparent)]
    Size(#[from] SizeError),
    /// A data tile asked of a hash store: data tiles hold record texts, which a store of hashes
    /// does not have.
    #[error("{tile} is a data tile; it cannot be read from stored hashes")]
    DataTile {
        /// The tile's path.
        tile: String,
    },
}

/// Reads `indexes` from `reader`, checking that it returned one hash per index.
pub(crate) fn read_exact<R: HashReader + ?Sized>(
    reader: &R,
    indexes: &[u64],
) -> Result<Vec<Hash>, TlogError<R::Error>> {
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = reader.read_hashes(indexes).map_err(TlogError::Read)?;
    if hashes.len() != indexes.len() {
        return Err(TlogError::WrongCount {
            asked: indexes.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}
