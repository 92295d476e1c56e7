//! The tamper-evident audit log: per-key hash chains, checkpoints under a MAC, and salted
//! commitments that let personal data be erased without breaking either.
//!
//! - **Chains.** Each change of a key is sealed with the hash of the key's previous event
//!   ([`ChainLink::prev`]) and its own ([`ChainLink::hash`] = `SHA-256(domain ‖ prev ‖ canonical
//!   form)`). The store's version check already serialises a key's changes, so linking needs no
//!   global head row that every writer would contend on. Events that are not changes of a key are
//!   sealed on their own (`prev` = [`ChainHash::GENESIS`]).
//! - **Checkpoints** ([`AuditCheckpointJob`]) list every event since the previous checkpoint by
//!   position and hash, under an HMAC whose key the secret box seals. Someone who can write the
//!   database can recompute hashes, but not a checkpoint: an event altered, removed or inserted
//!   at a position a checkpoint covers is found. Events after the last checkpoint are protected
//!   only by their chains' consistency; the checkpoint period bounds that window.
//! - **Erasure.** Personal fields ([`PERSONAL_PATHS`]) enter the hash as commitments,
//!   `HMAC-SHA-256(salt, path ‖ value)` under a per-event salt. [`erase`] blanks the values,
//!   drops the salt and keeps the commitments, so the event's hash is unchanged and the chain
//!   still verifies, while nothing left can confirm a guess at what was erased.
//! - **Retention.** Purged events stay listed in the checkpoints; the retention job records what it
//!   purged (`audit.purged`), so [`verify`] tells a purge from a removal, and a chain whose
//!   oldest events were purged starts at a hash a checkpoint vouches for.
//!
//! [`verify`] walks the whole log and names the first record altered, removed or inserted
//! (`apikey audit verify`). See `docs/audit.md`.

mod canonical;
mod checkpoint;
mod link;
mod verify;
mod write;

pub use canonical::{PERSONAL_PATHS, digest, erase, recompute, seal};
pub use checkpoint::{
    AuditCheckpointJob, CHECKPOINT_READER, Checkpoint, Covered, MAX_EVENTS_PER_CHECKPOINT,
    last_checkpoint,
};
pub use link::{ChainHash, ChainLink, Salt};
pub use verify::{ChainReport, Finding, LastCheckpoint, Problem, verify};
pub(crate) use write::link_key_change;
