-- apikey-sql 0009: webhook subscriptions and their deliveries (see the PostgreSQL file for the
-- why of each column). Instants are INTEGER milliseconds, as in every table here.

CREATE TABLE apikey_webhook_subscriptions (
    id                    TEXT PRIMARY KEY NOT NULL,
    tenant_key            TEXT NOT NULL,
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL,
    enabled               INTEGER NOT NULL,
    allow_http            INTEGER NOT NULL,
    allow_private_network INTEGER NOT NULL,
    description           TEXT,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_until        INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    version               INTEGER NOT NULL
);

CREATE INDEX apikey_webhook_subscriptions_tenant_idx
    ON apikey_webhook_subscriptions (tenant_key, created_at, id);

CREATE TABLE apikey_webhook_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    subscription_id TEXT NOT NULL,
    tenant_key      TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER,
    give_up_at      INTEGER NOT NULL,
    last_attempt_at INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER
);

CREATE INDEX apikey_webhook_deliveries_due_idx
    ON apikey_webhook_deliveries (state, next_attempt_at, id);
CREATE INDEX apikey_webhook_deliveries_tenant_idx
    ON apikey_webhook_deliveries (tenant_key, created_at, id);
CREATE INDEX apikey_webhook_deliveries_subscription_idx
    ON apikey_webhook_deliveries (subscription_id, created_at, id);
