//! Reading and writing one length-prefixed, size-checked, canonical message frame on a stream.

use std::io;

use delos_pool_protocol::codec::{self, Canonical, CodecError};
use delos_pool_protocol::messages::{FRAME_PREFIX_BYTES, encode_frame, frame_len};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The stream failed or ended early.
    #[error("stream failed while moving a frame")]
    Io(#[from] io::Error),
    /// The frame is too large, malformed or not canonical.
    #[error("frame is not a valid message")]
    Codec(#[source] Box<CodecError>),
}

impl From<CodecError> for FrameError {
    fn from(err: CodecError) -> FrameError {
        FrameError::Codec(Box::new(err))
    }
}

/// Writes `value` as one frame and flushes.
pub(crate) async fn write<T, W>(io: &mut W, value: &T) -> Result<(), FrameError>
where
    T: Canonical,
    W: AsyncWrite + Unpin,
{
    io.write_all(&encode_frame(value)?).await?;
    io.flush().await?;
    Ok(())
}

/// Reads one frame holding a `T`: the length prefix is checked against `T::MAX_BYTES` before
/// the body is read.
pub(crate) async fn read<T, R>(io: &mut R) -> Result<T, FrameError>
where
    T: Canonical,
    R: AsyncRead + Unpin,
{
    let mut prefix = [0u8; FRAME_PREFIX_BYTES];
    io.read_exact(&mut prefix).await?;
    let len = frame_len::<T>(prefix)?;
    let mut body = vec![0u8; len];
    io.read_exact(&mut body).await?;
    Ok(codec::decode(&body)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use delos_pool_protocol::messages::SyncRequest;

    #[tokio::test]
    async fn a_frame_round_trips_and_a_huge_prefix_is_refused() {
        let request = SyncRequest {
            after_seq: 9,
            max_items: 3,
        };
        let mut bytes = Vec::new();
        write(&mut bytes, &request).await.unwrap();
        let back: SyncRequest = read(&mut bytes.as_slice()).await.unwrap();
        assert_eq!(back, request);
        let huge = u32::MAX.to_be_bytes();
        let err = read::<SyncRequest, _>(&mut huge.as_slice())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, FrameError::Codec(e) if matches!(**e, CodecError::TooLarge { .. })),
            "{err:?}"
        );
    }
}
