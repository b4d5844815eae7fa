//! Key files. A node's key file is its libp2p identity and, if it is in the genesis
//! validator set, its validator key; `ledger-cli` keeps wallet keys in the same formats.
//!
//! Two formats, told apart by their first non-blank character:
//!
//! * **Encrypted** (`{`): a [Web3 Secret Storage v3] JSON document, the format Ethereum
//!   wallets (geth, MetaMask, ethers, Foundry's `cast wallet`) use: the secret is
//!   encrypted with AES-128-CTR under a key derived from the password with scrypt
//!   (pbkdf2-sha256 is accepted when reading), and `keccak256(dk[16..32] || ciphertext)`
//!   authenticates the password. The secret is the 32-byte ed25519 seed; an extra
//!   `public_key` field names the public key so that a key can be listed without its
//!   password. `ledger-node init`, `ledger-node keygen` and `ledger-cli keys new/import`
//!   write this format.
//! * **Plaintext** (`#` comment lines, then 64 hex digits): an unencrypted seed, labelled
//!   `UNENCRYPTED TEST KEY`. Only `ledger-node testnet`, `--plaintext` and the test
//!   helpers write it.
//!
//! Either kind is written with mode 0600 and never overwritten, and a key file that its
//! group or others may read or write is refused when read, as ssh refuses such a key.
//!
//! The password of an encrypted file comes from the caller
//! ([`read_key_file_with_password`]) or, for [`read_key_file`], from the process:
//! a password set by the binary with [`set_process_password`] (from a hidden prompt or
//! `--password-file`), then the environment variable [`PASSWORD_ENV`], then the file
//! named by [`PASSWORD_FILE_ENV`]. This module never prompts.
//!
//! [Web3 Secret Storage v3]: https://ethereum.org/en/developers/docs/data-structures-and-encoding/web3-secret-storage/

use crate::crypto::{Keypair, PublicKey};
use aes::cipher::{KeyIvInit, StreamCipher};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// Environment variable holding the password of encrypted key files.
pub const PASSWORD_ENV: &str = "LEDGER_KEY_PASSWORD";
/// Environment variable naming a file whose first line is the password.
pub const PASSWORD_FILE_ENV: &str = "LEDGER_KEY_PASSWORD_FILE";
/// The label on the first line of a plaintext key file.
pub const PLAINTEXT_LABEL: &str = "# UNENCRYPTED TEST KEY (for test networks only)";

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

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
    /// The content is neither format.
    #[error("key file {path}: {reason}")]
    Malformed {
        /// The path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Refusing to overwrite an existing key.
    #[error("key file {path} already exists; refusing to overwrite a key")]
    Exists {
        /// The path.
        path: String,
    },
    /// Group or others may access the file.
    #[error(
        "key file {path}: permissions {mode:04o} are too open; a key file must be accessible \
         only by its owner. Fix it with: chmod 600 {path}"
    )]
    TooOpen {
        /// The path.
        path: String,
        /// The file's permission bits.
        mode: u32,
    },
    /// The file is encrypted and no password was given.
    #[error(
        "key file {path} is encrypted: give its password on the terminal, with \
         --password-file FILE, or in the {PASSWORD_ENV} environment variable"
    )]
    NeedPassword {
        /// The path.
        path: String,
    },
    /// The password does not open the file (the MAC does not match).
    #[error("key file {path}: wrong password (the key file's MAC does not match)")]
    WrongPassword {
        /// The path.
        path: String,
    },
    /// The password could not be read.
    #[error("password: {0}")]
    Password(String),
}

/// scrypt cost of new encrypted key files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScryptCost {
    /// log2 of N (the CPU and memory cost).
    pub log_n: u8,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
}

impl ScryptCost {
    /// geth's standard cost (N = 2^18, r = 8, p = 1: 256 MiB, about a second).
    pub const STANDARD: ScryptCost = ScryptCost {
        log_n: 18,
        r: 8,
        p: 1,
    };
    /// geth's light cost (N = 2^12, r = 8, p = 6), for tests and small devices.
    pub const LIGHT: ScryptCost = ScryptCost {
        log_n: 12,
        r: 8,
        p: 6,
    };
}

