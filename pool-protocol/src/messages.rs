//! The pool's own wire messages (blob transfer, feed sync), their size limits, and the
//! pool-namespaced names of every protocol and gossip topic.
//!
//! # Framing
//!
//! Every message here travels as one *frame*: a 4-byte big-endian length, then that many bytes
//! of the message's canonical [`codec`] encoding. A receiver reads the prefix, refuses lengths
//! above the type's [`Canonical::MAX_BYTES`] before reading further ([`frame_len`]), and decodes
//! through [`codec::decode`], so every frame is bounded, canonical and free of trailing bytes.
//!
//! # Transfer (`/delos/<pool>/transfer/1`)
//!
//! The fetching side sends one [`TransferRequest`] frame; the serving side answers with one
//! [`TransferHeader`] frame and, when the status is [`TransferStatus::Found`], exactly
//! `length` raw bytes, then closes the stream. The fetching side never trusts `length` beyond
//! its own limit ([`BlobKind::max_bytes`] at most) and verifies the bytes against signed hashes
//! before using them: nothing in this protocol vouches for content.
//!
//! # Sync (`/delos/<pool>/sync/2`, and `/delos/<pool>/sync/1` for older nodes)
//!
//! The fetching side sends one [`SyncRequest`] frame (a cursor and a page size); the serving side
//! answers with a [`SyncPageHeaderV2`] frame followed by `items` [`SyncItem`] frames, each one
//! signed record with its feed sequence number, in increasing order. A page never holds more
//! than [`MAX_SYNC_PAGE_ITEMS`] items, so one page is at most about 1.1 MiB.
//!
//! Version 2 adds the serving feed's [`FeedId`] to the header: a node that wiped its store but
//! kept its key starts a new feed (from sequence number 1, with a new id), and a peer whose
//! cursor belongs to the old feed must start over instead of asking for numbers past it.
//! Version 1 ([`SyncPageHeader`], no id) is still served and spoken, because frames are
//! canonical and exact (a longer header is an error to an old node), so a change of any frame
//! is a new protocol name: each node accepts both, asks for 2 first, and falls back to 1 when
//! the peer does not speak 2.
//!
//! # Checksum logs (`/delos/<pool>/sumdb/1`)
//!
//! The asking side sends one [`LogRequest`] frame (a checksum database's name and a path of it:
//! `latest`, `tile/…`, `lookup/…`); the serving side, a member that writes or mirrors that log,
//! answers like a transfer: one [`TransferHeader`] frame and, when found, exactly `length`
//! bytes (at most [`MAX_LOG_ANSWER_BYTES`]), what the database's HTTP server would send. Members
//! fetch tiles this way to prove gossiped heads consistent, and mirrors sync logs; the asker
//! checks every byte against the log's key and the heads it verified.
//!
//! # Fill requests (`/delos/<pool>/fill/1`)
//!
//! A member that cannot fill a version or answer a query itself sends one [`FillAsk`] frame to
//! a member it trusts, which fills it as for its own clients and answers one [`FillAnswer`]
//! frame (a filled version with its signed record, which the asker verifies before fetching
//! the bytes over the transfer protocol). Members that do not fill for peers do not speak the
//! protocol, which is how identify tells others.

mod feed_id;
mod fill_ask;
mod heads;
mod log_request;
mod pool_name;

pub use feed_id::FeedId;
pub use fill_ask::{
    FillAnswer, FillAsk, MAX_FILL_QUERY_BYTES, MAX_FILL_REASON_BYTES, MAX_LISTED_VERSIONS,
};
pub use heads::{HeadGossip, MAX_GOSSIPED_NOTE_BYTES};
pub use log_request::{
    InvalidLogRequest, LogRequest, MAX_LOG_ANSWER_BYTES, MAX_LOG_NAME_BYTES, MAX_LOG_PATH_BYTES,
};
pub use pool_name::{InvalidPoolName, PoolName};

use serde::{Deserialize, Serialize};

