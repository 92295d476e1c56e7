//! Row by row: what each library state and column becomes, and which rows are refused and why.

use apikey_core::{KeyState, StoredHash, TenantId};
use apikey_nest::{HashedKey, NEST_GRACE_KEY, NestRow, Prefix, key_id_for, map_row};
use chrono::{TimeZone as _, Utc};

const BCRYPT: &str = "$2b$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234";

fn row(id: &str) -> NestRow {
    NestRow {
        id: id.into(),
        name: Some("svc".into()),
        key_prefix: Some(Prefix::new("0123abcd")),
        hashed_key: Some(HashedKey::new(BCRYPT)),
        scopes: Some(vec!["users:read".into()]),
        created_at: Some(Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap()),
        ..NestRow::default()
    }
}

#[test]
fn states_map_and_expired_stays_active_with_its_expiry() {
    let expiry = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
    for (state, want) in [
        ("pending", KeyState::Pending),
        ("active", KeyState::Active),
        ("suspended", KeyState::Suspended),
        ("revoked", KeyState::Revoked),
        ("expired", KeyState::Active),
    ] {
        let r = NestRow {
            state: Some(state.into()),
            expires_at: Some(expiry),
            ..row("a")
        };
        let m = map_row(&r, None).unwrap();
        assert_eq!(m.record.state, want, "{state}");
        assert_eq!(m.record.expires_at, Some(expiry));
    }
    let bogus = NestRow {
        state: Some("archived".into()),
        ..row("a")
    };
    assert!(map_row(&bogus, None).unwrap_err().contains("state"));
}

#[test]
fn an_expired_row_without_an_expiry_expires_at_its_last_update() {
    let updated = Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap();
    let r = NestRow {
        state: Some("expired".into()),
        updated_at: Some(updated),
        ..row("a")
    };
    let m = map_row(&r, None).unwrap();
    assert_eq!(m.record.expires_at, Some(updated));
    assert_eq!(m.notes.len(), 1);
}

#[test]
fn hashes_of_either_kind_are_kept_and_others_refused_without_showing_them() {
    let argon = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
    let m = map_row(
        &NestRow {
            hashed_key: Some(HashedKey::new(argon)),
            ..row("a")
        },
        None,
    )
    .unwrap();
    assert_eq!(m.record.hash, StoredHash::Argon2id(argon.into()));
    assert_eq!(
        map_row(&row("a"), None).unwrap().record.hash,
        StoredHash::Bcrypt(BCRYPT.into())
    );
    for bad in [
        "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "$2b$10$short",
    ] {
        let err = map_row(
            &NestRow {
                hashed_key: Some(HashedKey::new(bad)),
                ..row("a")
            },
            None,
        )
        .unwrap_err();
        assert!(!err.contains(bad) && !err.contains("short"), "{err}");
    }
    let err = map_row(
        &NestRow {
            key_prefix: Some(Prefix::new("zzzzzzzz")),
            ..row("a")
        },
        None,
    )
    .unwrap_err();
    assert!(err.contains("keyPrefix") && !err.contains("zzzz"), "{err}");
}

#[test]
fn what_the_record_cannot_hold_is_noted() {
    let r = NestRow {
        expiration_grace_period_ms: Some(60_000),
        quota_max: Some(100),
        quota_period: Some("yearly".into()),
        quota_used: Some(7),
        rate_limit_max: Some(10),
        ..row("a")
    };
    let m = map_row(&r, None).unwrap();
    assert_eq!(m.record.metadata.as_map()[NEST_GRACE_KEY], 60_000);
    assert_eq!(m.notes.len(), 3, "{:?}", m.notes);
    assert!(m.record.rate_limit.is_none());
}

#[test]
fn out_of_range_limits_and_periods_are_refused() {
    for r in [
        NestRow {
            rate_limit_max: Some(-1),
            rate_limit_window_ms: Some(1000),
            ..row("a")
        },
        NestRow {
            rate_limit_max: Some(10),
            rate_limit_window_ms: Some(0),
            ..row("a")
        },
        NestRow {
            quota_max: Some(10),
            quota_period: Some("hourly".into()),
            ..row("a")
        },
        NestRow {
            name: Some("  ".into()),
            ..row("a")
        },
    ] {
        assert!(map_row(&r, None).is_err(), "{r:?}");
    }
}

#[test]
fn key_ids_are_stable_per_source_id_and_tenant() {
    let t = TenantId::new("acme").unwrap();
    assert_eq!(key_id_for("a", None), key_id_for("a", None));
    assert_ne!(key_id_for("a", None), key_id_for("b", None));
    assert_ne!(key_id_for("a", None), key_id_for("a", Some(&t)));
    let m = map_row(&row("a"), Some(&t)).unwrap();
    assert_eq!(m.record.id, key_id_for("a", Some(&t)));
    assert_eq!(m.record.tenant_id, Some(t));
    assert_ne!(
        map_row(&row("a"), None).unwrap().record.lookup_id,
        map_row(&row("a"), None).unwrap().record.lookup_id,
        "our own lookup id is fresh"
    );
}
