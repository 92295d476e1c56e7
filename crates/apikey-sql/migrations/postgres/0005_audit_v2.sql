-- apikey-sql 0005: audit log v2, the event stream of the operations half.
-- An event may be about something other than a key (a tenant, an owner, nothing), so key_id
-- becomes nullable and (subject_kind, subject_id) names the subject; system events carry a JSON
-- payload in `data`; event types take their dotted names (`created` -> `key.created`); every
-- event gets a position from a sequence, numbered for existing rows in (occurred_at, id) order;
-- readers keep their cursors in apikey_audit_cursors. Snapshots lose the two fields derived from
-- the secret (`hash`, `legacy_lookup`): the log carries the key's public view only.

ALTER TABLE apikey_audit_events ALTER COLUMN key_id DROP NOT NULL;
ALTER TABLE apikey_audit_events ADD COLUMN subject_kind TEXT COLLATE "C";
ALTER TABLE apikey_audit_events ADD COLUMN subject_id TEXT COLLATE "C";
ALTER TABLE apikey_audit_events ADD COLUMN data JSONB;
ALTER TABLE apikey_audit_events ADD COLUMN position BIGINT;

UPDATE apikey_audit_events SET
    subject_kind = 'key',
    subject_id = key_id::text,
    action = 'key.' || action,
    record_before = record_before - 'hash' - 'legacy_lookup',
    record_after = record_after - 'hash' - 'legacy_lookup';

UPDATE apikey_audit_events e SET position = o.n
FROM (SELECT id, row_number() OVER (ORDER BY occurred_at, id) AS n FROM apikey_audit_events) o
WHERE e.id = o.id;

CREATE SEQUENCE apikey_audit_position_seq AS BIGINT OWNED BY apikey_audit_events.position;
SELECT setval('apikey_audit_position_seq',
              COALESCE((SELECT max(position) FROM apikey_audit_events), 0) + 1, false);
ALTER TABLE apikey_audit_events
    ALTER COLUMN position SET DEFAULT nextval('apikey_audit_position_seq'),
    ALTER COLUMN position SET NOT NULL;

CREATE UNIQUE INDEX apikey_audit_events_position_idx ON apikey_audit_events (position);
CREATE INDEX apikey_audit_events_subject_idx
    ON apikey_audit_events (subject_kind, subject_id, occurred_at, id);

CREATE TABLE apikey_audit_cursors (
    reader     TEXT COLLATE "C" PRIMARY KEY,
    position   BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
