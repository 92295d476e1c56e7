//! `apikey requests` on SQLite: records a service wrote (here through the store, as the
//! `RequestLog` writer does) are listed newest first, filtered by key, network, outcome and time,
//! a page at a time; bad filters are usage errors; `jobs list` has the retention job.

mod common;

use std::path::Path;

use apikey_core::request_log::{ADMITTED, RequestFacts, RequestLogStore, RequestRecord};
use apikey_core::{KeyId, Result};
use apikey_sqlx::SqlxSqliteStore;
use apikey_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use chrono::{Duration, Utc};
use common::{PEPPER, apikey};

const ENV: [(&str, &str); 1] = [("APIKEY_PEPPER", PEPPER)];

fn record(ago_s: i64, key: Option<KeyId>, ip: &str, status: u16, outcome: &str) -> RequestRecord {
    let facts = RequestFacts {
        method: "GET",
        route: Some("/projects/{id}"),
        path: "/projects/7",
        client_ip: Some(ip.parse().unwrap()),
        request_id: "r",
        user_agent: None,
    };
    let at = Utc::now() - Duration::seconds(ago_s);
    RequestRecord::new(
        at,
        key,
        None,
        &facts,
        status,
        outcome,
        900,
        at + Duration::days(30),
    )
}

async fn write(db: &Path, records: &[RequestRecord]) -> Result<u64> {
    let pool = SqlitePoolOptions::new()
        .connect_with(SqliteConnectOptions::new().filename(db))
        .await
        .unwrap();
    let store = SqlxSqliteStore::new(pool.clone());
    let n = store.append_requests(records).await;
    pool.close().await;
    n
}

fn ids(run: &common::Run) -> Vec<String> {
    run.json()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn requests_lists_filters_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let created = apikey(d, &["create", "--name", "svc", "--json"], &ENV).expect(0);
    let id = created.json()["key"]["id"].as_str().unwrap().to_owned();
    let key: KeyId = id.parse().unwrap();
    let (a, b, c) = (
        record(30, Some(key), "203.0.113.7", 200, ADMITTED),
        record(20, Some(key), "198.51.100.1", 429, "rate_limited"),
        record(10, None, "2001:db8::1", 401, "unknown"),
    );
    write(&d.join("apikeys.db"), &[a.clone(), b.clone(), c.clone()])
        .await
        .unwrap();
    let s = |r: &RequestRecord| r.id.to_string();

    let all = apikey(d, &["requests", "--json"], &ENV).expect(0);
    assert_eq!(ids(&all), vec![s(&c), s(&b), s(&a)], "newest first");
    assert!(all.json()["next"].is_null());
    let by_key = apikey(d, &["requests", "--key", &id, "--json"], &ENV).expect(0);
    assert_eq!(ids(&by_key), vec![s(&b), s(&a)]);
    let by_net = apikey(d, &["requests", "--ip", "203.0.113.0/24", "--json"], &ENV).expect(0);
    assert_eq!(ids(&by_net), vec![s(&a)]);
    let refused = apikey(d, &["requests", "--outcome", "rejected", "--json"], &ENV).expect(0);
    assert_eq!(ids(&refused), vec![s(&c), s(&b)]);
    let recent = apikey(d, &["requests", "--since", "15s", "--json"], &ENV).expect(0);
    assert_eq!(ids(&recent), vec![s(&c)]);

    let first = apikey(d, &["requests", "--limit", "2", "--json"], &ENV).expect(0);
    assert_eq!(ids(&first), vec![s(&c), s(&b)]);
    let next = first.json()["next"].as_str().unwrap().to_owned();
    let second = apikey(
        d,
        &["requests", "--limit", "2", "--before", &next, "--json"],
        &ENV,
    )
    .expect(0);
    assert_eq!(ids(&second), vec![s(&a)]);

    let table = apikey(d, &["requests"], &ENV).expect(0);
    assert!(table.stdout.contains("rate_limited") && table.stdout.contains("203.0.113.7"));
    assert!(!table.stdout.contains("api_key"));

    for bad in [
        vec!["requests", "--ip", "nope"],
        vec!["requests", "--before", "garbage"],
        vec!["requests", "--limit", "0"],
        vec![
            "requests",
            "--since",
            "2030-01-02T00:00:00Z",
            "--until",
            "2030-01-01T00:00:00Z",
        ],
    ] {
        apikey(d, &bad, &ENV).expect(2);
    }
    let jobs = apikey(d, &["jobs", "list"], &ENV).expect(0);
    assert!(
        jobs.stdout.contains("requests.retention"),
        "{}",
        jobs.stdout
    );
}
