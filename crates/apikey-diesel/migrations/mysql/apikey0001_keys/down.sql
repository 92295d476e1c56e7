-- apikey-diesel: reverts apikey0001_keys.
DROP TABLE IF EXISTS apikey_key_scopes;
DROP TABLE IF EXISTS apikey_key_aliases;
DROP TABLE IF EXISTS apikey_key_tags;
DROP TABLE IF EXISTS apikey_keys;
