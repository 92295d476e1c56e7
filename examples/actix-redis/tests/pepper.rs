//! The service reads `APIKEY_PEPPER` as the `apikey` CLI does, and refuses to start without one
//! (before connecting anywhere) unless the ephemeral switch is given.

use std::process::{Command, Output};

use apikey_core::hash::EPHEMERAL_ENV;

/// Runs the service against servers that do not exist, so it stops right after configuration.
fn run(env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actix-redis"));
    cmd.env_remove("APIKEY_PEPPER")
        .env_remove(EPHEMERAL_ENV)
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .env("ACTIX_REDIS_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the actix-redis binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn no_pepper_stops_the_start_with_a_clear_error() {
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("no pepper: set APIKEY_PEPPER"), "{err}");
    assert!(err.contains(EPHEMERAL_ENV), "the way out is named: {err}");
}

#[test]
fn apikey_pepper_means_what_it_means_to_the_cli() {
    // The old reading (raw bytes as pepper `p1`) is gone: raw text is not a pepper spec.
    let raw = run(&[("APIKEY_PEPPER", "0123456789abcdef0123456789abcdef")]);
    assert_eq!(raw.status.code(), Some(2), "{}", stderr(&raw));
    assert!(stderr(&raw).contains("APIKEY_PEPPER is not valid"));
    // The CLI's form passes configuration and reaches the (absent) database.
    for env in [
        &[(
            "APIKEY_PEPPER",
            "v1=dGVzdC1wZXBwZXItMzItYnl0ZXMtbG9uZy1lbm91Z2g=",
        )][..],
        &[(EPHEMERAL_ENV, "1")][..],
    ] {
        let out = run(env);
        assert!(!out.status.success());
        assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            !err.contains("no pepper") && !err.contains("is not valid"),
            "{err}"
        );
    }
}
