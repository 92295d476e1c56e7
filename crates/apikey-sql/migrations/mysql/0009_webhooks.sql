-- apikey-sql 0009: webhook subscriptions and their deliveries (see the PostgreSQL file for the
-- why of each column). Compared text is VARBINARY (byte order); bodies and secrets LONGTEXT.
-- Re-runnable, as DDL is not transactional here.

CREATE TABLE IF NOT EXISTS apikey_webhook_subscriptions (
    id                    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    tenant_key            VARBINARY(64) NOT NULL,
    url                   LONGTEXT NOT NULL,
    events                LONGTEXT NOT NULL,
    enabled               BIGINT NOT NULL,
    allow_http            BIGINT NOT NULL,
    allow_private_network BIGINT NOT NULL,
    description           LONGTEXT NULL,
    secret                LONGTEXT NOT NULL,
    previous_secret       LONGTEXT NULL,
    previous_until        DATETIME(3) NULL,
    created_at            DATETIME(3) NOT NULL,
    updated_at            DATETIME(3) NOT NULL,
    version               BIGINT NOT NULL,
    PRIMARY KEY (id),
    KEY apikey_webhook_subscriptions_tenant_idx (tenant_key, created_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS apikey_webhook_deliveries (
    id              CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    subscription_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    tenant_key      VARBINARY(64) NOT NULL,
    event_id        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    event_type      VARBINARY(1024) NOT NULL,
    payload         LONGTEXT NOT NULL,
    state           VARBINARY(16) NOT NULL,
    attempts        BIGINT NOT NULL,
    created_at      DATETIME(3) NOT NULL,
    next_attempt_at DATETIME(3) NULL,
    give_up_at      DATETIME(3) NOT NULL,
    last_attempt_at DATETIME(3) NULL,
    last_status     BIGINT NULL,
    last_error      LONGTEXT NULL,
    delivered_at    DATETIME(3) NULL,
    PRIMARY KEY (id),
    KEY apikey_webhook_deliveries_due_idx (state, next_attempt_at, id),
    KEY apikey_webhook_deliveries_tenant_idx (tenant_key, created_at, id),
    KEY apikey_webhook_deliveries_subscription_idx (subscription_id, created_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
