-- apikey-sqlx 0001: key records and the tables that index their tags, aliases and scopes.
-- Every KeyRecord field has its column. Compared text is VARBINARY: byte comparison, so case and
-- trailing spaces are significant (utf8mb4_bin pads). DDL is not transactional on MySQL/MariaDB,
-- so each statement is re-runnable (IF NOT EXISTS, indexes declared inline).

CREATE TABLE IF NOT EXISTS apikey_keys (
    id               CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    tenant_id        VARBINARY(64) NULL,
    lookup_id        VARBINARY(64) NOT NULL,
    legacy_lookup    VARBINARY(64) NULL,
    hash             LONGTEXT NOT NULL,
    name             LONGTEXT NOT NULL,
    description      LONGTEXT NULL,
    owner            VARBINARY(1024) NULL,
    key_group        VARBINARY(1024) NULL,
    environment      VARBINARY(1024) NULL,
    tags             LONGTEXT NOT NULL,
    aliases          LONGTEXT NOT NULL,
    scopes           LONGTEXT NOT NULL,
    state            VARBINARY(16) NOT NULL,
    state_reason     LONGTEXT NULL,
    state_changed_at DATETIME(3) NULL,
    approved_by      LONGTEXT NULL,
    not_before       DATETIME(3) NULL,
    expires_at       DATETIME(3) NULL,
    ip_rules         LONGTEXT NOT NULL,
    rate_limit       LONGTEXT NULL,
    endpoint_limits  LONGTEXT NOT NULL,
    quota            LONGTEXT NULL,
    metadata         LONGTEXT NOT NULL,
    rotated_from     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
    rotated_to       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
    grace_until      DATETIME(3) NULL,
    lineage_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    template         LONGTEXT NULL,
    created_by       LONGTEXT NULL,
    created_at       DATETIME(3) NOT NULL,
    updated_at       DATETIME(3) NOT NULL,
    last_used_at     DATETIME(3) NULL,
    usage_count      BIGINT NOT NULL DEFAULT 0,
    version          BIGINT NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY apikey_keys_lookup_id_key (lookup_id),
    KEY apikey_keys_legacy_lookup_idx (legacy_lookup),
    KEY apikey_keys_tenant_owner_idx (tenant_id, owner),
    KEY apikey_keys_state_idx (state),
    KEY apikey_keys_expires_at_idx (expires_at),
    KEY apikey_keys_created_idx (created_at, id),
    KEY apikey_keys_lineage_idx (lineage_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS apikey_key_tags (
    key_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    tag    VARBINARY(1024) NOT NULL,
    PRIMARY KEY (key_id, tag),
    KEY apikey_key_tags_tag_idx (tag, key_id),
    CONSTRAINT apikey_key_tags_key_fk FOREIGN KEY (key_id)
        REFERENCES apikey_keys (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS apikey_key_aliases (
    key_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    alias  VARBINARY(1024) NOT NULL,
    PRIMARY KEY (key_id, alias),
    KEY apikey_key_aliases_alias_idx (alias, key_id),
    CONSTRAINT apikey_key_aliases_key_fk FOREIGN KEY (key_id)
        REFERENCES apikey_keys (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS apikey_key_scopes (
    key_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    scope  VARBINARY(1024) NOT NULL,
    PRIMARY KEY (key_id, scope),
    KEY apikey_key_scopes_scope_idx (scope, key_id),
    CONSTRAINT apikey_key_scopes_key_fk FOREIGN KEY (key_id)
        REFERENCES apikey_keys (id) ON DELETE CASCADE
) ENGINE=InnoDB;
