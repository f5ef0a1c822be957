//! [`GuardedIo`]: an accepted TCP stream that fails its reads once a request head is overdue
//! or the connection sat idle too long, and holds one of the listener's connection permits
//! until it is dropped.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Sleep;

use super::ConnectionLimits;
use super::activity::Activity;
use crate::telemetry::HttpMetrics;

/// An accepted connection under the node's [`ConnectionLimits`].
#[derive(Debug)]
pub struct GuardedIo {
    stream: TcpStream,
    activity: Arc<Activity>,
    limits: ConnectionLimits,
    deadline: Pin<Box<Sleep>>,
    metrics: HttpMetrics,
    _permit: OwnedSemaphorePermit,
}

impl GuardedIo {
    pub(super) fn new(
        stream: TcpStream,
        limits: ConnectionLimits,
        permit: OwnedSemaphorePermit,
        metrics: HttpMetrics,
    ) -> GuardedIo {
        let activity = Activity::accepted();
        let deadline = Box::pin(tokio::time::sleep(limits.header_timeout));
        metrics.connection_opened();
        GuardedIo {
            stream,
            activity,
            limits,
            deadline,
            metrics,
            _permit: permit,
        }
    }

    pub(super) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    /// Whether the connection sends small writes at once (`TCP_NODELAY`).
    #[cfg(test)]
    pub(super) fn nodelay(&self) -> std::io::Result<bool> {
        self.stream.nodelay()
    }

    /// `Ready` once the connection's current deadline has passed (registering the waker for
    /// it otherwise); never while a request is in flight.
    fn poll_overdue(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let limits = &self.limits;
        let Some(deadline) =
            self.activity
                .read_deadline(limits.header_timeout, limits.idle_timeout, cx.waker())
        else {
            return Poll::Pending;
        };
        if self.deadline.deadline() != deadline {
            self.deadline.as_mut().reset(deadline);
        }
        self.deadline.as_mut().poll(cx)
    }
}

impl Drop for GuardedIo {
    fn drop(&mut self) {
        self.metrics.connection_closed();
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.poll_overdue(cx).is_ready() {
            this.metrics.connection_timed_out();
            // hyper closes the connection on a read error; the client sees it closed.
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head overdue or connection idle too long",
            )));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        read
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        note_written(&this.activity, &written);
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        note_written(&this.activity, &written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Bytes leaving count as activity: hyper may take a whole response body (a mapped zip is one
/// frame) long before a slow client has read it, and the connection is not idle while those
/// bytes still go out.
fn note_written(activity: &Activity, written: &Poll<io::Result<usize>>) {
    if matches!(written, Poll::Ready(Ok(n)) if *n > 0) {
        activity.bytes_written();
    }
}