/// A Web3 Secret Storage v3 document.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeystoreV3 {
    /// The encrypted secret.
    pub crypto: CryptoSection,
    /// A random UUID.
    pub id: String,
    /// Always 3.
    pub version: u32,
    /// The ed25519 public key (hex) of the secret, for listing without the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// The `crypto` section.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CryptoSection {
    /// `aes-128-ctr`.
    pub cipher: String,
    /// The IV.
    pub cipherparams: CipherParams,
    /// The encrypted secret (hex).
    pub ciphertext: String,
    /// `scrypt` or `pbkdf2`.
    pub kdf: String,
    /// Parameters of the KDF.
    pub kdfparams: serde_json::Value,
    /// `keccak256(dk[16..32] || ciphertext)` (hex).
    pub mac: String,
}

/// The cipher parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CipherParams {
    /// 16-byte IV (hex).
    pub iv: String,
}

#[derive(Deserialize)]
struct ScryptParams {
    dklen: usize,
    n: u64,
    r: u32,
    p: u32,
    salt: String,
}

#[derive(Deserialize)]
struct Pbkdf2Params {
    dklen: usize,
    c: u32,
    prf: String,
    salt: String,
}

/// Largest scrypt `N·r` a key file may ask for: scrypt allocates `128·N·r` bytes (1 GiB).
pub const MAX_SCRYPT_N_R: u64 = 1 << 23;
/// Largest scrypt `N·r·p` a key file may ask for (four passes over 1 GiB).
pub const MAX_SCRYPT_N_R_P: u64 = 1 << 25;
/// Largest key file read (a v3 document is under 1 KiB).
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

fn malformed(path: &str, reason: impl Into<String>) -> KeyFileError {
    KeyFileError::Malformed {
        path: path.to_string(),
        reason: reason.into(),
    }
}

fn hex_field(path: &str, name: &str, value: &str) -> Result<Vec<u8>, KeyFileError> {
    hex::decode(value.trim_start_matches("0x"))
        .map_err(|_| malformed(path, format!("{name} is not hex")))
}

/// Encrypts a 32-byte secret into a v3 document.
pub fn encrypt_v3(
    secret: &[u8; 32],
    password: &str,
    cost: ScryptCost,
    public_key: Option<PublicKey>,
) -> Result<KeystoreV3, KeyFileError> {
    let mut rng = rand_core::OsRng;
    let mut salt = [0u8; 32];
    let mut iv = [0u8; 16];
    let mut uuid = [0u8; 16];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    rng.fill_bytes(&mut uuid);
    let params = scrypt::Params::new(cost.log_n, cost.r, cost.p)
        .map_err(|e| KeyFileError::Password(format!("scrypt parameters: {e}")))?;
    let mut dk = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password.as_bytes(), &salt, &params, &mut dk[..])
        .map_err(|e| KeyFileError::Password(format!("scrypt: {e}")))?;
    let mut ciphertext = secret.to_vec();
    Aes128Ctr::new(dk[..16].into(), (&iv).into()).apply_keystream(&mut ciphertext);
    let mac = mac_of(&dk[16..32], &ciphertext);
    // RFC 4122 version 4 (random) UUID.
    uuid[6] = (uuid[6] & 0x0f) | 0x40;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    let u = hex::encode(uuid);
    Ok(KeystoreV3 {
        crypto: CryptoSection {
            cipher: "aes-128-ctr".into(),
            cipherparams: CipherParams {
                iv: hex::encode(iv),
            },
            ciphertext: hex::encode(&ciphertext),
            kdf: "scrypt".into(),
            kdfparams: serde_json::json!({
                "dklen": 32,
                "n": 1u64 << cost.log_n,
                "r": cost.r,
                "p": cost.p,
                "salt": hex::encode(salt),
            }),
            mac: hex::encode(mac),
        },
        id: format!(
            "{}-{}-{}-{}-{}",
            &u[0..8],
            &u[8..12],
            &u[12..16],
            &u[16..20],
            &u[20..32]
        ),
        version: 3,
        public_key: public_key.map(|k| k.to_hex()),
    })
}

