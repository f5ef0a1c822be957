//! What the `go` command prints in its `-json` modes: a stream of objects, not an array.

use std::path::PathBuf;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// One object of `go mod download -json` (`modcmd/download.go`); empty fields are omitted.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Download {
    /// The module path.
    #[serde(default)]
    pub(crate) path: String,
    /// The canonical version the query resolved to (empty if it did not).
    #[serde(default)]
    pub(crate) version: String,
    /// Why the download failed, where it did; fields filled before the failure stay set.
    pub(crate) error: Option<String>,
    /// The cached `.info` file.
    pub(crate) info: Option<PathBuf>,
    /// The cached `.mod` file.
    pub(crate) go_mod: Option<PathBuf>,
    /// The cached `.zip` file.
    pub(crate) zip: Option<PathBuf>,
    /// The zip's `h1:` hash.
    pub(crate) sum: Option<String>,
    /// The `.mod` file's `h1:` hash.
    pub(crate) go_mod_sum: Option<String>,
    /// Where the VCS bytes came from (commit hash, ref), for the node's provenance record.
    pub(crate) origin: Option<Origin>,
}

/// The `Origin` object of `go mod download -json` (`codehost.Origin`); other keys are ignored.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct Origin {
    /// The version control system (`git`, ...).
    #[serde(rename = "VCS", default)]
    pub(crate) vcs: String,
    /// The repository URL.
    #[serde(rename = "URL", default)]
    pub(crate) url: String,
    /// The module's directory in the repository, if not the root.
    #[serde(rename = "Subdir", default)]
    pub(crate) subdir: String,
    /// The commit hash.
    #[serde(rename = "Hash", default)]
    pub(crate) hash: String,
    /// The ref the version was resolved through (`refs/tags/v1.0.0`), if any.
    #[serde(rename = "Ref", default)]
    pub(crate) ref_name: String,
}

impl Origin {
    /// As a provenance record's origin; `None` unless VCS, URL and hash are all present.
    pub(crate) fn to_vcs_origin(&self) -> Option<delos_pool_protocol::provenance::VcsOrigin> {
        let present = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        Some(delos_pool_protocol::provenance::VcsOrigin {
            vcs: present(&self.vcs)?,
            url: present(&self.url)?,
            subdir: present(&self.subdir),
            hash: present(&self.hash)?,
            ref_name: present(&self.ref_name),
        })
    }
}

/// One object of `go list -m -json [-versions -retracted] -e` (`modload` modinfo).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListedModule {
    /// The module path.
    #[serde(default)]
    pub(crate) path: String,
    /// The resolved version (for `M@query`).
    #[serde(default)]
    pub(crate) version: String,
    /// Known versions (for `-versions`), absent when there are none.
    #[serde(default)]
    pub(crate) versions: Vec<String>,
    /// Why the module could not be listed (with `-e`).
    pub(crate) error: Option<ListError>,
}

/// The `Error` object of `go list -m -e -json`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListError {
    /// The message.
    #[serde(rename = "Err", default)]
    pub(crate) err: String,
}

/// The `.info` fields the fill path checks.
#[derive(Debug, Deserialize)]
pub(crate) struct InfoJson {
    /// The canonical version the file describes.
    #[serde(rename = "Version")]
    pub(crate) version: String,
}

/// Parses a stream of concatenated JSON objects; stops at the first malformed one.
pub(crate) fn parse_stream<T: DeserializeOwned>(bytes: &[u8]) -> Result<Vec<T>, serde_json::Error> {
    serde_json::Deserializer::from_slice(bytes)
        .into_iter::<T>()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_stream_with_an_error_object() -> Result<(), serde_json::Error> {
        let stream = b"{\n\t\"Path\": \"example.org/a.git\",\n\t\"Version\": \"v1.0.0\",\n\t\"Sum\": \"h1:x\"\n}\n\
                       {\n\t\"Path\": \"example.org/b.git\",\n\t\"Error\": \"unknown revision\"\n}\n";
        let got: Vec<Download> = parse_stream(stream)?;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].version, "v1.0.0");
        assert_eq!(got[0].sum.as_deref(), Some("h1:x"));
        assert_eq!(got[1].error.as_deref(), Some("unknown revision"));
        assert!(parse_stream::<Download>(b"[{\"Path\":\"x\"}]").is_err());
        let listed: Vec<ListedModule> =
            parse_stream(b"{\"Path\":\"m\",\"Error\":{\"Err\":\"no such module\"}}")?;
        assert_eq!(
            listed[0].error.as_ref().map(|e| e.err.as_str()),
            Some("no such module")
        );
        assert!(listed[0].versions.is_empty());
        Ok(())
    }
}
