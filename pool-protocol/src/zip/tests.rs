//! Module zips built in memory: the worked example from `docs/goproxy-protocol.md` §4, and one
//! hostile zip per rule. Lies the `zip` crate's writer will not tell (sizes, duplicates) are
//! built byte by byte with [`RawEntry`].

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::*;

const PREFIX: &str = "example.org/m@v1.0.0/";

fn module() -> (ModulePath, Version) {
    (
        ModulePath::parse("example.org/m").unwrap(),
        Version::parse("v1.0.0").unwrap(),
    )
}

/// `verify_module_zip`, after checking that `verify_module_zip_contents` (no raw pass), with
/// and without a scan of the same bytes, comes to the same `h1:` or the same refusal.
fn verify(bytes: &[u8]) -> Result<VerifiedZip, ZipError> {
    let (path, version) = module();
    let full = verify_module_zip(Cursor::new(bytes), &path, &version);
    let scans = [ScannedEntries::default(), ScannedEntries::scan(bytes)];
    for scanned in &scans {
        let contents = verify_module_zip_contents(Cursor::new(bytes), &path, &version, scanned);
        match (&full, &contents) {
            (Ok(verified), Ok(h1)) => assert_eq!(verified.h1, *h1),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("the verifications disagree: {full:?} / {contents:?}"),
        }
    }
    full
}

/// A zip written by the `zip` crate, deflated, from `(name, content)` pairs; names ending in
/// `/` become directory entries.
fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, content) in files {
        if name.ends_with('/') {
            writer.add_directory(*name, options).unwrap();
        } else {
            writer.start_file(*name, options).unwrap();
            writer.write_all(content).unwrap();
        }
    }
    writer.finish().unwrap().into_inner()
}

/// One entry of a hand-built zip, with whatever header values the test wants to claim.
struct RawEntry {
    name: String,
    flags: u16,
    method: u16,
    data: Vec<u8>,
    crc32: u32,
    declared_size: u32,
    /// Point the central directory at this offset instead of writing a local header and data.
    shared_at: Option<u32>,
}

impl RawEntry {
    /// An honest stored entry.
    fn stored(name: &str, data: &[u8]) -> RawEntry {
        RawEntry {
            name: name.to_owned(),
            flags: 0x0800, // UTF-8 names
            method: 0,
            data: data.to_vec(),
            crc32: crc32fast::hash(data),
            declared_size: u32::try_from(data.len()).unwrap(),
            shared_at: None,
        }
    }

    /// The shared part of the local and central headers, from "version needed" to the
    /// extra-field length.
    fn common_header(&self) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&20u16.to_le_bytes()); // version needed
        h.extend_from_slice(&self.flags.to_le_bytes());
        h.extend_from_slice(&self.method.to_le_bytes());
        h.extend_from_slice(&[0, 0, 0x21, 0]); // time, date (1980-01-01)
        h.extend_from_slice(&self.crc32.to_le_bytes());
        h.extend_from_slice(&u32::try_from(self.data.len()).unwrap().to_le_bytes());
        h.extend_from_slice(&self.declared_size.to_le_bytes());
        h.extend_from_slice(&u16::try_from(self.name.len()).unwrap().to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // extra length
        h
    }
}

