-- apikey-sqlx 0001: key records and the tables that index their tags, aliases and scopes.
-- Every KeyRecord field has its column. Instants are INTEGER milliseconds since the epoch (UTC);
-- UUIDs and JSON are TEXT; the default BINARY collation compares bytes (case-sensitive).

CREATE TABLE apikey_keys (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT,
    lookup_id        TEXT NOT NULL,
    legacy_lookup    TEXT,
    hash             TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT,
    owner            TEXT,
    key_group        TEXT,
    environment      TEXT,
    tags             TEXT NOT NULL,
    aliases          TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    state            TEXT NOT NULL,
    state_reason     TEXT,
    state_changed_at INTEGER,
    approved_by      TEXT,
    not_before       INTEGER,
    expires_at       INTEGER,
    ip_rules         TEXT NOT NULL,
    rate_limit       TEXT,
    endpoint_limits  TEXT NOT NULL,
    quota            TEXT,
    metadata         TEXT NOT NULL,
    rotated_from     TEXT,
    rotated_to       TEXT,
    grace_until      INTEGER,
    lineage_id       TEXT NOT NULL,
    template         TEXT,
    created_by       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_used_at     INTEGER,
    usage_count      INTEGER NOT NULL DEFAULT 0,
    version          INTEGER NOT NULL
);

CREATE UNIQUE INDEX apikey_keys_lookup_id_key ON apikey_keys (lookup_id);
CREATE INDEX apikey_keys_legacy_lookup_idx ON apikey_keys (legacy_lookup)
    WHERE legacy_lookup IS NOT NULL;
CREATE INDEX apikey_keys_tenant_owner_idx ON apikey_keys (tenant_id, owner);
CREATE INDEX apikey_keys_state_idx ON apikey_keys (state);
CREATE INDEX apikey_keys_expires_at_idx ON apikey_keys (expires_at);
CREATE INDEX apikey_keys_created_idx ON apikey_keys (created_at, id);
CREATE INDEX apikey_keys_lineage_idx ON apikey_keys (lineage_id);

CREATE TABLE apikey_key_tags (
    key_id TEXT NOT NULL REFERENCES apikey_keys (id) ON DELETE CASCADE,
    tag    TEXT NOT NULL,
    PRIMARY KEY (key_id, tag)
);
CREATE INDEX apikey_key_tags_tag_idx ON apikey_key_tags (tag, key_id);

CREATE TABLE apikey_key_aliases (
    key_id TEXT NOT NULL REFERENCES apikey_keys (id) ON DELETE CASCADE,
    alias  TEXT NOT NULL,
    PRIMARY KEY (key_id, alias)
);
CREATE INDEX apikey_key_aliases_alias_idx ON apikey_key_aliases (alias, key_id);

CREATE TABLE apikey_key_scopes (
    key_id TEXT NOT NULL REFERENCES apikey_keys (id) ON DELETE CASCADE,
    scope  TEXT NOT NULL,
    PRIMARY KEY (key_id, scope)
);
CREATE INDEX apikey_key_scopes_scope_idx ON apikey_key_scopes (scope, key_id);
