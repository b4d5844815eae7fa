//! The key store: one key file per name, `DIR/NAME.key`, in the formats of
//! [`ledger_types::keyfile`]: Web3 Secret Storage v3 (encrypted with a password; what
//! `keys new` and `keys import` write) or a labelled plaintext test key (`keys test`,
//! `--plaintext`). Written with mode 0600 and never overwritten; a key file its group or
//! others may access is refused. Storing the same key under the same name again
//! (`keys test account-0` twice, an import repeated) succeeds and changes nothing.

use crate::error::{CliError, CliResult};
use ledger_types::keyfile::{
    key_file_kind, key_file_public_key, read_key_file_with_password, read_password_file,
    write_encrypted_key_file, write_key_file, KeyFileKind, ScryptCost,
};
use ledger_types::{Address, Keypair};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Extension of key files.
pub const KEY_EXT: &str = "key";

/// Keys stored in a directory.
#[derive(Clone, Debug)]
pub struct KeyStore {
    dir: PathBuf,
    password_file: Option<PathBuf>,
}

/// A key as listed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyInfo {
    /// Key name.
    pub name: String,
    /// Account address (the ed25519 public key).
    pub address: Address,
    /// The key file.
    pub path: PathBuf,
}

impl KeyStore {
    /// The store in `dir`, or in `~/.ledger/keys` when `None`. Encrypted keys are opened
    /// with the password in `password_file`, the environment, or a hidden prompt.
    pub fn open(dir: Option<PathBuf>, password_file: Option<PathBuf>) -> CliResult<KeyStore> {
        let dir = match dir {
            Some(d) => d,
            None => {
                let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).ok_or_else(|| {
                    CliError::usage("HOME is not set: give the key directory with --keys-dir or LEDGER_KEYS_DIR")
                })?;
                PathBuf::from(home).join(".ledger").join("keys")
            }
        };
        Ok(KeyStore { dir, password_file })
    }

    /// The password given without a prompt: `--password-file`, then the environment.
    fn given_password(&self) -> CliResult<Option<Zeroizing<String>>> {
        if let Some(f) = &self.password_file {
            return Ok(Some(read_password_file(f)?));
        }
        Ok(ledger_types::keyfile::process_password()?)
    }

    fn on_terminal() -> bool {
        std::io::stdin().is_terminal() || std::io::stderr().is_terminal()
    }

    fn prompt(text: &str) -> CliResult<Zeroizing<String>> {
        rpassword::prompt_password(text)
            .map(Zeroizing::new)
            .map_err(|e| CliError::failed(format!("cannot read the password: {e}")))
    }

    /// A password for a new key: given, or typed twice at a hidden prompt.
    fn new_password(&self, name: &str) -> CliResult<Zeroizing<String>> {
        if let Some(p) = self.given_password()? {
            return Ok(p);
        }
        if !Self::on_terminal() {
            return Err(CliError::usage(format!(
                "a password is needed to encrypt key {name:?}: give --password-file FILE or \
                 LEDGER_KEY_PASSWORD, run on a terminal, or pass --plaintext for an unencrypted test key"
            )));
        }
        loop {
            let first = Self::prompt(&format!("password to encrypt key {name:?}: "))?;
            if first.is_empty() {
                eprintln!("the password is empty; try again");
                continue;
            }
            let second = Self::prompt("repeat the password: ")?;
            if first == second {
                return Ok(first);
            }
            eprintln!("the passwords differ; try again");
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of key `name`.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.{KEY_EXT}"))
    }

    /// Stores a key under `name`, encrypted or as a labelled plaintext test key. If
    /// `name` already holds this very key, nothing is written and the stored key is
    /// returned (so scripts can rerun); a different key under that name is never
    /// overwritten.
    pub fn add(&self, name: &str, key: &Keypair, encrypt: bool) -> CliResult<KeyInfo> {
        check_name(name)?;
        let path = self.path_of(name);
        if path.exists() {
            let same = key_file_public_key(&path).is_ok_and(|k| k == Some(key.public()));
            if same {
                return Ok(KeyInfo {
                    name: name.to_string(),
                    address: key.public(),
                    path,
                });
            }
            return Err(CliError::failed(format!(
                "a different key named {name:?} already exists ({}); choose another name or remove the file first",
                path.display()
            )));
        }
        if encrypt {
            let password = self.new_password(name)?;
            write_encrypted_key_file(&path, key, &password, ScryptCost::STANDARD)?;
        } else {
            write_key_file(&path, key)?;
        }
        Ok(KeyInfo {
            name: name.to_string(),
            address: key.public(),
            path,
        })
    }

    /// Loads key `name`, or a key file if `name_or_path` is a path (contains a `/` or
    /// ends with `.key`).
    pub fn load(&self, name_or_path: &str) -> CliResult<(KeyInfo, Keypair)> {
        let (name, path) = if looks_like_path(name_or_path) {
            let p = PathBuf::from(name_or_path);
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| name_or_path.to_string());
            (name, p)
        } else {
            check_name(name_or_path)?;
            (name_or_path.to_string(), self.path_of(name_or_path))
        };
        if !path.exists() {
            return Err(CliError::usage(format!(
                "no key named {name_or_path:?} (looked for {}); create one with `ledger-cli keys new {name}`, \
                 import one with `ledger-cli keys import {name} --seed HEX`, or use a test key with `ledger-cli keys test account-0`",
                path.display()
            )));
        }
        let password = match key_file_kind(&path)? {
            KeyFileKind::Plaintext => None,
            KeyFileKind::Encrypted => match self.given_password()? {
                Some(p) => Some(p),
                None if Self::on_terminal() => {
                    Some(Self::prompt(&format!("password of key {name:?}: "))?)
                }
                None => {
                    return Err(CliError::usage(format!(
                        "key {name:?} ({}) is encrypted: give --password-file FILE or LEDGER_KEY_PASSWORD, or run on a terminal",
                        path.display()
                    )))
                }
            },
        };
        let key = read_key_file_with_password(&path, password.as_deref().map(|p| p.as_str()))?;
        Ok((
            KeyInfo {
                name,
                address: key.public(),
                path,
            },
            key,
        ))
    }

    /// True if a key `name` exists (for resolving arguments that are a key name or an
    /// address).
    pub fn has(&self, name: &str) -> bool {
        (looks_like_path(name) && Path::new(name).exists())
            || (check_name(name).is_ok() && self.path_of(name).exists())
    }

    /// Every key in the store, by name. Unreadable files are reported as errors.
    pub fn list(&self) -> CliResult<Vec<KeyInfo>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(CliError::failed(format!(
                    "cannot read the key directory {}: {e}",
                    self.dir.display()
                )))
            }
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CliError::failed(e.to_string()))?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some(KEY_EXT) {
                continue;
            }
            let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let address = key_file_public_key(&path)?.ok_or_else(|| {
                CliError::failed(format!(
                    "{}: an encrypted key file without a public_key field",
                    path.display()
                ))
            })?;
            keys.push(KeyInfo {
                name: name.to_string(),
                address,
                path,
            });
        }
        keys.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        Ok(keys)
    }
}

