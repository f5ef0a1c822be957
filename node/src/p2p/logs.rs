//! The checksum-log protocol (`/delos/<pool>/sumdb/1`): a member asks another for one path of
//! a checksum database (`latest`, `tile/…`, `lookup/…`) by the database's name, and gets what
//! the database's HTTP server would send, within a byte limit and a timeout.
//!
//! Nothing here checks content: the asker verifies every answer against the log's verifier key
//! and the heads it verified (the relay does, as for any database). What a node answers is
//! its [`LogSource`]'s business: its own log, and the logs it mirrors, from what it holds.

use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::messages::{LogRequest, MAX_LOG_ANSWER_BYTES, TransferStatus};
use futures::future::BoxFuture;
use futures::{AsyncReadExt, FutureExt};
use libp2p::{PeerId, Stream, StreamProtocol};
use libp2p_stream::{Control, IncomingStreams};

use super::accept::accept_loop;
use super::frame;
use super::handshake::HandshakeGates;
use super::transfer::{ServeError, TransferError, answer_busy, handshake, reply};
use super::{ServeLimits, SourceError};

/// Where the log server finds its answers (the node implements it over its own checksum
/// database and the logs it mirrors).
pub trait LogSource: Send + Sync + 'static {
    /// The bytes of `request`'s path of its log for `peer`, or `None` when the node neither
    /// writes nor mirrors that log, does not hold the path, or will not show it to `peer`.
    fn get<'a>(
        &'a self,
        peer: PeerId,
        request: &'a LogRequest,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, SourceError>>;
}

/// Asks `peer` for `request` once: the answer's bytes, at most `max_bytes` (and never more
/// than [`MAX_LOG_ANSWER_BYTES`]), within `timeout`. The bytes are unverified.
pub(crate) async fn fetch(
    mut control: Control,
    gates: &HandshakeGates,
    protocol: StreamProtocol,
    peer: PeerId,
    request: &LogRequest,
    (max_bytes, timeout): (u64, Duration),
) -> Result<Vec<u8>, TransferError> {
    let max_bytes = max_bytes.min(MAX_LOG_ANSWER_BYTES);
    let work = async {
        let (mut stream, length) =
            handshake(&mut control, gates, protocol, peer, request, max_bytes).await?;
        let mut body = Vec::with_capacity(usize::try_from(length).unwrap_or(0).min(1 << 20));
        let received = (&mut stream)
            .take(length)
            .read_to_end(&mut body)
            .await
            .unwrap_or(0) as u64;
        if received != length {
            return Err(TransferError::Truncated {
                peer,
                received,
                length,
            });
        }
        let _ = futures::AsyncWriteExt::close(&mut stream).await;
        Ok(body)
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or(Err(TransferError::TimedOut {
            peer,
            after: timeout,
        }))
}

/// Serves every incoming log stream until `incoming` ends, at most `limits.permits` at once;
/// a stream beyond that is answered busy.
pub(crate) async fn serve(
    incoming: IncomingStreams,
    source: Arc<dyn LogSource>,
    limits: ServeLimits,
) {
    let serve = move |peer: PeerId, stream: Stream| {
        let source = Arc::clone(&source);
        async move {
            if let Err(err) = serve_one(peer, stream, &*source).await {
                tracing::debug!(%peer, error = %err, "log request not served");
            }
        }
        .boxed()
    };
    let busy = |_, stream| answer_busy(stream).boxed();
    accept_loop(incoming, limits, "log", Box::new(serve), Box::new(busy)).await;
}

/// Answers one request on `stream`.
async fn serve_one(
    peer: PeerId,
    mut stream: Stream,
    source: &dyn LogSource,
) -> Result<(), ServeError> {
    let request: LogRequest = match frame::read(&mut stream).await {
        Ok(request) => request,
        Err(err) => {
            reply(&mut stream, TransferStatus::Refused, 0).await?;
            return Err(err.into());
        }
    };
    let Some(body) = source.get(peer, &request).await? else {
        return reply(&mut stream, TransferStatus::NotFound, 0).await;
    };
    if body.len() as u64 > MAX_LOG_ANSWER_BYTES {
        return reply(&mut stream, TransferStatus::Refused, 0).await;
    }
    reply(&mut stream, TransferStatus::Found, body.len() as u64).await?;
    futures::AsyncWriteExt::write_all(&mut stream, &body).await?;
    futures::AsyncWriteExt::close(&mut stream).await?;
    Ok(())
}
