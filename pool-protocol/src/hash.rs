//! Content hashes: [`Sha256`], the content address of a blob, and [`H1Hash`], Go's `h1:`
//! directory hash of a module zip or a `go.mod` file.
//!
//! Both are fixed 32-byte values that exist only after parsing or computing, and serialize as
//! their canonical text (`Sha256` as 64 lowercase hex digits, `H1Hash` as `h1:` plus 44
//! characters of standard, padded base64).

mod h1;
mod sha256;

pub use h1::{H1Builder, H1Hash, InvalidH1Hash, NameWithNewline};
pub use sha256::{InvalidSha256, Sha256};
