//! Every `KeyFilter` field, checked against `KeyFilter::matches` as the oracle on a fixed data set.

use apikey_core::store::{Cursor, KeyFilter, MAX_PAGE_SIZE};
use apikey_core::{AuditStore, KeyRecord, KeyState, KeyStore, Scope, ScopeSet, TenantScope};
use chrono::{DateTime, TimeDelta, Utc};

use crate::fixtures::{self, base_time, tenant};
use crate::store::support::{ids, insert, oracle, page};

const TAGS: [&str; 8] = ["prod", "Prod", "eu", "us", "%", "_", "a_c", "abc"];
const SCOPES: [&str; 5] = ["a:read", "a:write", "b:*", "b:read", "c:x"];

fn minutes(m: i64) -> DateTime<Utc> {
    base_time() + TimeDelta::minutes(m)
}

fn pick<T: Copy>(i: usize, pool: &[T]) -> T {
    pool[i % pool.len()]
}

/// 24 records in tenant `filters` and 6 in tenant `other`, varied in every filterable field,
/// with some created at the same instant.
fn data_set() -> Vec<KeyRecord> {
    let owners = [
        Some("alice"),
        Some("Alice"),
        Some("bob"),
        None,
        Some("alice "),
        Some("a%ice"),
    ];
    let groups = [Some("g1"), Some("g2"), None, Some("G1")];
    let envs = [
        Some("production"),
        Some("staging"),
        None,
        Some("Production"),
        Some("development"),
    ];
    let (filters, other) = (tenant("filters"), tenant("other"));
    (0..30usize)
        .map(|i| {
            let t = if i < 24 { &filters } else { &other };
            // Records 6-7 and 12-14 share a creation instant.
            let slot = match i {
                7 => 6,
                13 | 14 => 12,
                _ => i,
            };
            let n = i64::try_from(i).expect("small");
            let s = i64::try_from(slot).expect("small");
            let mut r = fixtures::record(Some(t), minutes(s) + TimeDelta::milliseconds(s));
            r.updated_at = r.created_at;
            r.owner = pick(i, &owners).map(str::to_owned);
            r.group = pick(i / 2, &groups).map(str::to_owned);
            r.environment = pick(i + 1, &envs).map(str::to_owned);
            let mut tags: Vec<String> = TAGS
                .iter()
                .enumerate()
                .filter(|(j, _)| (i * 7 + j * 3) % 5 < 2)
                .map(|(_, t)| (*t).to_owned())
                .collect();
            tags.sort();
            r.tags = tags;
            r.scopes = SCOPES
                .iter()
                .enumerate()
                .filter(|(j, _)| (i * 3 + j * 5) % 4 < 2)
                .map(|(_, s)| Scope::new(s).expect("valid scope"))
                .collect::<ScopeSet>();
            r.state = KeyState::ALL[i % 4];
            r.last_used_at =
                (i % 3 != 0).then(|| minutes(n * 37 % 50) + TimeDelta::milliseconds(n));
            r.expires_at = (i % 4 != 1).then(|| minutes(n % 7 * 1440) + TimeDelta::milliseconds(n));
            let mut aliases = Vec::new();
            if i % 3 != 0 {
                aliases.push(format!("alias-{i}"));
                // Aliases are unique per tenant: one key each, differing only in case.
                if i == 4 {
                    aliases.push("shared".to_owned());
                }
                if i == 10 {
                    aliases.push("Shared".to_owned());
                }
            }
            aliases.sort();
            r.aliases = aliases;
            r
        })
        .collect()
}

async fn load<S>(store: &S) -> Vec<KeyRecord>
where
    S: KeyStore + ?Sized,
{
    let data = data_set();
    for r in &data {
        insert(store, r).await;
    }
    data
}

