//! End-to-end tests: real `go`, real git repositories in temp dirs, real `delos` processes.
//! One binary, linked once.

mod support;

mod airgap;
mod bench_builds;
mod bench_pool;
mod bench_pool_heads;
mod bench_sumdb;
mod bench_upstream;
mod checksum_db;
mod checksum_db_crash;
mod connection_hygiene;
mod crash_safety;
mod deploy_configs;
mod download_protocol;
mod feeds;
mod fetcher;
mod fill_answers;
mod fill_concurrency;
mod fill_crash;
mod fill_epilogue;
mod fill_fairness;
mod go_proof;
mod hostile_input;
mod immutability;
mod keys_cli;
mod own_checksum_db;
mod own_checksum_db_checks;
mod pool_discovery;
mod pool_feed_reset;
mod pool_fetch;
mod pool_gossip_metrics;
mod pool_hostile;
mod pool_limits;
mod pool_log_heads;
mod pool_sync;
mod pool_trust;
mod private_patterns;
mod provenance;
mod record_crash_safety;
mod repin;
mod serve_cli;
mod sumdb_relay;
mod upstream_fill;
mod upstream_queries;
mod upstream_stream;
