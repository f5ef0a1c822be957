//! [`LiveZips`]: zips arriving from an upstream proxy, readable while they arrive.
//!
//! A fill from a proxy registers its zip here as soon as the body starts: the staged file
//! (read with positioned reads, so it stays readable after it is linked into the store) and
//! its progress. Every client asking for that zip meanwhile ([`Fetcher::zip`](super::Fetcher::zip))
//! gets a [`LiveZipReader`] that follows the file as it grows, so the first client and every
//! concurrent one receive the bytes as they arrive, from one download.
//!
//! The last byte is held back until every check passed: a reader ends cleanly only after the
//! fill's [`Verdict`] (the zip's `h1:` is the checksum database's, every zip rule holds),
//! which comes while the zip is still being made durable, or, with the checks off, once the
//! version is pinned ([`LiveGuard::verified`]). When the download or a check fails (or the
//! fill is dropped), readers get an error naming why ([`LiveGuard::fail`]) instead of their
//! next byte: the HTTP layer cuts the connection of a client it already sent bytes, and
//! answers one it sent none as the failed fill (`502`, with that reason). A client never
//! receives a complete wrong body.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use axum::body::Bytes;
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::Version;
use futures::Stream;
use tokio::sync::watch;

use super::in_flight::{InFlight, Registration};

/// Bytes held back from readers until the zip is verified.
const HOLD_BACK: u64 = 1;
/// The most bytes one read hands a client.
const READ_BYTES: u64 = 256 << 10;

/// Where a live zip stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Progress {
    /// This many bytes are in the file; more may come.
    Arriving(u64),
    /// Every check passed: the file holds exactly this many bytes.
    Verified(u64),
    /// The download or a check failed, or the fill stopped, for this reason: readers must
    /// not finish.
    Failed(Arc<str>),
}

/// Why readers fail when the fill's guard is dropped without a verdict or a reason.
const STOPPED: &str = "the fill stopped before the zip was checked";

/// The zips arriving now, by module version; a registration ends with the fill's guard.
pub(crate) type LiveZips = InFlight<LiveZip>;

/// One zip arriving.
#[derive(Debug)]
pub(crate) struct LiveZip {
    file: File,
    /// The length the upstream announced, if it did.
    announced: Option<u64>,
    progress: watch::Sender<Progress>,
}

/// The fill's handle on a registered zip: reports progress and the verdict, and on drop
/// (without [`Self::verified`]) fails every reader and removes the registration.
#[derive(Debug)]
pub(crate) struct LiveGuard<'a> {
    registration: Registration<'a, LiveZip>,
}

impl LiveZips {
    /// Registers the zip of `module@version`, staged in `file` (opened for reading), whose
    /// upstream announced `announced` bytes.
    pub(crate) fn start(
        &self,
        module: &ModulePath,
        version: &Version,
        file: File,
        announced: Option<u64>,
    ) -> LiveGuard<'_> {
        let (progress, _) = watch::channel(Progress::Arriving(0));
        let zip = LiveZip {
            file,
            announced,
            progress,
        };
        LiveGuard {
            registration: self.register(module, version, Arc::new(zip)),
        }
    }
}

/// Reports how much of a live zip is in its file; for the thread writing it.
#[derive(Debug, Clone)]
pub(crate) struct Arrivals(Arc<LiveZip>);

impl Arrivals {
    /// `written` bytes of the zip are in the file now.
    pub(crate) fn arrived(&self, written: u64) {
        self.0.progress.send_replace(Progress::Arriving(written));
    }
}

/// Ends a live zip's readers cleanly; for the thread that checks the zip.
#[derive(Debug, Clone)]
pub(crate) struct Verdict(Arc<LiveZip>);

impl Verdict {
    /// Every check passed: the file holds exactly these `size` bytes, all of them the zip.
    pub(crate) fn verified(&self, size: u64) {
        self.0.progress.send_replace(Progress::Verified(size));
    }
}

impl LiveGuard<'_> {
    /// The progress reporter for the writer.
    pub(crate) fn arrivals(&self) -> Arrivals {
        Arrivals(Arc::clone(self.registration.value()))
    }

    /// The verdict, for the thread that checks the zip.
    pub(crate) fn verdict(&self) -> Verdict {
        Verdict(Arc::clone(self.registration.value()))
    }

    /// Every check passed and the version is pinned with these `size` bytes.
    pub(crate) fn verified(self, size: u64) {
        self.verdict().verified(size);
    }
}

impl LiveGuard<'_> {
    /// The zip will not be kept, for `reason` (one line: which proxy, what went wrong):
    /// readers get it as their error. Ends the registration.
    pub(crate) fn fail(self, reason: &str) {
        self.fail_readers(reason);
    }

    /// Fails every reader with `reason`, unless the zip was verified or already failed.
    fn fail_readers(&self, reason: &str) {
        self.registration
            .value()
            .progress
            .send_if_modified(|progress| match progress {
                Progress::Verified(_) | Progress::Failed(_) => false,
                Progress::Arriving(_) => {
                    *progress = Progress::Failed(Arc::from(reason));
                    true
                }
            });
    }
}

impl Drop for LiveGuard<'_> {
    fn drop(&mut self) {
        self.fail_readers(STOPPED);
        // The registration is removed next, as the field is dropped.
    }
}

/// A client's view of a live zip: the bytes as they arrive, the last one only once verified.
#[derive(Debug)]
pub(crate) struct LiveZipReader {
    zip: Arc<LiveZip>,
    progress: watch::Receiver<Progress>,
    at: u64,
}

impl LiveZipReader {
    /// A reader of `zip` from its first byte.
    pub(crate) fn new(zip: Arc<LiveZip>) -> LiveZipReader {
        let progress = zip.progress.subscribe();
        LiveZipReader {
            zip,
            progress,
            at: 0,
        }
    }