/// Runs every filter in both the `filters` tenant and the operator scope, comparing the store's
/// single page with the oracle; at least `min_hits` filters must select something.
async fn check<S>(store: &S, data: &[KeyRecord], filters: Vec<KeyFilter>, min_hits: usize)
where
    S: KeyStore + ?Sized,
{
    let mut hits = 0;
    for filter in filters {
        let filter = KeyFilter {
            limit: MAX_PAGE_SIZE,
            ..filter
        };
        for scope in [TenantScope::Tenant(tenant("filters")), TenantScope::All] {
            let want = oracle(data, &scope, &filter);
            let got = page(store, &scope, &filter).await.items;
            assert_eq!(
                ids(&got),
                ids(&want),
                "query disagrees with KeyFilter::matches in {scope:?} for {filter:?}"
            );
            assert_eq!(got, want);
            hits += usize::from(!want.is_empty());
        }
    }
    assert!(
        hits >= min_hits,
        "only {hits} filters selected anything: the data set is too thin"
    );
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// owner, group, environment, tags (AND), scopes (AND, literal), states and alias, alone and
/// combined: exact, case-sensitive matches, `%`/`_` taken literally, trailing spaces significant.
pub async fn query_filters_by_fields_agree_with_matches<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let data = load(store).await;
    let mut filters = vec![KeyFilter::default()];
    let owners = [
        "alice", "Alice", "ALICE", "bob", "alice ", "a%ice", "a_ice", "%", "nobody",
    ];
    filters.extend(owners.iter().map(|o| KeyFilter {
        owner: Some((*o).to_owned()),
        ..KeyFilter::default()
    }));
    for g in ["g1", "G1", "g2", "g%", "nobody"] {
        filters.push(KeyFilter {
            group: Some(g.to_owned()),
            ..KeyFilter::default()
        });
    }
    for e in [
        "production",
        "Production",
        "staging",
        "development",
        "prod%",
    ] {
        filters.push(KeyFilter {
            environment: Some(e.to_owned()),
            ..KeyFilter::default()
        });
    }
    let tag_sets: Vec<Vec<&str>> = TAGS
        .iter()
        .map(|t| vec![*t])
        .chain([
            vec!["PROD"],
            vec!["prod", "eu"],
            vec!["Prod", "us"],
            vec!["eu", "us", "%"],
            vec!["a_c", "abc"],
        ])
        .collect();
    for tags in &tag_sets {
        filters.push(KeyFilter {
            tags: strings(tags),
            ..KeyFilter::default()
        });
    }
    let scope_sets: Vec<Vec<&str>> = SCOPES
        .iter()
        .map(|s| vec![*s])
        .chain([
            vec!["a:read", "a:write"],
            vec!["b:*", "b:read"],
            vec!["a:*"],
            vec!["a:read", "c:x", "b:*"],
        ])
        .collect();
    for scopes in &scope_sets {
        let scopes = scopes
            .iter()
            .map(|s| Scope::new(s).expect("valid scope"))
            .collect();
        filters.push(KeyFilter {
            scopes,
            ..KeyFilter::default()
        });
    }
    for states in [
        vec![KeyState::Active],
        vec![KeyState::Revoked],
        vec![KeyState::Active, KeyState::Suspended],
        KeyState::ALL.to_vec(),
    ] {
        filters.push(KeyFilter {
            states,
            ..KeyFilter::default()
        });
    }
    for a in [
        "alias-4", "shared", "Shared", "SHARED", "alias-%", "alias-_",
    ] {
        filters.push(KeyFilter {
            alias: Some(a.to_owned()),
            ..KeyFilter::default()
        });
    }
    filters.push(KeyFilter {
        owner: Some("alice".to_owned()),
        states: vec![KeyState::Pending, KeyState::Suspended],
        ..KeyFilter::default()
    });
    filters.push(KeyFilter {
        tags: strings(&["eu"]),
        scopes: vec![Scope::new("a:read").expect("valid scope")],
        group: Some("g1".to_owned()),
        ..KeyFilter::default()
    });
    filters.push(KeyFilter {
        environment: Some("production".to_owned()),
        alias: Some("shared".to_owned()),
        ..KeyFilter::default()
    });
    check(store, &data, filters, 60).await;
}

