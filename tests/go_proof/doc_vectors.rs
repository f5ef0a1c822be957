//! The worked example of `goproxy-protocol.md` §4: go reproduces it here, and so do we.

use std::fs;

use anyhow::{Result, ensure};
use delos_pool_protocol::hash::H1Hash;

use super::{check_download, printed};
use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::shapes;

/// `goproxy-protocol.md` §4: the `h1:` hashes go printed for `hello.git@v1.0.0`.
const DOC_HELLO_SUM: &str = "h1:OTavDhu2+htbSCou3/NNW4Jc96pqnEISq/z/wq3Vxvo=";
const DOC_HELLO_GO_MOD_SUM: &str = "h1:QJ+/gTmvQBuUneasCzJSE+xoq4qt4XbqZ6dJE1/ib7w=";
/// `goproxy-protocol.md` §1.1 and §4: the go.mod go synthesizes for `legacy.git`, and its hash.
const DOC_LEGACY_GO_MOD: &str = "module example.org/legacy.git\n";
const DOC_LEGACY_GO_MOD_SUM: &str = "h1:vGq8iPZ1LHCfg9oPoO320Fp+VM+MFIvR3c/53RXZPU4=";

#[test]
fn go_reproduces_the_documented_vectors_and_so_do_we() -> Result<()> {
    ensure!(
        H1Hash::of_go_mod(shapes::HELLO_V1_GO_MOD.as_bytes()).to_string() == DOC_HELLO_GO_MOD_SUM
    );
    ensure!(H1Hash::of_go_mod(DOC_LEGACY_GO_MOD.as_bytes()).to_string() == DOC_LEGACY_GO_MOD_SUM);
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    shapes::legacy(&world)?;
    let go = GoEnv::new(&world, "direct")?;
    let got = go.mod_download(&[
        "example.org/hello.git@v1.0.0",
        "example.org/legacy.git@v3.0.0+incompatible",
    ])?;
    let hello = got.ok("example.org/hello.git", "v1.0.0")?;
    ensure!(
        hello.sum.as_deref() == Some(DOC_HELLO_SUM),
        "go printed Sum {:?}",
        hello.sum
    );
    ensure!(
        hello.go_mod_sum.as_deref() == Some(DOC_HELLO_GO_MOD_SUM),
        "go printed GoModSum {:?}",
        hello.go_mod_sum
    );
    check_download(&go, hello)?;
    let legacy = got.ok("example.org/legacy.git", "v3.0.0+incompatible")?;
    ensure!(
        fs::read(printed("GoMod", &legacy.go_mod)?)? == DOC_LEGACY_GO_MOD.as_bytes(),
        "go's synthesized go.mod differs"
    );
    ensure!(
        legacy.go_mod_sum.as_deref() == Some(DOC_LEGACY_GO_MOD_SUM),
        "go printed GoModSum {:?}",
        legacy.go_mod_sum
    );
    check_download(&go, legacy)
}
