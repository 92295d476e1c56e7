//! The service reads `APIKEY_PEPPER` as the `apikey` CLI does, and refuses to start without one
//! (before connecting anywhere) unless the ephemeral switch is given.

// A skipped test says so on stderr.
#![allow(clippy::print_stderr)]

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

/// A service URL from the environment, or `None` (with a note) when the test should skip; under
/// `CI=true` a missing service fails the test.
fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set, and CI=true: the service is required")
        }
        _ => {
            eprintln!("skipped: set {var} to run this test");
            None
        }
    }
}

/// A key the running service made verifies with peppers loaded as the `apikey` CLI loads them
/// from the same `APIKEY_PEPPER` — so the CLI manages this service's keys.
#[test]
fn a_key_the_service_made_verifies_under_the_clis_reading_of_the_same_environment() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    use std::sync::Arc;

    use apikey_core::{ApiKeys, Credential, PepperConfig, Peppers, RequestContext};
    use apikey_redis::{RedisConnection, RedisLimiter};
    use apikey_sqlx::SqlxPostgresStore;
    use apikey_sqlx::sqlx::{self, Connection as _};

    let (Some(pg), Some(redis)) = (
        service_url("APIKEY_TEST_POSTGRES_URL"),
        service_url("APIKEY_TEST_REDIS_URL"),
    ) else {
        return;
    };
    let spec = "v1=dGVzdC1wZXBwZXItMzItYnl0ZXMtbG9uZy1lbm91Z2g=";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = format!("actix_redis_pepper_{}", std::process::id());
    let (scheme, rest) = pg.split_once("://").unwrap();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let url = format!("{scheme}://{}/{name}", &rest[..end]);
    rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(&pg).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    });

    let mut child = Command::new(env!("CARGO_BIN_EXE_actix-redis"))
        .arg("--create-demo-key")
        .env("APIKEY_PEPPER", spec)
        .env_remove(EPHEMERAL_ENV)
        .env("DATABASE_URL", &url)
        .env("REDIS_URL", &redis)
        .env("ACTIX_REDIS_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut token = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(t) = line.strip_prefix("Demo API key (shown once, keep it): ") {
            token = Some(t.trim().to_owned());
            break;
        }
    }
    // Our own child, by its handle.
    let _ = child.kill();
    let _ = child.wait();
    let token = token.expect("the service printed a demo key");

    let verified = |peppers: Peppers| {
        let url = url.clone();
        let redis = redis.clone();
        let token = token.clone();
        rt.block_on(async move {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let conn = RedisConnection::connect(&redis).await.unwrap();
            let keys = ApiKeys::builder(Arc::new(SqlxPostgresStore::new(pool.clone())))
                .peppers(peppers)
                .limiter(Arc::new(RedisLimiter::new(conn)))
                .build()
                .unwrap();
            let ok = keys
                .verifier()
                .verify(Credential::new(&token), &RequestContext::new())
                .await
                .is_ok();
            pool.close().await;
            ok
        })
    };
    let as_the_cli = PepperConfig::with_spec(Some(spec.to_owned()))
        .load()
        .unwrap()
        .peppers;
    assert!(verified(as_the_cli));
    // The old reading (the variable's bytes as pepper `p1`) no longer matches what is stored.
    assert!(!verified(
        Peppers::single("p1", spec.as_bytes().to_vec()).unwrap()
    ));

    rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(&pg).await.unwrap();
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut c)
            .await;
        c.close().await.unwrap();
    });
}