/// Lays out local headers, data, central directory and end record.
fn raw_zip(entries: &[RawEntry]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for entry in entries {
        let offset = match entry.shared_at {
            Some(offset) => offset,
            None => {
                let offset = u32::try_from(out.len()).unwrap();
                out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
                out.extend_from_slice(&entry.common_header());
                out.extend_from_slice(entry.name.as_bytes());
                out.extend_from_slice(&entry.data);
                offset
            }
        };
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: Unix
        central.extend_from_slice(&entry.common_header());
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(entry.name.as_bytes());
    }
    let count = u16::try_from(entries.len()).unwrap().to_le_bytes();
    let cd_offset = u32::try_from(out.len()).unwrap();
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&count);
    out.extend_from_slice(&count);
    out.extend_from_slice(&u32::try_from(central.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn name(rest: &str) -> String {
    format!("{PREFIX}{rest}")
}

#[test]
fn worked_example_hello_git() {
    let go_mod: &[u8] = b"module example.org/hello.git\n\ngo 1.21\n";
    let hello: &[u8] = b"package hello\n\nfunc Hello() string { return \"hello v1.0.0\" }\n";
    let bytes = zip_of(&[
        ("example.org/hello.git@v1.0.0/go.mod", go_mod),
        ("example.org/hello.git@v1.0.0/hello.go", hello),
    ]);
    let path = ModulePath::parse("example.org/hello.git").unwrap();
    let version = Version::parse("v1.0.0").unwrap();
    let verified = verify_module_zip(Cursor::new(&bytes), &path, &version).unwrap();
    assert_eq!(
        verified.h1.to_string(),
        "h1:OTavDhu2+htbSCou3/NNW4Jc96pqnEISq/z/wq3Vxvo="
    );
    assert_eq!(verified.sha256, Sha256::digest(&bytes));
    assert_eq!(verified.size, bytes.len() as u64);
    assert_eq!(
        H1Hash::of_go_mod(go_mod).to_string(),
        "h1:QJ+/gTmvQBuUneasCzJSE+xoq4qt4XbqZ6dJE1/ib7w="
    );
}

#[test]
fn stored_and_deflated_zips_of_the_same_files_hash_alike() {
    let files: [(&str, &[u8]); 2] = [
        (&name("go.mod"), b"module example.org/m\n"),
        (&name("a.go"), b"package m\n"),
    ];
    let deflated = verify(&zip_of(&files)).unwrap();
    let stored: Vec<RawEntry> = files
        .iter()
        .rev()
        .map(|(n, d)| RawEntry::stored(n, d))
        .collect();
    let stored = verify(&raw_zip(&stored)).unwrap();
    assert_eq!(deflated.h1, stored.h1);
    assert_ne!(deflated.sha256, stored.sha256);
}

#[test]
fn directory_entries_count_as_empty_files() {
    let file: &[u8] = b"package a\n";
    let with_dir = verify(&zip_of(&[(&name("a/"), b""), (&name("a/a.go"), file)])).unwrap();
    let without = verify(&zip_of(&[(&name("a/a.go"), file)])).unwrap();
    assert_ne!(with_dir.h1, without.h1);
    let mut expected = H1Builder::new();
    expected.add(&name("a/"), &Sha256::digest(b"")).unwrap();
    expected
        .add(&name("a/a.go"), &Sha256::digest(file))
        .unwrap();
    assert_eq!(with_dir.h1, expected.finish());
}

#[test]
fn repeated_directory_is_allowed_and_hashed_per_entry() {
    let bytes = raw_zip(&[
        RawEntry::stored(&name("a/"), b""),
        RawEntry::stored(&name("a/x.go"), b"x"),
        RawEntry::stored(&name("a/"), b""),
    ]);
    let mut expected = H1Builder::new();
    for (n, d) in [("a/", ""), ("a/", ""), ("a/x.go", "x")] {
        expected
            .add(&name(n), &Sha256::digest(d.as_bytes()))
            .unwrap();
    }
    assert_eq!(verify(&bytes).unwrap().h1, expected.finish());
}

/// Asserts that `bytes` is refused with an error `is_expected` accepts.
fn assert_refused(bytes: &[u8], is_expected: impl Fn(&ZipError) -> bool) {
    let err = verify(bytes).unwrap_err();
    assert!(is_expected(&err), "unexpected error: {err:?} ({err})");
}

#[test]
fn path_traversal_is_refused() {
    assert_refused(
        &zip_of(&[(&name("../evil.go"), b"x")]),
        |e| matches!(e, ZipError::InvalidFilePath { entry, .. } if entry.ends_with("../evil.go")),
    );
    assert_refused(&zip_of(&[(&name("sub/../../evil.go"), b"x")]), |e| {
        matches!(e, ZipError::NotClean { .. })
    });
}

#[test]
fn case_collision_is_refused() {
    assert_refused(
        &zip_of(&[(&name("Hello.go"), b"a"), (&name("hello.go"), b"b")]),
        |e| matches!(e, ZipError::CaseCollision { first, second } if first == "Hello.go" && second == "hello.go"),
    );
}

#[test]
fn go_mod_outside_root_or_not_lowercase_is_refused() {
    assert_refused(
        &zip_of(&[(&name("sub/go.mod"), b"module x\n")]),
        |e| matches!(e, ZipError::GoModNotInRoot { entry } if entry == &name("sub/go.mod")),
    );
    assert_refused(
        &zip_of(&[(&name("GO.MOD"), b"module x\n")]),
        |e| matches!(e, ZipError::GoModNotLowercase { entry } if entry == &name("GO.MOD")),
    );
}

#[test]
fn wrong_prefix_is_refused() {
    for wrong in [
        "example.org/m@v1.0.1/a.go",
        "example.org/other@v1.0.0/a.go",
        "a.go",
    ] {
        assert_refused(&zip_of(&[(&name("ok.go"), b"x"), (wrong, b"x")]), |e| {
            matches!(e, ZipError::UnexpectedFile { module_version, entry }
                if module_version == "example.org/m@v1.0.0" && entry == wrong)
        });
    }
}

#[test]
fn declared_size_lies_are_refused() {
    let mut longer = RawEntry::stored(&name("a.go"), b"package m // more than declared\n");
    longer.declared_size = 3;
    assert_refused(&raw_zip(&[longer]), |e| {
        matches!(
            e,
            ZipError::SizeMismatch {
                declared: 3,
                actual: 4,
                ..
            }
        )
    });
    let mut shorter = RawEntry::stored(&name("a.go"), b"abc");
    shorter.declared_size = 10;
    assert_refused(&raw_zip(&[shorter]), |e| {
        matches!(
            e,
            ZipError::SizeMismatch {
                declared: 10,
                actual: 3,
                ..
            }
        )
    });
}

#[test]
fn inflating_stops_one_byte_past_a_lying_declared_size() {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 8 << 20]).unwrap();
    let bomb = RawEntry {
        name: name("bomb.txt"),
        flags: 0x0800,
        method: 8,
        data: encoder.finish().unwrap(),
        crc32: 0,
        declared_size: 1000,
        shared_at: None,
    };
    assert_refused(&raw_zip(&[bomb]), |e| {
        matches!(
            e,
            ZipError::SizeMismatch {
                declared: 1000,
                actual: 1001,
                ..
            }
        )
    });
}

