//! A module of 10 MiB of incompressible data: go's zip streams through our validator.

use anyhow::Result;

use super::{check_download, printed};
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::shapes;

/// Large enough that a validator holding the zip in memory would show; small enough to be quick.
const BIG_MODULE_BYTES: usize = 10 << 20;

#[test]
fn go_and_pool_protocol_agree_on_a_10_mib_module() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::big(&world, BIG_MODULE_BYTES)?;
    let go = GoEnv::new(&world, "direct")?;
    let got = go.mod_download(&["example.org/big.git@v1.0.0"])?;
    let big = got.ok("example.org/big.git", "v1.0.0")?;
    let zip_bytes = std::fs::metadata(printed("Zip", &big.zip)?)?.len();
    anyhow::ensure!(
        zip_bytes > BIG_MODULE_BYTES as u64,
        "go's zip is only {zip_bytes} bytes"
    );
    check_download(&go, big)
}
