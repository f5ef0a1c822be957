//! The node's ed25519 keys: load or create the key file, refuse files others can read, and
//! derive the libp2p PeerId.
//!
//! # Key files
//!
//! A key file holds exactly the 32 raw bytes of an ed25519 secret key (the seed), nothing else.
//! It must be a regular file that only its owner can access (mode `0600` or stricter); any
//! permission bit for group or others makes the node refuse to start, with a message saying
//! `chmod 600 <file>`.
//!
//! - `<data dir>/node.key` is the node's own key, created on first start. It is the libp2p
//!   identity (so it names the node's PeerId) and, by default, the key that signs its
//!   provenance records.
//! - `--signing-key FILE` names an organisation's shared signing key, in the same format and
//!   under the same rules. It must already exist (a mistyped path must not silently mint a key
//!   nobody trusts); the node key stays the libp2p identity.
//!
//! `--checksum-db-key FILE` holds the note key of the node's checksum database: the text
//! `PRIVATE+KEY+<name>+<hash>+<base64>` that Go's `note.GenerateKey` writes, created on first
//! start under the same rules.
//!
//! A new key is written to a temporary file (`0600`, fsynced) and hard-linked into place, which
//! fails instead of overwriting if another process created the key first; then the directory
//! is fsynced. A crash leaves either no key or a whole one.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use delos_pool_protocol::signing::{NodeKey, RandomnessUnavailable, SignerId};
use delos_pool_protocol::sumdb::{KeyName, SignerKey};
use libp2p_identity::PeerId;

mod signer_name;

pub use signer_name::{InvalidSigner, SignerProblem, parse_signer};

/// The name of the node key file inside the data directory.
pub const NODE_KEY_FILE: &str = "node.key";

/// The length of a key file: one raw ed25519 secret.
const KEY_FILE_BYTES: u64 = 32;

/// The longest checksum-database note key file accepted (the text is about 100 bytes).
const NOTE_KEY_MAX_BYTES: u64 = 4096;

/// Permission bits that must be clear on a key file: everything for group and others.
const GROUP_OTHER_BITS: u32 = 0o077;

/// A node's keys: its identity (libp2p, PeerId) and the key it signs records with.
#[derive(Debug, Clone)]
pub struct NodeKeys {
    /// The node's own key from `<data dir>/node.key`: its libp2p identity.
    pub identity: NodeKey,
    /// The key that signs provenance records: the identity, or the `--signing-key` file's key.
    pub signing: NodeKey,
}

/// Why a key could not be loaded or created, naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The data directory could not be created.
    #[error("cannot create data directory {dir}")]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The key file could not be read.
    #[error("cannot read key file {path}")]
    Read {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A new key file could not be written.
    #[error("cannot write key file {path}")]
    Write {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The key file can be accessed by group or others.
    #[error(
        "key file {path} has mode {mode:04o}, so group or others can access it; \
         run `chmod 600 {path}` and start again"
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not exactly one 32-byte ed25519 secret.
    #[error("key file {path} is {len} bytes; a key file holds exactly 32 raw secret-key bytes")]
    WrongLength {
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// The `--signing-key` file does not exist (it is never created).
    #[error(
        "signing key file {path} does not exist; make one with `delos id --data-dir DIR` \
         and copy DIR/node.key"
    )]
    MissingSigningKey {
        /// The path given.
        path: PathBuf,
    },
    /// The checksum database's note key file is not a usable key of the configured name.
    #[error("checksum database key file {path}: {problem}")]
    NoteKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// No randomness for a new key.
    #[error("cannot create a key for {path}")]
    Randomness {
        /// The key file that was to be created.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: RandomnessUnavailable,
    },
}

impl NodeKeys {
    /// Loads (creating on first use) `<data_dir>/node.key`, and the shared signing key from
    /// `signing_key` if given.
    pub fn load(data_dir: &Path, signing_key: Option<&Path>) -> Result<NodeKeys, KeyError> {
        let identity = load_or_create(&data_dir.join(NODE_KEY_FILE))?;
        let signing = match signing_key {
            Some(path) => load_existing(path)?,
            None => identity.clone(),
        };
        Ok(NodeKeys { identity, signing })
    }

    /// The node's libp2p PeerId.
    pub fn peer_id(&self) -> PeerId {
        peer_id(&self.identity)
    }

    /// The signer named in this node's records.
    pub fn signer_id(&self) -> SignerId {
        self.signing.signer_id()
    }

    /// What `delos id` prints: `peer-id: <PeerId>` and `signing-key: <key>`, one per line.
    pub fn id_report(&self) -> String {
        format!(
            "peer-id: {}\nsigning-key: {}\n",
            self.peer_id(),
            self.signer_id()
        )
    }
}

/// The libp2p identity keypair of `key` (the same ed25519 key).
pub fn identity_keypair(key: &NodeKey) -> libp2p_identity::Keypair {
    let mut secret = key.secret_bytes();
    // Infallible for 32 bytes: every 32-byte string is an ed25519 seed; a failure would be a
    // libp2p-identity bug, and there is no key to fall back to.
    match libp2p_identity::Keypair::ed25519_from_bytes(&mut secret) {
        Ok(keypair) => keypair,
        Err(err) => unreachable!("32-byte ed25519 seed refused by libp2p-identity: {err}"),
    }
}

/// The PeerId of `key`.
pub fn peer_id(key: &NodeKey) -> PeerId {
    identity_keypair(key).public().to_peer_id()
}

