//! Layering (flag > env > file > default) and validation of [`Config`].

use super::*;

fn args(data_dir: &str) -> ServeArgs {
    let mut args = ServeArgs::default();
    args.keys.dir = crate::cli::DataDirArg::new(data_dir);
    args
}

fn file(toml_text: &str) -> FileConfig {
    toml::from_str(toml_text).unwrap()
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let config = Config::layer(args("/d"), FileConfig::default()).unwrap();
    assert_eq!(config, Config::new("/d"));
    assert_eq!(config.http_listen.to_string(), "127.0.0.1:3000");
    assert_eq!(config.upstream, "direct");
    assert!(!config.offline);
}

#[test]
fn file_values_fill_what_flags_leave_out() {
    let from_file = file(
        r#"
        data_dir = "/from-file"
        http_listen = "0.0.0.0:8080"
        upstream = "https://proxy.golang.org"
        gosumdb = "off"
        private = ["corp.example", "*.internal"]
        fetch_workers = 9
        fetch_timeout = "90s"
        list_ttl = "2m"
        offline = true
        "#,
    );
    let config = Config::layer(ServeArgs::default(), from_file).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/from-file"));
    assert_eq!(config.http_listen.to_string(), "0.0.0.0:8080");
    assert_eq!(config.upstream, "https://proxy.golang.org");
    assert_eq!(config.gosumdb, "off");
    assert_eq!(config.private, ["corp.example", "*.internal"]);
    assert_eq!(config.fetch_workers, 9);
    assert_eq!(config.fetch_timeout, Duration::from_secs(90));
    assert_eq!(config.list_ttl, Duration::from_secs(120));
    assert!(config.offline);
}

#[test]
fn flags_win_over_the_file() {
    let mut flags = args("/from-flag");
    flags.fetch_workers = Some(2);
    flags.offline = Some(false);
    let from_file = file("data_dir = \"/f\"\nfetch_workers = 7\noffline = true\n");
    let config = Config::layer(flags, from_file).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/from-flag"));
    assert_eq!(config.fetch_workers, 2);
    assert!(!config.offline);
}

#[test]
fn unknown_keys_and_bad_durations_are_refused() {
    assert!(toml::from_str::<FileConfig>("fetch_wrokers = 3").is_err());
    assert!(toml::from_str::<FileConfig>("list_ttl = \"soon\"").is_err());
}

#[test]
fn out_of_range_values_are_refused() {
    let mut zero = args("/d");
    zero.fetch_workers = Some(0);
    let err = Config::layer(zero, FileConfig::default()).unwrap_err();
    assert!(err.to_string().contains("fetch_workers"), "{err}");
    let mut instant = args("/d");
    instant.fetch_timeout = Some(Duration::ZERO);
    assert!(Config::layer(instant, FileConfig::default()).is_err());
}

#[test]
fn a_missing_config_file_names_the_path() {
    let mut flags = args("/d");
    flags.config = Some(PathBuf::from("/nonexistent/delos.toml"));
    let err = Config::load(flags).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/delos.toml"), "{err}");
}

#[test]
fn the_pool_is_off_unless_asked_for() {
    use clap::Parser;
    #[derive(Debug, Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }
    let pool_of = |argv: &[&str]| {
        let mut full = vec!["serve", "--data-dir", "/d"];
        full.extend_from_slice(argv);
        Config::layer(
            Serve::try_parse_from(full).unwrap().args,
            FileConfig::default(),
        )
        .unwrap()
        .p2p
    };
    assert_eq!(pool_of(&[]), None);
    let listen = pool_of(&["--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"]).unwrap();
    assert_eq!(listen.listen.len(), 1);
    assert!(!listen.mdns);
    assert!(pool_of(&["--p2p"]).unwrap().mdns);
    assert_eq!(pool_of(&["--p2p", "--no-p2p"]), None);
    let quorum = Serve::try_parse_from(["serve", "--quorum", "3"])
        .unwrap()
        .args;
    assert_eq!(quorum.trust.quorum.map(NonZeroU8::get), Some(3));
}

#[test]
fn pool_keys_in_the_file_apply_under_the_flags() {
    use clap::Parser;
    #[derive(Debug, Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }
    let signer = delos_pool_protocol::signing::NodeKey::from_secret_bytes([7; 32]).signer_id();
    let from_file = file(&format!(
        "pool = \"acme\"\np2p_listen = [\"/ip4/127.0.0.1/tcp/0\"]\nmdns = false\n\
         trusted_signers = [\"{signer}\"]\nquorum = 3\n"
    ));
    let layer = |argv: &[&str]| {
        let mut full = vec!["serve", "--data-dir", "/d"];
        full.extend_from_slice(argv);
        Config::layer(Serve::try_parse_from(full).unwrap().args, from_file.clone()).unwrap()
    };
    let config = layer(&[]);
    let p2p = config.p2p.clone().unwrap();
    assert_eq!(
        (p2p.pool.as_str(), p2p.listen.len(), p2p.mdns),
        ("acme", 1, false)
    );
    assert_eq!(config.trusted_signers, vec![signer]);
    assert_eq!(config.quorum.get(), 3);
    let flags = layer(&["--mdns", "--quorum", "1"]);
    assert!(flags.p2p.unwrap().mdns);
    assert_eq!(flags.quorum.get(), 1);
    assert_eq!(layer(&["--no-p2p"]).p2p, None);
    assert!(toml::from_str::<FileConfig>("bootstrap = [\"tcp://nope\"]").is_err());
}

