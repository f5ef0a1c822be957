//! Typed output of the `go` command's `-json` modes: a stream of objects, not an array.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

/// Everything one `go mod download -json` run printed.
#[derive(Debug)]
pub(crate) struct Downloads {
    /// The objects, in the order go printed them.
    pub(crate) modules: Vec<ModDownload>,
    /// What go wrote to stderr, for failure messages.
    pub(crate) stderr: String,
}

impl Downloads {
    /// The object for `module@query`: `Path` is `module`, and `Query` (or, for a canonical
    /// query, `Version`) is `query`.
    pub(crate) fn get(&self, module: &str, query: &str) -> Result<&ModDownload> {
        self.modules
            .iter()
            .find(|m| m.path == module && m.query.as_deref().unwrap_or(&m.version) == query)
            .ok_or_else(|| {
                anyhow!(
                    "go printed nothing for {module}@{query}; stderr:\n{}",
                    self.stderr
                )
            })
    }

    /// Like [`Self::get`], but the download must have succeeded.
    pub(crate) fn ok(&self, module: &str, query: &str) -> Result<&ModDownload> {
        let found = self.get(module, query)?;
        match &found.error {
            Some(error) => bail!("go mod download {module}@{query} failed: {error}"),
            None => Ok(found),
        }
    }
}

/// One object of `go mod download -json` (`modcmd/download.go` moduleJSON); empty fields omitted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(
    dead_code,
    reason = "mirrors go's JSON; scenarios read the fields they need"
)]
pub(crate) struct ModDownload {
    /// The module path.
    pub(crate) path: String,
    /// The canonical version the query resolved to (empty if it did not resolve).
    #[serde(default)]
    pub(crate) version: String,
    /// The argument's query, when it was not the canonical version itself.
    pub(crate) query: Option<String>,
    /// Why this module could not be downloaded.
    pub(crate) error: Option<String>,
    /// The cached `.info` file.
    pub(crate) info: Option<PathBuf>,
    /// The cached `.mod` file.
    pub(crate) go_mod: Option<PathBuf>,
    /// The cached `.zip` file.
    pub(crate) zip: Option<PathBuf>,
    /// The extracted module tree.
    pub(crate) dir: Option<PathBuf>,
    /// The zip's `h1:` hash.
    pub(crate) sum: Option<String>,
    /// The `.mod` file's `h1:` hash.
    pub(crate) go_mod_sum: Option<String>,
    /// Where the version came from.
    pub(crate) origin: Option<Origin>,
}

/// Provenance go records for a version fetched from version control (`codehost.Origin`).
#[derive(Debug, Deserialize)]
#[allow(
    dead_code,
    reason = "mirrors go's JSON; scenarios read the fields they need"
)]
pub(crate) struct Origin {
    /// `git` for every test repository.
    #[serde(rename = "VCS")]
    pub(crate) vcs: Option<String>,
    /// The repository URL as go asked for it (`https://example.org/hello` for `hello.git`).
    #[serde(rename = "URL")]
    pub(crate) url: Option<String>,
    /// The module's directory inside the repository (`sub` for `mono.git/sub`).
    #[serde(rename = "Subdir")]
    pub(crate) subdir: Option<String>,
    /// The full commit hash.
    #[serde(rename = "Hash")]
    pub(crate) hash: Option<String>,
    /// The ref the version was found at (`refs/tags/v1.0.0`, `HEAD`).
    #[serde(rename = "Ref")]
    pub(crate) reference: Option<String>,
    /// A hash over the tags go looked at (for `latest`).
    #[serde(rename = "TagSum")]
    pub(crate) tag_sum: Option<String>,
    /// The tag prefix of a module in a subdirectory (`sub/`).
    #[serde(rename = "TagPrefix")]
    pub(crate) tag_prefix: Option<String>,
    /// A hash over the whole repository's refs.
    #[serde(rename = "RepoSum")]
    pub(crate) repo_sum: Option<String>,
}

/// Parses a stream of concatenated JSON objects (what `go ... -json` prints), not an array.
pub(crate) fn parse_stream<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<Vec<T>> {
    serde_json::Deserializer::from_slice(bytes)
        .into_iter::<T>()
        .map(|item| item.context("a JSON object in go's output"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_stream_reads_concatenated_objects() -> Result<()> {
        let stream = b"{\n\t\"Path\": \"example.org/a.git\",\n\t\"Version\": \"v1.0.0\"\n}\n\
                       {\n\t\"Path\": \"example.org/b.git\",\n\t\"Query\": \"latest\",\n\t\"Error\": \"x\"\n}\n";
        let modules: Vec<ModDownload> = parse_stream(stream)?;
        assert_eq!(modules.len(), 2);
        assert_eq!(modules[0].version, "v1.0.0");
        assert_eq!(modules[1].query.as_deref(), Some("latest"));
        assert!(
            parse_stream::<ModDownload>(b"[{\"Path\":\"x\"}]").is_err(),
            "an array is not a stream"
        );
        Ok(())
    }
}
