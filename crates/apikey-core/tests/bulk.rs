//! Bulk work on the manager (over the memory store, whose store contracts the testkit suite
//! checks on every backend): creation per row and all-or-none, tenant key limits row by row and
//! under concurrency, and changes by filter with dry runs.

mod common;

use std::sync::Arc;

use apikey_core::catalog::{CatalogKind, Preset};
use apikey_core::{
    BulkAction, BulkOptions, Change, Credential, ErrorKind, KeyFilter, KeyLimit, KeyLimitReached,
    KeyState, KeyUpdate, NewKey, RequestContext, TenantScope, TenantSettings,
};
use apikey_memory::MemoryStore;
use common::programme::{count, keys, t};

#[tokio::test]
async fn bulk_create_per_row_writes_the_good_rows_and_reports_each_bad_one() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    m.create(NewKey::new("holder").aliases(["taken"]))
        .await
        .expect("holder");
    let mut unknown = NewKey::new("unknown template");
    unknown.template = Some("nope".to_owned());
    let rows = vec![
        NewKey::new("r0"),
        NewKey::new(""),
        unknown,
        NewKey::new("r3").aliases(["taken"]),
        NewKey::new("r4").tenant(t("acme")),
        NewKey::new("r5"),
    ];
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = Arc::clone(&done);
    let options = BulkOptions {
        progress: Some(Arc::new(move |n| {
            seen.store(n, std::sync::atomic::Ordering::SeqCst)
        })),
        ..BulkOptions::default()
    };
    let out = m
        .bulk_create(rows, &options, Change::by("import"))
        .await
        .expect("bulk");
    assert_eq!(out.rows.len(), 6);
    assert_eq!(out.created(), 3);
    let failed: Vec<usize> = out
        .rows
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.row))
        .collect();
    assert_eq!(failed, [1, 2, 3], "each bad row, by its index");
    let kinds: Vec<ErrorKind> = out
        .rows
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.error.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            ErrorKind::InvalidInput,
            ErrorKind::NotFound,
            ErrorKind::Conflict
        ]
    );
    let names: Vec<&str> = out
        .rows
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|c| c.record.name.as_str()))
        .collect();
    assert_eq!(names, ["r0", "r4", "r5"], "input order");
    assert_eq!(count(&store).await, 4);
    assert_eq!(
        done.load(std::sync::atomic::Ordering::SeqCst),
        6,
        "progress reached every row"
    );
    for c in out.rows.iter().flatten() {
        keys.verifier()
            .verify(Credential::new(c.token.expose()), &RequestContext::new())
            .await
            .expect("each token works");
    }
}

#[tokio::test]
async fn bulk_create_atomic_writes_all_or_nothing() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    let atomic = BulkOptions {
        atomic: true,
        ..BulkOptions::default()
    };
    let rows = (0..50)
        .map(|i| NewKey::new(format!("k{i}")).aliases([format!("a{i}")]))
        .collect::<Vec<_>>();
    let mut bad = rows.clone();
    bad[37] = NewKey::new("k37").aliases(["a3"]);
    let err = m
        .bulk_create(bad, &atomic, Change::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(
        err.message().contains("row 38"),
        "names the row, 1-based: {err}"
    );
    let mut invalid = rows.clone();
    invalid[5].name = String::new();
    let err = m
        .bulk_create(invalid, &atomic, Change::new())
        .await
        .unwrap_err();
    assert!(err.message().starts_with("row 6:"), "{err}");
    assert_eq!(count(&store).await, 0, "nothing written");
    let out = m
        .bulk_create(rows, &atomic, Change::new())
        .await
        .expect("atomic");
    assert_eq!(out.created(), 50);
    assert_eq!(count(&store).await, 50);
    let mixed = vec![NewKey::new("x"), NewKey::new("y").tenant(t("acme"))];
    assert!(
        m.bulk_create(mixed, &atomic, Change::new())
            .await
            .unwrap_err()
            .message()
            .contains("one tenant")
    );
}