fn mac_of(dk_tail: &[u8], ciphertext: &[u8]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(dk_tail);
    h.update(ciphertext);
    h.finalize().into()
}

/// Decrypts a v3 document (JSON text) with `password`. `path` is only for messages.
/// Checks the MAC before decrypting: a wrong password is [`KeyFileError::WrongPassword`].
pub fn decrypt_v3(
    path: &str,
    json: &str,
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let doc: KeystoreV3 = serde_json::from_str(json)
        .map_err(|e| malformed(path, format!("not a Web3 Secret Storage v3 document: {e}")))?;
    if doc.version != 3 {
        return Err(malformed(
            path,
            format!("version {} (only 3 is supported)", doc.version),
        ));
    }
    let c = &doc.crypto;
    if c.cipher != "aes-128-ctr" {
        return Err(malformed(
            path,
            format!("cipher {:?} (only aes-128-ctr is supported)", c.cipher),
        ));
    }
    let iv = hex_field(path, "cipherparams.iv", &c.cipherparams.iv)?;
    if iv.len() != 16 {
        return Err(malformed(path, "cipherparams.iv must be 16 bytes"));
    }
    let ciphertext = hex_field(path, "ciphertext", &c.ciphertext)?;
    if ciphertext.is_empty() || ciphertext.len() > 1024 {
        return Err(malformed(path, "ciphertext must be 1 to 1024 bytes"));
    }
    let mac = hex_field(path, "mac", &c.mac)?;
    let mut dk = Zeroizing::new(vec![0u8; 32]);
    match c.kdf.as_str() {
        "scrypt" => {
            let p: ScryptParams = serde_json::from_value(c.kdfparams.clone())
                .map_err(|e| malformed(path, format!("kdfparams: {e}")))?;
            if !p.n.is_power_of_two() || p.n < 2 {
                return Err(malformed(path, "kdfparams.n must be a power of two"));
            }
            // Bound the memory and work a hostile or corrupt file can ask for: scrypt
            // allocates 128·r·N bytes (N·r <= 2^23: at most 1 GiB; geth's standard
            // cost is 256 MiB) and mixes them p times (N·r·p <= 2^25).
            let log_n = p.n.trailing_zeros() as u8;
            let n_r = p.n.saturating_mul(u64::from(p.r));
            if log_n > 22
                || p.r == 0
                || p.r > 32
                || p.p == 0
                || p.p > 64
                || n_r > MAX_SCRYPT_N_R
                || n_r.saturating_mul(u64::from(p.p)) > MAX_SCRYPT_N_R_P
            {
                return Err(malformed(
                    path,
                    "scrypt parameters out of range (N <= 2^22, r <= 32, p <= 64, \
                     N·r <= 2^23 (1 GiB of memory), N·r·p <= 2^25)",
                ));
            }
            if !(32..=64).contains(&p.dklen) {
                return Err(malformed(path, "kdfparams.dklen must be 32 to 64"));
            }
            let salt = hex_field(path, "kdfparams.salt", &p.salt)?;
            dk.resize(p.dklen, 0);
            let params = scrypt::Params::new(log_n, p.r, p.p)
                .map_err(|e| malformed(path, format!("scrypt parameters: {e}")))?;
            scrypt::scrypt(password.as_bytes(), &salt, &params, &mut dk[..])
                .map_err(|e| malformed(path, format!("scrypt: {e}")))?;
        }
        "pbkdf2" => {
            let p: Pbkdf2Params = serde_json::from_value(c.kdfparams.clone())
                .map_err(|e| malformed(path, format!("kdfparams: {e}")))?;
            if p.prf != "hmac-sha256" {
                return Err(malformed(
                    path,
                    format!("prf {:?} (only hmac-sha256 is supported)", p.prf),
                ));
            }
            if p.c == 0 || p.c > 10_000_000 || !(32..=64).contains(&p.dklen) {
                return Err(malformed(path, "pbkdf2 parameters out of range"));
            }
            let salt = hex_field(path, "kdfparams.salt", &p.salt)?;
            dk.resize(p.dklen, 0);
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &salt, p.c, &mut dk[..]);
        }
        other => {
            return Err(malformed(
                path,
                format!("kdf {other:?} (scrypt or pbkdf2 are supported)"),
            ))
        }
    }
    if mac_of(&dk[16..32], &ciphertext)[..] != mac[..] {
        return Err(KeyFileError::WrongPassword {
            path: path.to_string(),
        });
    }
    let mut secret = Zeroizing::new(ciphertext);
    Aes128Ctr::new(dk[..16].into(), iv[..].into()).apply_keystream(&mut secret);
    Ok(secret)
}

