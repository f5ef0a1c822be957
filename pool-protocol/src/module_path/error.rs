//! Errors for refused module, import and file paths; each names the input and the reason.

use super::PathErrorKind;

/// Which check refused a path, so the message names the right kind of path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathForm {
    /// A module path (`CheckPath`).
    Module,
    /// An import path (`CheckImportPath`).
    Import,
    /// The `!`-escaped form of a module path, as found in proxy URLs.
    EscapedModule,
}

/// A module or import path that Go would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {:?}: {kind}", form_noun(*.form), .path)]
#[non_exhaustive]
pub struct InvalidModulePath {
    /// The refused input, exactly as given (escaped, for [`PathForm::EscapedModule`]).
    pub path: String,
    /// Which check refused it.
    pub form: PathForm,
    /// Why it was refused.
    pub kind: PathErrorKind,
}

/// A file name inside a module zip that Go's `CheckFilePath` would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed file path {path:?}: {kind}")]
#[non_exhaustive]
pub struct InvalidFilePath {
    /// The refused name (lossily decoded if it was not UTF-8).
    pub path: String,
    /// Why it was refused.
    pub kind: PathErrorKind,
}

fn form_noun(form: PathForm) -> &'static str {
    match form {
        PathForm::Module => "malformed module path",
        PathForm::Import => "malformed import path",
        PathForm::EscapedModule => "invalid escaped module path",
    }
}

impl InvalidModulePath {
    pub(crate) fn new(path: &str, form: PathForm, kind: PathErrorKind) -> Self {
        Self {
            path: path.to_owned(),
            form,
            kind,
        }
    }
}
