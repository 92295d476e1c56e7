-- apikey-sql 0008: the key programme. tenant_key = '' is "no tenant", as in 0007; VARBINARY
-- compares bytes, as everywhere here.
-- apikey_catalog: templates and groups, one versioned JSON document per (kind, tenant, name).
-- apikey_tenant_locks: one row per tenant that a checked insert locks (UPDATE … n = n + 1), so
-- the checked inserts of one tenant count and insert one at a time.
-- apikey_key_aliases.tenant_key: aliases are unique per tenant. The migration only adds the
-- column and a plain index: a database may already hold duplicates, and refusing to migrate it
-- would strand its operator. `migrate()` then adds a unique index when there are none, and
-- reports them otherwise (`duplicate_aliases()`).

CREATE TABLE IF NOT EXISTS apikey_catalog (
    kind       VARBINARY(16) NOT NULL,
    tenant_key VARBINARY(64) NOT NULL,
    name       VARBINARY(1024) NOT NULL,
    preset     LONGTEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    PRIMARY KEY (kind, tenant_key, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS apikey_tenant_locks (
    tenant_key VARBINARY(64) NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (tenant_key)
) ENGINE=InnoDB;

ALTER TABLE apikey_key_aliases
    ADD COLUMN tenant_key VARBINARY(64) NOT NULL DEFAULT '',
    ADD KEY apikey_key_aliases_tenant_alias_idx (tenant_key, alias);
UPDATE apikey_key_aliases a JOIN apikey_keys k ON k.id = a.key_id
    SET a.tenant_key = k.tenant_id WHERE k.tenant_id IS NOT NULL;
