-- apikey-sqlx 0002: the audit log, one row per key change with the record before and after.
-- No foreign key to apikey_keys: a deleted key keeps its history.

CREATE TABLE IF NOT EXISTS apikey_audit_events (
    id            CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    key_id        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    tenant_id     VARBINARY(64) NULL,
    action        VARBINARY(32) NOT NULL,
    actor         LONGTEXT NULL,
    reason        LONGTEXT NULL,
    occurred_at   DATETIME(3) NOT NULL,
    version       BIGINT NOT NULL,
    record_before LONGTEXT NULL,
    record_after  LONGTEXT NULL,
    PRIMARY KEY (id),
    KEY apikey_audit_events_key_idx (key_id, occurred_at, id),
    KEY apikey_audit_events_at_idx (occurred_at, id),
    KEY apikey_audit_events_tenant_idx (tenant_id, occurred_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
