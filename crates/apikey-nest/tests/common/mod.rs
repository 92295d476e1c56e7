//! What every source's tests share: keys written the way nest-api-key-auth writes them, and one
//! scenario (dry run, import, the original tokens through an axum guard, a second import).
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;

use apikey_axum::ApiKeyLayer;
use apikey_core::{ApiKeys, KeyFilter, KeyStore, Peppers, TenantScope, TokenFormat};
use apikey_nest::{NestOptions, NestReport, Shape, import_nest};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::get;
use http::{Request, StatusCode};
use tower::ServiceExt as _;

/// The service URL in `var`; a test without its service fails, since passing without it proves
/// nothing.
pub fn service_url(var: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| panic!("{var} is not set (source .ci/services.sh or .ci/mongodb.sh)"))
}

/// A name no other test uses.
pub fn unique_name() -> String {
    format!("apikey_nest_{}", uuid::Uuid::new_v4().simple())
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with ://");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let query = tail.find('?').map_or("", |q| &tail[q..]);
    format!("{scheme}://{authority}/{db}{query}")
}

/// Why a row is expected to fail, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    BadScope,
    UnknownHash,
    BadCidr,
}

/// One key as the library stores it, with the token it handed out.
#[derive(Debug, Clone)]
pub struct SourceKey {
    pub id: String,
    pub name: String,
    pub token: String,
    pub prefix: String,
    pub hashed: String,
    pub scopes: Vec<String>,
    pub revoked: bool,
    pub fault: Fault,
}

/// A 64-hex token, as `randomBytes(32).toString('hex')` makes.
pub fn token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn key(id: &str, name: &str, scopes: &[&str], fault: Fault, revoked: bool) -> SourceKey {
    let token = token();
    let hashed = if fault == Fault::UnknownHash {
        // argon2i: an argon2 the library could be configured with, and we do not verify.
        "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".to_owned()
    } else {
        // Cost 10, the library's default.
        bcrypt::hash(&token, 10).unwrap()
    };
    SourceKey {
        id: id.into(),
        name: name.into(),
        prefix: token[..8].to_owned(),
        token,
        hashed,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        revoked,
        fault,
    }
}

/// Two good keys, one revoked, one with a bad scope, one with an unknown hash kind; with
/// `with_cidr`, one more whose IP list has a bad CIDR (only the full Prisma schema has IP lists).
pub fn source_keys(with_cidr: bool) -> Vec<SourceKey> {
    let mut keys = vec![
        key(
            "ck1good",
            "billing",
            &["users:read", "users:write"],
            Fault::None,
            false,
        ),
        key("ck2good", "reports", &["reports:read"], Fault::None, false),
        key("ck3revoked", "old", &["users:read"], Fault::None, true),
        key(
            "ck4scope",
            "badscope",
            &["users read"],
            Fault::BadScope,
            false,
        ),
        key(
            "ck5hash",
            "badhash",
            &["users:read"],
            Fault::UnknownHash,
            false,
        ),
    ];
    if with_cidr {
        keys.push(key(
            "ck6cidr",
            "badcidr",
            &["users:read"],
            Fault::BadCidr,
            false,
        ));
    }
    keys
}

/// The IP allow list a row gets: a valid one, or for [`Fault::BadCidr`] one entry that is not.
pub fn whitelist(k: &SourceKey) -> Vec<String> {
    if k.fault == Fault::BadCidr {
        vec!["10.0.0.0/8".into(), "10.0.0.0/33".into()]
    } else {
        Vec::new()
    }
}

/// An `ApiKeys` on `store` whose verifier accepts legacy tokens, with a limiter for the imported
/// rates and quotas.
pub fn keys_on(store: Arc<dyn KeyStore>) -> ApiKeys {
    let limiter = apikey_memory::MemoryLimiter::new(Arc::new(apikey_core::SystemClock));
    ApiKeys::builder(store)
        .limiter(Arc::new(limiter))
        .peppers(Peppers::single("test", b"a test pepper of enough length".to_vec()).unwrap())
        .token_format(TokenFormat::default().with_legacy(true))
        .build()
        .unwrap()
}

/// An `ApiKeys` on a fresh memory store.
pub fn memory_keys() -> ApiKeys {
    keys_on(Arc::new(apikey_memory::MemoryStore::new()))
}

/// The status a guarded route answers for `token` from 127.0.0.1.
pub async fn guarded_status(keys: &ApiKeys, token: &str) -> StatusCode {
    guarded_status_from(keys, token, [127, 0, 0, 1]).await
}

