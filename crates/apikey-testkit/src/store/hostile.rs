//! Hostile strings — quotes, LIKE wildcards, backslashes, NUL, unicode, trailing spaces, a 1 MiB
//! description — are stored verbatim or refused with `InvalidInput`, and never touch another row.

use apikey_core::store::KeyFilter;
use apikey_core::{AuditStore, ErrorKind, KeyRecord, KeyStore, Metadata, Result, TenantScope};
use chrono::TimeDelta;
use serde_json::json;

use crate::fixtures::{self, base_time};
use crate::store::support::{all_keys, assert_same, audit_of, ids, insert, oracle, page};

/// The strings every text field is tried with.
pub const HOSTILE: &[&str] = &[
    "'; DROP TABLE apikey_keys; --",
    "\" OR \"1\"=\"1",
    "it's",
    "%",
    "_",
    "a%b_c",
    "100%_done\\",
    "back\\slash",
    "\\'",
    "\\%",
    "$1 ? :name @p1",
    "{\"$gt\": \"\"}",
    "$where",
    "nul\0byte",
    "日本語 🔑 مرحبا e\u{301} \u{202e}rtl",
    "trailing space ",
    " ",
    "\t\n\r",
];

fn hostile_record(s: &str, ms: i64) -> KeyRecord {
    let mut r = fixtures::record(None, base_time() + TimeDelta::milliseconds(ms));
    r.name = s.to_owned();
    r.description = Some(s.to_owned());
    r.owner = Some(s.to_owned());
    r.group = Some(s.to_owned());
    r.environment = Some(s.to_owned());
    r.tags = vec![s.to_owned()];
    r.aliases = vec![s.to_owned()];
    r.state_reason = Some(s.to_owned());
    r.approved_by = Some(s.to_owned());
    r.template = Some(s.to_owned());
    r.created_by = Some(s.to_owned());
    r.metadata = Metadata::from_value(json!({ s: s, "k": [s] })).expect("small metadata");
    r
}

/// Either the write succeeded, or it was refused as `InvalidInput` (any other error fails).
fn accepted(result: Result<()>, what: &str) -> bool {
    match result {
        Ok(()) => true,
        Err(e) if e.kind() == ErrorKind::InvalidInput => false,
        Err(e) => {
            panic!("{what}: hostile input must be stored or refused as invalid input, got {e}")
        }
    }
}