// ------------------------------------------------------------------------ passwords

static PROCESS_PASSWORD: OnceLock<Zeroizing<String>> = OnceLock::new();

/// Sets the password [`read_key_file`] uses for encrypted files in this process (the
/// binaries call it once, after a hidden prompt or `--password-file`). Later calls are
/// ignored.
pub fn set_process_password(password: String) {
    let _ = PROCESS_PASSWORD.set(Zeroizing::new(password));
}

/// Reads a password file: its first line, without the line ending. The file must be
/// accessible only by its owner, like a key file.
pub fn read_password_file(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    let shown = path.display().to_string();
    check_permissions(path)?;
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
                path: shown.clone(),
                source,
            })?,
        );
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(KeyFileError::Password(format!(
            "password file {shown} is empty"
        )));
    }
    Ok(Zeroizing::new(line.to_string()))
}

/// The password this process has for encrypted key files, if any: the one set with
/// [`set_process_password`], then [`PASSWORD_ENV`], then the file in
/// [`PASSWORD_FILE_ENV`].
pub fn process_password() -> Result<Option<Zeroizing<String>>, KeyFileError> {
    if let Some(p) = PROCESS_PASSWORD.get() {
        return Ok(Some(p.clone()));
    }
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        if !p.is_empty() {
            return Ok(Some(Zeroizing::new(p)));
        }
    }
    if let Some(f) = std::env::var_os(PASSWORD_FILE_ENV).filter(|f| !f.is_empty()) {
        return read_password_file(Path::new(&f)).map(Some);
    }
    Ok(None)
}

// ---------------------------------------------------------------------- key files

/// Refuses a file that its group or others may access (any of the bits `0o077`).
pub fn check_permissions(path: &Path) -> Result<(), KeyFileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| KeyFileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::TooOpen {
                path: path.display().to_string(),
                mode,
            });
        }
    }
    Ok(())
}

/// What a key file holds, as far as can be told without its password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyFileKind {
    /// An unencrypted seed.
    Plaintext,
    /// A Web3 Secret Storage v3 document.
    Encrypted,
}

fn read_text(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    check_permissions(path)?;
    let len = std::fs::metadata(path)
        .map_err(|source| KeyFileError::Io {
            path: path.display().to_string(),
            source,
        })?
        .len();
    if len > MAX_KEY_FILE_BYTES {
        return Err(malformed(
            &path.display().to_string(),
            format!("{len} bytes (a key file is at most {MAX_KEY_FILE_BYTES})"),
        ));
    }
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|source| KeyFileError::Io {
            path: path.display().to_string(),
            source,
        })
}

fn kind_of(text: &str) -> KeyFileKind {
    if text.trim_start().starts_with('{') {
        KeyFileKind::Encrypted
    } else {
        KeyFileKind::Plaintext
    }
}

/// Whether the file at `path` is encrypted (checks its permissions first).
pub fn key_file_kind(path: &Path) -> Result<KeyFileKind, KeyFileError> {
    Ok(kind_of(&read_text(path)?))
}

