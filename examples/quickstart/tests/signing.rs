//! The quick start accepts signed requests for keys that require them: a key made with a signing
//! secret in its database (as `apikey create --signing required` does, with the pepper and KEK
//! files beside it) is refused with its token alone and served when the request is signed.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use apikey_core::secret_box::KekConfig;
use apikey_core::signing::{Signer, SigningMode};
use apikey_core::{ApiKeys, NewKey, PepperConfig, SecretBox};
use apikey_reqwest::ApiKeyMiddleware;
use apikey_sqlx::SqlxSqliteStore;
use apikey_sqlx::sqlx::sqlite::SqlitePoolOptions;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the quick start on a free port; returns it and the address it listens on.
fn start(dir: &Path) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(dir)
        .env("QUICKSTART_DB", dir.join("quickstart.db"))
        .env("QUICKSTART_ADDR", "127.0.0.1:0")
        .env("QUICKSTART_WORKERS", "1")
        .env("RUST_LOG", "warn")
        .env_remove("APIKEY_PEPPER")
        .env_remove("APIKEY_KEK")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the quickstart binary runs");
    let stdout = child.stdout.take().expect("piped stdout");
    let running = Running(child);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("utf-8 stdout");
        if let Some(url) = line.strip_prefix("listening on http://") {
            return (running, url.to_owned());
        }
    }
    panic!("the quick start did not start");
}

#[tokio::test]
async fn a_key_that_requires_signatures_is_served_only_signed() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = start(dir.path());

    // What `apikey create --signing required` does: the same database, pepper and KEK files.
    let db = dir.path().join("quickstart.db");
    let pool = SqlitePoolOptions::new()
        .connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let store = Arc::new(SqlxSqliteStore::new(pool));
    let peppers = PepperConfig::with_spec(None)
        .beside_sqlite(&db)
        .load_or_create(store.as_ref())
        .await
        .unwrap()
        .peppers;
    let (keks, _) = KekConfig::with_spec(None).load_beside(&db, false).unwrap();
    let keys = ApiKeys::builder(store)
        .peppers(peppers)
        .secret_box(SecretBox::new(keks))
        .build()
        .unwrap();
    let created = keys
        .manager()
        .create(
            NewKey::new("signed")
                .scopes(["projects:read"])
                .unwrap()
                .signing(SigningMode::Required),
        )
        .await
        .unwrap();
    let token = created.token.expose().to_owned();
    let signer = Signer::new(
        created.record.lookup_id.to_string(),
        created.signing_secret.unwrap(),
    );

    let url = format!("http://{addr}/projects");
    let plain = reqwest::Client::new()
        .get(&url)
        .header("x-api-key", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 401);
    let signed = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ApiKeyMiddleware::token(&token).unwrap().signing(signer))
        .build();
    let res = signed.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}
