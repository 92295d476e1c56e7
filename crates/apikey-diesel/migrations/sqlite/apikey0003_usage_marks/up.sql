-- apikey-sqlx 0003: per key and usage flusher, the newest usage batch applied, so a batch sent
-- again after a failure counts each key once. Each flush purges marks older than a week.

CREATE TABLE apikey_usage_marks (
    key_id     TEXT NOT NULL,
    flusher_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    marked_at  INTEGER NOT NULL,
    PRIMARY KEY (key_id, flusher_id)
);

CREATE INDEX apikey_usage_marks_at_idx ON apikey_usage_marks (marked_at);
