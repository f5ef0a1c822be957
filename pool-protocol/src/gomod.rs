//! A `go.mod` reader just large enough to tell which module path (and `go` version) a `.mod`
//! file declares, and the rule tying a version's `.mod` to its zip.
//!
//! It follows `golang.org/x/mod/modfile.ModulePath`, the lax reader the `go` command uses for
//! this question: the first line whose text (after cutting a `//` comment and trimming white
//! space) is `module` followed by white space and a path. The path may be bare or a Go string
//! literal (`"..."` with escapes, or `` `...` ``). Everything else in the file is ignored, so
//! unrelated mistakes elsewhere do not hide the module path.

use crate::module_path::ModulePath;

/// Why no module path could be read from a `go.mod` file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GoModError {
    /// No line of the file is a `module` directive with a path.
    #[error("go.mod has no module directive")]
    NoModuleDirective,
    /// The path is quoted but is not a valid Go string literal.
    #[error("go.mod module path {quoted} is not a valid quoted string")]
    BadQuotedPath {
        /// The quoted text as found on the `module` line (lossily decoded as UTF-8).
        quoted: String,
    },
    /// The module path is not valid UTF-8.
    #[error("go.mod module path {path:?} is not valid UTF-8")]
    NotUtf8 {
        /// The path, lossily decoded.
        path: String,
    },
}

/// Returns the module path that `go_mod` declares in its first `module` directive.
pub fn declared_module_path(go_mod: &[u8]) -> Result<String, GoModError> {
    for line in go_mod.split(|&b| b == b'\n') {
        let Some(rest) = module_directive_argument(line) else {
            continue;
        };
        let path = match rest.first() {
            Some(b'"') => unquote_interpreted(rest),
            Some(b'`') => unquote_raw(rest),
            _ => Some(rest.to_vec()),
        }
        .ok_or_else(|| GoModError::BadQuotedPath {
            quoted: String::from_utf8_lossy(rest).into_owned(),
        })?;
        return String::from_utf8(path).map_err(|e| GoModError::NotUtf8 {
            path: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        });
    }
    Err(GoModError::NoModuleDirective)
}

/// The `go.mod` the `go` command makes up for a module version that has none
/// (`modfetch.LegacyGoMod`): `module <path>\n`. A valid module path never needs quoting.
pub fn synthesized_go_mod(path: &ModulePath) -> Vec<u8> {
    format!("module {}\n", path.as_str()).into_bytes()
}

/// The version named by the first `go` directive (`go 1.21`) of `go_mod`, as written.
pub fn go_directive(go_mod: &[u8]) -> Option<&str> {
    go_mod
        .split(|&b| b == b'\n')
        .find_map(|line| directive_argument(line, b"go"))
        .and_then(|argument| std::str::from_utf8(argument).ok())
        .and_then(|argument| argument.split_whitespace().next())
}

/// Why a version's `.mod` cannot belong with its zip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModZipMismatch {
    /// The zip has a root `go.mod` and the `.mod` differs from it.
    #[error("the .mod differs from the go.mod in the zip")]
    DiffersFromZip,
    /// The zip has no `go.mod`, so the `.mod` must be the synthesized `module <path>`, and is not.
    #[error("the zip has no go.mod, but the .mod is not the synthesized `module {path}`")]
    NotSynthesized {
        /// The module path.
        path: String,
    },
}

/// Checks that `go_mod` (a version's `.mod`) is what the `go` command derives from its zip: the
/// zip's root `go.mod` byte for byte when it has one (`zip_go_mod`), else exactly
/// [`synthesized_go_mod`]. A `.mod` read from a damaged VCS clone (where `go.mod` looked
/// absent) fails this.
pub fn check_mod_matches_zip(
    path: &ModulePath,
    go_mod: &[u8],
    zip_go_mod: Option<&[u8]>,
) -> Result<(), ModZipMismatch> {
    match zip_go_mod {
        Some(in_zip) if in_zip == go_mod => Ok(()),
        Some(_) => Err(ModZipMismatch::DiffersFromZip),
        None if go_mod == synthesized_go_mod(path).as_slice() => Ok(()),
        None => Err(ModZipMismatch::NotSynthesized {
            path: path.as_str().to_owned(),
        }),
    }
}

/// If `line` is a `module` directive with a non-empty argument, returns the argument trimmed.
fn module_directive_argument(line: &[u8]) -> Option<&[u8]> {
    directive_argument(line, b"module")
}

/// If `line` is a `keyword` directive with a non-empty argument, returns the argument trimmed.
fn directive_argument<'a>(line: &'a [u8], keyword: &[u8]) -> Option<&'a [u8]> {
    let line = match find(line, b"//") {
        Some(i) => &line[..i],
        None => line,
    };
    let rest = trim_space(line).strip_prefix(keyword)?;
    let trimmed = trim_space(rest);
    // `modulex` is not a directive: at least one space must follow the keyword.
    (trimmed.len() != rest.len() && !trimmed.is_empty()).then_some(trimmed)
}

/// The index of the first occurrence of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Trims white space as Go's `bytes.TrimSpace` does: Unicode white space when the text is
/// UTF-8, ASCII white space otherwise.
fn trim_space(bytes: &[u8]) -> &[u8] {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.trim().as_bytes(),
        Err(_) => bytes.trim_ascii(),
    }
}

/// Go's `strconv.Unquote` for a raw string: no backquote inside, carriage returns dropped.
fn unquote_raw(quoted: &[u8]) -> Option<Vec<u8>> {
    let inner = quoted.strip_prefix(b"`")?.strip_suffix(b"`")?;
    if inner.contains(&b'`') {
        return None;
    }
    Some(inner.iter().copied().filter(|&b| b != b'\r').collect())
}

