//! The one retry policy for transfer and sync requests: which failures are asked of the same
//! peer again, how often, and after which pause.
//!
//! A stream lost before the peer answered (see `handshake` for why libp2p-stream drops
//! streams in a burst) is asked again quickly, with jitter so that dialers that collided do
//! not collide again. A peer at its serving limit, a stream that could not be opened or a body
//! cut short get two slower retries. Everything else would only repeat.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How many times a stream lost before the answer is asked again.
const LOST_RETRIES: u32 = 5;
/// The pause before the first such retry; it doubles each time (jittered ±50 %).
const LOST_PAUSE: Duration = Duration::from_millis(10);
/// The pauses before asking a busy, unreachable or cut-off peer again, one per retry.
const LATER_PAUSES: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(800)];

/// Whether and how a failed request may be asked again of the same peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// The stream ended or was reset before the peer's answer: ask again at once (jittered).
    Lost,
    /// The peer was busy, unreachable or stopped mid-body: ask again after a pause.
    Later,
    /// Asking again would only repeat the failure.
    Never,
}

/// A failure that says how it may be retried.
pub(crate) trait Retryable: std::error::Error {
    /// How this failure may be retried.
    fn retry(&self) -> Retry;
}

/// Runs `attempt` until it succeeds or fails in a way the policy does not retry (any more).
pub(crate) async fn with_retries<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
where
    E: Retryable,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let (mut lost, mut later) = (0u32, 0usize);
    loop {
        let err = match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let pause = match err.retry() {
            Retry::Lost if lost < LOST_RETRIES => {
                lost += 1;
                jittered(LOST_PAUSE * 2u32.pow(lost - 1))
            }
            Retry::Later if later < LATER_PAUSES.len() => {
                later += 1;
                LATER_PAUSES[later - 1]
            }
            _ => return Err(err),
        };
        let error = crate::error_chain::error_chain(&err);
        tracing::debug!(%error, ?pause, "asking the same peer again");
        tokio::time::sleep(pause).await;
    }
}

/// `base` scaled by a random factor between 0.5 and 1.5.
fn jittered(base: Duration) -> Duration {
    // Each RandomState is freshly keyed, so hashing nothing gives a new random number.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    base.mul_f64(0.5 + (random % 1001) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[derive(Debug)]
    struct Failure(Retry);

    impl std::fmt::Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }

    impl std::error::Error for Failure {}

    impl Retryable for Failure {
        fn retry(&self) -> Retry {
            self.0
        }
    }

    /// How many attempts `with_retries` makes when every attempt fails as `kind`.
    async fn attempts(kind: Retry) -> u32 {
        let count = Cell::new(0);
        let result: Result<(), Failure> = with_retries(|| {
            count.set(count.get() + 1);
            async move { Err(Failure(kind)) }
        })
        .await;
        assert_eq!(result.unwrap_err().0, kind);
        count.get()
    }

    #[tokio::test]
    async fn each_kind_of_failure_is_retried_a_bounded_number_of_times() {
        assert_eq!(attempts(Retry::Lost).await, 1 + LOST_RETRIES);
        assert_eq!(attempts(Retry::Later).await, 1 + LATER_PAUSES.len() as u32);
        assert_eq!(attempts(Retry::Never).await, 1);
    }

    #[test]
    fn jitter_stays_within_half_and_one_and_a_half() {
        let base = Duration::from_millis(100);
        for _ in 0..100 {
            let pause = jittered(base);
            assert!(pause >= base / 2 && pause <= base * 3 / 2, "{pause:?}");
        }
    }
}
