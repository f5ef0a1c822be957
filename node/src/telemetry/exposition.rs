//! The two text formats `/metrics` speaks. prometheus-client renders OpenMetrics 1.0; a
//! scraper that asks for it (Prometheus does, in its `Accept` header) gets that rendering as
//! it is. Everyone else (curl, older scrapers, the tests) gets the Prometheus text format
//! 0.0.4, which differs in three details only, changed here on the rendered lines: a counter
//! family is named as its samples (`…_total`) in `# HELP` and `# TYPE`, `unknown` is called
//! `untyped`, and there are no `# UNIT` and `# EOF` lines.

use std::fmt::Write;

/// The Prometheus text format's content type.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The OpenMetrics text format's content type.
pub const OPEN_METRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which text format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0, as prometheus-client renders it.
    OpenMetrics,
    /// Prometheus text 0.0.4.
    Prometheus,
}

impl Format {
    /// OpenMetrics when the `Accept` header names it, else Prometheus text.
    pub fn for_accept(accept: Option<&str>) -> Format {
        match accept.is_some_and(|accept| accept.contains("application/openmetrics-text")) {
            true => Format::OpenMetrics,
            false => Format::Prometheus,
        }
    }

    /// The content type of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPEN_METRICS_TEXT,
            Format::Prometheus => PROMETHEUS_TEXT,
        }
    }
}

/// prometheus-client's OpenMetrics text as Prometheus text 0.0.4.
pub fn prometheus_text(open_metrics: &str) -> String {
    let mut out = String::with_capacity(open_metrics.len());
    let mut help: Option<&str> = None;
    for line in open_metrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let (suffix, kind) = match kind {
                "counter" => ("_total", kind),
                "unknown" => ("", "untyped"),
                other => ("", other),
            };
            if let Some(text) = help.take() {
                let text = text.split_once(' ').map_or("", |(_, text)| text);
                let _ = writeln!(out, "# HELP {name}{suffix} {text}");
            }
            let _ = writeln!(out, "# TYPE {name}{suffix} {kind}");
        } else if !line.starts_with('#') {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::registry::{Registry, Unit};

    #[test]
    fn counters_take_their_sample_names_and_eof_goes() {
        let mut registry = Registry::with_prefix("delos_gossipsub");
        let sent = Family::<Vec<(String, String)>, Counter>::default();
        registry.register("topic_msg_sent_counts", "Sent", sent.clone());
        let peers = Gauge::<i64>::default();
        registry.register("peers", "Peers", peers.clone());
        let seconds = Counter::<u64>::default();
        registry.register_with_unit("busy", "Busy", Unit::Seconds, seconds);
        sent.get_or_create(&vec![("hash".into(), "t".into())])
            .inc_by(3);
        peers.set(2);
        let mut open_metrics = String::new();
        encode(&mut open_metrics, &registry).unwrap();
        let text = prometheus_text(&open_metrics);
        assert!(
            text.contains("# TYPE delos_gossipsub_topic_msg_sent_counts_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("delos_gossipsub_topic_msg_sent_counts_total{hash=\"t\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "# HELP delos_gossipsub_peers Peers.\n# TYPE delos_gossipsub_peers gauge\n"
            ),
            "{text}"
        );
        assert!(!text.contains("EOF") && !text.contains("# UNIT"), "{text}");
    }

    #[test]
    fn scrapers_asking_for_open_metrics_get_it() {
        let prometheus =
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
        assert_eq!(Format::for_accept(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(Format::for_accept(Some("*/*")), Format::Prometheus);
        assert_eq!(Format::for_accept(None), Format::Prometheus);
    }
}
