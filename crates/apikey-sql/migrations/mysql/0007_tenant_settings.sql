-- apikey-sql 0007: tenant settings, one versioned row per tenant. Tenant ids are never empty
-- (1-64 characters), so tenant_key = '' is the default row (keys without a tenant, and every
-- tenant without a row), kept in the primary key instead of a NULL that a PRIMARY KEY refuses
-- and a UNIQUE index would let repeat. VARBINARY compares bytes, as tenant_id does in
-- apikey_keys. `settings` is a JSON document whose fields all have defaults, so later fields
-- need no migration. (0006 is the job leases of another change.)

CREATE TABLE IF NOT EXISTS apikey_tenant_settings (
    tenant_key VARBINARY(64) NOT NULL,
    settings   LONGTEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    PRIMARY KEY (tenant_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
