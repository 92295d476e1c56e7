-- apikey-sqlx 0001: key records and the tables that index their tags, aliases and scopes.
-- Every KeyRecord field has its column. Compared text uses the "C" collation: byte equality,
-- case-sensitive, whatever the database default.

CREATE TABLE apikey_keys (
    id               UUID PRIMARY KEY,
    tenant_id        TEXT COLLATE "C",
    lookup_id        TEXT COLLATE "C" NOT NULL,
    legacy_lookup    TEXT COLLATE "C",
    hash             TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT,
    owner            TEXT COLLATE "C",
    key_group        TEXT COLLATE "C",
    environment      TEXT COLLATE "C",
    tags             JSONB NOT NULL,
    aliases          JSONB NOT NULL,
    scopes           JSONB NOT NULL,
    state            TEXT COLLATE "C" NOT NULL,
    state_reason     TEXT,
    state_changed_at TIMESTAMPTZ,
    approved_by      TEXT,
    not_before       TIMESTAMPTZ,
    expires_at       TIMESTAMPTZ,
    ip_rules         JSONB NOT NULL,
    rate_limit       JSONB,
    endpoint_limits  JSONB NOT NULL,
    quota            JSONB,
    metadata         JSONB NOT NULL,
    rotated_from     UUID,
    rotated_to       UUID,
    grace_until      TIMESTAMPTZ,
    lineage_id       UUID NOT NULL,
    template         TEXT,
    created_by       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    last_used_at     TIMESTAMPTZ,
    usage_count      BIGINT NOT NULL DEFAULT 0,
    version          BIGINT NOT NULL
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
    key_id UUID NOT NULL REFERENCES apikey_keys (id) ON DELETE CASCADE,
    tag    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (key_id, tag)
);
CREATE INDEX apikey_key_tags_tag_idx ON apikey_key_tags (tag, key_id);

CREATE TABLE apikey_key_aliases (
    key_id UUID NOT NULL REFERENCES apikey_keys (id) ON DELETE CASCADE,
    alias  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (key_id, alias)
);
CREATE INDEX apikey_key_aliases_alias_idx ON apikey_key_aliases (alias, key_id);

CREATE TABLE apikey_key_scopes (
    key_id UUID NOT NULL REFERENCES apikey_keys (id) ON DELETE CASCADE,
    scope  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (key_id, scope)
);
CREATE INDEX apikey_key_scopes_scope_idx ON apikey_key_scopes (scope, key_id);
