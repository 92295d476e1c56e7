//! Checks for stores that follow the SQL backends' input policy (NUL refused, labels at most
//! 1024 bytes, a 1 MiB name stored verbatim) and report driver failures with their cause: the
//! PostgreSQL, MariaDB and SQLite stores of `apikey-sqlx` and `apikey-diesel` run them, and so can
//! any store that shares that policy. They are not part of the suites' macros because the in-memory
//! store, for one, accepts NUL.

use std::error::Error as StdError;

use apikey_core::{AuditStore, ErrorKind, KeyFilter, KeyStore, Metadata, TenantScope};
use serde_json::json;

use crate::fixtures::{base_time, created, full_record, record, updated};

/// One hostile change to a record.
type Change<'a> = Box<dyn Fn(&mut apikey_core::KeyRecord) + 'a>;

fn assert_invalid(result: apikey_core::Result<()>, what: &str) {
    match result {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}"),
        Ok(()) => panic!("{what}: expected InvalidInput"),
    }
}

/// NUL characters and over-long labels are refused with `InvalidInput` on insert and update
/// (nothing written, no event, the neighbour untouched); a 1 MiB name is stored verbatim;
/// filters with NUL, `%`, `_` or quotes answer a correct empty page.
pub async fn hostile_input_is_refused_or_literal<S>(store: &S)
where
    S: KeyStore + AuditStore,
{
    let neighbour = full_record(None, base_time());
    store
        .insert(&neighbour, &created(&neighbour))
        .await
        .expect("insert neighbour");
    let nul = "a\0b";
    let huge = "é'%_\"".repeat(1 << 18);
    let variants: Vec<(&str, Change<'_>)> = vec![
        ("NUL in name", Box::new(|r| r.name = nul.into())),
        ("NUL in tag", Box::new(|r| r.tags = vec![nul.into()])),
        ("NUL in owner", Box::new(|r| r.owner = Some(nul.into()))),
        ("NUL in alias", Box::new(|r| r.aliases = vec![nul.into()])),
        (
            "NUL in metadata",
            Box::new(|r| {
                r.metadata = Metadata::from_value(json!({"k": [nul]})).expect("metadata");
            }),
        ),
        ("1 MiB tag", Box::new(|r| r.tags = vec![huge.clone()])),
        ("1 MiB owner", Box::new(|r| r.owner = Some(huge.clone()))),
    ];
    for (what, change) in &variants {
        let mut r = record(None, base_time());
        change(&mut r);
        assert_invalid(store.insert(&r, &created(&r)).await, what);
        assert_eq!(
            store.get(&TenantScope::All, r.id).await.unwrap(),
            None,
            "{what}"
        );
        let mut next = neighbour.clone();
        next.version += 1;
        change(&mut next);
        let event = updated(&neighbour, &next);
        assert_invalid(
            store
                .update(&TenantScope::All, neighbour.version, &next, &event)
                .await,
            what,
        );
        assert_eq!(
            store.get(&TenantScope::All, neighbour.id).await.unwrap(),
            Some(neighbour.clone()),
            "{what} changed a row"
        );
    }

    let mut big = record(None, base_time());
    big.name = huge.clone();
    store
        .insert(&big, &created(&big))
        .await
        .expect("1 MiB name");
    assert_eq!(
        store.get(&TenantScope::All, big.id).await.unwrap(),
        Some(big)
    );

    for probe in [nul, "%", "_", "'", "' OR '1'='1", "\\", huge.as_str()] {
        for filter in [
            KeyFilter {
                owner: Some(probe.into()),
                ..KeyFilter::default()
            },
            KeyFilter {
                tags: vec![probe.into()],
                ..KeyFilter::default()
            },
            KeyFilter {
                alias: Some(probe.into()),
                ..KeyFilter::default()
            },
        ] {
            let page = KeyStore::query(store, &TenantScope::All, &filter)
                .await
                .expect("query");
            assert!(page.items.is_empty(), "{probe:?} matched something");
        }
    }
    let legacy = store.legacy().expect("legacy lookup");
    for probe in [nul, "%", "________", "' OR 1=1 --"] {
        assert!(
            legacy
                .find_by_legacy_lookup(probe)
                .await
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(
        store.get(&TenantScope::All, neighbour.id).await.unwrap(),
        Some(neighbour)
    );
}

/// A duplicate lookup id is `Conflict` with the driver's unique violation kept as the source;
/// `is_unique_violation` recognises the driver's error.
pub async fn duplicate_lookup_id_keeps_the_driver_error<S, F>(store: &S, is_unique_violation: F)
where
    S: KeyStore + AuditStore,
    F: Fn(&(dyn StdError + 'static)) -> bool,
{
    let a = record(None, base_time());
    store.insert(&a, &created(&a)).await.expect("insert");
    let mut b = record(None, base_time());
    b.lookup_id = a.lookup_id;
    let err = store.insert(&b, &created(&b)).await.expect_err("duplicate");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let source = StdError::source(&err).expect("source kept");
    assert!(is_unique_violation(source), "{source:?}");
}

/// A store whose pool cannot reach its database answers `Unavailable`, with the cause kept.
pub async fn unreachable_is_unavailable<S: KeyStore>(store: &S) {
    let err = store
        .get(&TenantScope::All, apikey_core::KeyId::new())
        .await
        .expect_err("no database");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(StdError::source(&err).is_some());
}
