//! The catalog: a tenant's named key presets — **templates** chosen at creation
//! (`NewKey::template`) and **groups** that keys belong to (`NewKey::group`) — each a set of
//! [`KeyDefaults`] that a new key takes for every field the caller left unset.
//!
//! - Precedence at creation: what the caller set, then the template, then the group. A template is
//!   picked for one creation, so it is the more specific of the two.
//! - Presets are persisted per tenant (`None`: the keys without a tenant), written by
//!   compare-and-set on a version together with their audit event (`template.saved`,
//!   `group.saved`, `template.removed`, `group.removed`), like tenant settings.
//! - When a catalog is wired ([`ApiKeysBuilder::catalog`](crate::ApiKeysBuilder::catalog)), naming
//!   an unknown template or group is an error that names it; without one, `group` stays a free label
//!   and `template` is refused (there is nothing to read it from).
//! - Changing or removing a preset never changes existing keys: defaults apply at creation only.
//!   Revoking or suspending a whole group is a bulk change
//!   ([`KeyManager::bulk_change`](crate::KeyManager::bulk_change)) over the keys whose `group` is
//!   its name.
//!
//! Rotation policies live here too (kind `policy`, see [`RotationPolicy`]): per key, group or
//! tenant, read by the `keys.rotation` job.
//!
//! Backends: every bundled store implements [`CatalogStore`]. See `docs/key-programme.md`.

mod defaults;
mod policy;
mod store;
mod unknown;

pub use defaults::{CatalogKind, KeyDefaults, MAX_PRESET_EXPIRY_DAYS, Preset};
pub use policy::{PolicyTarget, RotationMode, RotationPolicy};
pub use store::{CatalogStore, StoredPreset, preset_event};
pub use unknown::UnknownPreset;
