//! `apikey create --signing/--canary` and `apikey signing …` on SQLite: the signing secret is
//! printed once (text and JSON, with the raw key in base64), rotation prints a new one and keeps
//! the old for the grace period, the public view shows only the mode, and a canary's token is
//! rejected exactly as an unknown key's.

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{PEPPER, apikey};

const ENV: [(&str, &str); 1] = [("APIKEY_PEPPER", PEPPER)];

#[test]
fn a_signing_secret_is_shown_once_and_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let created = apikey(
        d,
        &[
            "create",
            "--name",
            "signed",
            "--signing",
            "required",
            "--json",
        ],
        &ENV,
    )
    .expect(0);
    let json = created.json();
    let id = json["key"]["id"].as_str().unwrap().to_owned();
    let secret = json["signing_secret"].as_str().unwrap().to_owned();
    let raw = STANDARD
        .decode(json["signing_key_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(secret.strip_prefix("sig_").unwrap())
            .unwrap(),
        raw,
        "the two forms carry the same key"
    );
    assert_eq!(raw.len(), 32);
    assert!(
        created.stderr.contains("signing secret now"),
        "{}",
        created.stderr
    );

    // The view shows the mode, never the secret or its sealed form.
    let shown = apikey(d, &["show", &id, "--json"], &ENV).expect(0);
    assert_eq!(shown.json()["signing"], "required");
    assert!(!shown.stdout.contains(&secret));
    assert!(!shown.stdout.contains("sb1."), "{}", shown.stdout);
    // The KEK was made beside the database (0600), as for webhooks.
    let kek = std::fs::read_dir(d)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".kek"))
        .expect("a KEK file beside the database");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(kek.metadata().unwrap().permissions().mode() & 0o777, 0o600);

    let rotated = apikey(d, &["signing", "rotate", &id, "--json"], &ENV).expect(0);
    let new = rotated.json()["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, secret);
    let text = apikey(d, &["signing", "rotate", &id, "--grace", "0s"], &ENV).expect(0);
    assert!(text.last_line().starts_with("sig_"), "{}", text.stdout);
    assert!(!text.stdout.contains("previous secret works until"));

    let set = apikey(
        d,
        &["signing", "set", &id, "--mode", "optional", "--json"],
        &ENV,
    )
    .expect(0);
    assert_eq!(set.json()["key"]["signing"], "optional");
    assert!(
        set.json().get("signing_secret").is_none(),
        "a key with a secret keeps it"
    );
    apikey(d, &["signing", "remove", &id], &ENV).expect(0);
    let shown = apikey(d, &["show", &id, "--json"], &ENV).expect(0);
    assert!(shown.json().get("signing").is_none());
    apikey(d, &["signing", "remove", &id], &ENV).expect(2);
    apikey(
        d,
        &["create", "--name", "x", "--signing", "sometimes"],
        &ENV,
    )
    .expect(2);
}

#[test]
fn a_canary_is_rejected_as_an_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let canary = apikey(
        d,
        &["create", "--name", "planted", "--canary", "--json"],
        &ENV,
    )
    .expect(0);
    assert_eq!(canary.json()["key"]["canary"], true);
    let token = canary.json()["token"].as_str().unwrap().to_owned();
    let r = apikey(d, &["verify", &token], &ENV).expect(1);
    assert_eq!(r.stdout.trim(), "rejected: unknown (HTTP 401)");
}