#[tokio::test]
async fn bulk_create_honours_the_tenant_limit_row_by_row_and_atomically() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    m.set_settings(
        None,
        TenantSettings {
            max_keys_per_tenant: Some(3),
            ..TenantSettings::default()
        },
        0,
        Change::new(),
    )
    .await
    .expect("settings");
    let rows = || {
        (0..5)
            .map(|i| NewKey::new(format!("k{i}")))
            .collect::<Vec<_>>()
    };
    let atomic = BulkOptions {
        atomic: true,
        ..BulkOptions::default()
    };
    let err = m
        .bulk_create(rows(), &atomic, Change::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitReached);
    assert_eq!(count(&store).await, 0);
    let out = m
        .bulk_create(rows(), &BulkOptions::default(), Change::new())
        .await
        .expect("per row");
    assert_eq!(out.created(), 3, "the limit, and not one more");
    for r in &out.rows[3..] {
        let e = r.as_ref().expect_err("over the limit");
        assert_eq!(
            KeyLimitReached::of(&e.error).expect("names it").limit,
            KeyLimit::PerTenant(None)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_at_the_limit_admit_exactly_the_limit() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager().clone();
    m.set_settings(
        None,
        TenantSettings {
            max_keys_per_owner: Some(2),
            ..TenantSettings::default()
        },
        0,
        Change::new(),
    )
    .await
    .expect("settings");
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let m = m.clone();
            tokio::spawn(async move { m.create(NewKey::new(format!("k{i}")).owner("ann")).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("join") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::LimitReached, "{e}"),
        }
    }
    assert_eq!(ok, 2);
}

#[tokio::test]
async fn bulk_change_dry_runs_skips_what_does_not_apply_and_changes_the_rest() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    let scope = TenantScope::All;
    for i in 0..3 {
        m.create(NewKey::new(format!("outside{i}")))
            .await
            .expect("not in the group");
    }
    m.save_preset(
        None,
        Preset::new(CatalogKind::Group, "ops"),
        0,
        Change::new(),
    )
    .await
    .expect("group");
    let mut ids = Vec::new();
    for i in 0..5 {
        let k = m
            .create(NewKey::new(format!("o{i}")).group("ops"))
            .await
            .expect("o");
        ids.push(k.record.id);
    }
    m.revoke(&scope, ids[0], Change::new())
        .await
        .expect("one revoked already");
    let filter = KeyFilter {
        group: Some("ops".to_owned()),
        ..KeyFilter::default()
    };
    let dry = BulkOptions {
        dry_run: true,
        ..BulkOptions::default()
    };
    let plan = m
        .bulk_change(&scope, &filter, &BulkAction::Revoke, &dry, Change::new())
        .await
        .expect("dry run");
    assert_eq!(
        (plan.targeted.len(), plan.skipped.len(), plan.changed.len()),
        (4, 1, 0)
    );
    let revoked = |s: &MemoryStore| {
        let s = s.clone();
        async move {
            apikey_core::KeyStore::query(
                &s,
                &TenantScope::All,
                &KeyFilter {
                    states: vec![KeyState::Revoked],
                    ..KeyFilter::default()
                },
            )
            .await
            .expect("q")
            .items
            .len()
        }
    };
    assert_eq!(revoked(&store).await, 1, "a dry run changes nothing");
    let update = BulkAction::Update(Box::new(KeyUpdate {
        environment: Some(Some("staging".to_owned())),
        ..KeyUpdate::default()
    }));
    let out = m
        .bulk_change(
            &scope,
            &filter,
            &update,
            &BulkOptions::default(),
            Change::new(),
        )
        .await
        .expect("update");
    assert_eq!(out.changed.len(), 4, "revoked keys are not updated");
    assert!(
        out.changed
            .iter()
            .all(|r| r.environment.as_deref() == Some("staging"))
    );
    let out = m
        .bulk_change(
            &scope,
            &filter,
            &BulkAction::Suspend,
            &BulkOptions::default(),
            Change::new(),
        )
        .await
        .expect("suspend");
    assert_eq!(out.changed.len(), 4);
    let out = m
        .bulk_change(
            &scope,
            &filter,
            &BulkAction::Revoke,
            &BulkOptions::default(),
            Change::by("ops"),
        )
        .await
        .expect("revoke");
    assert_eq!((out.changed.len(), out.failed.len()), (4, 0));
    assert_eq!(
        revoked(&store).await,
        5,
        "the keys outside the group are untouched"
    );
    let empty = BulkAction::Update(Box::default());
    assert!(
        m.bulk_change(
            &scope,
            &filter,
            &empty,
            &BulkOptions::default(),
            Change::new()
        )
        .await
        .is_err()
    );
}
