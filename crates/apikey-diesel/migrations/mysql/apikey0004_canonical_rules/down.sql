-- apikey-diesel: reverts apikey0003_canonical_rules (the rewritten rows stay canonical).
DROP TABLE IF EXISTS apikey_data_migrations;
