//! Pseudo-versions: versions that name an untagged commit by time and revision
//! (Go's `module/pseudo.go`).
//!
//! The three forms are `vX.0.0-yyyymmddhhmmss-rev` (no base tag), `vX.Y.(Z+1)-0.yyyymmddhhmmss-rev`
//! (after release `vX.Y.Z`) and `vX.Y.Z-pre.0.yyyymmddhhmmss-rev` (after prerelease
//! `vX.Y.Z-pre`); any of them may carry build metadata such as `+incompatible`.

use super::{InvalidVersion, Version, VersionErrorKind, VersionForm};

/// Length of the `yyyymmddhhmmss` timestamp.
const TIMESTAMP_LEN: usize = 14;

/// The parts of a pseudo-version, borrowed from its [`Version`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PseudoVersion<'a> {
    version: &'a Version,
    /// The text before the timestamp, without its separator: `vX.0.0`, `vX.Y.Z-0`, `vX.Y.Z-pre.0`.
    stem: &'a str,
    timestamp: &'a str,
    revision: &'a str,
}

/// The UTC commit time a pseudo-version records, validated as a real date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct PseudoTime {
    /// Year, 0–9999.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–59.
    pub second: u8,
}

impl<'a> PseudoVersion<'a> {
    /// Recognises a pseudo-version as Go's `IsPseudoVersion` does.
    pub(crate) fn of(version: &'a Version) -> Option<Self> {
        let text = version.as_str();
        if text.matches('-').count() < 2 || version.layout.prerelease.is_none() {
            return None;
        }
        let core = version
            .layout
            .build_start
            .map_or(text, |start| &text[..start]);
        let (rest, revision) = core.rsplit_once('-')?;
        if revision.is_empty() || !revision.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let head_len = rest.len().checked_sub(TIMESTAMP_LEN)?;
        let (head, timestamp) = rest.split_at(head_len);
        if !timestamp.bytes().all(|b| b.is_ascii_digit()) || !head_is_pseudo(version, head) {
            return None;
        }
        let stem = &head[..head.len() - 1];
        Some(PseudoVersion {
            version,
            stem,
            timestamp,
            revision,
        })
    }

    /// The commit time as the fourteen digits `yyyymmddhhmmss` (UTC).
    pub fn timestamp(&self) -> &'a str {
        self.timestamp
    }

    /// The commit time, checked as a real calendar time (Go's `PseudoVersionTime`).
    pub fn time(&self) -> Result<PseudoTime, InvalidVersion> {
        PseudoTime::parse(self.timestamp).ok_or_else(|| {
            let timestamp = self.timestamp.to_owned();
            self.error(VersionErrorKind::PseudoBadTime { timestamp })
        })
    }

    /// The revision: a commit hash prefix (12 hex digits when `go` made it).
    pub fn revision(&self) -> &'a str {
        self.revision
    }

    /// The version this pseudo-version was derived from (Go's `PseudoVersionBase`): `None` for
    /// the `vX.0.0-…` form, else the release or prerelease tag it follows, with the build
    /// metadata carried over (`v1.2.3+incompatible`).
    pub fn base(&self) -> Result<Option<Version>, InvalidVersion> {
        let build = self.version.build().unwrap_or("");
        if let Some(stem) = self.stem.strip_suffix("-0") {
            let (prefix, patch) = stem.rsplit_once('.').unwrap_or((stem, ""));
            let patch = decrement(patch)
                .ok_or_else(|| self.error(VersionErrorKind::PseudoNegativePatch))?;
            return self
                .base_version(format!("{prefix}.{patch}{build}"))
                .map(Some);
        }
        if let Some(stem) = self
            .stem
            .strip_suffix(".0")
            .filter(|_| self.stem.contains('-'))
        {
            return self.base_version(format!("{stem}{build}")).map(Some);
        }
        if !build.is_empty() {
            return Err(self.error(VersionErrorKind::PseudoBuildWithoutBase {
                build: build.to_owned(),
            }));
        }
        Ok(None)
    }

    fn base_version(&self, text: String) -> Result<Version, InvalidVersion> {
        Version::try_from(text).map_err(|err| self.error(err.kind))
    }

    fn error(&self, kind: VersionErrorKind) -> InvalidVersion {
        InvalidVersion::new(self.version.as_str(), VersionForm::Pseudo, kind)
    }
}

/// Whether the text before the timestamp matches one of the three forms. `head` still ends with
/// the separator before the timestamp (`-` for the first form, `.` for the others).
fn head_is_pseudo(version: &Version, head: &str) -> bool {
    // The release part `vX.Y.Z-`, which the valid semver already guarantees to be well formed.
    let Some((pre_start, _)) = version.layout.prerelease else {
        return false;
    };
    let release = &version.as_str()[..=pre_start];
    if head == release {
        // `vX.Y.Z-yyyymmddhhmmss-rev` is only a pseudo-version as `vX.0.0-…`.
        return version.minor() == "0" && version.patch() == "0";
    }
    match head.strip_suffix("0.") {
        Some(before) => before == release || (before.starts_with(release) && before.ends_with('.')),
        None => false,
    }
}

