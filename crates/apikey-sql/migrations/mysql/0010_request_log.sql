-- apikey-sql 0010: the request log (see the PostgreSQL file for the why of each column).
-- Compared text is VARBINARY (byte order, no PAD SPACE), at most 1024 bytes so it fits an index
-- entry; the address bytes are VARBINARY(16), compared byte by byte; the rest LONGTEXT.
-- Re-runnable, as DDL is not transactional here.

CREATE TABLE IF NOT EXISTS apikey_requests (
    id              CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    at              DATETIME(3) NOT NULL,
    key_id          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
    tenant_key      VARBINARY(64) NOT NULL,
    client_ip       VARBINARY(64) NULL,
    client_ip_bytes VARBINARY(16) NULL,
    method          VARBINARY(1024) NOT NULL,
    route           VARBINARY(1024) NULL,
    path            LONGTEXT NOT NULL,
    status          BIGINT NOT NULL,
    outcome         VARBINARY(1024) NOT NULL,
    request_id      VARBINARY(1024) NOT NULL,
    latency_us      BIGINT NOT NULL,
    user_agent      LONGTEXT NULL,
    expires_at      DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    KEY apikey_requests_at_idx (at DESC, id DESC),
    KEY apikey_requests_key_idx (key_id, at, id),
    KEY apikey_requests_tenant_idx (tenant_key, at, id),
    KEY apikey_requests_client_ip_idx (client_ip_bytes),
    KEY apikey_requests_expires_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
