-- apikey-sql 0008: the key programme.
-- * apikey_catalog: templates, groups and rotation policies, one versioned JSON document per
--   (kind, tenant, name); tenant_key '' is "no tenant" (tenant ids are never empty), as in 0007.
-- * apikey_tenant_locks: one row per tenant that checked inserts lock (UPDATE … n = n + 1) so that
--   counting a tenant's keys and inserting one is a single serialized step per tenant.
-- * apikey_key_aliases.tenant_key: aliases become unique per tenant. The unique index on
--   (tenant_key, alias) is created after this migration by `migrate()` (the queued data migration
--   `unique_aliases`, run by flow::aliases) only when no two keys of a tenant share an alias
--   already, so existing duplicates are reported instead of failing the migration; writes are
--   checked in their transaction either way.

CREATE TABLE apikey_catalog (
    kind       TEXT COLLATE "C" NOT NULL,
    tenant_key TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    preset     JSONB NOT NULL,
    version    BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, tenant_key, name)
);

CREATE TABLE apikey_tenant_locks (
    tenant_key TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    n          BIGINT NOT NULL DEFAULT 0
);

ALTER TABLE apikey_key_aliases ADD COLUMN tenant_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE apikey_key_aliases a SET tenant_key = COALESCE(k.tenant_id, '')
    FROM apikey_keys k WHERE k.id = a.key_id;
CREATE INDEX apikey_key_aliases_tenant_idx ON apikey_key_aliases (tenant_key, alias);

INSERT INTO apikey_data_migrations (name) VALUES ('unique_aliases');