/// The public key a key file names, without decrypting it: an encrypted file's
/// `public_key` field (`None` for files written by other wallets), or the plaintext
/// seed's public key.
pub fn key_file_public_key(path: &Path) -> Result<Option<PublicKey>, KeyFileError> {
    let shown = path.display().to_string();
    let text = read_text(path)?;
    match kind_of(&text) {
        KeyFileKind::Plaintext => Ok(Some(parse_plaintext(&shown, &text)?.public())),
        KeyFileKind::Encrypted => {
            let doc: KeystoreV3 = serde_json::from_str(&text).map_err(|e| {
                malformed(
                    &shown,
                    format!("not a Web3 Secret Storage v3 document: {e}"),
                )
            })?;
            match doc.public_key {
                Some(h) => h
                    .parse::<PublicKey>()
                    .map(Some)
                    .map_err(|_| malformed(&shown, "public_key is not a public key")),
                None => Ok(None),
            }
        }
    }
}

fn parse_plaintext(shown: &str, text: &str) -> Result<Keypair, KeyFileError> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| {
            malformed(
                shown,
                "expected a line of 64 hex characters (an ed25519 seed) or a JSON key store",
            )
        })?;
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(line, &mut seed[..]).map_err(|_| {
        malformed(
            shown,
            "expected a line of 64 hex characters (an ed25519 seed) or a JSON key store",
        )
    })?;
    Ok(Keypair::from_seed(&seed))
}

/// Reads a key file, plaintext or encrypted; an encrypted one is opened with
/// `password` (`None`: [`KeyFileError::NeedPassword`]).
pub fn read_key_file_with_password(
    path: &Path,
    password: Option<&str>,
) -> Result<Keypair, KeyFileError> {
    let shown = path.display().to_string();
    let text = read_text(path)?;
    match kind_of(&text) {
        KeyFileKind::Plaintext => parse_plaintext(&shown, &text),
        KeyFileKind::Encrypted => {
            let password = password.ok_or_else(|| KeyFileError::NeedPassword {
                path: shown.clone(),
            })?;
            let secret = decrypt_v3(&shown, &text, password)?;
            let seed: [u8; 32] = secret[..]
                .try_into()
                .map_err(|_| malformed(&shown, "the secret is not 32 bytes"))?;
            let key = Keypair::from_seed(&seed);
            let doc: KeystoreV3 = serde_json::from_str(&text)
                .map_err(|e| malformed(&shown, format!("not a key store: {e}")))?;
            if let Some(pk) = doc.public_key {
                if pk != key.public().to_hex() {
                    return Err(malformed(
                        &shown,
                        "the decrypted key does not match the file's public_key",
                    ));
                }
            }
            Ok(key)
        }
    }
}

/// Reads a key file; an encrypted one is opened with the process password (see the
/// module docs).
pub fn read_key_file(path: &Path) -> Result<Keypair, KeyFileError> {
    let text = read_text(path)?;
    if kind_of(&text) == KeyFileKind::Plaintext {
        return read_key_file_with_password(path, None);
    }
    let password = process_password()?;
    read_key_file_with_password(path, password.as_deref().map(|s| s.as_str()))
}

fn create_private(path: &Path) -> Result<std::fs::File, KeyFileError> {
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
    options.open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => KeyFileError::Exists { path: shown },
        _ => KeyFileError::Io {
            path: shown,
            source,
        },
    })
}

fn write_all(path: &Path, mut f: std::fs::File, text: &[u8]) -> Result<(), KeyFileError> {
    f.write_all(text)
        .and_then(|_| f.sync_all())
        .map_err(|source| KeyFileError::Io {
            path: path.display().to_string(),
            source,
        })
}

/// Writes a new **plaintext** key file with mode 0600, labelled as a test key (never
/// overwrites an existing file). For test networks; use [`write_encrypted_key_file`]
/// for keys that guard anything.
pub fn write_key_file(path: &Path, key: &Keypair) -> Result<(), KeyFileError> {
    let f = create_private(path)?;
    let text = Zeroizing::new(format!(
        "{PLAINTEXT_LABEL}\n# ledger-node key: an ed25519 seed, not encrypted. Anyone who reads this file holds the key.\n# public key: {}\n{}\n",
        key.public(),
        hex::encode(key.seed())
    ));
    write_all(path, f, text.as_bytes())
}

