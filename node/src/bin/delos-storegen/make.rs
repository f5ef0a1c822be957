//! Makes one synthetic module version: a module zip by Go's rules (a `go.mod` and a Go source
//! file under `module@version/`), its `.mod` and `.info`, and their `h1:` hashes, computed by
//! `pool-protocol`'s own zip check, as a fill computes them.

use std::io::{Cursor, Write as _};

use delos_pool_protocol::hash::{H1Hash, Sha256};
use delos_pool_protocol::zip::{ZipError, verify_module_zip};
use zip::CompressionMethod;
use zip::result::ZipError as WriteError;
use zip::write::SimpleFileOptions;

use crate::shape::Slot;

/// Lines of generated Go in each zip: about 8 KiB of text, 3–4 KiB deflated.
const SOURCE_LINES: u64 = 160;

/// The commit time of the first version (2020-09-13).
const FIRST_COMMIT_SECS: u64 = 1_600_000_000;

/// One made version: its bytes and hashes, ready to store.
#[derive(Debug)]
pub(crate) struct Made {
    pub(crate) slot: Slot,
    pub(crate) zip: Vec<u8>,
    pub(crate) zip_h1: H1Hash,
    pub(crate) zip_sha256: Sha256,
    pub(crate) go_mod: Vec<u8>,
    pub(crate) info: Vec<u8>,
    /// The `.info` `Time`.
    pub(crate) time: String,
    /// When the version was "obtained", in seconds since the Unix epoch.
    pub(crate) obtained_at: u64,
}

/// Why a version could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MakeError {
    #[error("writing the zip of {0}")]
    Write(String, #[source] WriteError),
    #[error("the zip of {0} breaks a module zip rule")]
    Invalid(String, #[source] ZipError),
}

/// Makes the version in `slot`.
pub(crate) fn make(slot: Slot) -> Result<Made, MakeError> {
    let name = format!("{}@{}", slot.module, slot.version);
    let go_mod = format!("module {}\n\ngo 1.21\n", slot.module).into_bytes();
    let zip = write_zip(&name, &go_mod, &source(&slot))
        .map_err(|err| MakeError::Write(name.clone(), err))?;
    let verified = verify_module_zip(Cursor::new(&zip), &slot.module, &slot.version)
        .map_err(|err| MakeError::Invalid(name, err))?;
    // Commit times one minute apart, obtained a day later.
    let secs = FIRST_COMMIT_SECS + slot.n * 60;
    let time = rfc3339(secs);
    let info = format!(r#"{{"Version":"{}","Time":"{time}"}}"#, slot.version).into_bytes();
    Ok(Made {
        slot,
        zip,
        zip_h1: verified.h1,
        zip_sha256: verified.sha256,
        go_mod,
        info,
        time,
        obtained_at: secs + 86_400,
    })
}

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub(crate) fn rfc3339(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// A Go source file whose identifiers and constants come from a generator seeded by the
/// version's number, so every zip differs (and deflates as real code does, about 2–3×).
fn source(slot: &Slot) -> Vec<u8> {
    let mut state = slot.n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = format!(
        "// Package gen is generated ({}).\npackage gen\n\n",
        slot.version
    );
    for line in 0..SOURCE_LINES {
        let (a, b) = (next(), next());
        text.push_str(&format!(
            "func f{line}_{:x}(x int) int {{ return x*{} + {} }}\n",
            a % 0xFFFF,
            b % 1000,
            a >> 40
        ));
    }
    text.into_bytes()
}

fn write_zip(prefix: &str, go_mod: &[u8], source: &[u8]) -> Result<Vec<u8>, WriteError> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(1));
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file(format!("{prefix}/go.mod"), options)?;
    zip.write_all(go_mod)?;
    zip.start_file(format!("{prefix}/gen.go"), options)?;
    zip.write_all(source)?;
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use delos_pool_protocol::gomod::check_mod_matches_zip;
    use delos_pool_protocol::zip::root_go_mod;

    use super::*;
    use crate::shape::Shape;

    #[test]
    fn a_made_version_is_a_valid_module_zip_of_a_few_kib() {
        let shape = Shape {
            total: 3,
            big_versions: 1,
            per_module: 2,
        };
        let made = make(shape.slot(2).unwrap()).unwrap();
        assert!(
            (1_000..8_000).contains(&made.zip.len()),
            "{}",
            made.zip.len()
        );
        let (module, version) = (&made.slot.module, &made.slot.version);
        let in_zip = root_go_mod(Cursor::new(&made.zip), module, version).unwrap();
        check_mod_matches_zip(module, &made.go_mod, in_zip.as_deref()).unwrap();
        let info = String::from_utf8(made.info).unwrap();
        assert_eq!(
            info,
            r#"{"Version":"v1.1.0","Time":"2020-09-13T12:28:40Z"}"#
        );
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_704_067_200), "2024-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