/// Go's `strconv.Unquote` for an interpreted (double-quoted) string literal.
fn unquote_interpreted(quoted: &[u8]) -> Option<Vec<u8>> {
    let inner = std::str::from_utf8(quoted.strip_prefix(b"\"")?.strip_suffix(b"\"")?).ok()?;
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => unescape_one(&mut chars, &mut out)?,
            _ => out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes()),
        }
    }
    Some(out)
}

/// Decodes one escape sequence (after its backslash) into `out`.
fn unescape_one(chars: &mut std::str::Chars<'_>, out: &mut Vec<u8>) -> Option<()> {
    let simple = match chars.next()? {
        'a' => 0x07,
        'b' => 0x08,
        'f' => 0x0c,
        'n' => b'\n',
        'r' => b'\r',
        't' => b'\t',
        'v' => 0x0b,
        '\\' => b'\\',
        '"' => b'"',
        'x' => u8::try_from(hex_digits(chars, 2)?).ok()?,
        d @ '0'..='7' => {
            let rest = chars.as_str().get(..2)?;
            let value = u32::from_str_radix(&format!("{d}{rest}"), 8).ok()?;
            chars.nth(1)?;
            u8::try_from(value).ok()?
        }
        'u' => return push_char(out, hex_digits(chars, 4)?),
        'U' => return push_char(out, hex_digits(chars, 8)?),
        _ => return None,
    };
    out.push(simple);
    Some(())
}

/// Reads exactly `n` hex digits.
fn hex_digits(chars: &mut std::str::Chars<'_>, n: usize) -> Option<u32> {
    let digits = chars.as_str().get(..n)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let value = u32::from_str_radix(digits, 16).ok()?;
    chars.nth(n - 1)?;
    Some(value)
}

/// Appends the UTF-8 encoding of a `\u`/`\U` escape; surrogates and out-of-range are invalid.
fn push_char(out: &mut Vec<u8>, code: u32) -> Option<()> {
    let c = char::from_u32(code)?;
    out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(go_mod: &str) -> Result<String, GoModError> {
        declared_module_path(go_mod.as_bytes())
    }

    #[test]
    fn bare_path() {
        let go_mod = "module example.org/hello.git\n\ngo 1.21\n";
        assert_eq!(path(go_mod).unwrap(), "example.org/hello.git");
    }

    #[test]
    fn comments_space_and_crlf() {
        let go_mod =
            "// header comment\r\n\r\n  module\texample.org/m // trailing\r\nmodule other\n";
        assert_eq!(path(go_mod).unwrap(), "example.org/m");
    }

    #[test]
    fn commented_out_directive_is_skipped() {
        let go_mod = "// module wrong.org/x\nmodule right.org/x\n";
        assert_eq!(path(go_mod).unwrap(), "right.org/x");
    }

    #[test]
    fn quoted_paths() {
        assert_eq!(path("module \"example.org/q\"\n").unwrap(), "example.org/q");
        assert_eq!(
            path("module `example.org/raw`\n").unwrap(),
            "example.org/raw"
        );
        assert_eq!(
            path(r#"module "ex\x61mple.org/\u00e9\141""#).unwrap(),
            "example.org/éa"
        );
    }

    #[test]
    fn keyword_needs_space_and_argument() {
        assert_eq!(
            path("modulex foo\nmodule\n"),
            Err(GoModError::NoModuleDirective)
        );
        assert_eq!(path(""), Err(GoModError::NoModuleDirective));
        assert_eq!(path("go 1.21\n"), Err(GoModError::NoModuleDirective));
    }

    #[test]
    fn malformed_quotes_are_errors() {
        for bad in [
            "module \"unterminated\n",
            "module \"a\" \"b\"\n",
            "module \"bad\\q\"\n",
            "module `a`b`\n",
            "module \"\\ud800\"\n",
        ] {
            assert!(
                matches!(path(bad), Err(GoModError::BadQuotedPath { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_go_directive_is_read() {
        assert_eq!(go_directive(b"module m\n\ngo 1.999\n"), Some("1.999"));
        assert_eq!(
            go_directive(b"module m\n  go 1.21 // pinned\n"),
            Some("1.21")
        );
        assert_eq!(go_directive(b"module m\ngotoolchain x\n"), None);
        assert_eq!(go_directive(b"module m\n"), None);
    }

    #[test]
    fn the_mod_must_be_the_zips_go_mod_or_the_synthesized_one() {
        let path = ModulePath::parse("example.org/big.git").unwrap();
        let real: &[u8] = b"module example.org/big.git\n\ngo 1.21\n";
        let synthesized = synthesized_go_mod(&path);
        assert_eq!(synthesized, b"module example.org/big.git\n");
        assert_eq!(check_mod_matches_zip(&path, real, Some(real)), Ok(()));
        assert_eq!(check_mod_matches_zip(&path, &synthesized, None), Ok(()));
        // What a damaged VCS clone yields: the synthesized .mod beside a zip with a go.mod.
        assert_eq!(
            check_mod_matches_zip(&path, &synthesized, Some(real)),
            Err(ModZipMismatch::DiffersFromZip)
        );
        assert!(matches!(
            check_mod_matches_zip(&path, real, None),
            Err(ModZipMismatch::NotSynthesized { .. })
        ));
    }

    #[test]
    fn invalid_utf8_path_is_an_error() {
        let err = declared_module_path(b"module ex\xffample\n").unwrap_err();
        assert!(matches!(err, GoModError::NotUtf8 { .. }));
        let err = declared_module_path(b"module \"\\xff\"\n").unwrap_err();
        assert!(matches!(err, GoModError::NotUtf8 { .. }));
    }
}
