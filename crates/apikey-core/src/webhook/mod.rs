//! Signed webhooks with the audit log as the outbox: the pieces that are pure logic or storage,
//! so every backend can persist them and any transport can send them. `apikey-webhooks` moves
//! the bytes (reqwest, the address guard, the delivery job).
//!
//! - [`Subscription`]: a tenant's target URL, event filter and signing secrets (sealed in the
//!   [secret box](crate::secret_box), never plain), changed by compare-and-set.
//! - [`Delivery`]: one (subscription, event) pair with its state — pending with the time of the
//!   next attempt, delivered, or dead-lettered — and its last attempt. Its id is derived from the
//!   pair, so fanning the same event out twice enqueues it once.
//! - [`WebhookStore`]: the capability a backend implements to keep both; the testkit's
//!   `webhook_store_suite!` proves an implementation.
//! - [`payload`]: the versioned JSON body of each event type (`type`, `timestamp`, `data`), built
//!   from the event's public views, never a token, hash or pepper.
//! - [`WebhookSecret`] and [`sign`](signature::sign): the Standard Webhooks signature
//!   (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`), so any
//!   Standard Webhooks or Svix verifier accepts our deliveries.
//! - [`RetryPolicy`]: exponential backoff with full jitter up to a maximum age, then dead letter.
//!
//! Which URLs and addresses a subscription may reach is `apikey-webhooks`' concern (it parses
//! URLs and resolves names).
//!
//! See `docs/webhooks.md`.

mod delivery;
pub mod payload;
mod retry;
pub mod signature;
mod store;
mod subscription;

pub use delivery::{AttemptOutcome, Delivery, DeliveryFilter, DeliveryState};
pub use payload::{PING, SCHEMA_VERSION, WebhookPayload};
pub use retry::RetryPolicy;
pub use signature::{SIGNING_PURPOSE, WebhookSecret};
pub use store::WebhookStore;
pub use subscription::{EventFilter, Subscription, SubscriptionId};
