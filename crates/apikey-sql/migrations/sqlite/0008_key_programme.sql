-- apikey-sql 0008: the key programme. tenant_key = '' is "no tenant", as in 0007.
-- apikey_catalog: templates and groups, one versioned JSON document (TEXT) per (kind, tenant,
-- name); updated_at in milliseconds.
-- apikey_tenant_locks: one row per tenant that a checked insert writes (n = n + 1), as the other
-- SQL stores lock it; SQLite's write lock already serializes every writer.
-- apikey_key_aliases.tenant_key: aliases are unique per tenant. The migration only adds the
-- column and a plain index: a database may already hold duplicates, and refusing to migrate it
-- would strand its operator. `migrate()` then adds a unique index when there are none, and
-- reports them otherwise (`duplicate_aliases()`).

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
    n          INTEGER NOT NULL
);

ALTER TABLE apikey_key_aliases ADD COLUMN tenant_key TEXT NOT NULL DEFAULT '';
UPDATE apikey_key_aliases SET tenant_key = (
    SELECT k.tenant_id FROM apikey_keys k WHERE k.id = apikey_key_aliases.key_id
) WHERE EXISTS (
    SELECT 1 FROM apikey_keys k
    WHERE k.id = apikey_key_aliases.key_id AND k.tenant_id IS NOT NULL
);
CREATE INDEX apikey_key_aliases_tenant_alias_idx ON apikey_key_aliases (tenant_key, alias);
