//! Passwords of encrypted key files: `--password-file`, the `LEDGER_KEY_PASSWORD` and
//! `LEDGER_KEY_PASSWORD_FILE` environment variables, or a hidden prompt on the terminal
//! (nothing typed is echoed).

use anyhow::{bail, Result};
use ledger_types::keyfile::{
    read_key_file_with_password, read_password_file, KeyFileError, KeyFileKind, PASSWORD_ENV,
    PASSWORD_FILE_ENV,
};
use std::io::IsTerminal;
use std::path::Path;
use zeroize::Zeroizing;

/// Exit code of a wrong key password (scripts can tell it from other failures).
pub const EXIT_WRONG_PASSWORD: u8 = 4;

/// The password from `--password-file` or the environment, if either is given.
pub fn given(password_file: Option<&Path>) -> Result<Option<Zeroizing<String>>> {
    if let Some(f) = password_file {
        return Ok(Some(read_password_file(f)?));
    }
    Ok(ledger_types::keyfile::process_password()?)
}

fn on_terminal() -> bool {
    std::io::stdin().is_terminal() || std::io::stderr().is_terminal()
}

/// A password for a new key file: given, or typed twice at a hidden prompt.
pub fn for_new_key(password_file: Option<&Path>, what: &str) -> Result<Zeroizing<String>> {
    if let Some(p) = given(password_file)? {
        return Ok(p);
    }
    if !on_terminal() {
        bail!(
            "a password is needed to encrypt {what}: give --password-file FILE or \
             {PASSWORD_ENV} (or {PASSWORD_FILE_ENV}), run on a terminal, or pass --plaintext \
             for an unencrypted test key"
        );
    }
    loop {
        let first = Zeroizing::new(rpassword::prompt_password(format!(
            "password to encrypt {what}: "
        ))?);
        if first.is_empty() {
            eprintln!("the password is empty; try again");
            continue;
        }
        let second = Zeroizing::new(rpassword::prompt_password("repeat the password: ")?);
        if first == second {
            return Ok(first);
        }
        eprintln!("the passwords differ; try again");
    }
}

/// Opens the key file at `path` once to check its password, and makes the password the
/// process password (for the node, which reads the key again). Plaintext files need
/// none. A wrong password is [`KeyFileError::WrongPassword`].
pub fn unlock(path: &Path, password_file: Option<&Path>) -> Result<()> {
    if ledger_types::keyfile::key_file_kind(path)? == KeyFileKind::Plaintext {
        tracing::warn!(
            path = %path.display(),
            "the node key is an unencrypted test key; use an encrypted key (ledger-node keygen) outside test networks"
        );
        return Ok(());
    }
    let password = match given(password_file)? {
        Some(p) => p,
        None if on_terminal() => Zeroizing::new(rpassword::prompt_password(format!(
            "password of {}: ",
            path.display()
        ))?),
        None => {
            return Err(KeyFileError::NeedPassword {
                path: path.display().to_string(),
            }
            .into())
        }
    };
    read_key_file_with_password(path, Some(password.as_str()))?;
    ledger_types::keyfile::set_process_password(password.to_string());
    Ok(())
}

/// True if `e` (anywhere in its chain) is a wrong key password.
pub fn is_wrong_password(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<KeyFileError>(),
            Some(KeyFileError::WrongPassword { .. })
        )
    })
}