/// The PeerId of the node whose identity key is `signer`, or `None` if it is not an ed25519
/// public key. Turns [`Source::Peer`](delos_pool_protocol::provenance::Source::Peer) into a
/// PeerId.
pub fn peer_id_of(signer: &SignerId) -> Option<PeerId> {
    let public = libp2p_identity::ed25519::PublicKey::try_from_bytes(signer.as_bytes()).ok()?;
    Some(libp2p_identity::PublicKey::from(public).to_peer_id())
}

/// Loads the key at `path`, creating it (and its directory) if it does not exist.
pub fn load_or_create(path: &Path) -> Result<NodeKey, KeyError> {
    match open_key(path)? {
        Some(key) => Ok(key),
        None => create(path),
    }
}

/// Loads the key at `path`, which must exist ([`KeyError::MissingSigningKey`] otherwise).
pub fn load_existing(path: &Path) -> Result<NodeKey, KeyError> {
    open_key(path)?.ok_or_else(|| KeyError::MissingSigningKey {
        path: path.to_owned(),
    })
}

/// Reads the key at `path` if the file exists, checking its permissions and length first.
fn open_key(path: &Path) -> Result<Option<NodeKey>, KeyError> {
    let Some(bytes) = read_private(path, KEY_FILE_BYTES)? else {
        return Ok(None);
    };
    let secret = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::WrongLength {
        path: path.to_owned(),
        len: bytes.len() as u64,
    })?;
    Ok(Some(NodeKey::from_secret_bytes(secret)))
}

/// Creates a new key file at `path` (see the module docs for how it is made crash-safe).
fn create(path: &Path) -> Result<NodeKey, KeyError> {
    let key = NodeKey::generate().map_err(|source| KeyError::Randomness {
        path: path.to_owned(),
        source,
    })?;
    match create_private(path, &key.secret_bytes())? {
        Created::New => Ok(key),
        // Another process created the key first: use theirs.
        Created::Existing => load_existing(path),
    }
}

/// Loads the checksum database's note signer key at `path` (the text `PRIVATE+KEY+name+…`, as
/// Go's `note.GenerateKey` writes it), creating one named `name` on first use; an existing key
/// must carry that name (a new name is a new key, see `docs/configuration.md`). The file
/// follows the rules of every key file: mode `0600`, written crash-safe.
pub fn load_or_create_note_key(path: &Path, name: &str) -> Result<SignerKey, KeyError> {
    let name = KeyName::new(name).map_err(|err| KeyError::NoteKey {
        path: path.to_owned(),
        problem: err.to_string(),
    })?;
    let key = match read_note_key(path)? {
        Some(key) => key,
        None => {
            let key = SignerKey::generate(name.clone()).map_err(|source| KeyError::Randomness {
                path: path.to_owned(),
                source,
            })?;
            let text = format!("{}\n", key.to_secret_string());
            match create_private(path, text.as_bytes())? {
                Created::New => key,
                // Another process created it first: use theirs.
                Created::Existing => read_note_key(path)?.ok_or_else(|| KeyError::NoteKey {
                    path: path.to_owned(),
                    problem: String::from("it vanished while it was being created"),
                })?,
            }
        }
    };
    if key.name() != &name {
        return Err(KeyError::NoteKey {
            path: path.to_owned(),
            problem: format!(
                "it signs as {}, not {name}; a database keeps its name, so use another key file \
                 for another name",
                key.name()
            ),
        });
    }
    Ok(key)
}

/// The note key at `path`, if the file exists.
fn read_note_key(path: &Path) -> Result<Option<SignerKey>, KeyError> {
    let bytes = match read_private(path, NOTE_KEY_MAX_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(KeyError::WrongLength { len, .. }) => {
            return Err(KeyError::NoteKey {
                path: path.to_owned(),
                problem: format!("{len} bytes is too long for a note key"),
            });
        }
        Err(err) => return Err(err),
    };
    let text = std::str::from_utf8(&bytes).unwrap_or_default().trim();
    SignerKey::parse(text)
        .map(Some)
        .map_err(|err| KeyError::NoteKey {
            path: path.to_owned(),
            problem: err.to_string(),
        })
}

/// The bytes of the private file at `path` (at most `max_len` of them), if it exists; refuses
/// a file group or others can access, or a longer one.
fn read_private(path: &Path, max_len: u64) -> Result<Option<Vec<u8>>, KeyError> {
    let read_err = |source| KeyError::Read {
        path: path.to_owned(),
        source,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(read_err(err)),
    };
    let meta = file.metadata().map_err(read_err)?;
    if meta.mode() & GROUP_OTHER_BITS != 0 {
        return Err(KeyError::Permissions {
            path: path.to_owned(),
            mode: meta.mode() & 0o7777,
        });
    }
    if meta.len() > max_len {
        return Err(KeyError::WrongLength {
            path: path.to_owned(),
            len: meta.len(),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max_len)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    Ok(Some(bytes))
}

/// Whether [`create_private`] wrote the file or found one another process made first.
enum Created {
    New,
    Existing,
}

/// Creates the private file `path` holding `bytes`, crash-safe (see the module docs); never
/// overwrites a file that exists.
fn create_private(path: &Path, bytes: &[u8]) -> Result<Created, KeyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| KeyError::CreateDir {
            dir: dir.to_owned(),
            source,
        })?;
    let write_err = |source| KeyError::Write {
        path: path.to_owned(),
        source,
    };
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    // A leftover from a crashed process that had our process id would block `create_new`.
    let _ = fs::remove_file(&temp);
    write_private(&temp, bytes).map_err(write_err)?;
    let linked = fs::hard_link(&temp, path);
    // The temporary name goes either way; a leftover would only be a stray private file.
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(write_err)?;
            Ok(Created::New)
        }
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(Created::Existing),
        Err(err) => Err(write_err(err)),
    }
}

/// Writes `bytes` to a new file at `path` with mode 0600, and fsyncs it.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests;
