//! The fill-request protocol (`/delos/<pool>/fill/1`): ask a member to fill a version or answer
//! a query for this node, and answer such asks with a [`FillService`].
//!
//! Only a node that fills for peers registers the protocol ([`PoolHandle::serve_fills`]), so
//! identify tells the pool who does; asking one that does not fails at once. What the asked
//! node does, and for whom, is the service's business; the asker believes nothing in the
//! answer that it cannot check.
//!
//! [`PoolHandle::serve_fills`]: super::PoolHandle::serve_fills

use std::sync::Arc;
use std::time::Duration;

use delos_pool_protocol::messages::{FillAnswer, FillAsk};
use futures::FutureExt;
use futures::future::BoxFuture;
use libp2p::{PeerId, Stream, StreamProtocol};
use libp2p_stream::{Control, IncomingStreams, OpenStreamError};

use super::ServeLimits;
use super::accept::accept_loop;
use super::frame::{self, FrameError};
use super::handshake::{HANDSHAKE_TIMEOUT, HandshakeGates};

/// Answers members' fill requests (the node implements it over its fill path).
pub trait FillService: Send + Sync + 'static {
    /// The answer to `ask` from `peer`.
    fn answer<'a>(&'a self, peer: PeerId, ask: FillAsk) -> BoxFuture<'a, FillAnswer>;

    /// Counts an ask turned away because too many were being answered.
    fn busy(&self);
}

/// Why a fill request got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FillAskError {
    /// No stream could be opened (unreachable, or the peer does not fill for others).
    #[error("cannot ask {peer} to fill")]
    Open {
        /// The peer.
        peer: PeerId,
        /// libp2p's error.
        #[source]
        source: OpenStreamError,
    },
    /// The request or the answer could not be moved, or is malformed.
    #[error("fill request to {peer} failed")]
    Frame {
        /// The peer.
        peer: PeerId,
        /// What failed.
        #[source]
        source: FrameError,
    },
    /// The answer did not come in time.
    #[error("{peer} did not answer a fill request within {after:?}")]
    TimedOut {
        /// The peer.
        peer: PeerId,
        /// The time allowed.
        after: Duration,
    },
}

/// Asks `peer` once and waits at most `timeout` for its answer. The stream is opened in this
/// node's turn for `peer` (see `handshake`); the answer is waited for outside it, so asks to
/// one peer run side by side.
pub(crate) async fn ask(
    mut control: Control,
    gates: &HandshakeGates,
    protocol: StreamProtocol,
    peer: PeerId,
    ask: &FillAsk,
    timeout: Duration,
) -> Result<FillAnswer, FillAskError> {
    let frame_error = |source| FillAskError::Frame { peer, source };
    let opened = async {
        let mut stream = control
            .open_stream(peer, protocol.clone())
            .await
            .map_err(|source| FillAskError::Open { peer, source })?;
        frame::write(&mut stream, ask).await.map_err(frame_error)?;
        Ok::<_, FillAskError>(stream)
    };
    let mut stream = gates
        .run(peer, &protocol, opened)
        .await
        .ok_or(FillAskError::TimedOut {
            peer,
            after: HANDSHAKE_TIMEOUT,
        })??;
    let answer = tokio::time::timeout(timeout, frame::read::<FillAnswer, _>(&mut stream))
        .await
        .map_err(|_| FillAskError::TimedOut {
            peer,
            after: timeout,
        })?
        .map_err(frame_error)?;
    let _ = futures::AsyncWriteExt::close(&mut stream).await;
    Ok(answer)
}

/// Answers every incoming fill request until `incoming` ends, at most `limits.permits` at
/// once; one beyond that is refused as busy at once.
pub(crate) async fn serve(
    incoming: IncomingStreams,
    service: Arc<dyn FillService>,
    limits: ServeLimits,
) {
    let serving = Arc::clone(&service);
    let serve = move |peer: PeerId, stream: Stream| {
        let service = Arc::clone(&serving);
        async move {
            if let Err(err) = serve_one(peer, stream, &*service).await {
                tracing::debug!(%peer, error = %err, "fill request not answered");
            }
        }
        .boxed()
    };
    let busy = move |_, mut stream: Stream| {
        service.busy();
        async move {
            let answer = FillAnswer::Refused {
                reason: String::from("busy: too many fill requests at once"),
            };
            if frame::write(&mut stream, &answer).await.is_ok() {
                let _ = futures::AsyncWriteExt::close(&mut stream).await;
            }
        }
        .boxed()
    };
    accept_loop(incoming, limits, "fill", Box::new(serve), Box::new(busy)).await;
}

async fn serve_one(
    peer: PeerId,
    mut stream: Stream,
    service: &dyn FillService,
) -> Result<(), FrameError> {
    let answer = match frame::read::<FillAsk, _>(&mut stream).await {
        Ok(ask) => service.answer(peer, ask).await,
        Err(err) => {
            let answer = FillAnswer::Refused {
                reason: String::from("malformed fill request"),
            };
            frame::write(&mut stream, &answer).await?;
            return Err(err);
        }
    };
    frame::write(&mut stream, &answer).await?;
    let _ = futures::AsyncWriteExt::close(&mut stream).await;
    Ok(())
}
