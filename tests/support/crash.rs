//! The harness of the `kill -9` tests: re-execute this test binary as a writer child (one
//! `#[test]` that does nothing unless its environment says where to write), read the
//! acknowledgements it prints, and SIGKILL it at a chosen moment.
//!
//! Two kinds of moment matter. A kill soon after spawn lands while the store opens and
//! recovers from the previous kill. A kill a random delay after the writer acknowledged
//! something new lands in the middle of writes, and because it waits for that
//! acknowledgement, every such round makes progress however loaded the machine is (a delay
//! counted from spawn alone can expire before a busy machine has even opened the store).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

/// How long a writer may take to acknowledge something new before the test fails: long
/// enough for a very busy machine, short enough that a writer that hangs is reported.
const FRESH_ACK_TIMEOUT: Duration = Duration::from_secs(120);

/// A writer child: the test binary re-run with one exact test name and its environment.
pub(crate) struct Writer<'a> {
    /// The full name of the writer `#[test]`, e.g. `crash_safety::writer_child`.
    pub(crate) test: &'a str,
    /// Variables telling the child what to do (where to write, where to start).
    pub(crate) env: Vec<(&'a str, String)>,
}

/// When to send SIGKILL.
pub(crate) enum KillAt<'a> {
    /// This long after spawn: often while the store is still opening and recovering.
    AfterSpawn(Duration),
    /// This long after the first stdout line for which `fresh` is true (an acknowledgement
    /// of something not acknowledged before).
    AfterFresh {
        delay: Duration,
        fresh: &'a dyn Fn(&str) -> bool,
    },
}

impl<'a> KillAt<'a> {
    /// The moment for round `round` of a kill -9 test: every fourth round counts `delay` from
    /// spawn (the kill may land while the store opens and recovers), the others from the
    /// writer's first line for which `fresh` is true (the kill lands in the middle of writes).
    pub(crate) fn for_round(round: u64, delay: Duration, fresh: &'a dyn Fn(&str) -> bool) -> Self {
        if round.is_multiple_of(4) {
            KillAt::AfterSpawn(delay)
        } else {
            KillAt::AfterFresh { delay, fresh }
        }
    }

    /// Whether this kill waits for something new: such a round always makes progress.
    pub(crate) fn waits_for_fresh(&self) -> bool {
        matches!(self, KillAt::AfterFresh { .. })
    }
}

/// Runs `writer`, kills it with SIGKILL as `kill` says, and returns every line it printed.
pub(crate) fn run_and_kill(writer: &Writer<'_>, kill: KillAt<'_>) -> anyhow::Result<Vec<String>> {
    let mut child = spawn(writer)?;
    let stdout = child.stdout.take().context("writer stdout")?;
    let (lines_tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let waited = wait_for_moment(&lines, &mut seen, kill);
    let exited_early = child.try_wait()?;
    child.kill()?; // SIGKILL on Unix
    child.wait()?;
    reader.join().ok();
    seen.extend(lines.try_iter());
    if let Some(status) = exited_early {
        bail!(
            "writer exited by itself ({status}):\n{}\n{}",
            seen.join("\n"),
            stderr_of(&mut child)
        );
    }
    waited.map_err(|err| err.context(format!("{}\n{}", seen.join("\n"), stderr_of(&mut child))))?;
    Ok(seen)
}

fn spawn(writer: &Writer<'_>) -> anyhow::Result<Child> {
    Command::new(std::env::current_exe()?)
        .args([writer.test, "--exact", "--nocapture", "--test-threads=1"])
        .envs(writer.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("re-executing the test binary as the writer")
}

/// Sleeps until the moment `kill` names, collecting lines as they come.
fn wait_for_moment(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    kill: KillAt<'_>,
) -> anyhow::Result<()> {
    let delay = match kill {
        KillAt::AfterSpawn(delay) => delay,
        KillAt::AfterFresh { delay, fresh } => {
            let deadline = Instant::now() + FRESH_ACK_TIMEOUT;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match lines.recv_timeout(left) {
                    Ok(line) => {
                        let is_fresh = fresh(&line);
                        seen.push(line);
                        if is_fresh {
                            break delay;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        bail!("no new acknowledgement within {FRESH_ACK_TIMEOUT:?}")
                    }
                    Err(RecvTimeoutError::Disconnected) => bail!("writer closed its stdout"),
                }
            }
        }
    };
    std::thread::sleep(delay);
    Ok(())
}

fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut err);
    }
    err
}

/// xorshift64*, seeded from the clock; tests print the seed in every failure message.
pub(crate) struct Rng {
    seed: u64,
    state: u64,
}

impl Rng {
    /// A generator seeded from the current time.
    pub(crate) fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let seed = nanos | 1;
        Self { seed, state: seed }
    }

    /// The seed, to reproduce a failing run.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// A number in `0..bound`.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }

    /// A delay in `0..max_ms` milliseconds.
    pub(crate) fn delay_below_ms(&mut self, max_ms: u64) -> Duration {
        Duration::from_millis(self.below(max_ms))
    }
}

/// In a writer child: the store named by `dir_var` (opened with [`open_index`]) and the
/// first number to write from `start_var`, after printing `READY`; `None` when this process
/// is not a writer child (the variables are unset), so the writer `#[test]` does nothing.
/// Panics when the store cannot be opened.
#[allow(clippy::print_stdout)] // the parent reads the child's stdout
pub(crate) fn writer_store(
    dir_var: &str,
    start_var: &str,
) -> Option<(delos_registry_index::Index, u64)> {
    let dir = std::env::var(dir_var).ok()?;
    let start = std::env::var(start_var)
        .ok()?
        .parse()
        .expect("a start number");
    // A store that cannot be opened fails the writer loudly, with the reason on stderr.
    let index = open_index(std::path::Path::new(&dir)).expect("open the store");
    // libtest has printed the test name without a newline; start our lines afresh.
    println!("\nREADY");
    Some((index, start))
}

/// How long [`open_index`] waits for sled's lock on the store.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Opens the store at `dir`, waiting (up to 10 s) while sled's file lock is held.
///
/// sled takes an `flock` on its database file. Every test of this binary runs in one process,
/// and while another test spawns a `go`, `git` or `delos` process, the forked child holds a
/// copy of every open descriptor until it execs (`O_CLOEXEC` closes them only then). If that
/// fork lands while a crash test has the store open, the lock outlives the test's own close
/// for that moment, and the next open (the writer child's, or the check after a kill) finds
/// it taken. The killed writer itself is always reaped before the store is opened again, so
/// waiting out the lock hides no crash-safety failure.
pub(crate) fn open_index(dir: &std::path::Path) -> anyhow::Result<delos_registry_index::Index> {
    let start = Instant::now();
    loop {
        match delos_registry_index::Index::open(dir) {
            Err(err) if is_lock_held(&err) && start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other.context("open the store"),
        }
    }
}

/// Whether `err` is sled refusing to open because another descriptor holds its file lock.
fn is_lock_held(err: &delos_registry_index::IndexError) -> bool {
    format!("{err:?}").contains("could not acquire lock")
}
