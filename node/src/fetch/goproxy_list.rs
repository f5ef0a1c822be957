//! [`GoproxyList`]: the node's `--upstream` value read with the `go` command's GOPROXY list
//! rules (`modfetch/proxy.go` proxyList), so the node walks it as `go` would:
//!
//! - entries are split on `,` and `|`, trimmed, empty ones skipped;
//! - after an entry followed by `,` the next is tried only when it answered 404 or 410; after
//!   `|`, whatever went wrong;
//! - `off` stops with "module lookup disabled"; `direct` (and a `file://` entry, which the node
//!   does not read itself) is handed to `go mod download` with the rest of the list; nothing
//!   after `direct` or `off` is read;
//! - an entry without a scheme gets `https://`.

/// One entry of the list, as the node acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// An HTTP(S) proxy the node fetches from itself; the base URL, without a trailing `/`.
    Proxy(String),
    /// An entry only `go` can serve (`direct`, `file://`): the `GOPROXY` value to run it
    /// with, this entry and everything after it.
    Go(String),
    /// `off`: no further lookups.
    Off,
}

/// An entry and whether any error (not only "not found") moves on to the next entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// The entry.
    pub(crate) entry: Entry,
    /// Whether the entry was followed by `|`.
    pub(crate) on_any_error: bool,
}

/// The steps of a GOPROXY list, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoproxyList {
    steps: Vec<Step>,
}

impl GoproxyList {
    /// Reads `goproxy` with `go`'s rules.
    pub(crate) fn parse(goproxy: &str) -> GoproxyList {
        let mut steps = Vec::new();
        let mut rest = goproxy;
        while !rest.is_empty() {
            let (raw, on_any_error, next) = match rest.find([',', '|']) {
                Some(at) => (
                    &rest[..at],
                    rest.as_bytes().get(at) == Some(&b'|'),
                    &rest[at + 1..],
                ),
                None => (rest, false, ""),
            };
            let entry = raw.trim();
            let tail = rest.trim();
            rest = next;
            if entry.is_empty() {
                continue;
            }
            let entry = match entry {
                "off" => Entry::Off,
                "direct" => Entry::Go(tail.to_owned()),
                _ if entry.starts_with("file://") => Entry::Go(tail.to_owned()),
                _ if entry.starts_with("http://") || entry.starts_with("https://") => {
                    Entry::Proxy(entry.trim_end_matches('/').to_owned())
                }
                _ => Entry::Proxy(format!("https://{}", entry.trim_end_matches('/'))),
            };
            let last = !matches!(entry, Entry::Proxy(_));
            steps.push(Step {
                entry,
                on_any_error,
            });
            if last {
                break;
            }
        }
        GoproxyList { steps }
    }

    /// The steps, in order.
    pub(crate) fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether the node fetches from any proxy itself.
    pub(crate) fn has_proxies(&self) -> bool {
        self.steps
            .iter()
            .any(|step| matches!(step.entry, Entry::Proxy(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(entry: Entry, on_any_error: bool) -> Step {
        Step {
            entry,
            on_any_error,
        }
    }

    #[test]
    fn lists_read_as_go_reads_them() {
        let list =
            GoproxyList::parse(" https://a.example/ , b.example:8080|direct,https://ignored");
        assert_eq!(
            list.steps(),
            [
                step(Entry::Proxy("https://a.example".into()), false),
                step(Entry::Proxy("https://b.example:8080".into()), true),
                step(Entry::Go("direct,https://ignored".into()), false),
            ]
        );
        assert!(list.has_proxies());
        let off = GoproxyList::parse("http://a|,off,direct");
        assert_eq!(
            off.steps(),
            [
                step(Entry::Proxy("http://a".into()), true),
                step(Entry::Off, false),
            ]
        );
        let plain = GoproxyList::parse("direct");
        assert_eq!(plain.steps(), [step(Entry::Go("direct".into()), false)]);
        assert!(!plain.has_proxies());
        assert!(GoproxyList::parse(" , ").steps().is_empty());
        let file = GoproxyList::parse("file:///srv/mods|direct");
        assert_eq!(
            file.steps(),
            [step(Entry::Go("file:///srv/mods|direct".into()), true)]
        );
    }
}