    /// The zip's length, when the upstream announced it.
    pub(crate) fn len(&self) -> Option<u64> {
        self.zip.announced
    }

    /// The first piece (`None`: the zip was verified empty), or the error that the zip failed
    /// before this reader got any byte; [`Self::into_stream`] goes on after it.
    pub(crate) async fn first_piece(&mut self) -> io::Result<Option<Bytes>> {
        self.next_piece().await
    }

    /// The body: pieces as they may be released, then the end once verified, or an error
    /// (which cuts the client's connection) when the zip failed.
    pub(crate) fn into_stream(self) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        futures::stream::try_unfold(self, |mut reader| async move {
            match reader.next_piece().await? {
                Some(piece) => Ok(Some((piece, reader))),
                None => Ok(None),
            }
        })
    }

    /// The next piece, waiting for it; `None` at the verified end.
    async fn next_piece(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            let progress = self.progress.borrow_and_update().clone();
            let (releasable, done) = match progress {
                Progress::Arriving(written) => (written.saturating_sub(HOLD_BACK), false),
                Progress::Verified(size) => (size, true),
                Progress::Failed(reason) => {
                    return Err(io::Error::other(format!("{reason}; nothing was kept")));
                }
            };
            if self.at < releasable {
                let len = (releasable - self.at).min(READ_BYTES);
                let piece = self.read(len).await?;
                self.at += piece.len() as u64;
                return Ok(Some(piece));
            }
            if done {
                return Ok(None);
            }
            if self.progress.changed().await.is_err() {
                return Err(io::Error::other("the zip's fill ended without a verdict"));
            }
        }
    }

    /// Reads `len` bytes at the reader's position, off the async threads.
    async fn read(&self, len: u64) -> io::Result<Bytes> {
        let (zip, at) = (Arc::clone(&self.zip), self.at);
        tokio::task::spawn_blocking(move || {
            let mut buf = vec![0; usize::try_from(len).map_err(io::Error::other)?];
            zip.file.read_exact_at(&mut buf, at)?;
            Ok(Bytes::from(buf))
        })
        .await
        .map_err(io::Error::other)?
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A staged zip of ten bytes, and where its fill registers it.
    struct Staged {
        zips: LiveZips,
        module: ModulePath,
        version: Version,
        file: tempfile::NamedTempFile,
    }

    impl Staged {
        fn new() -> Staged {
            let mut file = tempfile::NamedTempFile::new().expect("a temp file");
            file.write_all(b"0123456789").expect("written");
            Staged {
                zips: LiveZips::default(),
                module: ModulePath::parse("example.com/live").expect("a module path"),
                version: Version::parse("v1.0.0").expect("a version"),
                file,
            }
        }

        /// The fill's guard, none of the file arrived yet, and a client's reader.
        fn start(&self) -> (LiveGuard<'_>, LiveZipReader) {
            let file = self.file.reopen().expect("reopened");
            let guard = self.zips.start(&self.module, &self.version, file, Some(10));
            let zip = self.zips.get(&self.module, &self.version);
            (guard, LiveZipReader::new(zip.expect("registered")))
        }
    }

    #[tokio::test]
    async fn a_zip_that_fails_before_any_byte_fails_the_first_piece_with_the_reason() {
        let staged = Staged::new();
        let (guard, mut reader) = staged.start();
        guard.fail("proxy http://upstream: the zip hashes to h1:x");
        let err = reader.first_piece().await.expect_err("failed");
        assert_eq!(
            err.to_string(),
            "proxy http://upstream: the zip hashes to h1:x; nothing was kept"
        );
    }

    #[tokio::test]
    async fn a_fill_dropped_without_a_verdict_fails_its_readers() {
        let staged = Staged::new();
        let (guard, mut reader) = staged.start();
        drop(guard);
        let err = reader.first_piece().await.expect_err("failed");
        assert!(err.to_string().starts_with(STOPPED), "{err}");
    }

    #[tokio::test]
    async fn a_verified_zip_stays_verified_when_its_guard_goes() {
        let staged = Staged::new();
        let (guard, mut reader) = staged.start();
        guard.arrivals().arrived(10);
        guard.verified(10);
        let first = reader.first_piece().await.expect("a piece");
        assert_eq!(first.as_deref(), Some(&b"0123456789"[..]));
        assert!(reader.next_piece().await.expect("no failure").is_none());
    }

    #[tokio::test]
    async fn pieces_come_as_they_arrive_and_the_last_byte_only_once_verified() {
        let staged = Staged::new();
        let (guard, mut reader) = staged.start();
        guard.arrivals().arrived(4);
        let first = reader.first_piece().await.expect("a piece");
        assert_eq!(
            first.as_deref(),
            Some(&b"012"[..]),
            "all but the held-back byte"
        );
        guard.arrivals().arrived(10);
        let rest = tokio::spawn(async move {
            let mut rest = Vec::new();
            while let Some(piece) = reader.next_piece().await.expect("no failure") {
                rest.extend_from_slice(&piece);
            }
            rest
        });
        tokio::task::yield_now().await;
        guard.verdict().verified(10);
        assert_eq!(rest.await.expect("joined"), b"3456789");
    }

    #[tokio::test]
    async fn a_zip_that_fails_after_some_bytes_cuts_the_reader_before_its_end() {
        let staged = Staged::new();
        let (guard, mut reader) = staged.start();
        guard.arrivals().arrived(10);
        let first = reader.first_piece().await.expect("a piece");
        assert_eq!(first.as_deref(), Some(&b"012345678"[..]));
        drop(guard);
        assert!(
            reader.next_piece().await.is_err(),
            "the last byte never comes"
        );
    }
}
