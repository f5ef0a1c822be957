//! [`Foreground`]: when a build last asked the node something, so that background work lets
//! a burst of requests pass before it runs.
//!
//! A build asks for dozens of lists and versions within a fraction of a second, one after
//! another. Two kinds of work it causes need not run while it goes on, and would compete with
//! its `go` command for the machine if they did: recomputing its aged answers (each is sent at
//! once and recomputed behind it: an upstream request and a comparison), and the durable half
//! of the fills its misses started (fsyncs, links, the index, the provenance record), once
//! the checksum database's record vouched for the bytes the clients are already served. They
//! wait instead until no request has started for [`QUIET`], or at most [`MAX_WAIT`] on a
//! node that is never quiet; the client never waits for them either way. Only a build's
//! requests count (the download protocol, a checksum database), not an operator's or a
//! monitor's (see `http::download`).
//!
//! Work that should not be lost when the node stops (a fill, whose clients may have been
//! served before its pin) holds a [`Held`]; the node's shutdown calls
//! [`Foreground::finish`], which ends every wait for a pause at once and waits for that work
//! to be done, for a while.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// How long no request must have started for the node to count as quiet: longer than the
/// phases of a small build in which its `go` works without asking (extracting zips, loading
/// packages), so the background work waits for the build's end rather than running in one.
pub(super) const QUIET: Duration = Duration::from_millis(250);
/// The longest background work waits for quiet.
pub(super) const MAX_WAIT: Duration = Duration::from_secs(1);

/// When the last client request started.
#[derive(Debug)]
pub(crate) struct Foreground {
    origin: Instant,
    /// Microseconds from `origin` to the start of the last request.
    last_request_us: AtomicU64,
    /// Set when the node stops: nothing waits for a pause any more.
    stopping: watch::Sender<bool>,
    /// How much held work ([`Held`]) is not done yet.
    held: watch::Sender<usize>,
}

impl Default for Foreground {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            last_request_us: AtomicU64::new(0),
            stopping: watch::Sender::new(false),
            held: watch::Sender::new(0),
        }
    }
}

/// Work the node's shutdown waits for ([`Foreground::finish`]) for as long as this lives.
#[derive(Debug)]
pub(crate) struct Held<'a>(&'a Foreground);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0
            .held
            .send_modify(|held| *held = held.saturating_sub(1));
    }
}

impl Foreground {
    /// A client request starts now.
    pub(crate) fn request_started(&self) {
        let now = micros(self.origin.elapsed());
        self.last_request_us.fetch_max(now, Ordering::Relaxed);
    }

    /// Waits until no request has started for [`QUIET`], or for [`MAX_WAIT`] at most; at
    /// once when the node stops.
    pub(crate) async fn settled(&self) {
        let mut stopping = self.stopping.subscribe();
        let deadline = Instant::now() + MAX_WAIT;
        loop {
            if *stopping.borrow_and_update() {
                return;
            }
            let last =
                self.origin + Duration::from_micros(self.last_request_us.load(Ordering::Relaxed));
            let quiet_at = (last + QUIET).min(deadline);
            if Instant::now() >= quiet_at {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(quiet_at) => {}
                _ = stopping.changed() => {}
            }
        }
    }

    /// Counts work the node's shutdown must wait for, until the guard is dropped.
    pub(crate) fn hold(&self) -> Held<'_> {
        self.held.send_modify(|held| *held += 1);
        Held(self)
    }

    /// The node stops: every wait for a pause ends now, and this waits for the held work to
    /// be done, at most `timeout`; whether it was.
    pub(crate) async fn finish(&self, timeout: Duration) -> bool {
        self.stopping.send_replace(true);
        let mut held = self.held.subscribe();
        tokio::time::timeout(timeout, held.wait_for(|held| *held == 0))
            .await
            .is_ok()
    }
}

fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stopping_node_ends_every_wait_and_waits_for_held_work() {
        let foreground = std::sync::Arc::new(Foreground::default());
        foreground.request_started();
        let (waiting, done) = (
            std::sync::Arc::clone(&foreground),
            tokio::sync::oneshot::channel(),
        );
        let (done_tx, done_rx) = done;
        let started = Instant::now();
        let pin = tokio::spawn(async move {
            let held = waiting.hold();
            waiting.settled().await;
            let waited = started.elapsed();
            // The work itself, after the wait.
            tokio::time::sleep(QUIET * 4).await;
            drop(held);
            let _ = done_tx.send(waited);
        });
        tokio::task::yield_now().await;
        assert!(
            foreground.finish(MAX_WAIT * 10).await,
            "finish returned before the held work was done"
        );
        assert_eq!(
            started.elapsed(),
            QUIET * 4,
            "the work ran at once, then finish returned"
        );
        assert_eq!(
            done_rx.await.unwrap(),
            Duration::ZERO,
            "the wait ended at once"
        );
        pin.await.unwrap();

        // Held work that never ends: finish gives up after its timeout.
        let _stuck = foreground.hold();
        let started = Instant::now();
        assert!(!foreground.finish(QUIET).await);
        assert_eq!(started.elapsed(), QUIET);
        // A wait that starts after the stop does not wait.
        foreground.request_started();
        let started = Instant::now();
        foreground.settled().await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn background_work_waits_for_a_pause_in_requests_or_at_most_max_wait() {
        let foreground = Foreground::default();
        foreground.request_started();
        let started = Instant::now();
        foreground.settled().await;
        assert_eq!(
            started.elapsed(),
            QUIET,
            "a pause of QUIET after the last request"
        );

        // Requests every QUIET / 2: never quiet, so MAX_WAIT.
        foreground.request_started();
        let started = Instant::now();
        let busy = async {
            loop {
                tokio::time::sleep(QUIET / 2).await;
                foreground.request_started();
            }
        };
        tokio::select! {
            () = foreground.settled() => {}
            () = busy => {}
        }
        assert_eq!(started.elapsed(), MAX_WAIT);

        // Quiet already: at once.
        tokio::time::sleep(QUIET).await;
        let started = Instant::now();
        foreground.settled().await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
