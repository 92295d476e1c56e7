-- apikey-diesel: reverts apikey0002_audit.
DROP TABLE IF EXISTS apikey_audit_events;
