-- apikey-sql 0008: the key programme (see the PostgreSQL file for the why of each table).
-- The unique alias index is created by `migrate()` only when no duplicates exist.

CREATE TABLE apikey_catalog (
    kind       TEXT NOT NULL,
    tenant_key TEXT NOT NULL,
    name       TEXT NOT NULL,
    preset     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, tenant_key, name)
);

CREATE TABLE apikey_tenant_locks (
    tenant_key TEXT NOT NULL PRIMARY KEY,
    n          INTEGER NOT NULL DEFAULT 0
);

ALTER TABLE apikey_key_aliases ADD COLUMN tenant_key TEXT NOT NULL DEFAULT '';
UPDATE apikey_key_aliases SET tenant_key = COALESCE(
    (SELECT k.tenant_id FROM apikey_keys k WHERE k.id = apikey_key_aliases.key_id), '');
CREATE INDEX apikey_key_aliases_tenant_idx ON apikey_key_aliases (tenant_key, alias);

INSERT INTO apikey_data_migrations (name) VALUES ('unique_aliases');
