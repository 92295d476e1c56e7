//! Helpers shared by the end-to-end tests: run the real `apikey` binary in a directory with a clean
//! environment and read what it printed.

#![allow(dead_code)]

pub(crate) mod pg;
pub(crate) mod receiver;
pub(crate) mod serve;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A finished run of the binary.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
        }
    }

    /// Panics with both streams unless the exit code is `code`.
    #[track_caller]
    pub(crate) fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Stdout parsed as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// The last non-empty line of stdout (where `create` and `rotate` print the token).
    pub(crate) fn last_line(&self) -> String {
        self.stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .expect("some output")
            .to_owned()
    }
}

/// `apikey ARGS` in `dir`, with `env` added to a clean environment.
pub(crate) fn apikey(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    apikey_stdin(dir, args, env, None)
}

/// As [`apikey`], with `stdin` fed to the process.
pub(crate) fn apikey_stdin(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apikey"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("APIKEY_PEPPER")
        .env_remove("APIKEY_ACTOR")
        .env_remove("RUST_LOG")
        .env_remove("REDIS_URL")
        .env("USER", "e2e-tester")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the apikey binary runs");
    if let Some(input) = stdin {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())
            .expect("stdin written");
    }
    Run::from(
        child
            .wait_with_output()
            .expect("the apikey binary finishes"),
    )
}

/// A valid pepper spec for tests that bring their own.
pub(crate) const PEPPER: &str = "v1=dGVzdC1wZXBwZXItMzItYnl0ZXMtbG9uZy1lbm91Z2g=";

/// Every object key anywhere in `v`.
pub(crate) fn json_keys(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                json_keys(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| json_keys(v, out)),
        _ => {}
    }
}

/// The create → verify → revoke → verify-rejected story, against whatever database `env` names.
/// Returns the created key's id.
pub(crate) fn create_verify_revoke(dir: &Path, env: &[(&str, &str)]) -> String {
    let created = apikey(
        dir,
        &[
            "create",
            "--name",
            "My App",
            "--scopes",
            "read:projects",
            "--json",
        ],
        env,
    )
    .expect(0);
    let v = created.json();
    let id = v["key"]["id"].as_str().expect("id").to_owned();
    let token = v["token"].as_str().expect("token").to_owned();
    assert!(created.stderr.contains("shown only once"));

    let ok = apikey(dir, &["verify", &token, "--scopes", "read:projects"], env).expect(0);
    assert_eq!(ok.stdout.trim(), format!("valid: key {id} (My App)"));

    let denied = apikey(dir, &["verify", &token, "--scopes", "write:projects"], env).expect(1);
    assert!(
        denied
            .stdout
            .starts_with("rejected: insufficient_scope (HTTP 403)"),
        "{}",
        denied.stdout
    );

    let revoked = apikey(dir, &["revoke", &id, "--reason", "leaked"], env).expect(0);
    assert!(
        revoked.stdout.contains(&format!("revoked key {id}")),
        "{}",
        revoked.stdout
    );

    let rejected = apikey(dir, &["verify", &token], env).expect(1);
    assert_eq!(
        rejected.stdout.trim(),
        format!("rejected: revoked (HTTP 401); key {id}")
    );
    id
}