#[test]
fn zip_bomb_is_refused_from_the_central_directory() {
    // Two entries declaring 300 MiB each, with no data behind them: refused before reading.
    let lie = |n: &str| RawEntry {
        declared_size: 300 << 20,
        ..RawEntry::stored(&name(n), b"")
    };
    assert_refused(
        &raw_zip(&[lie("a.bin"), lie("b.bin")]),
        |e| matches!(e, ZipError::ContentTooLarge { limit } if *limit == MAX_ZIP_BYTES),
    );
}

#[test]
fn entries_sharing_their_data_are_refused() {
    let data = vec![b'x'; 1000];
    let mut entries = vec![RawEntry::stored(&name("a.txt"), &data)];
    for i in 0..5 {
        entries.push(RawEntry {
            shared_at: Some(0),
            ..RawEntry::stored(&name(&format!("copy{i}.txt")), &data)
        });
    }
    assert_refused(&raw_zip(&entries), |e| {
        matches!(
            e,
            ZipError::OverlappingEntries {
                compressed_total: 6000,
                ..
            }
        )
    });
}

#[test]
fn oversize_go_mod_is_refused() {
    let mut go_mod = b"module example.org/m\n".to_vec();
    go_mod.resize(usize::try_from(MAX_GO_MOD_BYTES).unwrap() + 1, b'\n');
    assert_refused(&zip_of(&[(&name("go.mod"), &go_mod)]), |e| {
        matches!(e, ZipError::FileTooLarge { declared, limit, .. }
            if *declared == MAX_GO_MOD_BYTES + 1 && *limit == MAX_GO_MOD_BYTES)
    });
    let license = RawEntry {
        declared_size: u32::try_from(MAX_LICENSE_BYTES + 1).unwrap(),
        ..RawEntry::stored(&name("LICENSE"), b"")
    };
    assert_refused(&raw_zip(&[license]), |e| {
        matches!(e, ZipError::FileTooLarge { .. })
    });
}

#[test]
fn file_and_directory_is_refused() {
    assert_refused(
        &zip_of(&[(&name("a"), b"file"), (&name("a/b.go"), b"x")]),
        |e| matches!(e, ZipError::FileAndDirectory { path, .. } if path == "a"),
    );
    assert_refused(
        &zip_of(&[(&name("a/b.go"), b"x"), (&name("a"), b"file")]),
        |e| matches!(e, ZipError::FileAndDirectory { path, .. } if path == "a"),
    );
}

#[test]
fn duplicate_file_is_refused() {
    let bytes = raw_zip(&[
        RawEntry::stored(&name("a.go"), b"one"),
        RawEntry::stored(&name("a.go"), b"two"),
    ]);
    assert_refused(
        &bytes,
        |e| matches!(e, ZipError::DuplicateFile { entry } if entry == &name("a.go")),
    );
}

#[test]
fn data_level_lies_are_refused() {
    let mut bad_crc = RawEntry::stored(&name("a.go"), b"abc");
    bad_crc.crc32 ^= 1;
    assert_refused(&raw_zip(&[bad_crc]), |e| {
        matches!(e, ZipError::ChecksumMismatch { .. })
    });
    let bzip2 = RawEntry {
        method: 12,
        ..RawEntry::stored(&name("a.go"), b"abc")
    };
    assert_refused(&raw_zip(&[bzip2]), |e| {
        matches!(e, ZipError::UnsupportedCompression { .. })
    });
    let encrypted = RawEntry {
        flags: 0x0801,
        ..RawEntry::stored(&name("a.go"), b"abc")
    };
    assert_refused(&raw_zip(&[encrypted]), |e| {
        matches!(e, ZipError::Encrypted { .. })
    });
    let dir_with_data = RawEntry::stored(&name("d/"), b"abc");
    assert_refused(&raw_zip(&[dir_with_data]), |e| {
        matches!(e, ZipError::DirectoryWithData { .. })
    });
    assert_refused(b"not a zip at all", |e| matches!(e, ZipError::Malformed(_)));
}

