-- apikey-sql 0008: the key programme (see the PostgreSQL file for the why of each table).
-- The unique alias index is created by `migrate()` only when no duplicates exist.

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
    n          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_key)
) ENGINE=InnoDB;

ALTER TABLE apikey_key_aliases
    ADD COLUMN tenant_key VARBINARY(64) NOT NULL DEFAULT '',
    ADD KEY apikey_key_aliases_tenant_idx (tenant_key, alias);

UPDATE apikey_key_aliases a JOIN apikey_keys k ON k.id = a.key_id
    SET a.tenant_key = COALESCE(k.tenant_id, '');

INSERT IGNORE INTO apikey_data_migrations (name) VALUES ('unique_aliases');
