-- apikey-sqlx 0006: job leases, one row per periodic job: who holds it until when (with a fence
-- bumped by every claim, so a taken-over holder is locked out), and the last period it
-- completed. Instants are the caller's clock, never now(): every instance compares leases
-- against the same kind of clock, and tests move it by hand. Job names and holder ids compare
-- byte for byte, like every other label (collation "C"). 0005 is another change's version.

CREATE TABLE apikey_job_leases (
    job         TEXT COLLATE "C" PRIMARY KEY,
    holder      TEXT COLLATE "C",
    fence       BIGINT NOT NULL DEFAULT 0,
    lease_until TIMESTAMPTZ,
    last_period BIGINT,
    last_run_at TIMESTAMPTZ,
    last_error  TEXT
);
