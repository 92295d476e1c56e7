-- apikey-sqlx 0004: data migrations written in Rust, for rewrites SQL cannot do reliably (JSON
-- that only the library knows how to canonicalise). A migration queues one here; `migrate()`
-- runs it over every row and sets `applied_at`. This one queues `canonical_rules`: IP rules,
-- scope lists and endpoint names stored before they had one canonical form are rewritten in it.
-- Re-runnable, as DDL is not transactional here.

CREATE TABLE IF NOT EXISTS apikey_data_migrations (
    name       VARBINARY(64) NOT NULL,
    applied_at DATETIME(3) NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO apikey_data_migrations (name) VALUES ('canonical_rules');
