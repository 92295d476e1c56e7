-- apikey-sql 0010: the request log, one row per guarded request (never a token, a query string
-- or a body).
-- * tenant_key is the tenant id, '' for "no tenant", as in 0007 and 0009, so a TenantScope filter
--   is one equality on an indexed, non-null column.
-- * client_ip keeps the address as written; client_ip_bytes the same address as 16 bytes (IPv4
--   mapped into IPv6), so "from this network" is one BETWEEN on an index, in both families.
-- * Pages are newest first by (at, id), keyset on the same pair; purge reads expires_at.
-- * No foreign key to apikey_keys: a deleted key's requests stay until they expire or are erased.

CREATE TABLE apikey_requests (
    id              UUID PRIMARY KEY,
    at              TIMESTAMPTZ NOT NULL,
    key_id          UUID,
    tenant_key      TEXT COLLATE "C" NOT NULL,
    client_ip       TEXT COLLATE "C",
    client_ip_bytes BYTEA,
    method          TEXT COLLATE "C" NOT NULL,
    route           TEXT COLLATE "C",
    path            TEXT NOT NULL,
    status          BIGINT NOT NULL,
    outcome         TEXT COLLATE "C" NOT NULL,
    request_id      TEXT COLLATE "C" NOT NULL,
    latency_us      BIGINT NOT NULL,
    user_agent      TEXT,
    expires_at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX apikey_requests_at_idx ON apikey_requests (at DESC, id DESC);
CREATE INDEX apikey_requests_key_idx ON apikey_requests (key_id, at, id);
CREATE INDEX apikey_requests_tenant_idx ON apikey_requests (tenant_key, at, id);
CREATE INDEX apikey_requests_client_ip_idx ON apikey_requests (client_ip_bytes);
CREATE INDEX apikey_requests_expires_idx ON apikey_requests (expires_at);
