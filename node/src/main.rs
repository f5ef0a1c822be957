//! `delos`: a node of a federated Go module proxy pool.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use delos_node::cli::{Cli, Command, KeyArgs};
use delos_node::keys::NodeKeys;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole cause chain on one line.
            eprintln!("delos: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Id(args)) => print_id(&args),
        None => Ok(Cli::command().print_help()?),
    }
}

/// `delos id`: load or create the keys, print `peer-id:` and `signing-key:` lines.
fn print_id(args: &KeyArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir()?;
    let keys = NodeKeys::load(&data_dir, args.signing_key.as_deref())
        .with_context(|| format!("loading keys from {}", data_dir.display()))?;
    std::io::stdout()
        .lock()
        .write_all(keys.id_report().as_bytes())
        .context("writing to stdout")
}
