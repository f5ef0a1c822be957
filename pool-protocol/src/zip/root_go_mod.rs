//! Reading the root `go.mod` out of a module zip, to compare it with the version's `.mod`.

use std::io::{Read, Seek};

use zip::ZipArchive;
use zip::result::ZipError as ArchiveError;

use super::{MAX_GO_MOD_BYTES, ZipError};
use crate::module_path::ModulePath;
use crate::version::Version;

/// The bytes of the root `go.mod` (`<path>@<version>/go.mod`) of a module zip, or `None` when
/// the zip has none. Meant for a zip that passed [`verify_module_zip`](super::verify_module_zip)
/// (which also bounds the file to [`MAX_GO_MOD_BYTES`]); a larger file is refused all the same.
pub fn root_go_mod<R: Read + Seek>(
    zip: R,
    path: &ModulePath,
    version: &Version,
) -> Result<Option<Vec<u8>>, ZipError> {
    let mut archive = ZipArchive::new(zip).map_err(ZipError::Malformed)?;
    let name = format!("{}@{}/go.mod", path.as_str(), version.as_str());
    let file = match archive.by_name(&name) {
        Ok(file) => file,
        Err(ArchiveError::FileNotFound) => return Ok(None),
        Err(err) => return Err(ZipError::Malformed(err)),
    };
    let declared = file.size();
    let mut bytes = Vec::new();
    file.take(MAX_GO_MOD_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_GO_MOD_BYTES {
        return Err(ZipError::FileTooLarge {
            entry: name,
            declared,
            limit: MAX_GO_MOD_BYTES,
        });
    }
    Ok(Some(bytes))
}
