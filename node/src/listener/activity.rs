//! [`Activity`]: what one connection is doing (requests in flight, when it went idle, when
//! the next request's head began), shared by its [`GuardedIo`](super::GuardedIo), which
//! enforces the deadlines, and the router's [`track_in_flight`] layer, which counts requests.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::IncomingStream;
use tokio::time::Instant;

use super::GuardedListener;

/// One connection's state, as its deadlines need it.
#[derive(Debug)]
pub(super) struct Activity {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests whose head was read and whose response body is not finished.
    in_flight: usize,
    /// When the connection last became idle (accepted, or the last response finished).
    idle_since: Instant,
    /// When the first byte of the next request's head arrived; a new connection counts as
    /// having begun one when it was accepted.
    head_started: Option<Instant>,
    /// The reader to wake when the deadline changes (the last response finished).
    waker: Option<Waker>,
}

impl Activity {
    /// A connection accepted now: its first request head is due within the header timeout.
    pub(super) fn accepted() -> Arc<Activity> {
        let now = Instant::now();
        Arc::new(Activity {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: now,
                head_started: Some(now),
                waker: None,
            }),
        })
    }

    /// When reading must have progressed by, or `None` while a request is in flight (its
    /// own timeouts apply then). Remembers `waker` to be woken when a response finishes.
    pub(super) fn read_deadline(
        &self,
        header_timeout: Duration,
        idle_timeout: Duration,
        waker: &Waker,
    ) -> Option<Instant> {
        let mut state = self.lock();
        state.waker = Some(waker.clone());
        if state.in_flight > 0 {
            return None;
        }
        Some(match state.head_started {
            Some(started) => started + header_timeout,
            None => state.idle_since + idle_timeout,
        })
    }

    /// Bytes arrived: while idle, they begin the next request's head.
    pub(super) fn bytes_read(&self) {
        let mut state = self.lock();
        if state.in_flight == 0 && state.head_started.is_none() {
            state.head_started = Some(Instant::now());
        }
    }

    /// Bytes were written: a connection still sending a response is not idle.
    pub(super) fn bytes_written(&self) {
        let mut state = self.lock();
        if state.in_flight == 0 && state.head_started.is_none() {
            state.idle_since = Instant::now();
        }
    }

    /// A request's head was read: no deadline until its response is finished.
    fn begin(self: &Arc<Activity>) -> InFlight {
        let mut state = self.lock();
        state.in_flight += 1;
        state.head_started = None;
        InFlight(Arc::clone(self))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain numbers behind; they stay usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A request in flight; dropped once its response body is finished (or abandoned).
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            state.head_started = None;
            if let Some(waker) = state.waker.take() {
                waker.wake();
            }
        }
    }
}

/// What the router knows of a request's connection (`ConnectInfo<Connection>`): the client's
/// address, and the connection's activity.
#[derive(Debug, Clone)]
pub struct Connection {
    remote: SocketAddr,
    activity: Arc<Activity>,
}

impl Connection {
    /// The client's address.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }
}

impl Connected<IncomingStream<'_, GuardedListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Connection {
        Connection {
            remote: *stream.remote_addr(),
            activity: Arc::clone(stream.io().activity()),
        }
    }
}

/// Middleware: marks the connection busy from the request's head until its response body is
/// finished, so the idle and header deadlines never cut a response (a long zip) short.
pub async fn track_in_flight(request: Request, next: Next) -> Response {
    let in_flight = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|ConnectInfo(connection)| connection.activity.begin());
    let response = next.run(request).await;
    match in_flight {
        Some(in_flight) => response.map(|body| {
            Body::new(TrackedBody {
                body,
                _in_flight: in_flight,
            })
        }),
        None => response,
    }
}

/// A response body that holds its request's [`InFlight`] until it is dropped.
struct TrackedBody {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
