-- apikey-sql 0013: the tamper-evident audit chain, and audit queries by actor.
-- Each event keeps its chain link (previous hash, own hash, the salt of its personal fields'
-- commitments, or the commitments once erased) as compact JSON text: it is only ever read back
-- whole. Checkpoints are events too (`audit.checkpoint`, payload in `data`), so no table is
-- added. The index serves `apikey audit list --actor` and the API's `actor` filter.
ALTER TABLE apikey_audit_events ADD COLUMN chain TEXT;
CREATE INDEX apikey_audit_events_actor_idx ON apikey_audit_events (actor, occurred_at, id);