/// Subtracts one from a decimal number without leading zeros; `None` for `0` (Go's `decDecimal`).
fn decrement(number: &str) -> Option<String> {
    let value = number.trim_end_matches('0');
    let last = value.bytes().last()?;
    let zeros = number.len() - value.len();
    let mut out = value[..value.len() - 1].to_owned();
    if !(out.is_empty() && last == b'1' && zeros > 0) {
        out.push(char::from(last - 1));
    }
    out.extend(std::iter::repeat_n('9', zeros));
    Some(out)
}

impl PseudoTime {
    /// Parses `yyyymmddhhmmss`, refusing impossible dates and times.
    fn parse(digits: &str) -> Option<PseudoTime> {
        let field = |range: std::ops::Range<usize>| digits.get(range)?.parse::<u16>().ok();
        let (year, month, day) = (field(0..4)?, field(4..6)?, field(6..8)?);
        let (hour, minute, second) = (field(8..10)?, field(10..12)?, field(12..14)?);
        let month_ok = (1..=12).contains(&month);
        if !month_ok
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let narrow = |n: u16| u8::try_from(n).ok();
        Some(PseudoTime {
            year,
            month: narrow(month)?,
            day: narrow(day)?,
            hour: narrow(hour)?,
            minute: narrow(minute)?,
            second: narrow(second)?,
        })
    }
}

/// Days in `month` of `year` in the proleptic Gregorian calendar.
fn days_in_month(year: u16, month: u16) -> u16 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        match Version::parse(text) {
            Ok(version) => version,
            Err(err) => panic!("{err}"),
        }
    }

    fn base(text: &str) -> Result<Option<String>, VersionErrorKind> {
        let version = v(text);
        let pseudo = version.pseudo().ok_or(VersionErrorKind::NotSemver)?;
        pseudo
            .base()
            .map(|base| base.map(String::from))
            .map_err(|err| err.kind)
    }

    #[test]
    fn recognises_the_three_forms() {
        let version = v("v0.0.0-20200101000000-abcdefabcdef");
        let pseudo = version.pseudo();
        assert_eq!(
            pseudo.map(|p| (p.timestamp(), p.revision())),
            Some(("20200101000000", "abcdefabcdef"))
        );
        assert_eq!(base("v0.0.0-20200101000000-abcdefabcdef"), Ok(None));
        assert_eq!(base("v2.0.0-20200101000000-abcdefabcdef"), Ok(None));
        assert_eq!(
            base("v1.2.4-0.20200101000000-abcdefabcdef"),
            Ok(Some("v1.2.3".into()))
        );
        assert_eq!(
            base("v1.2.10-0.20200101000000-abcdefabcdef"),
            Ok(Some("v1.2.9".into()))
        );
        assert_eq!(
            base("v1.2.100-0.20200101000000-abcdefabcdef"),
            Ok(Some("v1.2.99".into()))
        );
        assert_eq!(
            base("v1.2.3-pre.0.20200101000000-abcdefabcdef"),
            Ok(Some("v1.2.3-pre".into()))
        );
        assert_eq!(
            base("v2.0.1-0.20200722182040-012345abcdef+incompatible"),
            Ok(Some("v2.0.0+incompatible".into()))
        );
    }

    #[test]
    fn refuses_impossible_bases() {
        assert_eq!(
            base("v1.2.0-0.20200101000000-abcdefabcdef"),
            Err(VersionErrorKind::PseudoNegativePatch)
        );
        assert_eq!(
            base("v0.0.0-20200101000000-abcdefabcdef+meta"),
            Err(VersionErrorKind::PseudoBuildWithoutBase {
                build: "+meta".into()
            })
        );
    }

    #[test]
    fn other_versions_are_not_pseudo() {
        for text in [
            "v1.0.0",
            "v1.0.0-rc.1",
            "v1.2.3-20200101000000-abcdefabcdef",
            "v1.2.3-0.2020010100000-abcdefabcdef",
            "v1.2.3-0.202001010000001-abcdefabcdef",
            "v1.2.3-pre.20200101000000-abcdefabcdef",
            "v0.0.0-20200101000000-",
            "v0.0.0-20200101000000-a-b",
            "v0.0.0-x20200101000000-abc",
        ] {
            assert!(!v(text).is_pseudo(), "{text}");
        }
    }

    #[test]
    fn times_must_exist() {
        let time = |text: &str| v(text).pseudo().map(|p| p.time().map_err(|err| err.kind));
        let leap = PseudoTime {
            year: 2024,
            month: 2,
            day: 29,
            hour: 23,
            minute: 59,
            second: 59,
        };
        assert_eq!(time("v0.0.0-20240229235959-abc"), Some(Ok(leap)));
        for bad in [
            "20230229000000",
            "20201301000000",
            "20200100000000",
            "20200101240000",
            "20200101006000",
        ] {
            let kind = VersionErrorKind::PseudoBadTime {
                timestamp: bad.into(),
            };
            assert_eq!(time(&format!("v0.0.0-{bad}-abc")), Some(Err(kind)), "{bad}");
        }
    }
}
