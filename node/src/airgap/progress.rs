//! [`Progress`]: a progress bar (`indicatif`) when stderr is a terminal, one log line per item
//! otherwise, so a run under systemd or in CI leaves a readable record.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Reports progress through a known number of items.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    done: u64,
    total: u64,
}

impl Progress {
    /// Progress through `total` items: a bar on a terminal, log lines elsewhere.
    pub fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}") {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            done: 0,
            total,
        }
    }

    /// One item finished: `what` it was and `how` it went.
    pub fn step(&mut self, what: &str, how: &str) {
        self.done += 1;
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{what}: {how}"));
                bar.inc(1);
            }
            None => tracing::info!("[{}/{}] {what}: {how}", self.done, self.total),
        }
    }

    /// Removes the bar (log lines need nothing).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
