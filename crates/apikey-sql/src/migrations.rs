//! The schema's migration SQL, one list per database: `(version, name, sql)` in version order.
//! Both stores embed these same files, so a database moves between them.

/// One migration: its zero-padded version (`"0001"`), short name and SQL text.
pub type Migration = (&'static str, &'static str, &'static str);

/// PostgreSQL (`migrations/postgres`).
pub const POSTGRES: &[Migration] = &[
    (
        "0001",
        "keys",
        include_str!("../migrations/postgres/0001_keys.sql"),
    ),
    (
        "0002",
        "audit",
        include_str!("../migrations/postgres/0002_audit.sql"),
    ),
    (
        "0003",
        "usage_marks",
        include_str!("../migrations/postgres/0003_usage_marks.sql"),
    ),
    (
        "0004",
        "canonical_rules",
        include_str!("../migrations/postgres/0004_canonical_rules.sql"),
    ),
    (
        "0005",
        "audit_v2",
        include_str!("../migrations/postgres/0005_audit_v2.sql"),
    ),
    (
        "0006",
        "job_leases",
        include_str!("../migrations/postgres/0006_job_leases.sql"),
    ),
    (
        "0007",
        "tenant_settings",
        include_str!("../migrations/postgres/0007_tenant_settings.sql"),
    ),
    (
        "0008",
        "key_programme",
        include_str!("../migrations/postgres/0008_key_programme.sql"),
    ),
    (
        "0009",
        "webhooks",
        include_str!("../migrations/postgres/0009_webhooks.sql"),
    ),
    (
        "0010",
        "request_log",
        include_str!("../migrations/postgres/0010_request_log.sql"),
    ),
    (
        "0011",
        "key_protection",
        include_str!("../migrations/postgres/0011_key_protection.sql"),
    ),
    (
        "0012",
        "usage_analytics",
        include_str!("../migrations/postgres/0012_usage_analytics.sql"),
    ),
    (
        "0013",
        "audit_chain",
        include_str!("../migrations/postgres/0013_audit_chain.sql"),
    ),
];

/// MySQL and MariaDB (`migrations/mysql`).
pub const MYSQL: &[Migration] = &[
    (
        "0001",
        "keys",
        include_str!("../migrations/mysql/0001_keys.sql"),
    ),
    (
        "0002",
        "audit",
        include_str!("../migrations/mysql/0002_audit.sql"),
    ),
    (
        "0003",
        "usage_marks",
        include_str!("../migrations/mysql/0003_usage_marks.sql"),
    ),
    (
        "0004",
        "canonical_rules",
        include_str!("../migrations/mysql/0004_canonical_rules.sql"),
    ),
    (
        "0005",
        "audit_v2",
        include_str!("../migrations/mysql/0005_audit_v2.sql"),
    ),
    (
        "0006",
        "job_leases",
        include_str!("../migrations/mysql/0006_job_leases.sql"),
    ),
    (
        "0007",
        "tenant_settings",
        include_str!("../migrations/mysql/0007_tenant_settings.sql"),
    ),
    (
        "0008",
        "key_programme",
        include_str!("../migrations/mysql/0008_key_programme.sql"),
    ),
    (
        "0009",
        "webhooks",
        include_str!("../migrations/mysql/0009_webhooks.sql"),
    ),
    (
        "0010",
        "request_log",
        include_str!("../migrations/mysql/0010_request_log.sql"),
    ),
    (
        "0011",
        "key_protection",
        include_str!("../migrations/mysql/0011_key_protection.sql"),
    ),
    (
        "0012",
        "usage_analytics",
        include_str!("../migrations/mysql/0012_usage_analytics.sql"),
    ),
    (
        "0013",
        "audit_chain",
        include_str!("../migrations/mysql/0013_audit_chain.sql"),
    ),
];

/// SQLite (`migrations/sqlite`).
pub const SQLITE: &[Migration] = &[
    (
        "0001",
        "keys",
        include_str!("../migrations/sqlite/0001_keys.sql"),
    ),
    (
        "0002",
        "audit",
        include_str!("../migrations/sqlite/0002_audit.sql"),
    ),
    (
        "0003",
        "usage_marks",
        include_str!("../migrations/sqlite/0003_usage_marks.sql"),
    ),
    (
        "0004",
        "canonical_rules",
        include_str!("../migrations/sqlite/0004_canonical_rules.sql"),
    ),
    (
        "0005",
        "audit_v2",
        include_str!("../migrations/sqlite/0005_audit_v2.sql"),
    ),
    (
        "0006",
        "job_leases",
        include_str!("../migrations/sqlite/0006_job_leases.sql"),
    ),
    (
        "0007",
        "tenant_settings",
        include_str!("../migrations/sqlite/0007_tenant_settings.sql"),
    ),
    (
        "0008",
        "key_programme",
        include_str!("../migrations/sqlite/0008_key_programme.sql"),
    ),
    (
        "0009",
        "webhooks",
        include_str!("../migrations/sqlite/0009_webhooks.sql"),
    ),
    (
        "0010",
        "request_log",
        include_str!("../migrations/sqlite/0010_request_log.sql"),
    ),
    (
        "0011",
        "key_protection",
        include_str!("../migrations/sqlite/0011_key_protection.sql"),
    ),
    (
        "0012",
        "usage_analytics",
        include_str!("../migrations/sqlite/0012_usage_analytics.sql"),
    ),
    (
        "0013",
        "audit_chain",
        include_str!("../migrations/sqlite/0013_audit_chain.sql"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_database_has_the_same_versions() {
        for list in [MYSQL, SQLITE] {
            let a: Vec<_> = list.iter().map(|(v, n, _)| (v, n)).collect();
            let b: Vec<_> = POSTGRES.iter().map(|(v, n, _)| (v, n)).collect();
            assert_eq!(a, b);
        }
        // Ascending, not dense: a version may be reserved by a change that lands later, and
        // each runner applies every version it has not recorded, whatever their order.
        let mut last = 0;
        for (v, _, sql) in POSTGRES {
            let v = v.parse::<usize>().unwrap();
            assert!(v > last, "{v} after {last}");
            last = v;
            assert!(!sql.is_empty());
        }
    }
}
