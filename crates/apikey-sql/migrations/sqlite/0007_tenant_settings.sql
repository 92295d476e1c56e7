-- apikey-sql 0007: tenant settings, one versioned row per tenant. Tenant ids are never empty
-- (1-64 characters), so tenant_key = '' is the default row (keys without a tenant, and every
-- tenant without a row), kept in the primary key instead of a NULL that a PRIMARY KEY refuses
-- and a UNIQUE index would let repeat. `settings` is a JSON document (TEXT) whose fields all
-- have defaults, so later fields need no migration; updated_at is in milliseconds.
-- (0006 is the job leases of another change.)

CREATE TABLE apikey_tenant_settings (
    tenant_key TEXT NOT NULL PRIMARY KEY,
    settings   TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
