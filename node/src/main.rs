//! `delos`: a node of a federated Go module proxy pool.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use delos_node::cli::{
    AuditArgs, ChecksumDbCommand, Cli, Command, ExportArgs, ImportArgs, ImportDirArgs, KeyArgs,
    LiftForkArgs, RepinArgs, ServeArgs, VerifyArgs,
};
use delos_node::config::Config;
use delos_node::evidence::ForkEvidenceFile;
use delos_node::keys::NodeKeys;
use delos_node::server::{Node, maintenance_fetcher, wait_for_signal};

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
        Some(Command::Serve(args)) => serve(*args),
        Some(Command::ImportRecord(args)) => import_records(&args),
        Some(Command::Import(args)) => import_dir(*args),
        Some(Command::Export(args)) => export(&args),
        Some(Command::Verify(args)) => verify(*args),
        Some(Command::Repin(args)) => repin(*args),
        Some(Command::ChecksumDb(ChecksumDbCommand::Key(args))) => print_checksum_db_key(*args),
        Some(Command::Audit(args)) => audit(*args),
        Some(Command::LiftFork(args)) => lift_fork(&args),
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

/// `delos serve`: run a node until SIGINT or SIGTERM, then shut it down gracefully.
fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::load(args)?;
    delos_node::logging::init(config.log_format);
    delos_node::listener::raise_file_limit(config.connections.max_connections);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let node = Node::start(config).await?;
        wait_for_signal().await.context("waiting for a signal")?;
        node.shutdown().await?;
        Ok(())
    })
}

/// `delos lift-fork`: forget a stopped node's fork records of one log; one line on stdout.
fn lift_fork(args: &LiftForkArgs) -> anyhow::Result<()> {
    let key: delos_pool_protocol::sumdb::VerifierKey = args
        .verifier
        .parse()
        .with_context(|| format!("{:?} is not a verifier key (name+hash+key)", args.verifier))?;
    let store = Config::new(args.dir.resolve()?).store_dir();
    let index = delos_registry_index::Index::open(&store).with_context(|| {
        format!(
            "opening the store in {} (stop the node first)",
            store.display()
        )
    })?;
    let forgotten = index.pool_log_heads().forget_forks(&key.to_string())?;
    let line = match forgotten {
        0 => format!("{key}: no fork kept for this log; nothing changed\n"),
        n => format!("{key}: {n} fork record(s) forgotten; the log is believed again\n"),
    };
    std::io::stdout()
        .lock()
        .write_all(line.as_bytes())
        .context("writing to stdout")
}

/// `delos import-record`: verify and store signed records in a stopped node's store, one
/// line per record on stdout.
fn import_records(args: &ImportArgs) -> anyhow::Result<()> {
    use delos_node::provenance::import_record;
    use delos_pool_protocol::private::PrivatePatterns;
    init_tracing();
    let store = Config::new(args.data_dir()?).store_dir();
    let index = delos_registry_index::Index::open(&store).with_context(|| {
        format!(
            "opening the store in {} (stop the node first)",
            store.display()
        )
    })?;
    let private = PrivatePatterns::from_patterns(args.private_patterns());
    let mut out = std::io::stdout().lock();
    for file in &args.files {
        let wire = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let (record, stored) = import_record(&index, &wire, &private)
            .with_context(|| format!("importing {}", file.display()))?;
        let at = record.record();
        writeln!(
            out,
            "{}@{} signer {}: {:?}, new conflicts: {}",
            at.module(),
            at.version(),
            record.signer(),
            stored.change,
            stored.new_conflicts.len()
        )
        .context("writing to stdout")?;
    }
    Ok(())
}

