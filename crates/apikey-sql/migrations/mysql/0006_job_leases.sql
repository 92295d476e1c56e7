-- apikey-sqlx 0006: job leases, one row per periodic job: who holds it until when (with a fence
-- bumped by every claim, so a taken-over holder is locked out), and the last period it
-- completed. Instants are the caller's clock, never NOW(): every instance compares leases
-- against the same kind of clock, and tests move it by hand. Job names and holder ids are
-- VARBINARY, compared byte for byte like every other label. Re-runnable, as DDL is not
-- transactional here. 0005 is another change's version.

CREATE TABLE IF NOT EXISTS apikey_job_leases (
    job         VARBINARY(1024) NOT NULL,
    holder      VARBINARY(1024) NULL,
    fence       BIGINT NOT NULL DEFAULT 0,
    lease_until DATETIME(3) NULL,
    last_period BIGINT NULL,
    last_run_at DATETIME(3) NULL,
    last_error  LONGTEXT NULL,
    PRIMARY KEY (job)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