/// Each hostile string in every text field (and a 1 MiB description) is inserted and then
/// written by `update`: stored values read back verbatim, refused ones leave no trace, and a
/// neighbour row is never altered.
pub async fn hostile_strings_are_stored_verbatim_or_rejected<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let neighbour = fixtures::full_record(None, base_time() - TimeDelta::seconds(1));
    insert(store, &neighbour).await;
    let mut stored = vec![neighbour.clone()];

    let mut cases: Vec<(String, KeyRecord)> = HOSTILE
        .iter()
        .zip(1..)
        .map(|(s, ms)| (format!("{s:?}"), hostile_record(s, ms)))
        .collect();
    let mut huge = fixtures::record(None, base_time() + TimeDelta::seconds(1));
    huge.description = Some("é\\'%_\"x".repeat((1 << 20) / 8));
    cases.push(("a 1 MiB description".to_owned(), huge));

    for (what, r) in cases {
        let created = fixtures::created(&r);
        if accepted(store.insert(&r, &created).await, &what) {
            assert_same(
                store
                    .get(&TenantScope::All, r.id)
                    .await
                    .expect("get")
                    .as_ref(),
                Some(&r),
                &what,
            );
            assert_same(
                store
                    .find_by_lookup_id(&r.lookup_id)
                    .await
                    .expect("find")
                    .as_ref(),
                Some(&r),
                &what,
            );
            stored.push(r);
        } else {
            assert_same(
                store
                    .get(&TenantScope::All, r.id)
                    .await
                    .expect("get")
                    .as_ref(),
                None,
                &what,
            );
            assert_eq!(
                audit_of(store, r.id).await,
                vec![],
                "{what} refused but its event was written"
            );
        }
        assert_same(
            store
                .get(&TenantScope::All, neighbour.id)
                .await
                .expect("get")
                .as_ref(),
            Some(&neighbour),
            &format!("inserting {what} altered another row"),
        );
    }

    // The same strings written by `update` over a plain record.
    // In a tenant of its own: the inserted keys above hold these strings as aliases.
    let target = fixtures::record(
        Some(&fixtures::tenant("updates")),
        base_time() + TimeDelta::seconds(2),
    );
    insert(store, &target).await;
    let mut current = target.clone();
    for (i, s) in HOSTILE.iter().enumerate() {
        let mut next = hostile_record(s, 0);
        next.id = current.id;
        next.tenant_id.clone_from(&current.tenant_id);
        next.lookup_id = current.lookup_id;
        next.lineage_id = current.lineage_id;
        next.created_at = current.created_at;
        next.version = current.version + 1;
        next.updated_at = base_time() + TimeDelta::seconds(3 + i64::try_from(i).expect("small"));
        let event = fixtures::updated(&current, &next);
        let what = format!("update to {s:?}");
        if accepted(
            store
                .update(&TenantScope::All, current.version, &next, &event)
                .await,
            &what,
        ) {
            current = next;
        }
        assert_same(
            store
                .get(&TenantScope::All, current.id)
                .await
                .expect("get")
                .as_ref(),
            Some(&current),
            &what,
        );
        assert_same(
            store
                .get(&TenantScope::All, neighbour.id)
                .await
                .expect("get")
                .as_ref(),
            Some(&neighbour),
            &format!("{what} altered another row"),
        );
    }
    stored.push(current);
    let mut want = stored;
    want.sort_by_key(|r| (r.created_at, r.id));
    assert_eq!(
        ids(&all_keys(store, &TenantScope::All).await),
        ids(&want),
        "rows after hostile writes"
    );
}

/// Filter values with LIKE wildcards, quotes, backslashes and trailing spaces match literally:
/// owner `a_c` does not find `abc`, tag `%` does not find everything, `x` does not find `x `.
pub async fn hostile_filter_values_match_literally<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let plain = [
        "abc",
        "a%c",
        "x",
        "x ",
        "ABC",
        "it's",
        "back\\slash",
        "backslash",
    ];
    let mut data = Vec::new();
    for (s, ms) in plain.iter().zip(0..) {
        let r = hostile_record(s, ms);
        insert(store, &r).await;
        data.push(r);
    }
    for (s, ms) in HOSTILE.iter().zip(100..) {
        // A second key with the same strings: in another tenant, where its alias is free.
        let mut r = hostile_record(s, ms);
        r.tenant_id = Some(fixtures::tenant("second"));
        if accepted(
            store.insert(&r, &fixtures::created(&r)).await,
            &format!("{s:?}"),
        ) {
            data.push(r);
        }
    }
    let probes = [
        "a_c",
        "a%c",
        "%",
        "_",
        "abc",
        "x",
        "x ",
        "it's",
        "it''s",
        "back\\slash",
        "back\\\\slash",
        "\\%",
        "%%",
    ];
    for probe in probes.iter().chain(HOSTILE.iter()) {
        let value = Some((*probe).to_owned());
        for filter in [
            KeyFilter {
                owner: value.clone(),
                ..KeyFilter::default()
            },
            KeyFilter {
                group: value.clone(),
                ..KeyFilter::default()
            },
            KeyFilter {
                environment: value.clone(),
                ..KeyFilter::default()
            },
            KeyFilter {
                alias: value.clone(),
                ..KeyFilter::default()
            },
            KeyFilter {
                tags: vec![(*probe).to_owned()],
                ..KeyFilter::default()
            },
        ] {
            let want = oracle(&data, &TenantScope::All, &filter);
            let got = page(store, &TenantScope::All, &filter).await.items;
            assert_eq!(ids(&got), ids(&want), "filter {filter:?}");
        }
    }
}
