//! A circuit breaker around the key store: after `failures` consecutive unavailable answers it
//! opens and refuses every call at once (`Unavailable`, so a verification is a 503) for
//! `cool_down`; then one call goes through as a probe — its success closes the circuit, its
//! failure opens it again.
//!
//! Without it, a store that hangs costs every cache miss a full pool timeout, and the requests
//! pile up behind it; with it, the first few pay and the rest are answered at once while the
//! store recovers, and the health check reports the open circuit. Only `Unavailable` counts
//! (a refused connection, a pool timeout): a missing key, a conflict or bad input says the store
//! is answering.
//!
//! [`BreakerStore`] wraps any [`KeyStore`](crate::KeyStore); the state machine is [`Breaker`],
//! over the injected [`Clock`](crate::Clock) so tests move time instead of sleeping.

mod state;
mod store;

pub use state::{Breaker, BreakerConfig, BreakerState, Permit};
pub use store::BreakerStore;
