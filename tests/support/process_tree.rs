//! Killing a process together with every process it started, as systemd's
//! `KillMode=control-group` or a container runtime does on a restart: the node and its `go` and
//! `git` children die at the same moment, whatever process group each of them is in.
//!
//! The root is stopped first (SIGSTOP) so that it starts nothing new; then its descendants are
//! found through `/proc` and stopped too, again until no new one appears (a child may be forking
//! while we look); then everything is killed with SIGKILL. Stopped processes cannot finish any
//! write in between, so the kill lands wherever each of them was.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Stops `root` and all its descendants, then kills them all with SIGKILL. Returns how many
/// descendants were killed besides the root.
pub(crate) fn kill_tree(root: u32) -> Result<usize> {
    let root = i32::try_from(root).context("pid out of range")?;
    // A root that is already gone is fine: there is nothing left to kill.
    let _ = kill(Pid::from_raw(root), Signal::SIGSTOP);
    let mut stopped = BTreeSet::from([root]);
    loop {
        let found: Vec<i32> = descendants(&stopped)?
            .into_iter()
            .filter(|pid| !stopped.contains(pid))
            .collect();
        if found.is_empty() {
            break;
        }
        for pid in found {
            let _ = kill(Pid::from_raw(pid), Signal::SIGSTOP);
            stopped.insert(pid);
        }
    }
    for &pid in &stopped {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    Ok(stopped.len() - 1)
}

/// Every process whose parent is in `parents`, from one pass over `/proc`.
fn descendants(parents: &BTreeSet<i32>) -> Result<Vec<i32>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").context("reading /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        // A process may exit while we read; its stat is simply gone.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if parent_of(&stat).is_some_and(|ppid| parents.contains(&ppid)) {
            found.push(pid);
        }
    }
    Ok(found)
}

/// The parent pid in a `/proc/<pid>/stat` line: the field after the state, which follows the
/// command name in parentheses (a name may itself contain spaces and parentheses).
fn parent_of(stat: &str) -> Option<i32> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace();
    let _state = fields.next()?;
    fields.next()?.parse().ok()
}

#[test]
fn the_parent_is_read_after_the_command_name() {
    assert_eq!(parent_of("42 (go) S 7 42 42 0"), Some(7));
    assert_eq!(parent_of("42 (a (weird) name) R 9 1 1"), Some(9));
    assert_eq!(parent_of("garbage"), None);
}

#[test]
fn a_shell_and_its_children_die_together() -> Result<()> {
    use std::process::{Command, Stdio};
    // The shell starts two sleepers in their own process group each, as the node starts `go`.
    let mut shell = Command::new("sh")
        .args(["-c", "set -m; sleep 300 & sleep 300 & echo started; wait"])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(shell.stdout.take().context("stdout")?),
        &mut line,
    )?;
    let root = BTreeSet::from([i32::try_from(shell.id())?]);
    let children = descendants(&root)?;
    assert_eq!(children.len(), 2, "{children:?}");
    assert_eq!(kill_tree(shell.id())?, 2);
    shell.wait()?;
    for pid in children {
        // Killed children are reaped by init; give it a moment, then they must be gone.
        let gone = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                    stat.rsplit_once(')')
                        .is_some_and(|(_, s)| s.trim_start().starts_with('Z'))
                })
        });
        assert!(gone, "child {pid} survived");
    }
    Ok(())
}
