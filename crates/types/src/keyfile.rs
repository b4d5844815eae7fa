//! Key files: an ed25519 seed in hex, readable only by its owner. A node's key file is
//! its libp2p identity and, if it is in the genesis validator set, its validator key;
//! `ledger-cli` keeps wallet keys in the same format.

use crate::crypto::Keypair;
use std::io::Write;
use std::path::Path;

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// I/O on the path failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The content is not a 32-byte hex seed.
    #[error("key file {path}: expected a line of 64 hex characters (an ed25519 seed)")]
    Malformed {
        /// The path.
        path: String,
    },
    /// Refusing to overwrite an existing key.
    #[error("key file {path} already exists; refusing to overwrite a key")]
    Exists {
        /// The path.
        path: String,
    },
}

/// Reads a key file.
pub fn read_key_file(path: &Path) -> Result<Keypair, KeyFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: shown.clone(),
        source,
    })?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| KeyFileError::Malformed {
            path: shown.clone(),
        })?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(line, &mut seed).map_err(|_| KeyFileError::Malformed { path: shown })?;
    Ok(Keypair::from_seed(&seed))
}

/// Writes a new key file with mode 0600 (never overwrites an existing file).
pub fn write_key_file(path: &Path, key: &Keypair) -> Result<(), KeyFileError> {
    let shown = path.display().to_string();
    if path.exists() {
        return Err(KeyFileError::Exists { path: shown });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| KeyFileError::Io {
            path: shown.clone(),
            source,
        })?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|source| KeyFileError::Io {
        path: shown.clone(),
        source,
    })?;
    let text = format!(
        "# ledger-node key: an ed25519 seed. Keep it secret.\n# public key: {}\n{}\n",
        key.public(),
        hex::encode(key.seed())
    );
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|source| KeyFileError::Io {
            path: shown,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_permissions_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys/node.key");
        let k = Keypair::for_testing("k");
        write_key_file(&p, &k).unwrap();
        assert_eq!(read_key_file(&p).unwrap().public(), k.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            write_key_file(&p, &k),
            Err(KeyFileError::Exists { .. })
        ));
        std::fs::write(dir.path().join("bad.key"), "zz\n").unwrap();
        let e = read_key_file(&dir.path().join("bad.key")).unwrap_err();
        assert!(e.to_string().contains("bad.key"));
        assert!(read_key_file(&dir.path().join("none.key")).is_err());
    }
}
