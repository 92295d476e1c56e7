//! `apikey serve --init` on a fresh SQLite file: the root key is printed once, the address it
//! listens on is printed, a key created over HTTP verifies over HTTP (the curl session of the
//! README, with reqwest), a second `--init` is refused, and SIGTERM stops it with exit 0.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{PEPPER, apikey};

#[test]
fn serve_init_creates_a_root_key_and_serves_until_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_apikey"))
        .current_dir(d)
        .args(["serve", "--init", "--listen", "127.0.0.1:0", "--json"])
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("APIKEY_PEPPER", PEPPER)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let json_doc = |out: &mut BufReader<_>| {
        // Each document is pretty-printed: read to the closing brace.
        let mut text = String::new();
        loop {
            let mut line = String::new();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "output ended: {text}"
            );
            text.push_str(&line);
            if line.starts_with('}') {
                return serde_json::from_str::<serde_json::Value>(&text).unwrap();
            }
        }
    };
    let root = json_doc(&mut out)["token"].as_str().unwrap().to_owned();
    let base = json_doc(&mut out)["listening"].as_str().unwrap().to_owned();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let created: serde_json::Value = http
            .post(format!("{base}/v1/keys"))
            .header("authorization", format!("Bearer {root}"))
            .json(&serde_json::json!({"name": "from-python", "scopes": ["orders:read"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = created["token"].as_str().unwrap();
        let verdict: serde_json::Value = http
            .post(format!("{base}/v1/keys/verify"))
            .header("authorization", format!("Bearer {root}"))
            .json(&serde_json::json!({"token": token, "scopes": ["orders:read"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(verdict["valid"], true, "{verdict}");
        let health = http
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
    });

    // The root key exists now: a second --init is refused, before it listens.
    let again = apikey(
        d,
        &["serve", "--init", "--listen", "127.0.0.1:0"],
        &[("APIKEY_PEPPER", PEPPER)],
    );
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again.stderr.contains("admin key exists"),
        "{}",
        again.stderr
    );

    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a graceful stop");
}

#[test]
fn serve_refuses_github_keys_it_cannot_use_before_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let run = apikey(
        dir.path(),
        &[
            "serve",
            "--init",
            "--listen",
            "127.0.0.1:0",
            "--github-keys",
            missing.to_str().unwrap(),
        ],
        &[("APIKEY_PEPPER", PEPPER)],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--github-keys"), "{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "no root key was made: {}",
        run.stdout
    );
}

#[test]
fn serve_refuses_a_bad_origin_or_proxy_before_anything_changes() {
    for (flag, value) in [("--cors-origin", "*"), ("--trusted-proxy", "not-a-net")] {
        let dir = tempfile::tempdir().unwrap();
        let run = apikey(
            dir.path(),
            &["serve", "--init", "--listen", "127.0.0.1:0", flag, value],
            &[("APIKEY_PEPPER", PEPPER)],
        );
        assert_eq!(run.code, 2, "{flag}: {}", run.stderr);
        assert!(run.stderr.contains(flag), "{}", run.stderr);
        assert!(
            run.stdout.is_empty(),
            "no root key was made: {}",
            run.stdout
        );
    }
}