fn looks_like_path(s: &str) -> bool {
    s.contains('/') || s.ends_with(&format!(".{KEY_EXT}"))
}

/// Key names: 1 to 64 characters from `A-Z a-z 0-9 _ - .`, not starting with `.` or `-`.
pub fn check_name(name: &str) -> CliResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "invalid key name {name:?}: use 1 to 64 letters, digits, '_', '-' or '.', not starting with '.' or '-'"
        )))
    }
}

/// Parses a 32-byte seed in hex (64 digits, `0x` allowed, surrounding space ignored).
pub fn parse_seed(s: &str) -> CliResult<Keypair> {
    let s = s.trim();
    let s = s.strip_prefix("0x").unwrap_or(s);
    let mut seed = [0u8; 32];
    hex::decode_to_slice(s, &mut seed).map_err(|_| {
        CliError::usage("a seed is 64 hex digits (32 bytes), as in a key file or testnet.json")
    })?;
    Ok(Keypair::from_seed(&seed))
}

/// Orders `account-2` before `account-10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(s: &str) -> (&str, Option<u64>) {
        let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (head, tail) = s.split_at(s.len() - digits);
        (head, tail.parse().ok())
    }
    split(a).cmp(&split(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_order() {
        assert!(check_name("account-0").is_ok());
        assert!(check_name("my.key_2").is_ok());
        for bad in ["", ".hidden", "-x", "a/b", "a b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let mut v = vec!["account-10", "account-2", "alice", "account-1"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["account-1", "account-2", "account-10", "alice"]);
    }

    #[test]
    fn storing_the_same_key_twice_is_fine_a_different_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "correct horse\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
        let store = KeyStore::open(Some(dir.path().join("keys")), Some(pw)).unwrap();
        std::fs::create_dir_all(store.dir()).unwrap();
        // A plaintext test key (`keys test`) and an encrypted one (`keys import`).
        for (name, encrypt) in [("account-0", false), ("imported", true)] {
            let k = Keypair::for_testing(name);
            let a = store.add(name, &k, encrypt).unwrap();
            let before = std::fs::read(&a.path).unwrap();
            let b = store.add(name, &k, encrypt).unwrap();
            assert_eq!(a.address, b.address);
            assert_eq!(std::fs::read(&b.path).unwrap(), before, "{name} rewritten");
            let other = Keypair::for_testing("someone else");
            let e = store.add(name, &other, encrypt).unwrap_err().to_string();
            assert!(e.contains("different key"), "{e}");
            assert_eq!(
                std::fs::read(&b.path).unwrap(),
                before,
                "{name} overwritten"
            );
            assert_eq!(store.load(name).unwrap().0.address, k.public());
        }
    }

    #[test]
    fn seeds() {
        let k = Keypair::for_testing("x");
        let hex = hex::encode(k.seed());
        assert_eq!(parse_seed(&hex).unwrap().public(), k.public());
        assert_eq!(
            parse_seed(&format!(" 0x{hex}\n")).unwrap().public(),
            k.public()
        );
        assert!(parse_seed("abc").is_err());
    }
}
