-- apikey-sql 0013: the tamper-evident audit chain, and audit queries by actor (see the PostgreSQL
-- file). `actor` becomes VARBINARY like every compared text here, so an actor filter compares
-- bytes (utf8mb4 collations pad: 'ops ' would equal 'ops'); actors are labels of at most 200
-- characters. One statement, so it applies whole or not at all.
ALTER TABLE apikey_audit_events
    ADD COLUMN chain LONGTEXT NULL,
    MODIFY actor VARBINARY(1024) NULL,
    ADD KEY apikey_audit_events_actor_idx (actor, occurred_at, id);