/// `delos import`: load a module cache or GOPROXY tree into a stopped node's store; one line
/// per refused version and a summary on stdout; fails (exit 1) when anything was refused.
fn import_dir(args: ImportDirArgs) -> anyhow::Result<()> {
    use delos_node::airgap::import::import_tree;
    use delos_pool_protocol::private::PrivatePatterns;
    init_tracing();
    let config = Config::load(args.node)?;
    let source = args.source;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = runtime.block_on(async {
        let (fetcher, own) = maintenance_fetcher(&config).await?;
        let index = std::sync::Arc::clone(fetcher.index());
        let private = PrivatePatterns::from_patterns(&config.private);
        let imported =
            tokio::task::spawn_blocking(move || import_tree(&index, &own, &private, &source)).await;
        fetcher.release_work_area();
        anyhow::Ok(imported??)
    })?;
    let refused = summary.refused.len();
    let total = format!(
        "imported {}, already present {}, refused {refused}",
        summary.imported, summary.already_present
    );
    print_outcome("refused", &summary.refused, &total)?;
    anyhow::ensure!(refused == 0, "{refused} versions were refused");
    Ok(())
}

/// `delos export`: write a stopped node's store as a GOPROXY file tree.
fn export(args: &ExportArgs) -> anyhow::Result<()> {
    use delos_node::airgap::export::export_tree;
    use delos_pool_protocol::private::PrivatePatterns;
    init_tracing();
    let config = Config::load(args.node_args())?;
    let index = delos_registry_index::Index::open(config.store_dir()).with_context(|| {
        format!(
            "opening the store {} (stop the node first)",
            config.store_dir().display()
        )
    })?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let private = PrivatePatterns::from_patterns(&config.private);
    let summary = export_tree(&index, &private, args.private, &args.out)?;
    let failed = summary.failed.len();
    let total = format!(
        "exported {} to {}, private left out {}, failed {failed}",
        summary.exported,
        args.out.display(),
        summary.private_skipped
    );
    print_outcome("failed", &summary.failed, &total)?;
    anyhow::ensure!(failed == 0, "{failed} versions could not be exported");
    Ok(())
}

/// Prints `<label> <what>: <why>` for each item that went wrong, then the `total` line.
fn print_outcome(label: &str, wrong: &[(String, String)], total: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for (what, why) in wrong {
        writeln!(out, "{label} {what}: {why}").context("writing to stdout")?;
    }
    writeln!(out, "{total}").context("writing to stdout")
}

/// `delos verify`: re-hash every stored blob of a stopped node (moving corrupt ones aside)
/// and, with `--vcs`, re-fill every `.mod`-only version from its VCS; one line per finding;
/// fails (exit 1) when a blob is bad or a version needs the operator.
fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    use delos_node::airgap::verify_blobs::verify_blobs;
    use delos_node::repair::verify_mod_only;
    init_tracing();
    let config = Config::load(args.node)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (blobs, vcs) = runtime.block_on(async {
        let (fetcher, _) = maintenance_fetcher(&config).await?;
        let index = std::sync::Arc::clone(fetcher.index());
        let blobs = tokio::task::spawn_blocking(move || verify_blobs(&index)).await;
        let vcs = match args.vcs {
            true => Some(verify_mod_only(&fetcher).await),
            false => None,
        };
        fetcher.release_work_area();
        anyhow::Ok((blobs??, vcs.transpose()?))
    })?;
    let mut out = std::io::stdout().lock();
    for bad in &blobs.bad {
        writeln!(out, "BAD {}: {}", bad.what, bad.why).context("writing to stdout")?;
    }
    let bad = blobs.bad.len();
    writeln!(out, "re-hashed {} blobs: {bad} bad", blobs.checked).context("writing to stdout")?;
    let mut needing = 0;
    if let Some(report) = vcs {
        for finding in &report.findings {
            writeln!(out, "{finding}").context("writing to stdout")?;
        }
        needing = report
            .findings
            .iter()
            .filter(|f| f.needs_operator())
            .count();
        writeln!(
            out,
            "checked {} .mod-only versions: {needing} need the operator",
            report.checked
        )
        .context("writing to stdout")?;
    }
    anyhow::ensure!(bad == 0, "{bad} stored blobs are bad (moved aside)");
    anyhow::ensure!(needing == 0, "{needing} versions need the operator");
    Ok(())
}

