-- apikey-sql 0008: the key programme. tenant_key = '' is "no tenant", as in 0007.
-- apikey_catalog: templates and groups, one versioned JSON document per (kind, tenant, name).
-- apikey_tenant_locks: one row per tenant that a checked insert locks (UPDATE … n = n + 1), so
-- the checked inserts of one tenant count and insert one at a time.
-- apikey_key_aliases.tenant_key: aliases are unique per tenant. The migration only adds the
-- column and a plain index: a database may already hold duplicates, and refusing to migrate it
-- would strand its operator. `migrate()` then makes the index unique when there are none, and
-- reports them otherwise (`duplicate_aliases()`).

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
    n          BIGINT NOT NULL
);

ALTER TABLE apikey_key_aliases ADD COLUMN tenant_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE apikey_key_aliases a SET tenant_key = k.tenant_id
    FROM apikey_keys k WHERE k.id = a.key_id AND k.tenant_id IS NOT NULL;
CREATE INDEX apikey_key_aliases_tenant_alias_idx ON apikey_key_aliases (tenant_key, alias);
