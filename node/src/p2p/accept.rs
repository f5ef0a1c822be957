//! The accept loop shared by the transfer and sync servers.
//!
//! It must take every inbound stream from libp2p-stream at once: the library keeps a single
//! slot per protocol and drops a stream that arrives while the slot is taken (see
//! `handshake`). So the loop itself awaits nothing but the next stream; serving and refusing
//! both happen in tasks, each kind bounded.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use libp2p::{PeerId, Stream};
use libp2p_stream::IncomingStreams;
use tokio::sync::Semaphore;

use super::ServeLimits;

/// Most refusals (a node at its serving limit telling peers so) being written at once; a
/// stream beyond that is dropped unanswered, which its dialer retries like a lost stream.
const MAX_REFUSALS: usize = 64;
/// The longest one refusal may take (a peer that does not read is not waited for).
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// What a server does with one stream.
pub(crate) type Handler = Box<dyn Fn(PeerId, Stream) -> BoxFuture<'static, ()> + Send + Sync>;

/// Takes every stream of `incoming` until it ends: `serve` runs it in a task when one of
/// `limits.permits` is free (cut after `limits.timeout`), `refuse` otherwise (cut after
/// [`REFUSAL_TIMEOUT`]). `what` names the protocol in logs.
pub(crate) async fn accept_loop(
    mut incoming: IncomingStreams,
    limits: ServeLimits,
    what: &'static str,
    serve: Handler,
    refuse: Handler,
) {
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    while let Some((peer, stream)) = incoming.next().await {
        let (permit, work, timeout) = match limits.permits.clone().try_acquire_owned() {
            Ok(permit) => (permit, serve(peer, stream), limits.timeout),
            Err(_) => match refusals.clone().try_acquire_owned() {
                Ok(permit) => (permit, refuse(peer, stream), REFUSAL_TIMEOUT),
                Err(_) => {
                    tracing::debug!(%peer, what, "too many refusals under way; dropping a stream");
                    continue;
                }
            },
        };
        tokio::spawn(async move {
            let _permit = permit;
            if tokio::time::timeout(timeout, work).await.is_err() {
                tracing::debug!(%peer, what, "stream timed out while being answered");
            }
        });
    }
}