/// `delos repin`: replace one poisoned `.mod`-only version of a stopped node.
fn repin(args: RepinArgs) -> anyhow::Result<()> {
    use delos_pool_protocol::module_path::ModulePath;
    use delos_pool_protocol::version::Version;
    init_tracing();
    let (module, version) = args
        .target
        .rsplit_once('@')
        .context("expected MODULE@VERSION")?;
    let module = ModulePath::parse(module).context("the module path")?;
    let version = Version::parse(version).context("the version")?;
    anyhow::ensure!(
        version.is_canonical(),
        "{version} is not a canonical version"
    );
    let config = Config::load(args.node)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let repinned = runtime.block_on(async {
        let (fetcher, own) = maintenance_fetcher(&config).await?;
        let repinned = delos_node::repair::repin(&fetcher, &own, &module, &version).await;
        fetcher.release_work_area();
        anyhow::Ok(repinned?)
    })?;
    writeln!(
        std::io::stdout().lock(),
        "{module}@{version}: replaced the .mod-only pin (its .mod was {}){}",
        repinned.previous.go_mod().h1(),
        match repinned.evidence {
            Some(_) => "; the node's old record is kept as conflict evidence",
            None => "",
        }
    )
    .context("writing to stdout")
}

/// `delos checksum-db key`: print the verifier key of the node's checksum database.
fn print_checksum_db_key(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::load(args)?;
    let (_, key) = checksum_db_key(&config)?;
    writeln!(std::io::stdout().lock(), "{}", key.verifier_key()).context("writing to stdout")
}

/// The name of the configured checksum database and its note key (created if absent).
fn checksum_db_key(
    config: &Config,
) -> anyhow::Result<(&str, delos_pool_protocol::sumdb::SignerKey)> {
    let name = config
        .checksum_db
        .as_deref()
        .context("no --checksum-db NAME given: the database needs a name")?;
    let path = config.checksum_db_key_file();
    let key = delos_node::keys::load_or_create_note_key(&path, name)
        .with_context(|| format!("loading the checksum database key {}", path.display()))?;
    Ok((name, key))
}

/// `delos audit`: fork evidence files, or the stopped node's own checksum log.
fn audit(args: AuditArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if !args.evidence.is_empty() {
        let mut unproved = 0;
        for path in &args.evidence {
            let checked = ForkEvidenceFile::read(path).and_then(|file| {
                let fork = file.verify()?;
                Ok((file.verifier, fork))
            });
            match checked {
                Ok((verifier, fork)) => writeln!(
                    out,
                    "{}: FORK PROVED: {verifier} signed size {} as {} and size {} as {}",
                    path.display(),
                    fork.older.size(),
                    fork.older.hash(),
                    fork.newer.size(),
                    fork.newer.hash()
                ),
                Err(err) => {
                    unproved += 1;
                    let error = format!("{:#}", anyhow::Error::from(err));
                    writeln!(out, "{}: NOT A PROOF: {error}", path.display())
                }
            }
            .context("writing to stdout")?;
        }
        anyhow::ensure!(unproved == 0, "{unproved} evidence files prove no fork");
        return Ok(());
    }
    let config = Config::load(args.node)?;
    let (name, key) = checksum_db_key(&config)?;
    let verifier = key.verifier_key();
    let verifiers = delos_pool_protocol::sumdb::Verifiers::new([verifier.clone()])?;
    let index = delos_registry_index::Index::open(config.store_dir())
        .with_context(|| format!("opening the store {}", config.store_dir().display()))?;
    let report = delos_node::audit::audit_log(&index, &verifiers, &verifier.to_string())?;
    for finding in &report.findings {
        writeln!(out, "{finding}").context("writing to stdout")?;
    }
    writeln!(
        out,
        "audited {}: {} records, {} tiles, {} signed heads: {} disagreements",
        name,
        report.records,
        report.tiles,
        report.heads,
        report.findings.len()
    )
    .context("writing to stdout")?;
    anyhow::ensure!(
        report.findings.is_empty(),
        "{} disagreements in the checksum log",
        report.findings.len()
    );
    Ok(())
}

/// Logs to stderr as text (the maintenance commands; `serve` follows `--log-format`).
fn init_tracing() {
    delos_node::logging::init(delos_node::logging::LogFormat::Text);
}
