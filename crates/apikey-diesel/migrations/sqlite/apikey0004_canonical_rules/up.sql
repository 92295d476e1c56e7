-- apikey-sqlx 0004: data migrations written in Rust, for rewrites SQL cannot do reliably (JSON
-- that only the library knows how to canonicalise). A migration queues one here; `migrate()`
-- runs it over every row and sets `applied_at` (milliseconds). This one queues
-- `canonical_rules`: IP rules, scope lists and endpoint names stored before they had one
-- canonical form are rewritten in it.

CREATE TABLE apikey_data_migrations (
    name       TEXT PRIMARY KEY,
    applied_at INTEGER
);

INSERT INTO apikey_data_migrations (name) VALUES ('canonical_rules');
