-- apikey-sql 0012: usage analytics, requests per key by outcome in minute, hour and day buckets.
-- * resolution: 0 minute, 1 hour, 2 day; a flush adds to one bucket of each, so every
--   resolution answers on its own and is purged on its own schedule.
-- * kind: 0 a key's row, 1 the total of a tenant's keys (added in the same write, so a tenant's
--   series reads one row per bucket however many keys it has), 2 the refusals before a key was
--   known. key_id is the nil UUID where there is no key, so the primary key needs no NULL;
--   tenant_key as in 0010.
-- * apikey_usage_batches remembers the flushes applied (flusher, seq), inserted in the same
--   transaction as the counts: a batch sent again finds its row and adds nothing.
-- * No foreign key to apikey_keys: a deleted key's usage stays until retention or erasure.

CREATE TABLE apikey_usage_buckets (
    resolution   SMALLINT NOT NULL,
    kind         SMALLINT NOT NULL,
    key_id       UUID NOT NULL,
    bucket       TIMESTAMPTZ NOT NULL,
    tenant_key   TEXT COLLATE "C" NOT NULL,
    success      BIGINT NOT NULL,
    scope        BIGINT NOT NULL,
    ip           BIGINT NOT NULL,
    state        BIGINT NOT NULL,
    rate_limited BIGINT NOT NULL,
    quota        BIGINT NOT NULL,
    unavailable  BIGINT NOT NULL,
    invalid      BIGINT NOT NULL,
    cost         BIGINT NOT NULL,
    PRIMARY KEY (resolution, kind, tenant_key, bucket, key_id)
);

CREATE INDEX apikey_usage_buckets_key_idx ON apikey_usage_buckets (resolution, key_id, bucket);
CREATE INDEX apikey_usage_buckets_bucket_idx ON apikey_usage_buckets (resolution, bucket);

CREATE TABLE apikey_usage_batches (
    flusher_id UUID NOT NULL,
    seq        BIGINT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (flusher_id, seq)
);

CREATE INDEX apikey_usage_batches_at_idx ON apikey_usage_batches (at);
