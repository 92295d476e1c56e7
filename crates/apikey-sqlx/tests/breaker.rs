//! The store circuit breaker in front of a real PostgreSQL that a proxy takes away: verifications
//! answer 503 while the store is gone, the first few after the driver gives up and then at once without
//! touching the store; readiness reports the store down; once the store is back and the cool-down
//! has passed (an injected clock), one probe closes the circuit and keys verify again.
//!
//! Needs `APIKEY_TEST_POSTGRES_URL` (a failure under `CI=true`, a noted skip elsewhere).

#![cfg(feature = "postgres")]

use std::sync::Arc;
use std::time::Duration;

use apikey_core::breaker::{BreakerConfig, BreakerState, BreakerStore};
use apikey_core::health::Status;
use apikey_core::{
    ApiKeys, Credential, KeyStore, ManualClock, NewKey, RequestContext, VerifierConfig,
};
use apikey_sqlx::SqlxPostgresStore;
use apikey_testkit::isolated::proxy::{Mode, Proxy};
use apikey_testkit::isolated::{service_url, unique_name, with_database};
use sqlx::{Connection, Executor};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_fails_fast_while_postgres_is_gone_and_closes_when_it_is_back() {
    let Some(admin) = service_url("APIKEY_TEST_POSTGRES_URL", "PostgreSQL") else {
        return;
    };
    let name = unique_name();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let direct = with_database(&admin, &name);
    SqlxPostgresStore::new(sqlx::PgPool::connect(&direct).await.unwrap())
        .migrate()
        .await
        .unwrap();

    // The service's pool goes through the proxy; its URL keeps the credentials of `admin`.
    let parsed = url_host_port(&direct);
    let proxy = Proxy::start(parsed.clone()).await;
    let through = direct.replacen(&parsed, &proxy.addr.to_string(), 1);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy(&through)
        .unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let store = Arc::new(
        BreakerStore::new(
            Arc::new(SqlxPostgresStore::new(pool)),
            BreakerConfig {
                failures: 3,
                cool_down: Duration::from_secs(10),
            },
            clock.clone(),
        )
        .unwrap(),
    );
    let keys = ApiKeys::builder(store.clone() as Arc<dyn KeyStore>)
        .random_peppers_keys_die_at_exit()
        .clock(clock.clone())
        .config(VerifierConfig {
            // Every verification reads the store.
            cache_ttl: Duration::ZERO,
            ..VerifierConfig::default()
        })
        .build()
        .unwrap();
    let token = keys
        .manager()
        .create(NewKey::new("svc"))
        .await
        .unwrap()
        .token
        .expose()
        .to_owned();
    let verify = || async {
        keys.verifier()
            .verify(Credential::new(&token), &RequestContext::new())
            .await
    };
    verify().await.expect("verifies while the store is up");

    proxy.set(Mode::Cut);
    for _ in 0..3 {
        assert_eq!(verify().await.unwrap_err().status(), 503);
    }
    assert!(matches!(store.breaker().state(), BreakerState::Open { .. }));
    let refused_before = store.breaker().counts().1;
    for _ in 0..20 {
        assert_eq!(verify().await.unwrap_err().status(), 503);
    }
    assert_eq!(
        store.breaker().counts().1 - refused_before,
        20,
        "every call while open is refused without asking the store"
    );
    assert_eq!(keys.health().ready().await.status, Status::Fail);

    proxy.set(Mode::Pass);
    assert_eq!(
        verify().await.unwrap_err().status(),
        503,
        "still open until the cool-down passes"
    );
    clock.advance(chrono::Duration::seconds(10));
    verify().await.expect("the probe goes through and succeeds");
    assert_eq!(
        store.breaker().state(),
        BreakerState::Closed { failures: 0 }
    );
    assert_eq!(keys.health().ready().await.status, Status::Pass);
    verify().await.unwrap();

    drop(keys);
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}

/// `host:port` of a `postgres://user@host:port/db` URL.
fn url_host_port(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    }
}
