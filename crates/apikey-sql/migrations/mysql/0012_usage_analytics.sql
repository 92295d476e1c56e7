-- apikey-sql 0012: usage analytics (see the PostgreSQL file for the why of each column).
-- Re-runnable, as DDL is not transactional here.

CREATE TABLE IF NOT EXISTS apikey_usage_buckets (
    resolution   SMALLINT NOT NULL,
    kind         SMALLINT NOT NULL,
    key_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    bucket       DATETIME(3) NOT NULL,
    tenant_key   VARBINARY(64) NOT NULL,
    success      BIGINT NOT NULL,
    scope        BIGINT NOT NULL,
    ip           BIGINT NOT NULL,
    state        BIGINT NOT NULL,
    rate_limited BIGINT NOT NULL,
    quota        BIGINT NOT NULL,
    unavailable  BIGINT NOT NULL,
    invalid      BIGINT NOT NULL,
    cost         BIGINT NOT NULL,
    PRIMARY KEY (resolution, kind, tenant_key, bucket, key_id),
    KEY apikey_usage_buckets_key_idx (resolution, key_id, bucket),
    KEY apikey_usage_buckets_bucket_idx (resolution, bucket)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS apikey_usage_batches (
    flusher_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    seq        BIGINT NOT NULL,
    at         DATETIME(3) NOT NULL,
    PRIMARY KEY (flusher_id, seq),
    KEY apikey_usage_batches_at_idx (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
