//! Setup helpers shared by every scenario.
