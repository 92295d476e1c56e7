-- apikey-sqlx 0002: the audit log, one row per key change with the record before and after.
-- No foreign key to apikey_keys: a deleted key keeps its history.

CREATE TABLE apikey_audit_events (
    id            UUID PRIMARY KEY,
    key_id        UUID NOT NULL,
    tenant_id     TEXT COLLATE "C",
    action        TEXT COLLATE "C" NOT NULL,
    actor         TEXT,
    reason        TEXT,
    occurred_at   TIMESTAMPTZ NOT NULL,
    version       BIGINT NOT NULL,
    record_before JSONB,
    record_after  JSONB
);

CREATE INDEX apikey_audit_events_key_idx ON apikey_audit_events (key_id, occurred_at, id);
CREATE INDEX apikey_audit_events_at_idx ON apikey_audit_events (occurred_at, id);
CREATE INDEX apikey_audit_events_tenant_idx ON apikey_audit_events (tenant_id, occurred_at, id);
