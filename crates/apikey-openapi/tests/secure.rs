//! `secure`: schemes from the credential sources, scopes per operation, and nothing written when
//! the document and the table disagree.

use apikey_core::http::CredentialConfig;
use apikey_core::routes::{Access, Route, RouteTable};
use apikey_openapi::{SecureError, secure};
use serde_json::{Value, json};
use utoipa::openapi::path::Operation;
use utoipa::openapi::{HttpMethod, OpenApi, OpenApiBuilder, PathItem, PathsBuilder};

fn doc(ops: &[(&str, HttpMethod)]) -> OpenApi {
    let mut paths = PathsBuilder::new();
    for (path, method) in ops {
        paths = paths.path(*path, PathItem::new(method.clone(), Operation::new()));
    }
    OpenApiBuilder::new().paths(paths).build()
}

fn json(doc: &OpenApi) -> Value {
    serde_json::to_value(doc).unwrap()
}

fn table(routes: Vec<Route>) -> RouteTable {
    routes.into_iter().collect()
}

#[test]
fn every_credential_source_is_a_scheme_and_each_is_an_alternative() {
    let mut d = doc(&[("/items", HttpMethod::Get)]);
    let t = table(vec![Route::declared(
        "GET",
        "/items",
        Access::scopes(["items:read"]).unwrap(),
    )])
    .with_credentials(
        CredentialConfig::default()
            .header("X-Key")
            .query("api_key")
            .cookie("k"),
    );
    let done = secure(&mut d, &t).unwrap();
    assert_eq!(done.operations, 1);
    assert!(done.undocumented.is_empty());
    let v = json(&d);
    assert_eq!(
        v["components"]["securitySchemes"],
        json!({
            "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "x-key"},
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
            "apiKeyCookie": {"type": "apiKey", "in": "cookie", "name": "k"},
        })
    );
    assert_eq!(
        v["paths"]["/items"]["get"]["security"],
        json!([
            {"apiKeyHeader": ["items:read"]},
            {"bearer": ["items:read"]},
            {"apiKeyQuery": ["items:read"]},
            {"apiKeyCookie": ["items:read"]},
        ])
    );
}

#[test]
fn public_denied_and_star_routes() {
    let mut d = doc(&[
        ("/health", HttpMethod::Get),
        ("/old", HttpMethod::Delete),
        ("/any", HttpMethod::Put),
    ]);
    let t = table(vec![
        Route::declared("GET", "/health", Access::Public),
        Route::declared("DELETE", "/old", Access::Denied),
        Route::declared("*", "/any", Access::scopes(["a:b"]).unwrap()),
        Route::declared("GET", "/hidden", Access::Public),
    ])
    .with_credentials(CredentialConfig::default().bearer(false));
    let done = secure(&mut d, &t).unwrap();
    assert_eq!(done.operations, 3);
    assert_eq!(done.undocumented.len(), 1);
    assert_eq!(done.undocumented[0].path.as_ref(), "/hidden");
    let v = json(&d);
    assert_eq!(v["paths"]["/health"]["get"]["security"], json!([]));
    assert_eq!(
        v["paths"]["/old"]["delete"]["security"],
        json!([{"apiKeyHeader": []}])
    );
    assert_eq!(v["paths"]["/old"]["delete"]["x-apikey-denied"], json!(true));
    assert_eq!(
        v["paths"]["/any"]["put"]["security"],
        json!([{"apiKeyHeader": ["a:b"]}])
    );
}

#[test]
fn an_operation_the_table_lacks_is_refused_and_nothing_is_written() {
    let mut d = doc(&[
        ("/items", HttpMethod::Get),
        ("/items/{id}", HttpMethod::Get),
    ]);
    let before = json(&d);
    let t = table(vec![
        Route::declared("GET", "/items", Access::Public),
        // Written the way another framework would: not the document's template.
        Route::declared("GET", "/items/:id", Access::Public),
    ]);
    let err = secure(&mut d, &t).unwrap_err();
    assert_eq!(
        err,
        SecureError::NotInTable(vec!["GET /items/{id}".to_owned()])
    );
    assert_eq!(json(&d), before);
}

#[test]
fn an_undeclared_route_is_refused_and_nothing_is_written() {
    let mut d = doc(&[("/items", HttpMethod::Get)]);
    let before = json(&d);
    let t = table(vec![Route::undeclared("*", "/items")]);
    let err = secure(&mut d, &t).unwrap_err();
    assert!(matches!(err, SecureError::Undeclared(_)), "{err}");
    assert!(err.to_string().contains("* /items"), "{err}");
    assert_eq!(json(&d), before);
}
