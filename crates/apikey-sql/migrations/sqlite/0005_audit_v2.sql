-- apikey-sql 0005: audit log v2, the event stream of the operations half.
-- An event may be about something other than a key (a tenant, an owner, nothing), so key_id
-- becomes nullable and (subject_kind, subject_id) names the subject; system events carry a JSON
-- payload in `data`; event types take their dotted names (`created` -> `key.created`); every
-- event gets a position. SQLite cannot add an AUTOINCREMENT column, so the table is rebuilt with
-- `position` as its rowid, existing rows copied in (occurred_at, id) order. Snapshots lose the
-- two fields derived from the secret (`hash`, `legacy_lookup`). Readers keep their cursors in
-- apikey_audit_cursors.

CREATE TABLE apikey_audit_events_v2 (
    position      INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    key_id        TEXT,
    subject_kind  TEXT,
    subject_id    TEXT,
    tenant_id     TEXT,
    action        TEXT NOT NULL,
    actor         TEXT,
    reason        TEXT,
    occurred_at   INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    record_before TEXT,
    record_after  TEXT,
    data          TEXT
);

INSERT INTO apikey_audit_events_v2 (id, key_id, subject_kind, subject_id, tenant_id, action,
    actor, reason, occurred_at, version, record_before, record_after)
SELECT id, key_id, 'key', key_id, tenant_id, 'key.' || action, actor, reason, occurred_at,
    version, json_remove(record_before, '$.hash', '$.legacy_lookup'),
    json_remove(record_after, '$.hash', '$.legacy_lookup')
FROM apikey_audit_events ORDER BY occurred_at, id;

DROP TABLE apikey_audit_events;
ALTER TABLE apikey_audit_events_v2 RENAME TO apikey_audit_events;

CREATE INDEX apikey_audit_events_key_idx ON apikey_audit_events (key_id, occurred_at, id);
CREATE INDEX apikey_audit_events_at_idx ON apikey_audit_events (occurred_at, id);
CREATE INDEX apikey_audit_events_tenant_idx ON apikey_audit_events (tenant_id, occurred_at, id);
CREATE INDEX apikey_audit_events_subject_idx
    ON apikey_audit_events (subject_kind, subject_id, occurred_at, id);

CREATE TABLE apikey_audit_cursors (
    reader     TEXT PRIMARY KEY NOT NULL,
    position   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
