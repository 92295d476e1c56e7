//! One attempt of one delivery: a signed POST through a client that cannot be pointed somewhere
//! it should not go.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::webhook::{AttemptOutcome, Delivery, Subscription, WebhookSecret, signature};
use apikey_core::{Error, ErrorKind, Result};
use chrono::{DateTime, Utc};
use reqwest::{Client, redirect};

use crate::resolver::{GuardedResolver, HostResolver};
use crate::target;

/// Limits of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// To establish the connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// For the whole attempt, response body included: a slow receiver is a failed attempt.
    pub timeout: Duration,
    /// At most this much of a response body is read (then the connection is dropped).
    pub max_response_bytes: usize,
}

impl Default for SendLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            max_response_bytes: 64 * 1024,
        }
    }
}

/// Sends deliveries. Two clients: one whose resolver refuses private addresses, one for
/// subscriptions that allow them. Neither follows redirects or uses a proxy from the
/// environment (a proxy would resolve the name itself, past the guard).
#[derive(Debug, Clone)]
pub struct Sender {
    guarded: Client,
    private: Client,
    limits: SendLimits,
}

const USER_AGENT: &str = concat!("apikey-webhooks/", env!("CARGO_PKG_VERSION"));

impl Sender {
    /// A sender resolving names with `resolver`.
    pub fn new(resolver: &Arc<dyn HostResolver>, limits: SendLimits) -> Result<Self> {
        let client = |allow_private| {
            Client::builder()
                .dns_resolver(Arc::new(GuardedResolver {
                    inner: resolver.clone(),
                    allow_private,
                }))
                .redirect(redirect::Policy::none())
                .no_proxy()
                .connect_timeout(limits.connect_timeout)
                .timeout(limits.timeout)
                .user_agent(USER_AGENT)
                .build()
                .map_err(|e| Error::new(ErrorKind::Config, format!("webhook HTTP client: {e}")))
        };
        Ok(Self {
            guarded: client(false)?,
            private: client(true)?,
            limits,
        })
    }

    /// Posts `delivery` to `subscription` signed with `secrets` (current first) at `now`.
    /// Every failure is an outcome to record, never an error: one bad receiver must not stop
    /// the others.
    pub async fn send(
        &self,
        subscription: &Subscription,
        secrets: &[WebhookSecret],
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> AttemptOutcome {
        let url = match target::check_url(
            &subscription.url,
            subscription.allow_http,
            subscription.allow_private_network,
        ) {
            Ok(url) => url,
            Err(e) => return AttemptOutcome::failed(e.message()),
        };
        let id = delivery.event_id.to_string();
        let timestamp = now.timestamp();
        let refs: Vec<&WebhookSecret> = secrets.iter().collect();
        let sig = signature::sign(&refs, &id, timestamp, delivery.payload.as_bytes());
        let client = if subscription.allow_private_network {
            &self.private
        } else {
            &self.guarded
        };
        let request = client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", sig)
            .body(delivery.payload.clone());
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return AttemptOutcome::failed(describe(&e, self.limits.timeout)),
        };
        let status = response.status().as_u16();
        // Read (and drop) a bounded part of the body so the connection can be reused; a receiver
        // that streams forever is cut off by the cap or the timeout.
        let mut read = 0usize;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    if read >= self.limits.max_response_bytes {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => {
                    return AttemptOutcome::failed(describe(&e, self.limits.timeout));
                }
                Err(_) => break,
            }
        }
        AttemptOutcome::answered(status)
    }
}

/// A reqwest error in words, without its URL (which may hold a query a tenant considers
/// private) but with the cause (the guard's refusal, a TLS error, …).
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out (limit {} s)", timeout.as_secs());
    }
    let mut parts = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.dedup();
    let kind = if e.is_connect() {
        "could not connect"
    } else if e.is_request() {
        "request failed"
    } else {
        "failed"
    };
    if parts.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {}", parts.join(": "))
    }
}
