-- apikey-sql 0011: what a key carries besides its token (request signing with its sealed secret,
-- canary status) as one JSON column, NULL for the keys that have neither: most keys, and every
-- key written before this existed.

ALTER TABLE apikey_keys ADD COLUMN protection TEXT;
