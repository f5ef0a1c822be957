//! Setup helpers shared by every scenario.

pub(crate) mod app;
pub(crate) mod checksum_db;
pub(crate) mod cli;
pub(crate) mod crash;
pub(crate) mod git;
pub(crate) mod go;
pub(crate) mod go_json;
pub(crate) mod http;
pub(crate) mod liar;
pub(crate) mod nginx;
pub(crate) mod node;
pub(crate) mod plot;
pub(crate) mod pool;
pub(crate) mod pool_scale;
pub(crate) mod process_tree;
pub(crate) mod shapes;
pub(crate) mod sumdb;
pub(crate) mod upstream;