#[test]
fn module_version_itself_is_checked() {
    let bytes = zip_of(&[(&name("a.go"), b"x")]);
    let path = ModulePath::parse("example.org/m").unwrap();
    let v2 = Version::parse("v2.0.0").unwrap();
    let err = verify_module_zip(Cursor::new(&bytes), &path, &v2).unwrap_err();
    assert!(matches!(err, ZipError::IncompatibleVersion(_)), "{err:?}");
    let short = Version::parse("v1.0").unwrap();
    let err = verify_module_zip(Cursor::new(&bytes), &path, &short).unwrap_err();
    assert!(
        matches!(err, ZipError::VersionNotCanonical { .. }),
        "{err:?}"
    );
}

/// A reader that claims to be larger than the limit, to test the first size check without
/// allocating 500 MiB.
struct Huge;

impl std::io::Read for Huge {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Ok(0)
    }
}

impl std::io::Seek for Huge {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        Ok(match pos {
            SeekFrom::End(_) => MAX_ZIP_BYTES + 1,
            _ => 0,
        })
    }
}

#[test]
fn oversize_zip_file_is_refused_before_reading() {
    let (path, version) = module();
    let err = verify_module_zip(Huge, &path, &version).unwrap_err();
    assert!(matches!(err, ZipError::ZipTooLarge { size, .. } if size == MAX_ZIP_BYTES + 1));
}

#[test]
fn a_scan_follows_every_entry_of_deflated_and_stored_zips() {
    let files: [(&str, &[u8]); 3] = [
        (&name("go.mod"), b"module example.org/m\n"),
        (&name("a.go"), b"package m\n"),
        (&name("big.txt"), &[7u8; 300_000]),
    ];
    let deflated = zip_of(&files);
    assert_eq!(ScannedEntries::scan(deflated.as_slice()).len(), 3);
    let stored: Vec<RawEntry> = files.iter().map(|(n, d)| RawEntry::stored(n, d)).collect();
    assert_eq!(ScannedEntries::scan(raw_zip(&stored).as_slice()).len(), 3);
}

#[test]
fn a_scan_of_other_or_partial_bytes_never_changes_the_verdict() {
    let (path, version) = module();
    let honest = zip_of(&[
        (&name("go.mod"), b"module example.org/m\n"),
        (&name("a.go"), b"package m\n"),
    ]);
    let other = zip_of(&[
        (&name("go.mod"), b"module example.org/m\n"),
        (&name("a.go"), b"package x\n"),
    ]);
    let want = verify(&honest).unwrap().h1;
    let scans = [
        ScannedEntries::scan(other.as_slice()),
        ScannedEntries::scan(&honest[..honest.len() / 2]),
        ScannedEntries::scan(&honest[1..]),
    ];
    for scanned in &scans {
        let got = verify_module_zip_contents(Cursor::new(&honest), &path, &version, scanned);
        assert_eq!(got.unwrap(), want);
    }
    let tampered = verify_module_zip_contents(Cursor::new(&other), &path, &version, &scans[1]);
    assert_ne!(tampered.unwrap(), want);
}

#[test]
fn a_scan_never_reads_past_its_input_and_stops_at_garbage() {
    assert!(ScannedEntries::scan(&b""[..]).is_empty());
    assert!(ScannedEntries::scan(&b"PK\x03\x04 short"[..]).is_empty());
    assert!(ScannedEntries::scan(&[0u8; 4096][..]).is_empty());
}

#[test]
fn the_root_go_mod_is_read_back_and_a_missing_one_is_none() {
    let (path, version) = module();
    let go_mod: &[u8] = b"module example.org/m\n\ngo 1.21\n";
    let with = zip_of(&[(&name("go.mod"), go_mod), (&name("a.go"), b"package m\n")]);
    verify(&with).unwrap();
    let read = root_go_mod(Cursor::new(&with), &path, &version).unwrap();
    assert_eq!(read.as_deref(), Some(go_mod));
    let without = zip_of(&[(&name("a.go"), b"package m\n")]);
    assert_eq!(
        root_go_mod(Cursor::new(&without), &path, &version).unwrap(),
        None
    );
    // Another version's go.mod is not this version's.
    let other = Version::parse("v1.0.1").unwrap();
    assert_eq!(
        root_go_mod(Cursor::new(&with), &path, &other).unwrap(),
        None
    );
}
