//! The client side of apikey for [`reqwest`]: [`ApiKeyMiddleware`] attaches a key's token and, for
//! keys with a signing secret, signs each request with an HTTP Message Signature (RFC 9421,
//! `hmac-sha256`) as `apikey_core::signing::SignatureCheck` expects — `@method`, `@authority`,
//! `@path`, `@query` and the body's `Content-Digest`, with `created`, a fresh nonce and `keyid`.
//!
//! ```no_run
//! use apikey_core::signing::{Signer, SigningSecret};
//! use apikey_reqwest::ApiKeyMiddleware;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = SigningSecret::parse(&std::env::var("API_SIGNING_SECRET")?)?;
//! let signer = Signer::new("k7Qm2xYpL0aB", secret); // the key's lookup id
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(ApiKeyMiddleware::token(&std::env::var("API_KEY")?)?.signing(signer))
//!     .build();
//! let res = client
//!     .post("https://api.example.com/orders")
//!     .body(r#"{"sku":"A-1"}"#)
//!     .send()
//!     .await?;
//! # let _ = res; Ok(()) }
//! ```
//!
//! # Order with other middleware
//!
//! A signature is only good once (its nonce) and only for the request as signed: put this
//! middleware **after** any retry middleware in the chain (`.with(retry).with(apikey)`), so each
//! attempt is signed again, and after anything that changes the URL, headers or body.
//!
//! # Why reqwest-middleware
//!
//! It is the middleware chain the reqwest ecosystem shares (retries, tracing, caching), so a key
//! attaches where teams already compose their clients. Signing itself is `apikey_core::signing`,
//! the same code the guard verifies with.

mod error;
mod middleware;
mod sign;

pub use error::SigningError;
pub use middleware::{ApiKeyMiddleware, InvalidToken};
