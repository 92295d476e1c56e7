-- apikey-sql 0009: webhook subscriptions and their deliveries (the outbox the delivery job reads).
-- * tenant_key is the tenant id, '' for "no tenant" (tenant ids are never empty), as in 0007, so
--   a TenantScope filter is one equality on an indexed, non-null column.
-- * secret and previous_secret hold sealed values (`sb1.…`), never a secret in the clear.
-- * Flags are BIGINT 0/1 and events a JSON array of type names kept as text: every database
--   stores and compares them the same way.
-- * No foreign key from deliveries to subscriptions: removing a subscription deletes its
--   deliveries in the same transaction, and a fan-out racing a removal must not fail its whole
--   batch on a constraint. Instants are the caller's clock, in milliseconds.

CREATE TABLE apikey_webhook_subscriptions (
    id                    UUID PRIMARY KEY,
    tenant_key            TEXT COLLATE "C" NOT NULL,
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL,
    enabled               BIGINT NOT NULL,
    allow_http            BIGINT NOT NULL,
    allow_private_network BIGINT NOT NULL,
    description           TEXT,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_until        TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    version               BIGINT NOT NULL
);

CREATE INDEX apikey_webhook_subscriptions_tenant_idx
    ON apikey_webhook_subscriptions (tenant_key, created_at, id);

CREATE TABLE apikey_webhook_deliveries (
    id              UUID PRIMARY KEY,
    subscription_id UUID NOT NULL,
    tenant_key      TEXT COLLATE "C" NOT NULL,
    event_id        UUID NOT NULL,
    event_type      TEXT COLLATE "C" NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT COLLATE "C" NOT NULL,
    attempts        BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ,
    give_up_at      TIMESTAMPTZ NOT NULL,
    last_attempt_at TIMESTAMPTZ,
    last_status     BIGINT,
    last_error      TEXT,
    delivered_at    TIMESTAMPTZ
);

CREATE INDEX apikey_webhook_deliveries_due_idx
    ON apikey_webhook_deliveries (state, next_attempt_at, id);
CREATE INDEX apikey_webhook_deliveries_tenant_idx
    ON apikey_webhook_deliveries (tenant_key, created_at, id);
CREATE INDEX apikey_webhook_deliveries_subscription_idx
    ON apikey_webhook_deliveries (subscription_id, created_at, id);
