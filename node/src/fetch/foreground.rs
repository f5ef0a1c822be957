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

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// How long no request must have started for the node to count as quiet.
pub(super) const QUIET: Duration = Duration::from_millis(50);
/// The longest background work waits for quiet.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// When the last client request started.
#[derive(Debug)]
pub(crate) struct Foreground {
    origin: Instant,
    /// Microseconds from `origin` to the start of the last request.
    last_request_us: AtomicU64,
}

impl Default for Foreground {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            last_request_us: AtomicU64::new(0),
        }
    }
}

impl Foreground {
    /// A client request starts now.
    pub(crate) fn request_started(&self) {
        let now = micros(self.origin.elapsed());
        self.last_request_us.fetch_max(now, Ordering::Relaxed);
    }

    /// Waits until no request has started for [`QUIET`], or for [`MAX_WAIT`] at most.
    pub(crate) async fn settled(&self) {
        let deadline = Instant::now() + MAX_WAIT;
        loop {
            let last =
                self.origin + Duration::from_micros(self.last_request_us.load(Ordering::Relaxed));
            let quiet_at = (last + QUIET).min(deadline);
            if Instant::now() >= quiet_at {
                return;
            }
            tokio::time::sleep_until(quiet_at).await;
        }
    }
}

fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

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
