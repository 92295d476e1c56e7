//! The quick start's OpenAPI document: the snapshot in `openapi.json` is current, the document is
//! valid OpenAPI 3.1 by a validator we did not write (`openapi-spec-validator` from PyPI, installed
//! by `.ci/python-tools.sh`), and each operation's `security` carries its route's scopes.
//!
//! `UPDATE_SNAPSHOTS=1 cargo test -p quickstart --test openapi` rewrites the snapshot.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use apikey_axum::ApiKeyLayer;
use apikey_core::ApiKeys;
use apikey_memory::MemoryStore;
use serde_json::{Value, json};

fn document() -> String {
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap();
    let routes = quickstart::routes(ApiKeyLayer::new(keys.verifier().clone()));
    quickstart::openapi(&routes)
        .unwrap()
        .to_pretty_json()
        .unwrap()
        + "\n"
}

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

#[test]
fn the_snapshot_is_current() {
    let doc = document();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(snapshot_path(), &doc).unwrap();
    }
    let stored = std::fs::read_to_string(snapshot_path()).unwrap_or_default();
    assert!(
        stored == doc,
        "examples/quickstart/openapi.json is stale; rerun with UPDATE_SNAPSHOTS=1 and commit it"
    );
}

#[test]
fn operations_carry_the_scopes_their_routes_declare() {
    let doc: Value = serde_json::from_str(&document()).unwrap();
    let paths = &doc["paths"];
    assert_eq!(
        paths["/projects"]["get"]["security"],
        json!([{"apiKeyHeader": ["projects:read"]}, {"bearer": ["projects:read"]}])
    );
    assert_eq!(
        paths["/projects"]["post"]["security"],
        json!([{"apiKeyHeader": ["projects:write"]}, {"bearer": ["projects:write"]}])
    );
    assert_eq!(paths["/open"]["get"]["security"], json!([]));
    assert_eq!(paths["/openapi.json"]["get"]["security"], json!([]));
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["apiKeyHeader"],
        json!({"type": "apiKey", "in": "header", "name": "x-api-key"})
    );
    assert_eq!(
        schemes["bearer"],
        json!({"type": "http", "scheme": "bearer"})
    );
}

/// The validator from `.ci/python-tools.sh`; in CI its absence fails the test, elsewhere the
/// test says how to install it and skips, as the database suites do.
#[allow(clippy::print_stderr)]
fn validator() -> Option<PathBuf> {
    let path = std::env::var_os("APIKEY_OPENAPI_VALIDATOR").map(PathBuf::from);
    match path {
        Some(p) if p.exists() => Some(p),
        _ => {
            assert!(
                !apikey_testkit::isolated::in_ci(),
                "APIKEY_OPENAPI_VALIDATOR is not set: `source .ci/python-tools.sh` installs it"
            );
            eprintln!("skipped: `source .ci/python-tools.sh` installs openapi-spec-validator");
            None
        }
    }
}

#[test]
fn the_document_is_valid_openapi() {
    let Some(validator) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, document()).unwrap();
    let out = Command::new(&validator).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // And it does refuse a broken one, so a pass above means something.
    let broken = document().replace("\"openapi\": \"3.1.0\"", "\"openapi\": 3");
    std::fs::write(&file, broken).unwrap();
    let out = Command::new(&validator).arg(&file).output().unwrap();
    assert!(
        !out.status.success(),
        "the validator accepted a broken document"
    );
}
