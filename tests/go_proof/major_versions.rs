//! Path/version pairs go refuses for their major version, and `check_path_version` with it.

use anyhow::{Result, anyhow, ensure};
use delos_pool_protocol::module_path::ModulePath;
use delos_pool_protocol::version::{Version, check_path_version};

use crate::support::git::GitWorld;
use crate::support::go::GoEnv;
use crate::support::shapes;

#[test]
fn go_and_check_path_version_refuse_the_same_major_mismatches() -> Result<()> {
    let world = GitWorld::new()?;
    shapes::hello(&world)?;
    shapes::multi(&world)?;
    shapes::legacy(&world)?;
    let refused = [
        ("example.org/multi.git", "v2.0.0"),
        ("example.org/multi.git/v2", "v1.5.0"),
        ("example.org/hello.git", "v1.0.0+incompatible"),
        ("example.org/multi.git/v2", "v2.0.0+incompatible"),
    ];
    let mut args: Vec<String> = refused.iter().map(|(m, v)| format!("{m}@{v}")).collect();
    args.push("example.org/legacy.git@v3.0.0".into());
    let go = GoEnv::new(&world, "direct")?;
    let got = go.mod_download(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    for (module, version) in refused {
        let go_error = got.get(module, version)?.error.as_deref();
        let go_error = go_error.ok_or_else(|| anyhow!("go accepted {module}@{version}"))?;
        let ours = check_path_version(&ModulePath::parse(module)?, &Version::parse(version)?);
        ensure!(
            ours.is_err(),
            "go refused {module}@{version} ({go_error}), check_path_version did not"
        );
    }
    // go answers the query v3.0.0 with v3.0.0+incompatible: only the latter fits the path.
    let legacy = got.ok("example.org/legacy.git", "v3.0.0")?;
    let path = ModulePath::parse(&legacy.path)?;
    ensure!(
        check_path_version(&path, &Version::parse("v3.0.0")?).is_err(),
        "v3.0.0 fits {path}"
    );
    check_path_version(&path, &Version::parse(&legacy.version)?)?;
    Ok(())
}