/// The status a guarded route answers for `token` from `peer`.
pub async fn guarded_status_from(keys: &ApiKeys, token: &str, peer: [u8; 4]) -> StatusCode {
    let app = Router::new()
        .route("/orders", get(|| async { "ok" }))
        .layer(ApiKeyLayer::new(keys.verifier().clone()));
    let req = Request::get("/orders")
        .header("x-api-key", token)
        .extension(ConnectInfo(SocketAddr::from((peer, 40_000))))
        .body(Body::empty())
        .unwrap();
    app.oneshot(req).await.unwrap().status()
}

async fn stored(keys: &ApiKeys) -> usize {
    keys.manager()
        .export(&TenantScope::All, &KeyFilter::default())
        .await
        .unwrap()
        .keys
        .len()
}

fn ids(rows: &[apikey_nest::ImportedRow]) -> Vec<&str> {
    let mut v: Vec<&str> = rows.iter().map(|r| r.source_id.as_str()).collect();
    v.sort_unstable();
    v
}

/// Dry run, import, tokens through the guard, second import: the whole way off the library.
pub async fn import_and_verify(keys: &ApiKeys, url: &str, shape: Shape, source: &[SourceKey]) {
    let good: Vec<&SourceKey> = source.iter().filter(|k| k.fault == Fault::None).collect();
    let mut good_ids: Vec<&str> = good.iter().map(|k| k.id.as_str()).collect();
    good_ids.sort_unstable();

    let dry = import_nest(keys.manager(), url, &NestOptions::new().dry_run(true))
        .await
        .unwrap();
    assert_eq!(dry.shape, shape);
    assert!(dry.dry_run);
    assert_eq!(
        ids(&dry.imported),
        good_ids,
        "a dry run reports what it would import"
    );
    assert_failures(&dry, source);
    assert_eq!(stored(keys).await, 0, "a dry run writes nothing");
    for k in &good {
        assert_eq!(
            guarded_status(keys, &k.token).await,
            StatusCode::UNAUTHORIZED
        );
    }

    let report = import_nest(keys.manager(), url, &NestOptions::new())
        .await
        .unwrap();
    assert_eq!(ids(&report.imported), good_ids);
    assert!(report.skipped.is_empty());
    assert!(report.crowded_legacy.is_empty());
    assert_failures(&report, source);
    assert_eq!(stored(keys).await, good.len());

    for k in &good {
        let want = if k.revoked {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        assert_eq!(
            guarded_status(keys, &k.token).await,
            want,
            "token of {}",
            k.id
        );
        // Re-hashed on first use: it keeps working.
        assert_eq!(
            guarded_status(keys, &k.token).await,
            want,
            "token of {}",
            k.id
        );
    }
    let mut wrong = good[0].token.clone();
    wrong.replace_range(60.., "0000");
    assert_eq!(guarded_status(keys, &wrong).await, StatusCode::UNAUTHORIZED);
    for k in source.iter().filter(|k| k.fault != Fault::None) {
        assert_eq!(
            guarded_status(keys, &k.token).await,
            StatusCode::UNAUTHORIZED
        );
    }

    let again = import_nest(keys.manager(), url, &NestOptions::new())
        .await
        .unwrap();
    assert!(again.imported.is_empty(), "{:?}", again.imported);
    assert_eq!(
        ids(&again.skipped),
        good_ids,
        "a second import skips what is there"
    );
    assert_eq!(stored(keys).await, good.len());
}

/// Each faulty row is reported once, with its reason, and shows no secret material.
fn assert_failures(report: &NestReport, source: &[SourceKey]) {
    let faulty: Vec<&SourceKey> = source.iter().filter(|k| k.fault != Fault::None).collect();
    assert_eq!(report.failed.len(), faulty.len(), "{:?}", report.failed);
    for k in faulty {
        let f = report
            .failed
            .iter()
            .find(|f| f.source_id == k.id)
            .unwrap_or_else(|| panic!("{} not reported: {:?}", k.id, report.failed));
        let expect = match k.fault {
            Fault::BadScope => "scope",
            Fault::UnknownHash => "argon2i",
            Fault::BadCidr => "10.0.0.0/33",
            Fault::None => unreachable!(),
        };
        assert!(f.reason.contains(expect), "{}: {}", k.id, f.reason);
    }
    let shown = format!("{report:?}");
    for k in source {
        assert!(!shown.contains(&k.hashed) && !shown.contains(&k.prefix));
    }
}