use crate::codec::{self, Canonical, CodecError};
use crate::module_path::ModulePath;
use crate::signing::SignedRecord;
use crate::version::Version;
use crate::zip::{MAX_GO_MOD_BYTES, MAX_ZIP_BYTES};

/// The length of a frame's length prefix, in bytes (a big-endian `u32`).
pub const FRAME_PREFIX_BYTES: usize = 4;

/// The largest `.info` file served or accepted over the transfer protocol, in bytes.
pub const MAX_INFO_BYTES: u64 = 64 << 10;

/// The most records one sync page may carry.
pub const MAX_SYNC_PAGE_ITEMS: u32 = 256;

/// The largest gossipsub RPC frame a node sends or accepts, in bytes (gossipsub's own default).
///
/// It must hold one signed record plus gossipsub's envelope (author, sequence number,
/// signature, key, topic, about 200 bytes), but also the control frames that share the limit:
/// an IHAVE or IWANT listing many message ids reaches gossipsub's 16 KiB control limit during a
/// burst, and a frame over the limit breaks the whole inbound stream, losing every message
/// behind it. So the frame limit stays generous, and the record limit is enforced per message
/// by the receiver ([`SignedRecord::MAX_BYTES`], before decoding).
pub const GOSSIP_MAX_TRANSMIT_BYTES: usize = 64 << 10;

/// Which of a module version's three files a transfer moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BlobKind {
    /// The `.info` JSON.
    Info,
    /// The `.mod` file (go.mod).
    Mod,
    /// The module `.zip`.
    Zip,
}

impl BlobKind {
    /// The largest file of this kind the protocol moves, in bytes.
    pub fn max_bytes(self) -> u64 {
        match self {
            BlobKind::Info => MAX_INFO_BYTES,
            BlobKind::Mod => MAX_GO_MOD_BYTES,
            BlobKind::Zip => MAX_ZIP_BYTES,
        }
    }

    /// The download-protocol file extension: `info`, `mod` or `zip`.
    pub fn extension(self) -> &'static str {
        match self {
            BlobKind::Info => "info",
            BlobKind::Mod => "mod",
            BlobKind::Zip => "zip",
        }
    }
}

/// "Send me this file of this module version": the first frame of a transfer stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedTransferRequest")]
pub struct TransferRequest {
    module: ModulePath,
    version: Version,
    kind: BlobKind,
}

/// [`TransferRequest`]'s wire shape before its check (same fields, same order).
#[derive(Deserialize)]
struct UncheckedTransferRequest {
    module: ModulePath,
    version: Version,
    kind: BlobKind,
}

/// A transfer request named a version that is not canonical (`v1.2`, `v1.2.3+meta`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transfer request for version {version}: the version is not canonical")]
pub struct NonCanonicalVersion {
    /// The version named.
    pub version: String,
}

impl TransferRequest {
    /// A request for `kind` of `module@version`; the version must be canonical.
    pub fn new(
        module: ModulePath,
        version: Version,
        kind: BlobKind,
    ) -> Result<TransferRequest, NonCanonicalVersion> {
        if !version.is_canonical() {
            return Err(NonCanonicalVersion {
                version: version.into_string(),
            });
        }
        Ok(TransferRequest {
            module,
            version,
            kind,
        })
    }

    /// The module path.
    pub fn module(&self) -> &ModulePath {
        &self.module
    }

    /// The (canonical) version.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// Which file.
    pub fn kind(&self) -> BlobKind {
        self.kind
    }
}

impl TryFrom<UncheckedTransferRequest> for TransferRequest {
    type Error = NonCanonicalVersion;

    fn try_from(raw: UncheckedTransferRequest) -> Result<TransferRequest, NonCanonicalVersion> {
        TransferRequest::new(raw.module, raw.version, raw.kind)
    }
}

impl Canonical for TransferRequest {
    /// A module path (512 bytes at most in records), a version and a tag, with room to spare.
    const MAX_BYTES: usize = 1024;
    const NAME: &'static str = "transfer request";
}

