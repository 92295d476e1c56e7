-- apikey-sqlx 0006: job leases, one row per periodic job: who holds it until when (with a fence
-- bumped by every claim, so a taken-over holder is locked out), and the last period it
-- completed. Instants are the caller's clock as integer milliseconds, never the database's:
-- every instance compares leases against the same kind of clock, and tests move it by hand.
-- The default BINARY collation compares names byte for byte. 0005 is another change's version.

CREATE TABLE apikey_job_leases (
    job         TEXT PRIMARY KEY NOT NULL,
    holder      TEXT,
    fence       INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    last_period INTEGER,
    last_run_at INTEGER,
    last_error  TEXT
);
