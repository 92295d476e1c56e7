//! Presence and confirmation: the registry of live verifier instances ([`RedisInstances`]) and
//! the [`Confirmer`](apikey_core::Confirmer) that waits for them ([`RedisConfirmer`]).

mod confirmer;
mod registry;

pub use confirmer::RedisConfirmer;
pub use registry::RedisInstances;
pub(crate) use registry::Request;
