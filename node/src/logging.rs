//! Where the node's log goes and how it looks: stderr, filtered by `RUST_LOG` (default `info`),
//! as text (colours only on a terminal) or as one JSON object per line ([`LogFormat`]), every
//! line inside an HTTP request carrying its span's fields (`request_id`, `method`, `uri`,
//! `peer`, and `module`, `version` once the path names them).

use std::io::IsTerminal;

use serde::Deserialize;

/// The shape of log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (tracing-subscriber's format: `timestamp`, `level`, `fields`,
    /// `target`, `span`, `spans`), for a log collector.
    Json,
}

/// Starts logging to stderr in `format`; call once, first thing.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}