/// Writes a new Web3 Secret Storage v3 key file with mode 0600 (never overwrites).
pub fn write_encrypted_key_file(
    path: &Path,
    key: &Keypair,
    password: &str,
    cost: ScryptCost,
) -> Result<(), KeyFileError> {
    if password.is_empty() {
        return Err(KeyFileError::Password(
            "refusing to encrypt a key with an empty password".into(),
        ));
    }
    let doc = encrypt_v3(&key.seed(), password, cost, Some(key.public()))?;
    let json = serde_json::to_string_pretty(&doc)
        .map_err(|e| KeyFileError::Password(format!("cannot encode the key store: {e}")))?;
    let f = create_private(path)?;
    write_all(path, f, format!("{json}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scrypt test vector published with the Web3 Secret Storage definition
    /// (password `testpassword`).
    const SCRYPT_VECTOR: &str = r#"{
        "crypto" : {
            "cipher" : "aes-128-ctr",
            "cipherparams" : { "iv" : "83dbcc02d8ccb40e466191a123791e0e" },
            "ciphertext" : "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
            "kdf" : "scrypt",
            "kdfparams" : {
                "dklen" : 32, "n" : 262144, "p" : 8, "r" : 1,
                "salt" : "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"
            },
            "mac" : "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"
        },
        "id" : "3198bc9c-6672-5ab3-d995-4942343ae5b6",
        "version" : 3
    }"#;

    /// The PBKDF2 test vector of the same definition.
    const PBKDF2_VECTOR: &str = r#"{
        "crypto" : {
            "cipher" : "aes-128-ctr",
            "cipherparams" : { "iv" : "6087dab2f9fdbbfaddc31a909735c1e6" },
            "ciphertext" : "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
            "kdf" : "pbkdf2",
            "kdfparams" : {
                "c" : 262144, "dklen" : 32, "prf" : "hmac-sha256",
                "salt" : "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"
            },
            "mac" : "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"
        },
        "id" : "3198bc9c-6672-5ab3-d995-4942343ae5b6",
        "version" : 3
    }"#;

    const VECTOR_SECRET: &str = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";

    #[test]
    fn known_answer_scrypt_vector() {
        let secret = decrypt_v3("vector", SCRYPT_VECTOR, "testpassword").unwrap();
        assert_eq!(hex::encode(&secret[..]), VECTOR_SECRET);
        assert!(matches!(
            decrypt_v3("vector", SCRYPT_VECTOR, "testpassword!"),
            Err(KeyFileError::WrongPassword { .. })
        ));
    }

    #[test]
    fn known_answer_pbkdf2_vector() {
        let secret = decrypt_v3("vector", PBKDF2_VECTOR, "testpassword").unwrap();
        assert_eq!(hex::encode(&secret[..]), VECTOR_SECRET);
    }

    #[test]
    fn encrypted_round_trip_wrong_password_and_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys/enc.key");
        let k = Keypair::for_testing("enc");
        write_encrypted_key_file(&p, &k, "correct horse", ScryptCost::LIGHT).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains(&hex::encode(k.seed())), "seed in the clear");
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["version"], 3);
        assert_eq!(doc["crypto"]["kdf"], "scrypt");
        assert_eq!(doc["crypto"]["cipher"], "aes-128-ctr");
        assert_eq!(key_file_kind(&p).unwrap(), KeyFileKind::Encrypted);
        assert_eq!(key_file_public_key(&p).unwrap(), Some(k.public()));
        let back = read_key_file_with_password(&p, Some("correct horse")).unwrap();
        assert_eq!(back.seed(), k.seed());
        assert!(matches!(
            read_key_file_with_password(&p, Some("wrong")),
            Err(KeyFileError::WrongPassword { .. })
        ));
        assert!(matches!(
            read_key_file_with_password(&p, None),
            Err(KeyFileError::NeedPassword { .. })
        ));
        assert!(matches!(
            write_encrypted_key_file(&p, &k, "x", ScryptCost::LIGHT),
            Err(KeyFileError::Exists { .. })
        ));
        // A flipped ciphertext byte fails the MAC: never a wrong key.
        let mut doc: KeystoreV3 = serde_json::from_str(&text).unwrap();
        let mut ct = hex::decode(&doc.crypto.ciphertext).unwrap();
        ct[0] ^= 1;
        doc.crypto.ciphertext = hex::encode(ct);
        let forged = serde_json::to_string(&doc).unwrap();
        assert!(matches!(
            decrypt_v3("f", &forged, "correct horse"),
            Err(KeyFileError::WrongPassword { .. })
        ));
        // Garbage and hostile parameters are clear errors.
        for bad in [
            "{",
            r#"{"version":3}"#,
            &text.replace("\"aes-128-ctr\"", "\"aes-256-gcm\""),
            &text.replace("\"scrypt\"", "\"argon2\""),
        ] {
            let e = decrypt_v3("bad.key", bad, "correct horse").unwrap_err();
            assert!(matches!(e, KeyFileError::Malformed { .. }), "{bad}: {e}");
            assert!(e.to_string().contains("bad.key"));
        }
        let mut huge: serde_json::Value = serde_json::from_str(&text).unwrap();
        huge["crypto"]["kdfparams"]["n"] = serde_json::json!(1u64 << 40);
        assert!(matches!(
            decrypt_v3("h", &huge.to_string(), "correct horse"),
            Err(KeyFileError::Malformed { .. })
        ));
    }

    #[test]
    fn plaintext_round_trip_is_labelled() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys/node.key");
        let k = Keypair::for_testing("k");
        write_key_file(&p, &k).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with(PLAINTEXT_LABEL), "{text}");
        assert_eq!(read_key_file(&p).unwrap().public(), k.public());
        assert_eq!(key_file_kind(&p).unwrap(), KeyFileKind::Plaintext);
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
        let bad = dir.path().join("bad.key");
        std::fs::write(&bad, "zz\n").unwrap();
        set_mode(&bad, 0o600);
        let e = read_key_file(&bad).unwrap_err();
        assert!(e.to_string().contains("bad.key"));
        assert!(read_key_file(&dir.path().join("none.key")).is_err());
    }

    #[cfg(unix)]
    fn set_mode(p: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn group_or_world_readable_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.key");
        let enc = dir.path().join("enc.key");
        let k = Keypair::for_testing("p");
        write_key_file(&plain, &k).unwrap();
        write_encrypted_key_file(&enc, &k, "pw", ScryptCost::LIGHT).unwrap();
        for (path, mode) in [
            (&plain, 0o644),
            (&plain, 0o640),
            (&plain, 0o604),
            (&enc, 0o660),
        ] {
            set_mode(path, mode);
            let e = read_key_file_with_password(path, Some("pw")).unwrap_err();
            match &e {
                KeyFileError::TooOpen { mode: m, .. } => assert_eq!(*m, mode),
                other => panic!("{other}"),
            }
            let msg = e.to_string();
            assert!(
                msg.contains("too open") && msg.contains("chmod 600"),
                "{msg}"
            );
            assert!(key_file_public_key(path).is_err());
        }
        set_mode(&plain, 0o400);
        assert_eq!(read_key_file(&plain).unwrap().public(), k.public());
        let pw = dir.path().join("pw.txt");
        std::fs::write(&pw, "secret\n").unwrap();
        set_mode(&pw, 0o644);
        assert!(matches!(
            read_password_file(&pw),
            Err(KeyFileError::TooOpen { .. })
        ));
        set_mode(&pw, 0o600);
        assert_eq!(read_password_file(&pw).unwrap().as_str(), "secret");
    }
}
