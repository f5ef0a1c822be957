//! What a Delos node knows and holds, on disk.
