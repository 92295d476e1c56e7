//! GitHub's side of the secret-scanning contract, played by OpenSSL: P-256 key pairs, signatures
//! of alert bodies, and the public-keys document.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::json;

pub const KEY_ID: &str = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a";

pub fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (the base system's; it signs the alerts here)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A P-256 key pair made by OpenSSL: (private key file, public key PEM).
pub fn key_pair(dir: &Path, name: &str) -> (PathBuf, String) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        private.to_str().unwrap(),
    ]);
    openssl(&[
        "ec",
        "-in",
        private.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
    (private, std::fs::read_to_string(public).unwrap())
}

/// OpenSSL's signature of `body` with `private`, base64 DER as GitHub sends it.
pub fn sign(dir: &Path, private: &Path, body: &str) -> String {
    let input = dir.join("body.json");
    let sig = dir.join("body.sig");
    std::fs::write(&input, body).unwrap();
    openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        private.to_str().unwrap(),
        "-out",
        sig.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(sig).unwrap())
}

/// GitHub's public-keys document holding `pem` as `KEY_ID`.
pub fn document(pem: &str) -> String {
    json!({"public_keys": [{"key_identifier": KEY_ID, "key": pem, "is_current": true}]}).to_string()
}
