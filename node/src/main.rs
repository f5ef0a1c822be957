//! `delos`: a node of a federated Go module proxy pool.

use clap::Parser;

/// A node of a federated Go module proxy pool.
///
/// Serves the Go module download protocol (GOPROXY) from its own immutable store and shares
/// verified module versions with other Delos nodes.
#[derive(Debug, Parser)]
#[command(name = "delos", version, about, long_about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