#[test]
fn trusted_signers_in_the_file_may_be_peer_ids() {
    let key = delos_pool_protocol::signing::NodeKey::from_secret_bytes([7; 32]);
    let peer = crate::keys::peer_id(&key);
    let from_file = file(&format!("trusted_signers = [\"{peer}\"]\n"));
    assert_eq!(from_file.trusted_signers, Some(vec![key.signer_id()]));
    let hashed = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
    let err =
        toml::from_str::<FileConfig>(&format!("trusted_signers = [\"{hashed}\"]")).unwrap_err();
    assert!(err.to_string().contains(hashed), "{err}");
}

#[test]
fn record_caps_default_and_layer_like_the_other_settings() {
    let defaults = Config::layer(args("/d"), FileConfig::default()).unwrap();
    assert_eq!(defaults.max_records_per_signer, 100_000);
    assert_eq!(defaults.max_records, 1_000_000);
    let from_file = file("max_records_per_signer = 10\nmax_records = 20\n");
    let config = Config::layer(args("/d"), from_file.clone()).unwrap();
    assert_eq!(
        (config.max_records_per_signer, config.max_records),
        (10, 20)
    );
    assert_eq!(config.record_cap(), RecordCap::new(10, 20));
    let mut flags = args("/d");
    flags.max_records_per_signer = Some(3);
    let config = Config::layer(flags, from_file).unwrap();
    assert_eq!((config.max_records_per_signer, config.max_records), (3, 20));
}

#[test]
fn the_public_check_follows_gosumdb_unless_named() {
    let layered = |toml_text: &str| Config::layer(args("/d"), file(toml_text));
    let default = layered("").unwrap();
    assert_eq!(
        default.public_check_database().as_deref(),
        Some("sum.golang.org"),
        "the workers' database, relayed by default"
    );
    let off = layered("gosumdb = \"off\"\n").unwrap();
    assert_eq!(off.public_check_database(), None);
    let named = layered("gosumdb = \"off\"\nchecksum_db_check = \"sum.golang.org\"\n").unwrap();
    assert_eq!(
        named.public_check_database().as_deref(),
        Some("sum.golang.org")
    );
    let turned_off = layered("checksum_db_check = \"off\"\n").unwrap();
    assert_eq!(turned_off.public_check_database(), None);
    let unrelayed = layered("checksum_db_check = \"sum.other.example\"\n");
    assert!(matches!(
        unrelayed,
        Err(ConfigError::OutOfRange {
            key: "checksum_db_check",
            ..
        })
    ));
}

#[test]
fn connection_limits_default_layer_and_refuse_zero() {
    let defaults = Config::layer(args("/d"), FileConfig::default()).unwrap();
    assert_eq!(defaults.connections.header_timeout, Duration::from_secs(10));
    assert_eq!(defaults.connections.idle_timeout, Duration::from_secs(60));
    assert_eq!(defaults.connections.max_connections, 4096);
    let from_file = file("header_timeout = \"5s\"\nidle_timeout = \"2m\"\nmax_connections = 100\n");
    let mut flags = args("/d");
    flags.max_connections = Some(50);
    let config = Config::layer(flags, from_file).unwrap();
    assert_eq!(config.connections.header_timeout, Duration::from_secs(5));
    assert_eq!(config.connections.idle_timeout, Duration::from_secs(120));
    assert_eq!(config.connections.max_connections, 50);
    for (key, toml_text) in [
        ("header_timeout", "header_timeout = \"0s\""),
        ("idle_timeout", "idle_timeout = \"0s\""),
        ("max_connections", "max_connections = 0"),
    ] {
        let err = Config::layer(args("/d"), file(toml_text)).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
}

#[test]
fn answer_caches_default_layer_and_refuse_more_than_a_tebibyte() {
    let defaults = Config::layer(args("/d"), FileConfig::default()).unwrap();
    assert_eq!(defaults.answer_caches.answer_bytes, 64 << 20);
    assert_eq!(defaults.answer_caches.mapped_zip_bytes, 4096 << 20);
    let from_file = file("answer_cache_mib = 0\nmapped_zips_mib = 100\n");
    let mut flags = args("/d");
    flags.mapped_zips_mib = Some(8);
    let config = Config::layer(flags, from_file).unwrap();
    assert_eq!(
        config.answer_caches.answer_bytes, 0,
        "0 turns the cache off"
    );
    assert_eq!(
        config.answer_caches.mapped_zip_bytes,
        8 << 20,
        "the flag wins"
    );
    for key in ["answer_cache_mib", "mapped_zips_mib"] {
        let err = Config::layer(args("/d"), file(&format!("{key} = 1048577"))).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
}
