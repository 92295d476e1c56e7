-- apikey-sql 0012: usage analytics (see the PostgreSQL file for the why of each column).
-- Instants are INTEGER milliseconds, as in every table here.

CREATE TABLE apikey_usage_buckets (
    resolution   INTEGER NOT NULL,
    kind         INTEGER NOT NULL,
    key_id       TEXT NOT NULL,
    bucket       INTEGER NOT NULL,
    tenant_key   TEXT NOT NULL,
    success      INTEGER NOT NULL,
    scope        INTEGER NOT NULL,
    ip           INTEGER NOT NULL,
    state        INTEGER NOT NULL,
    rate_limited INTEGER NOT NULL,
    quota        INTEGER NOT NULL,
    unavailable  INTEGER NOT NULL,
    invalid      INTEGER NOT NULL,
    cost         INTEGER NOT NULL,
    PRIMARY KEY (resolution, kind, tenant_key, bucket, key_id)
);

CREATE INDEX apikey_usage_buckets_key_idx ON apikey_usage_buckets (resolution, key_id, bucket);
CREATE INDEX apikey_usage_buckets_bucket_idx ON apikey_usage_buckets (resolution, bucket);

CREATE TABLE apikey_usage_batches (
    flusher_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (flusher_id, seq)
);

CREATE INDEX apikey_usage_batches_at_idx ON apikey_usage_batches (at);
