//! Setup helpers shared by every scenario.

pub(crate) mod git;
pub(crate) mod go;
