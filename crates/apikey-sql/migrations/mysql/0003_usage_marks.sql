-- apikey-sqlx 0003: per key and usage flusher, the newest usage batch applied, so a batch sent
-- again after a failure counts each key once. Each flush purges marks older than a week.

CREATE TABLE IF NOT EXISTS apikey_usage_marks (
    key_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    flusher_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    seq        BIGINT NOT NULL,
    marked_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (key_id, flusher_id),
    KEY apikey_usage_marks_at_idx (marked_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
