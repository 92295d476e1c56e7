-- apikey-sql 0010: the request log (see the PostgreSQL file for the why of each column).
-- Instants are INTEGER milliseconds, as in every table here; the address bytes a BLOB, which
-- SQLite compares byte by byte.

CREATE TABLE apikey_requests (
    id              TEXT PRIMARY KEY NOT NULL,
    at              INTEGER NOT NULL,
    key_id          TEXT,
    tenant_key      TEXT NOT NULL,
    client_ip       TEXT,
    client_ip_bytes BLOB,
    method          TEXT NOT NULL,
    route           TEXT,
    path            TEXT NOT NULL,
    status          INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    latency_us      INTEGER NOT NULL,
    user_agent      TEXT,
    expires_at      INTEGER NOT NULL
);

CREATE INDEX apikey_requests_at_idx ON apikey_requests (at DESC, id DESC);
CREATE INDEX apikey_requests_key_idx ON apikey_requests (key_id, at, id);
CREATE INDEX apikey_requests_tenant_idx ON apikey_requests (tenant_key, at, id);
CREATE INDEX apikey_requests_client_ip_idx ON apikey_requests (client_ip_bytes);
CREATE INDEX apikey_requests_expires_idx ON apikey_requests (expires_at);
