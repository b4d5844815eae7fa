//! Fuzzing of the ledger-types decoders on stable Rust (proptest): transactions of every
//! payload kind (binary and JSON), blocks of both protocols, gossip batches, genesis
//! files and key files (Web3 Secret Storage JSON and plaintext seeds).
//!
//! Two kinds of input per decoder: arbitrary bytes, and mutations of valid encodings
//! (see `fuzz/mod.rs`). Invariants: the decoder never panics; it refuses a huge length
//! prefix without allocating it (every decode goes through `codec::decode`, whose
//! bincode configuration carries the 16 MiB limit); what decodes re-encodes to the very
//! same bytes (the encoding is canonical); and a mutated signed object never verifies
//! unless it is one of the valid encodings it was made from.
//!
//! Soak: `LEDGER_FUZZ_SECS=60 cargo test --release -p ledger-types --test fuzz_decoders
//! -- --nocapture --test-threads 1` (see docs/reliability.md, "Fuzzing").

#[path = "fuzz/mod.rs"]
mod fuzz;
#[path = "fuzz/json.rs"]
mod fuzz_json;
#[path = "fuzz/gen.rs"]
mod gen;

use fuzz::{inputs, run, Case};
use ledger_types::keyfile::{
    decrypt_v3, encrypt_v3, key_file_public_key, read_key_file_with_password, KeyFileError,
    ScryptCost,
};
use ledger_types::{codec, Block, Genesis, Keypair, SignedTx, Tx};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

/// Decodes `case.input` as `T`; if it decodes, checks that it re-encodes to the same
/// bytes. Returns the value.
fn decode_canonical<T>(case: &Case) -> Result<Option<T>, TestCaseError>
where
    T: bincode::Decode<()> + bincode::Encode,
{
    match codec::decode::<T>(&case.input) {
        Ok(v) => {
            prop_assert_eq!(
                codec::encode(&v),
                case.input.clone(),
                "decoded value does not re-encode to its bytes"
            );
            Ok(Some(v))
        }
        Err(_) => Ok(None),
    }
}

/// Every transaction that verifies must be one that a key signed: one of the valid
/// transactions the input was made from.
fn check_signatures(decoded: &[SignedTx], signed: &BTreeSet<Vec<u8>>) -> Result<(), TestCaseError> {
    for (t, ok) in decoded.iter().zip(SignedTx::verify_many(decoded)) {
        if ok.is_ok() {
            prop_assert!(
                signed.contains(&codec::encode(t)),
                "a mutated transaction verifies: {t:?}"
            );
        }
        prop_assert_eq!(
            ok.is_ok(),
            t.verify().is_ok(),
            "batch and single verification disagree"
        );
    }
    Ok(())
}

fn encodings_of<T: bincode::Decode<()>>(bytes: &[u8]) -> Option<T> {
    codec::decode(bytes).ok()
}

