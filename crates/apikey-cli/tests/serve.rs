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
        // The recorder was installed before the verifiers were built: the verification counts.
        let scrape = || async {
            http.get(format!("{base}/metrics"))
                .header("authorization", format!("Bearer {root}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        };
        let metrics = scrape().await;
        assert!(
            metrics.contains("apikey_verifications_total{outcome=\"admitted\"}"),
            "{metrics}"
        );
        // The webhook dispatcher (on: a KEK was made beside the database) sets its backlog gauge
        // after each run, every second; no subscription, so nothing is pending.
        let mut scraped = metrics;
        for _ in 0..50 {
            if scraped.contains("apikey_webhook_deliveries_pending") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            scraped = scrape().await;
        }
        assert!(
            scraped.contains("apikey_webhook_deliveries_pending 0"),
            "{scraped}"
        );
        // And the usage it flushed at the interval or shutdown is served at /v1/usage.
        let usage = http
            .get(format!("{base}/v1/usage"))
            .header("authorization", format!("Bearer {root}"))
            .send()
            .await
            .unwrap();
        assert_eq!(usage.status(), 200);
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

/// A webhook subscribed over HTTP gets the key created over HTTP, signed so that the Standard
/// Webhooks reference library accepts it: `apikey serve` runs the delivery job itself.
#[test]
fn serve_delivers_webhooks_it_was_asked_for() {
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let got: Arc<Mutex<Vec<(axum::http::HeaderMap, axum::body::Bytes)>>> = Arc::default();
    let keep = got.clone();
    let hook = rt.block_on(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |h: axum::http::HeaderMap, b: axum::body::Bytes| {
                let keep = keep.clone();
                async move {
                    keep.lock().unwrap().push((h, b));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/hook")
    });
    let served =
        common::serve::Served::start(dir.path(), &["--init"], &[("APIKEY_PEPPER", PEPPER)]);
    let root = served.root.clone().unwrap();
    let base = served.base.clone();
    let secret = rt.block_on(async {
        let http = reqwest::Client::new();
        let made: serde_json::Value = http
            .post(format!("{base}/v1/webhooks"))
            .bearer_auth(&root)
            .json(&serde_json::json!({
                "url": hook, "events": ["key.created"],
                "allow_http": true, "allow_private_network": true,
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = made["secret"].as_str().unwrap_or_else(|| panic!("{made}"));
        let status = http
            .post(format!("{base}/v1/keys"))
            .bearer_auth(&root)
            .json(&serde_json::json!({"name": "hooked"}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 201);
        // The job runs every second: a delivery within ten.
        for _ in 0..100 {
            if !got.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        secret.to_owned()
    });
    let received = got.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "one key.created");
    let (headers, body) = &received[0];
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(body, headers)
        .expect("the reference verifier accepts it");
    assert!(String::from_utf8_lossy(body).contains("hooked"));
    assert_eq!(served.stop(), Some(0), "a graceful stop");
}

/// `--config FILE`: the database, pepper and CORS origin come from a file of environment
/// variables; a flag beats it.
#[test]
fn serve_reads_its_settings_from_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("apikey.env");
    std::fs::write(
        &conf,
        format!(
            "# apikey serve\nDATABASE_URL=sqlite://from-config.db\nAPIKEY_PEPPER={PEPPER}\nAPIKEY_CORS_ORIGINS=https://admin.example.com\nAPIKEY_LISTEN=127.0.0.1:1\n"
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // Served::start passes --listen 127.0.0.1:0, which beats the file's port 1.
    let served = common::serve::Served::start(
        dir.path(),
        &["--init", "--config", conf.to_str().unwrap()],
        &[],
    );
    assert!(
        dir.path().join("from-config.db").exists(),
        "the file's database"
    );
    assert!(
        !served.base.ends_with(":1"),
        "the flag's address: {}",
        served.base
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let allowed = rt.block_on(async {
        reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, format!("{}/v1/keys", served.base))
            .header("origin", "https://admin.example.com")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap()
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    });
    assert_eq!(allowed.as_deref(), Some("https://admin.example.com"));
    assert_eq!(served.stop(), Some(0));

    let missing = apikey(dir.path(), &["--config", "nope.env", "list"], &[]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("nope.env"), "{}", missing.stderr);
}
