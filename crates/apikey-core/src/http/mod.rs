//! Framework-neutral HTTP glue shared by the web integrations (`apikey-axum`, `apikey-actix`, …):
//! where a credential is read from ([`CredentialConfig`], [`extract_credential`]), what a refused
//! request is answered ([`problem_for`]: RFC 9457 `application/problem+json` with the standard
//! headers), the `RateLimit` fields of admitted requests ([`rate_limit_fields`]), and a guard's
//! settings with the framework-neutral half of its request path ([`GuardSettings`]), and the
//! extension point for rules that need the request once the key has verified ([`RequestCheck`]).
//!
//! Plain Rust over two small traits ([`RequestHeaders`], [`HeaderFields`]), so core needs no HTTP
//! crate; with the `http` feature, `HttpHeaders` implements both for `http::HeaderMap` once, for
//! every integration built on the `http` crate (axum, tonic, the GraphQL routes).
//!
//! # Responses
//!
//! | status | kinds | headers |
//! | --- | --- | --- |
//! | 401 | missing, ambiguous, malformed, unknown, wrong secret, revoked, expired | `WWW-Authenticate` ([`CredentialConfig::challenge`]), `Cache-Control: no-store`; one byte-identical body ([`UNAUTHORIZED_BODY`]) |
//! | 403 | suspended, pending approval, not yet valid, insufficient scope, IP denied, client IP unknown | the missing scope is named (the secret had verified) |
//! | 429 | rate limited, too many failures | `Retry-After` (whole seconds, rounded up), `RateLimit` and `RateLimit-Policy` |
//! | 503 | a dependency is down and the policy fails closed | `Retry-After` when known |
//! | any 4xx/5xx | a [`RequestCheck`] refused ([`CheckRejection`]); 413 for a body over [`GuardSettings::max_check_body`] | what the check set; 401s also `WWW-Authenticate` |
//!
//! # `RateLimit` fields
//!
//! The fields follow **draft-ietf-httpapi-ratelimit-headers-09** (structured fields):
//! `RateLimit: "rate";r=0;t=1` and `RateLimit-Policy: "rate";q=2;w=1`. The policy name is the kind
//! of the tightest limit (`"rate"`, `"endpoint"` or `"quota"`); only that one limit is reported.

mod check;
mod check_rejection;
mod checks;
mod credential;
mod field_list;
mod guard;
mod head;
#[cfg(feature = "http")]
mod header_map;
mod log;
mod problem;
mod ratelimit;

pub use check::{RequestCheck, Wants};
pub use check_rejection::CheckRejection;
pub use checks::{BodyFailure, CheckPlan, DEFAULT_MAX_CHECK_BODY, MAX_CHECKS};
pub use credential::{CredentialConfig, RequestHeaders, extract_credential};
pub use field_list::FieldList;
pub use guard::GuardSettings;
pub use head::{HeaderFields, RequestHead};
#[cfg(feature = "http")]
pub use header_map::HttpHeaders;
pub use log::{LogHead, OpenLog};
pub use problem::{
    PROBLEM_CONTENT_TYPE, Problem, UNAUTHORIZED_BODY, insufficient_scope, missing_layer,
    problem_for, problem_for_check,
};
pub use ratelimit::{FieldValue, RATELIMIT_DRAFT, rate_limit_fields, rate_limit_values};