/// The serving side's answer to a [`TransferRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TransferStatus {
    /// The file follows: exactly `length` bytes.
    Found,
    /// The serving node does not hold that file (or will not say: private modules are
    /// answered as not found).
    NotFound,
    /// The serving node is at its limit of concurrent transfers; ask again later or elsewhere.
    Busy,
    /// The request was malformed or the file is larger than the protocol allows.
    Refused,
}

/// The first frame of a transfer response: a status, and the byte length that follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferHeader {
    /// Whether the file follows.
    pub status: TransferStatus,
    /// How many raw bytes follow (0 unless `status` is [`TransferStatus::Found`]).
    pub length: u64,
}

impl Canonical for TransferHeader {
    const MAX_BYTES: usize = 16;
    const NAME: &'static str = "transfer header";
}

/// "Send me the feed records after sequence number `after_seq`": the first frame of a sync
/// stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The last sequence number the asker already has from this peer (0: none yet; feeds
    /// start at 1).
    pub after_seq: u64,
    /// The most items the asker wants in this page; servers cap it at [`MAX_SYNC_PAGE_ITEMS`].
    pub max_items: u32,
}

impl Canonical for SyncRequest {
    const MAX_BYTES: usize = 16;
    const NAME: &'static str = "sync request";
}

/// The first frame of a sync response: how many [`SyncItem`] frames follow, and the newest
/// sequence number in the serving node's feed (so the asker knows whether to ask again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPageHeader {
    /// The number of [`SyncItem`] frames that follow.
    pub items: u32,
    /// The newest sequence number in the serving node's feed (0 for an empty feed).
    pub head_seq: u64,
}

impl Canonical for SyncPageHeader {
    const MAX_BYTES: usize = 16;
    const NAME: &'static str = "sync page header";
}

/// The first frame of a version 2 sync response: a [`SyncPageHeader`] and the id of the feed
/// the sequence numbers belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPageHeaderV2 {
    /// The number of [`SyncItem`] frames that follow.
    pub items: u32,
    /// The newest sequence number in the serving node's feed (0 for an empty feed).
    pub head_seq: u64,
    /// The serving node's feed: a different id than the one a cursor was taken in means the
    /// feed restarted, and the cursor no longer applies.
    pub feed_id: FeedId,
}

impl Canonical for SyncPageHeaderV2 {
    const MAX_BYTES: usize = 32;
    const NAME: &'static str = "sync page header v2";
}

/// One record of a sync page, with its sequence number in the serving node's feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncItem {
    /// The record's sequence number in the serving node's feed.
    pub seq: u64,
    /// The signed record (not yet verified: the receiver verifies it).
    pub record: SignedRecord,
}

impl Canonical for SyncItem {
    const MAX_BYTES: usize = SignedRecord::MAX_BYTES + 16;
    const NAME: &'static str = "sync item";
}

/// `value` as one frame: its length as a big-endian `u32`, then its canonical encoding.
pub fn encode_frame<T: Canonical>(value: &T) -> Result<Vec<u8>, CodecError> {
    let body = codec::encode(value)?;
    let len = u32::try_from(body.len()).map_err(|_| CodecError::TooLarge {
        what: T::NAME,
        len: body.len(),
        max: T::MAX_BYTES,
    })?;
    let mut frame = Vec::with_capacity(FRAME_PREFIX_BYTES + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// The body length a frame prefix announces, refused if it exceeds `T::MAX_BYTES` (before the
/// body is read).
pub fn frame_len<T: Canonical>(prefix: [u8; FRAME_PREFIX_BYTES]) -> Result<usize, CodecError> {
    let len = usize::try_from(u32::from_be_bytes(prefix)).unwrap_or(usize::MAX);
    if len > T::MAX_BYTES {
        return Err(CodecError::TooLarge {
            what: T::NAME,
            len,
            max: T::MAX_BYTES,
        });
    }
    Ok(len)
}

#[cfg(test)]
mod tests;
