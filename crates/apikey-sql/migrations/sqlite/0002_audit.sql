-- apikey-sqlx 0002: the audit log, one row per key change with the record before and after.
-- No foreign key to apikey_keys: a deleted key keeps its history.

CREATE TABLE apikey_audit_events (
    id            TEXT PRIMARY KEY NOT NULL,
    key_id        TEXT NOT NULL,
    tenant_id     TEXT,
    action        TEXT NOT NULL,
    actor         TEXT,
    reason        TEXT,
    occurred_at   INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    record_before TEXT,
    record_after  TEXT
);

CREATE INDEX apikey_audit_events_key_idx ON apikey_audit_events (key_id, occurred_at, id);
CREATE INDEX apikey_audit_events_at_idx ON apikey_audit_events (occurred_at, id);
CREATE INDEX apikey_audit_events_tenant_idx ON apikey_audit_events (tenant_id, occurred_at, id);