/// created, last-used and expiry ranges (`from` inclusive, `to` exclusive, boundaries exactly on
/// stored instants; keys without the timestamp never match a range on it), alone, combined with
/// other fields, and with an `after` cursor.
pub async fn query_filters_by_time_ranges_agree_with_matches<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let data = load(store).await;
    let created = |i: usize| data[i].created_at;
    let used = |i: usize| data[i].last_used_at.expect("record has last_used_at");
    let expires = |i: usize| data[i].expires_at.expect("record has expires_at");
    let range = |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| (from, to);
    let mut filters = Vec::new();
    for (from, to) in [
        range(Some(created(5)), None),
        range(None, Some(created(12))),
        range(Some(created(6)), Some(created(13))),
        range(Some(created(12)), Some(created(12))),
        range(
            Some(created(12)),
            Some(created(12) + TimeDelta::milliseconds(1)),
        ),
        range(Some(created(23) + TimeDelta::milliseconds(1)), None),
    ] {
        filters.push(KeyFilter {
            created_from: from,
            created_to: to,
            ..KeyFilter::default()
        });
    }
    for (from, to) in [
        range(Some(used(4)), None),
        range(None, Some(used(5))),
        range(Some(minutes(10)), Some(minutes(30))),
        range(Some(minutes(-100)), None),
    ] {
        filters.push(KeyFilter {
            last_used_from: from,
            last_used_to: to,
            ..KeyFilter::default()
        });
    }
    for (from, to) in [
        range(Some(expires(2)), None),
        range(None, Some(expires(3))),
        range(Some(minutes(2 * 1440)), Some(minutes(4 * 1440 + 1))),
        range(Some(minutes(-1)), None),
    ] {
        filters.push(KeyFilter {
            expires_from: from,
            expires_to: to,
            ..KeyFilter::default()
        });
    }
    filters.push(KeyFilter {
        created_from: Some(created(2)),
        last_used_to: Some(minutes(40)),
        expires_from: Some(minutes(1440)),
        states: vec![KeyState::Active, KeyState::Revoked, KeyState::Pending],
        ..KeyFilter::default()
    });
    for i in [0, 6, 7, 12, 13, 23] {
        filters.push(KeyFilter {
            after: Some(Cursor::after(&data[i])),
            ..KeyFilter::default()
        });
    }
    filters.push(KeyFilter {
        after: Some(Cursor::after(&data[12])),
        tags: strings(&["eu"]),
        last_used_from: Some(minutes(0)),
        ..KeyFilter::default()
    });
    check(store, &data, filters, 30).await;
}

/// `count` agrees with [`KeyFilter::matches`] for an exact tenant — a tenant, another one, none
/// (keys without a tenant, never those of a tenant) and an unknown one — ignoring `after` and
/// `limit`, over owner and state filters (what the key-count limits ask) and a few others.
pub async fn count_agrees_with_matches<S>(store: &S)
where
    S: KeyStore + AuditStore + ?Sized,
{
    let mut data = load(store).await;
    for i in 0..5 {
        let mut r = fixtures::record(None, minutes(100 + i));
        r.owner = (i % 2 == 0).then(|| "alice".to_owned());
        r.state = KeyState::ALL[usize::try_from(i).expect("small") % 4];
        insert(store, &r).await;
        data.push(r);
    }
    let counted = vec![KeyState::Active, KeyState::Pending, KeyState::Suspended];
    let filters = [
        KeyFilter::default(),
        KeyFilter {
            states: counted.clone(),
            ..KeyFilter::default()
        },
        KeyFilter {
            owner: Some("alice".into()),
            states: counted.clone(),
            ..KeyFilter::default()
        },
        KeyFilter {
            owner: Some("Alice".into()),
            ..KeyFilter::default()
        },
        KeyFilter {
            owner: Some("a\0lice".into()),
            ..KeyFilter::default()
        },
        KeyFilter {
            tags: strings(&["prod"]),
            states: vec![KeyState::Revoked],
            ..KeyFilter::default()
        },
        // Pagination does not apply to a count.
        KeyFilter {
            states: counted,
            limit: 1,
            after: Some(Cursor::after(&data[3])),
            ..KeyFilter::default()
        },
    ];
    let (filters_t, other, nobody) = (tenant("filters"), tenant("other"), tenant("nobody"));
    let mut hits = 0;
    for filter in &filters {
        let unpaged = KeyFilter {
            after: None,
            ..filter.clone()
        };
        for t in [Some(&filters_t), Some(&other), None, Some(&nobody)] {
            let want = data
                .iter()
                .filter(|r| r.tenant_id.as_ref() == t && unpaged.matches(r))
                .count() as u64;
            let got = store.count(t, filter).await.expect("count");
            assert_eq!(got, want, "count in {t:?} for {filter:?}");
            hits += usize::from(want > 0);
        }
    }
    assert!(hits >= 10, "only {hits} counts were non-zero");
}
