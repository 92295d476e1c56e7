-- apikey-sql 0005: audit log v2, the event stream of the operations half.
-- An event may be about something other than a key (a tenant, an owner, nothing), so key_id
-- becomes nullable and (subject_kind, subject_id) names the subject; system events carry a JSON
-- payload in `data`; event types take their dotted names (`created` -> `key.created`); every
-- event gets an AUTO_INCREMENT position (existing rows are numbered in primary-key order, which
-- for UUIDv7 ids is time order); readers keep their cursors in apikey_audit_cursors. Snapshots
-- lose the two fields derived from the secret (`hash`, `legacy_lookup`).

ALTER TABLE apikey_audit_events
    MODIFY key_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
    ADD COLUMN subject_kind VARBINARY(16) NULL,
    ADD COLUMN subject_id VARBINARY(1024) NULL,
    ADD COLUMN data LONGTEXT NULL,
    ADD COLUMN position BIGINT NOT NULL AUTO_INCREMENT,
    ADD UNIQUE KEY apikey_audit_events_position_idx (position),
    ADD KEY apikey_audit_events_subject_idx (subject_kind, subject_id, occurred_at, id);

UPDATE apikey_audit_events SET
    subject_kind = 'key',
    subject_id = key_id,
    action = CONCAT('key.', action),
    record_before = JSON_REMOVE(record_before, '$.hash', '$.legacy_lookup'),
    record_after = JSON_REMOVE(record_after, '$.hash', '$.legacy_lookup');

CREATE TABLE IF NOT EXISTS apikey_audit_cursors (
    reader     VARBINARY(1024) NOT NULL,
    position   BIGINT NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    PRIMARY KEY (reader)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
