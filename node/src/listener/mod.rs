//! The node's HTTP listener with connection hygiene: [`GuardedListener`] accepts at most
//! `max_connections` connections at once and closes any more at once (with a `503` when the
//! socket takes it), and each accepted [`GuardedIo`] is closed when a request head takes
//! longer than `header_timeout` to arrive or a kept-alive connection sits idle longer than
//! `idle_timeout`. Requests in flight (until their response body is finished) are never cut
//! by either; their own timeouts apply.
//!
//! Without these, a client that opens connections and sends half a request line holds each
//! one (and its memory and file descriptor) for ever, and at the process's file limit locks
//! every other client out.

mod activity;
mod fd_limit;
mod io;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::telemetry::HttpMetrics;

pub use activity::{Connection, track_in_flight};
pub use fd_limit::raise_file_limit;
pub use io::GuardedIo;

/// What a refused connection is told, when its socket takes the bytes at once.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\
retry-after: 1\r\ncontent-length: 0\r\n\r\n";
/// How long accepting pauses after an error such as running out of file descriptors.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The connection limits of the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client has to send a whole request head, from the connection's accept or
    /// from the first byte of a later request on a kept-alive connection.
    pub header_timeout: Duration,
    /// How long a kept-alive connection may wait for the first byte of its next request.
    pub idle_timeout: Duration,
    /// How many connections may be open at once; more are closed as soon as accepted.
    pub max_connections: usize,
}

/// A TCP listener that enforces [`ConnectionLimits`]; serve it with `axum::serve`.
#[derive(Debug)]
pub struct GuardedListener {
    listener: TcpListener,
    limits: ConnectionLimits,
    permits: Arc<Semaphore>,
    metrics: HttpMetrics,
}

impl GuardedListener {
    /// Enforces `limits` on the connections `listener` accepts, counting in `metrics`.
    pub fn new(
        listener: TcpListener,
        limits: ConnectionLimits,
        metrics: HttpMetrics,
    ) -> GuardedListener {
        let permits = Arc::new(Semaphore::new(limits.max_connections));
        GuardedListener {
            listener,
            limits,
            permits,
            metrics,
        }
    }

    /// The next connection within the cap; those over it are refused on the way.
    async fn accept_guarded(&mut self) -> (GuardedIo, SocketAddr) {
        loop {
            let (stream, addr) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            };
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => {
                    // A response's last small write (a zip's held-back byte, a gzip trailer,
                    // a chunked body's end) goes out at once instead of waiting for the
                    // client's delayed ACK of the write before it (Nagle).
                    if let Err(err) = stream.set_nodelay(true) {
                        tracing::debug!(error = %err, "cannot set TCP_NODELAY");
                    }
                    let metrics = self.metrics.clone();
                    return (GuardedIo::new(stream, self.limits, permit, metrics), addr);
                }
                Err(_) => {
                    self.metrics.connection_refused();
                    refuse(stream, addr);
                }
            }
        }
    }
}

impl axum::serve::Listener for GuardedListener {
    type Io = GuardedIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (GuardedIo, SocketAddr) {
        self.accept_guarded().await
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// Closes a connection over the cap at once, telling it `503` if its socket takes the bytes
/// without waiting.
fn refuse(stream: TcpStream, addr: SocketAddr) {
    tracing::debug!(client = %addr, "connection refused: too many open connections");
    let _ = stream.try_write(REFUSAL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_send_small_writes_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = ConnectionLimits {
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
            max_connections: 4,
        };
        let mut guarded = GuardedListener::new(listener, limits, HttpMetrics::default());
        let _client = TcpStream::connect(addr).await.unwrap();
        let (io, _) = guarded.accept_guarded().await;
        assert!(
            io.nodelay().unwrap(),
            "TCP_NODELAY off: a response's last small write waits for the client's delayed ACK"
        );
    }
}
