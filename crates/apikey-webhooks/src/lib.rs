//! Signed webhooks that are never lost, with the audit log as the outbox.
//!
//! Every change in apikey is committed with its audit event; this crate reads the log from a
//! persisted cursor, turns each event into one delivery per subscription that wants it, and
//! sends those signed in the [Standard Webhooks](https://www.standardwebhooks.com/) format, so
//! any Standard Webhooks or Svix verifier accepts them.
//!
//! - [`Webhooks`]: subscriptions (a `whsec_` secret shown once, sealed at rest in the
//!   [`SecretBox`](apikey_core::SecretBox); rotation with a grace period during which both secrets
//!   sign), pings, delivery lists, redelivery — each within a tenant's scope.
//! - [`Dispatcher`]: the delivery job for the [`Scheduler`](apikey_core::jobs::Scheduler)
//!   (at-least-once across restarts and instances; retries with exponential backoff and full
//!   jitter up to a maximum age, then dead letter), or run by hand until idle;
//!   [`DeliveryRetention`] purges finished deliveries after 30 days.
//! - [`target`], [`resolver`]: safe targets. HTTPS unless a subscription allows `http://`; names
//!   resolved through a guard that refuses loopback, private, link-local, CGNAT, multicast and
//!   metadata addresses (IPv4, IPv6 and the IPv6 forms embedding IPv4) and hands reqwest only the
//!   addresses it checked; no redirects, no proxies, timeouts and a response cap.
//!
//! Dependencies: `reqwest` with rustls (no system OpenSSL; its resolver seam is what makes the
//! check-then-connect guarantee possible), `url` (the WHATWG parser reqwest uses, so
//! `https://2130706433/` is seen as the 127.0.0.1 it is), `ipnet` (address ranges, as core's IP
//! rules use), `futures-util` (bounded concurrent sends). Storage is the
//! [`WebhookStore`](apikey_core::webhook::WebhookStore) capability of the backend crates.

pub mod address;
mod admin;
mod dispatcher;
pub mod resolver;
mod retention;
mod sender;
pub mod target;
mod view;

pub use admin::{NewSubscription, READER, Webhooks};
pub use dispatcher::{DispatchConfig, Dispatcher, PumpReport};
pub use resolver::{HostResolver, Refused, SystemResolver};
pub use retention::{DEFAULT_DELIVERY_RETENTION, DeliveryRetention};
pub use sender::{SendLimits, Sender};
pub use view::{DeliveryView, SubscriptionView};
