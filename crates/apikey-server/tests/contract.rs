//! The contract test: schemathesis (PyPI, pinned by `.ci/python-tools.sh`) reads the live
//! service's `/openapi.json` and sends it requests generated from it, with every check on: no 5xx,
//! every status documented, every body matching its schema, schema-valid requests accepted and
//! schema-violating ones refused, no operation open without credentials, and stateful sequences
//! (create, then read, rotate, revoke what was created). A fixed seed and an example cap keep it
//! reproducible and well under a minute.

mod common;

use std::process::Command;

use common::github::{KEY_ID, document, key_pair};

/// Requests per operation and phase.
const MAX_EXAMPLES: &str = "40";
const SEED: &str = "20261205";

/// Resolves every name to one public (documentation-free, routable) address.
#[derive(Debug)]
struct Public;

#[async_trait::async_trait]
impl apikey_webhooks::HostResolver for Public {
    async fn lookup(&self, _host: &str) -> std::io::Result<Vec<std::net::IpAddr>> {
        Ok(vec![std::net::IpAddr::from([93, 184, 215, 14])])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)]
async fn schemathesis_finds_no_contract_violation() {
    let st = match std::env::var_os("APIKEY_SCHEMATHESIS") {
        Some(p) if std::path::Path::new(&p).exists() => p,
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "APIKEY_SCHEMATHESIS is not set: `source .ci/python-tools.sh` installs it"
            );
            eprintln!("skipped: `source .ci/python-tools.sh` installs schemathesis");
            return;
        }
    };
    // The receiver is configured, so schemathesis meets its signature check, not a 404.
    let dir = tempfile::tempdir().unwrap();
    let (_, public) = key_pair(dir.path(), "github");
    let file = dir.path().join("keys.json");
    std::fs::write(&file, document(&public)).unwrap();
    assert!(!KEY_ID.is_empty());
    let keys = apikey_server::GithubKeys::from_file(&file).unwrap();
    // Webhooks too, with every name resolving to one public address: no DNS is needed and
    // nothing is delivered (no dispatcher runs), so generated URLs reach no one.
    let s = common::start_on(|store, svc| {
        let hooks = apikey_webhooks::Webhooks::new(
            std::sync::Arc::new(store.clone()),
            std::sync::Arc::new(store.clone()),
            std::sync::Arc::new(apikey_core::secret_box::SecretBox::new(
                apikey_core::secret_box::Keks::random(),
            )),
            std::sync::Arc::new(apikey_core::SystemClock),
        )
        .resolver(std::sync::Arc::new(Public));
        svc.github_keys(keys)
            .webhooks(hooks)
            .request_log(std::sync::Arc::new(store.clone()))
            .analytics(std::sync::Arc::new(store.clone()))
    })
    .await;
    let url = format!("http://{}/openapi.json", s.addr);
    let auth = format!("Authorization: Bearer {}", s.root);
    let report = dir.path().join("report");
    let workdir = dir.path().to_owned();
    // Another seed explores further (`APIKEY_SCHEMATHESIS_SEED=7 cargo test …`); CI keeps one.
    let seed = std::env::var("APIKEY_SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.to_owned());
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(st)
            // Its caches (replayed crashes) stay in the temporary directory, not in the crate.
            .current_dir(&workdir)
            .arg("--config-file")
            .arg(config)
            .args(["run", &url, "-H", &auth])
            .args([
                "--checks",
                "all",
                "--seed",
                &seed,
                "--max-examples",
                MAX_EXAMPLES,
            ])
            .args([
                "--generation-database",
                "none",
                "--no-color",
                "--workers",
                "1",
            ])
            // The credential is the root key above; generated ones would only ever be refused.
            .args(["--generation-with-security-parameters", "false"])
            .arg("--report-dir")
            .arg(report)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found contract violations:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It really ran: every operation of the committed document was tested.
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json"),
        )
        .unwrap(),
    )
    .unwrap();
    // Every operation but the document's own.
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| *path != "/openapi.json")
        .map(|(_, p)| p.as_object().unwrap().len())
        .sum();
    // Whether it counts the document's own operation varies with what else it tests.
    let tested: usize = text
        .split("Tested: ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(tested >= operations, "{operations} operations:\n{text}");
}