#[test]
fn fuzz_signed_tx() {
    run(
        "signed_tx",
        6000,
        inputs(gen::signed_tx().prop_map(|t| codec::encode(&t)), 600),
        |case| {
            if let Some(t) = decode_canonical::<SignedTx>(&case)? {
                prop_assert_eq!(t.hash(), t.tx.hash());
                let mut signed = BTreeSet::new();
                signed.extend([case.original.clone(), case.donor.clone()]);
                check_signatures(&[t], &signed)?;
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_unsigned_tx() {
    run(
        "tx",
        5000,
        inputs(gen::tx().prop_map(|t| codec::encode(&t)), 400),
        |case| {
            decode_canonical::<Tx>(&case)?;
            Ok(())
        },
    );
}

#[test]
fn fuzz_block() {
    run(
        "block",
        3000,
        inputs(gen::block().prop_map(|b| codec::encode(&b)), 800),
        |case| {
            if let Some(b) = decode_canonical::<Block>(&case)? {
                let mut signed = BTreeSet::new();
                for enc in [&case.original, &case.donor] {
                    if let Some(src) = encodings_of::<Block>(enc) {
                        signed.extend(src.txs.iter().map(codec::encode));
                    }
                }
                check_signatures(&b.txs, &signed)?;
                // The hash commits to the header bytes: a changed header is a new block.
                if let Some(orig) = encodings_of::<Block>(&case.original) {
                    if b.header != orig.header {
                        prop_assert_ne!(b.hash(), orig.hash());
                    }
                }
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_gossip_batch_encoding() {
    run(
        "gossip_batch(Vec<SignedTx>)",
        3000,
        inputs(
            proptest::collection::vec(gen::signed_tx(), 1..=4).prop_map(|v| codec::encode(&v)),
            600,
        ),
        |case| {
            if let Some(txs) = decode_canonical::<Vec<SignedTx>>(&case)? {
                let mut signed = BTreeSet::new();
                for enc in [&case.original, &case.donor] {
                    if let Some(src) = encodings_of::<Vec<SignedTx>>(enc) {
                        signed.extend(src.iter().map(codec::encode));
                    }
                }
                check_signatures(&txs, &signed)?;
            }
            Ok(())
        },
    );
}

/// A signed transaction's JSON form (what wallets send) with structural edits: it
/// parses or is refused, never panics, and what parses round-trips through JSON and
/// verifies only if it is the signed transaction.
#[test]
fn fuzz_signed_tx_json() {
    run(
        "signed_tx_json",
        5000,
        (
            gen::signed_tx(),
            proptest::collection::vec(fuzz_json::json_mutation(), 1..=3),
            proptest::option::of(fuzz::mutation()),
        )
            .prop_map(|(t, ops, byte_edit)| {
                let mut doc = serde_json::to_value(&t).unwrap_or_default();
                for m in &ops {
                    fuzz_json::apply_json(&mut doc, m);
                }
                let mut text = doc.to_string();
                if let Some(m) = byte_edit {
                    // Also a byte-level edit of the text (kept valid UTF-8).
                    let mut bytes = text.into_bytes();
                    fuzz::apply(
                        &mut bytes,
                        br#"{"x":[1,"2"],"nonce":"18446744073709551616"}"#,
                        &m,
                    );
                    text = String::from_utf8_lossy(&bytes).into_owned();
                }
                (t, text)
            }),
        |(original, text)| {
            if let Ok(t) = serde_json::from_str::<SignedTx>(&text) {
                let back: SignedTx = serde_json::from_value(
                    serde_json::to_value(&t).map_err(|e| TestCaseError::fail(e.to_string()))?,
                )
                .map_err(|e| TestCaseError::fail(format!("JSON round trip: {e}")))?;
                prop_assert_eq!(&back, &t);
                if t.verify().is_ok() {
                    prop_assert_eq!(codec::encode(&t), codec::encode(&original));
                }
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------- genesis

#[test]
fn fuzz_genesis_toml() {
    let keys = gen::keys();
    let accounts: Vec<_> = keys.iter().map(|k| k.public()).collect();
    let text = Genesis::for_testing(&accounts, &accounts[..2]).to_toml();
    run(
        "genesis_toml",
        3000,
        fuzz::mutated(Just(text.into_bytes())),
        |case| {
            let text = String::from_utf8_lossy(&case.input);
            if let Ok(g) = Genesis::from_toml(&text) {
                let _ = g.validate();
                let again = Genesis::from_toml(&g.to_toml()).map_err(|e| {
                    TestCaseError::fail(format!("re-read of a written genesis: {e}"))
                })?;
                prop_assert_eq!(again.hash(), g.hash());
            }
            Ok(())
        },
    );
}

// -------------------------------------------------------------------------- key files

const PASSWORD: &str = "fuzz password";

/// Valid documents with cheap KDFs (fuzzing must not spend a second per case): scrypt
/// with N = 2 and a hand-made PBKDF2 one with c = 2, and their secrets.
fn key_documents() -> &'static Vec<(String, [u8; 32])> {
    static DOCS: OnceLock<Vec<(String, [u8; 32])>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut out = Vec::new();
        for i in 0..3u8 {
            let secret = [i.wrapping_mul(37).wrapping_add(1); 32];
            let key = Keypair::from_seed(&secret);
            let cost = ScryptCost {
                log_n: 1,
                r: 1,
                p: 1,
            };
            let doc = encrypt_v3(&secret, PASSWORD, cost, (i != 1).then(|| key.public()))
                .expect("encrypt");
            out.push((serde_json::to_string_pretty(&doc).expect("json"), secret));
        }
        // PBKDF2 (c = 2), built like geth's: dk = PBKDF2-HMAC-SHA256, mac over dk[16..32].
        let secret = [9u8; 32];
        let mut doc: serde_json::Value = serde_json::from_str(&out[0].0).expect("json");
        let salt = [3u8; 32];
        let mut dk = [0u8; 32];
        pbkdf2_hmac_sha256(PASSWORD.as_bytes(), &salt, 2, &mut dk);
        let iv: Vec<u8> = hex::decode(doc["crypto"]["cipherparams"]["iv"].as_str().unwrap_or(""))
            .unwrap_or_default();
        let ct = aes_ctr(&dk[..16], &iv, &secret);
        let mac = keccak(&[&dk[16..32], &ct]);
        doc["crypto"]["kdf"] = "pbkdf2".into();
        doc["crypto"]["kdfparams"] = serde_json::json!({
            "dklen": 32, "c": 2, "prf": "hmac-sha256", "salt": hex::encode(salt)
        });
        doc["crypto"]["ciphertext"] = hex::encode(&ct).into();
        doc["crypto"]["mac"] = hex::encode(mac).into();
        doc["public_key"] = Keypair::from_seed(&secret).public().to_hex().into();
        out.push((doc.to_string(), secret));
        out
    })
}

fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
    // The test builds its PBKDF2 document with the same crate the product uses.
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, out);
}

fn aes_ctr(key: &[u8], iv: &[u8], data: &[u8]) -> Vec<u8> {
    use aes::cipher::{KeyIvInit, StreamCipher};
    let mut out = data.to_vec();
    ctr::Ctr128BE::<aes::Aes128>::new(key.into(), iv.into()).apply_keystream(&mut out);
    out
}

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    use sha3::{Digest, Keccak256};
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// True if the document asks for more KDF work than a fuzz case may spend (the bounds
/// themselves are checked by `scrypt_cost_is_bounded_before_allocating` below).
fn expensive(text: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    let p = &v["crypto"]["kdfparams"];
    let num = |k: &str| p[k].as_u64().unwrap_or(0);
    num("n")
        .saturating_mul(num("r").max(1))
        .saturating_mul(num("p").max(1))
        > 1 << 12
        || num("c") > 10_000
}

/// The IV a document names (decoded), if it parses.
fn iv_of(text: &str) -> Option<Vec<u8>> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    hex::decode(
        v["crypto"]["cipherparams"]["iv"]
            .as_str()?
            .trim_start_matches("0x"),
    )
    .ok()
}

/// True if the document carries a `public_key` (ledger-node's files do).
fn names_public_key(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v["public_key"].is_string())
}

/// Regression (found by `fuzz_encrypted_key_file`, seed 4902489931804032240): the v3
/// format's MAC does not cover the IV, so a file whose IV was edited decrypts to a
/// different secret without an error. A file that names its `public_key` (every file
/// ledger-node writes) is refused instead of yielding a wrong key.
#[test]
fn edited_iv_is_caught_by_the_public_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (text, secret) = &key_documents()[0];
    let mut doc: serde_json::Value = serde_json::from_str(text).expect("json");
    let iv = doc["crypto"]["cipherparams"]["iv"]
        .as_str()
        .expect("iv")
        .to_string();
    let flipped = format!(
        "{}{}",
        if iv.starts_with('0') { "1" } else { "0" },
        &iv[1..]
    );
    doc["crypto"]["cipherparams"]["iv"] = flipped.into();
    let edited = doc.to_string();
    let wrong = decrypt_v3("edited", &edited, PASSWORD).expect("the MAC still matches");
    assert_ne!(&wrong[..], &secret[..]);
    let path = private_file(dir.path(), "edited.json", edited.as_bytes());
    let err = read_key_file_with_password(&path, Some(PASSWORD)).expect_err("refused");
    assert!(
        err.to_string()
            .contains("does not match the file's public_key"),
        "{err}"
    );
}

fn private_file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .expect("create key file");
    f.write_all(bytes).expect("write key file");
    path
}

#[test]
fn fuzz_encrypted_key_file() {
    let docs = key_documents();
    let n = docs.len();
    let dir = tempfile::tempdir().expect("tempdir");
    let valid = (0..n).prop_map(move |i| key_documents()[i].0.clone().into_bytes());
    let structural = (
        0..n,
        proptest::collection::vec(fuzz_json::json_mutation(), 1..=3),
    )
        .prop_map(|(i, ops)| {
            let mut doc: serde_json::Value =
                serde_json::from_str(&key_documents()[i].0).unwrap_or_default();
            for m in &ops {
                fuzz_json::apply_json(&mut doc, m);
            }
            let input = doc.to_string().into_bytes();
            Case {
                original: key_documents()[i].0.clone().into_bytes(),
                donor: Vec::new(),
                input,
            }
        });
    run(
        "key_file_v3",
        2000,
        prop_oneof![2 => inputs(valid, 300), 3 => structural],
        |case| {
            let text = String::from_utf8_lossy(&case.input).into_owned();
            if expensive(&text) {
                return Ok(());
            }
            let secret = docs
                .iter()
                .find(|(d, _)| d.as_bytes() == case.original.as_slice())
                .map(|(_, s)| *s);
            // The v3 MAC covers the ciphertext but not the IV (as in geth): an edited IV
            // decrypts to another secret. The readers catch that with `public_key`.
            let iv_changed = iv_of(&text) != iv_of(&String::from_utf8_lossy(&case.original));
            match decrypt_v3("fuzz", &text, PASSWORD) {
                Ok(got) => {
                    if !iv_changed {
                        prop_assert_eq!(Some(&got[..]), secret.as_ref().map(|s| &s[..]));
                    }
                }
                Err(KeyFileError::Malformed { .. } | KeyFileError::WrongPassword { .. }) => {}
                Err(e) => return Err(TestCaseError::fail(format!("unexpected error {e}"))),
            }
            // The same text as a file, through the readers the binaries use.
            let path = private_file(dir.path(), "key.json", text.as_bytes());
            let _ = key_file_public_key(&path);
            if let Ok(k) = read_key_file_with_password(&path, Some(PASSWORD)) {
                if !iv_changed || names_public_key(&text) {
                    prop_assert_eq!(Some(k.seed()), secret);
                }
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_plaintext_key_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let valid = any::<[u8; 32]>().prop_map(|seed| {
        format!(
            "{}\n{}\n",
            ledger_types::keyfile::PLAINTEXT_LABEL,
            hex::encode(seed)
        )
        .into_bytes()
    });
    run("key_file_plaintext", 2000, inputs(valid, 200), |case| {
        let path = private_file(dir.path(), "key", &case.input);
        let by_reader = read_key_file_with_password(&path, None);
        let public = key_file_public_key(&path);
        if let Ok(k) = &by_reader {
            prop_assert_eq!(public.ok().flatten(), Some(k.public()));
        }
        Ok(())
    });
}

// ------------------------------------------------------------- regressions and bounds

/// Regression (found while bounding the work of `fuzz_encrypted_key_file`): a key file asking for scrypt N = 2^22 and r = 32 passed the bounds and made scrypt
/// allocate 128·r·N = 16 GiB. Now refused before any allocation.
#[test]
fn scrypt_cost_is_bounded_before_allocating() {
    let (text, _) = &key_documents()[0];
    for (n, r, p) in [
        (1u64 << 22, 32u32, 1u32),
        (1 << 22, 8, 1),
        (1 << 20, 16, 1),
        (1 << 18, 8, 64),
    ] {
        let mut doc: serde_json::Value = serde_json::from_str(text).expect("json");
        doc["crypto"]["kdfparams"]["n"] = n.into();
        doc["crypto"]["kdfparams"]["r"] = r.into();
        doc["crypto"]["kdfparams"]["p"] = p.into();
        let started = std::time::Instant::now();
        let err = decrypt_v3("big", &doc.to_string(), PASSWORD).expect_err("refused");
        assert!(
            err.to_string().contains("scrypt parameters out of range"),
            "N={n} r={r} p={p}: {err}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}

/// Regression: a key file is read whole; a huge one is refused by its size first.
#[test]
fn oversized_key_file_is_refused_by_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut big = b"{".to_vec();
    big.extend(std::iter::repeat_n(b' ', 1 << 20));
    let path = private_file(dir.path(), "big.json", &big);
    let err = read_key_file_with_password(&path, Some(PASSWORD)).expect_err("refused");
    assert!(err.to_string().contains("a key file is at most"), "{err}");
}

/// A length prefix claiming far more elements than the input holds is refused at once,
/// at every nesting level the generators produce (a sample of the mutation engine's
/// `SetU64` edits, fixed here).
#[test]
fn huge_length_prefixes_are_refused() {
    let key = Keypair::for_testing("fuzz-0");
    let t = Tx::new(
        "c",
        key.public(),
        1,
        ledger_types::Payload::CancelAll(ledger_types::CancelAll { market: None }),
    )
    .sign(&key);
    let bytes = codec::encode(&vec![t]);
    for at in [0usize, 8] {
        for v in [u64::MAX, 1 << 40, 1 << 24, u32::MAX as u64] {
            let mut b = bytes.clone();
            b[at..at + 8].copy_from_slice(&v.to_le_bytes());
            assert!(
                codec::decode::<Vec<SignedTx>>(&b).is_err(),
                "at {at} value {v}"
            );
        }
    }
}
