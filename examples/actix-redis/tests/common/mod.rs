//! What the multi-process tests share: the service URLs (a failure under `CI=true`, a noted skip
//! elsewhere), a fresh PostgreSQL database, instances of this service and the `apikey` CLI in
//! their own processes, all pointed at one database, Redis prefix and pepper.

#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apikey_sqlx::sqlx::{self, Connection, Executor, PgConnection};

pub fn service_urls() -> Option<(String, String)> {
    let pg = std::env::var("APIKEY_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty());
    let redis = std::env::var("APIKEY_TEST_REDIS_URL")
        .ok()
        .filter(|v| !v.is_empty());
    match (pg, redis) {
        (Some(pg), Some(redis)) => Some((pg, redis)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("APIKEY_TEST_POSTGRES_URL and APIKEY_TEST_REDIS_URL must be set in CI")
        }
        _ => {
            eprintln!("skipped: APIKEY_TEST_POSTGRES_URL / APIKEY_TEST_REDIS_URL not set");
            None
        }
    }
}

pub fn cli_path() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_actix-redis")).with_file_name("apikey");
    assert!(
        path.exists(),
        "{} is missing: build the CLI first (`cargo build -p apikey-cli`)",
        path.display()
    );
    path
}

/// A fresh database, dropped at the end.
pub struct Database {
    admin: String,
    name: String,
    pub url: String,
}

impl Database {
    pub async fn create(admin: &str) -> Self {
        let name = format!("apikey_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(admin).await.expect("connect");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        let base = admin.rsplit_once('/').expect("url with a database").0;
        Self {
            admin: admin.to_owned(),
            url: format!("{base}/{name}"),
            name,
        }
    }

    pub async fn drop_it(self) {
        let mut conn = PgConnection::connect(&self.admin).await.expect("connect");
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await;
    }
}

/// What every process shares: database, Redis and its prefix, pepper, cache ttl.
pub struct Env {
    pub db: String,
    pub redis: String,
    pub prefix: String,
    pub pepper: String,
    pub cache_ttl: Duration,
}

impl Env {
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("DATABASE_URL", &self.db)
            .env("REDIS_URL", &self.redis)
            .env("APIKEY_REDIS_PREFIX", &self.prefix)
            .env("APIKEY_PEPPER", &self.pepper)
            .env("APIKEY_CACHE_TTL", format!("{}s", self.cache_ttl.as_secs()))
            .env_remove("RUST_LOG");
    }
}

/// A running service instance, killed on drop.
pub struct Instance {
    pub child: Child,
    pub base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn start(env: &Env, http: &reqwest::Client) -> Instance {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actix-redis"));
    env.apply(&mut cmd);
    let child = cmd
        .env("ACTIX_REDIS_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the service");
    let instance = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{}/open", instance.base)).send().await
            && r.status() == 200
        {
            return instance;
        }
        assert!(Instant::now() < deadline, "the service did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn cli(env: &Env, redis: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(cli_path());
    env.apply(&mut cmd);
    cmd.args([
        "--database-url",
        &env.db,
        "--redis-url",
        redis,
        "--redis-prefix",
        &env.prefix,
    ])
    .args(["--cache-ttl", &format!("{}s", env.cache_ttl.as_secs())])
    .args(args)
    .env("APIKEY_ACTOR", "test")
    .stdin(Stdio::null())
    .output()
    .expect("run the CLI")
}

/// Creates a key with the CLI: (id, token).
pub fn create(env: &Env) -> (String, String) {
    let out = cli(
        env,
        &env.redis,
        &[
            "--json",
            "create",
            "--name",
            "svc",
            "--scopes",
            "projects:read",
        ],
    );
    assert!(
        out.status.success(),
        "create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    (
        json["key"]["id"].as_str().expect("id").to_owned(),
        json["token"].as_str().expect("token").to_owned(),
    )
}

pub async fn status(http: &reqwest::Client, instance: &Instance, token: &str) -> u16 {
    http.get(format!("{}/projects", instance.base))
        .header("x-api-key", token)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// Polls every instance until each answers 401; the time each took since `since`.
pub async fn until_refused(
    http: &reqwest::Client,
    instances: &[Instance],
    token: &str,
    since: Instant,
    limit: Duration,
) -> Vec<Duration> {
    let mut took = Vec::new();
    for instance in instances {
        loop {
            let code = status(http, instance, token).await;
            if code == 401 {
                took.push(since.elapsed());
                break;
            }
            assert_eq!(code, 200, "only 200 until the revocation is seen");
            assert!(since.elapsed() < limit, "still accepted after {limit:?}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    took
}
