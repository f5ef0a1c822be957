//! Which module versions a generated store holds: one module with many versions, then many
//! modules with a few versions each, numbered so that any range can be made on its own.

use delos_pool_protocol::module_path::{InvalidModulePath, ModulePath};
use delos_pool_protocol::version::{InvalidVersion, Version};

/// The shape of a generated store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Versions in all.
    pub(crate) total: u64,
    /// Versions of the one big module (`gen.example/big`), the first ones made.
    pub(crate) big_versions: u64,
    /// Versions of each of the other modules (`gen.example/m0000000`, …).
    pub(crate) per_module: u64,
}

/// One version to make: its module and version, and its number in the whole store.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// 0-based number in the store; decides the signer and the pseudo-random content.
    pub(crate) n: u64,
    pub(crate) module: ModulePath,
    pub(crate) version: Version,
}

/// A module path or version the shape made did not parse (a bug in the shape).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ShapeError {
    #[error(transparent)]
    Module(#[from] InvalidModulePath),
    #[error(transparent)]
    Version(#[from] InvalidVersion),
}

/// The path of the big module.
pub(crate) const BIG_MODULE: &str = "gen.example/big";

impl Shape {
    /// The `n`th version of the store (`n < total`).
    pub(crate) fn slot(&self, n: u64) -> Result<Slot, ShapeError> {
        let big = self.big_versions.min(self.total);
        let (module, version) = if n < big {
            (BIG_MODULE.to_owned(), format!("v1.{}.{}", n / 100, n % 100))
        } else {
            let rest = n - big;
            let per = self.per_module.max(1);
            (
                format!("gen.example/m{:07}", rest / per),
                format!("v1.{}.0", rest % per),
            )
        };
        Ok(Slot {
            n,
            module: ModulePath::parse(&module)?,
            version: Version::parse(&version)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_module_first_then_small_ones() {
        let shape = Shape {
            total: 10,
            big_versions: 4,
            per_module: 3,
        };
        let names: Vec<String> = (0..10)
            .map(|n| {
                let slot = shape.slot(n).unwrap();
                format!("{}@{}", slot.module, slot.version)
            })
            .collect();
        assert_eq!(names[0], "gen.example/big@v1.0.0");
        assert_eq!(names[3], "gen.example/big@v1.0.3");
        assert_eq!(names[4], "gen.example/m0000000@v1.0.0");
        assert_eq!(names[6], "gen.example/m0000000@v1.2.0");
        assert_eq!(names[7], "gen.example/m0000001@v1.0.0");
    }
}
