//! [`RequestCheck`]: the guard's extension point for rules that run after the key has verified and
//! need the request itself — request signatures (RFC 9421), canary keys, credits.

use async_trait::async_trait;
use bytes::Bytes;

use crate::verify::Verified;

use super::check_rejection::CheckRejection;
use super::head::RequestHead;

/// What a [`RequestCheck`] needs from one request, decided by [`RequestCheck::wants`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Wants {
    /// The rule does not apply: [`check`](RequestCheck::check) is not called.
    Skip,
    /// Method, target and header fields are enough.
    Head,
    /// The body as well: the guard buffers it (up to
    /// [`GuardSettings::set_max_check_body`](super::GuardSettings::set_max_check_body)) and hands
    /// the handler the same bytes afterwards.
    Body,
}

/// A rule the guard applies after the key has verified (credential, state, IP rules, scopes and
/// limits all passed) and before the request reaches the handler.
///
/// Add it once with [`GuardSettings::add_check`](super::GuardSettings::add_check) — or the
/// integration's `with_check` (`apikey_axum::ApiKeyLayer`, `apikey_actix::ApiKeyAuth`,
/// `apikey_tonic::ApiKeyLayer`) — and every request through that guard is subject to it. Checks
/// run in the order they were added; the first rejection answers the request and the rest are not
/// called.
///
/// Per request the guard first asks every check what it [`wants`](Self::wants) (synchronously: a
/// rule that is off for a key must cost nothing), then, if any wants more than
/// [`Wants::Skip`], buffers the body if one asked for it and calls those checks'
/// [`check`](Self::check). With no check configured, or every one skipping, the request path is
/// the same as without this feature: no allocation, no boxed future.
///
/// # The body
///
/// `body` is `Some` (possibly empty) when this check wanted [`Wants::Body`] and the integration
/// buffered it; a body over the configured cap is answered 413 before any check runs. It is `None`
/// when the check wanted [`Wants::Head`], **and** when the integration cannot buffer bodies:
/// gRPC (`apikey-tonic`) streams messages and runs every check head-only. A check that needs the
/// body must therefore refuse when it gets `None`, never treat it as "no body".
///
/// # Example
///
/// A canary rule: any use of a key tagged `canary` is refused with 403 (a real one would also
/// raise an alert); other keys skip it at no cost.
///
/// ```
/// use apikey_core::Verified;
/// use apikey_core::http::{CheckRejection, RequestCheck, RequestHead, Wants};
/// use bytes::Bytes;
///
/// #[derive(Debug)]
/// struct Canary;
///
/// #[async_trait::async_trait]
/// impl RequestCheck for Canary {
///     fn wants(&self, key: &Verified, _head: &RequestHead<'_>) -> Wants {
///         if key.record().tags.iter().any(|t| t == "canary") {
///             Wants::Head
///         } else {
///             Wants::Skip
///         }
///     }
///
///     async fn check(
///         &self,
///         key: &Verified,
///         head: &RequestHead<'_>,
///         _body: Option<&Bytes>,
///     ) -> Result<(), CheckRejection> {
///         tracing::warn!(key = %key.key_id(), method = head.method(), path = head.path(), "canary key used");
///         Err(CheckRejection::forbidden("This API key may not be used.")
///             .with_code("canary_key")
///             .with_type("https://example.com/problems/canary-key"))
///     }
/// }
///
/// // Once, where the guard is built; every integration takes it the same way
/// // (`apikey_axum::ApiKeyLayer::with_check`, `apikey_actix::ApiKeyAuth::with_check`, …).
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> apikey_core::Result<()> {
/// # use apikey_core::{Credential, NewKey, RequestContext};
/// # use apikey_core::http::{GuardSettings, HeaderFields};
/// # let keys = apikey_core::ApiKeys::builder(std::sync::Arc::new(apikey_memory::MemoryStore::new()))
/// #     .random_peppers_keys_die_at_exit().build()?;
/// let mut guard = GuardSettings::new(keys.verifier().clone());
/// guard.add_check(Canary)?;
///
/// // What an integration does with a verified key (here without a framework):
/// # struct NoFields;
/// # impl HeaderFields for NoFields {
/// #     fn line(&self, _: &str, _: usize) -> Option<&[u8]> { None }
/// #     fn for_each(&self, _: &mut dyn FnMut(&str, &[u8])) {}
/// # }
/// let canary = keys.manager().create(NewKey::new("trap").tags(["canary"])).await?;
/// let plain = keys.manager().create(NewKey::new("app")).await?;
/// let head = RequestHead::new("GET", "/orders", &NoFields);
/// for (created, allowed) in [(&canary, false), (&plain, true)] {
///     let key = keys.verifier()
///         .verify(Credential::new(created.token.expose()), &RequestContext::new())
///         .await
///         .expect("the key verifies");
///     let plan = guard.plan_checks(&key, &head);
///     assert_eq!(plan.is_empty(), allowed); // the plain key skips: nothing to run or buffer
///     let outcome = guard.run_checks(plan, &key, &head, None).await;
///     assert_eq!(outcome.is_ok(), allowed);
///     if let Err(rejection) = outcome {
///         assert_eq!(guard.check_problem(&rejection).status, 403);
///     }
/// }
/// # Ok(()) }
/// ```
#[async_trait]
pub trait RequestCheck: Send + Sync + 'static {
    /// What this check needs for this key and request. Called on every request through the guard,
    /// so keep it to a few comparisons: no I/O, no allocation.
    fn wants(&self, key: &Verified, head: &RequestHead<'_>) -> Wants;

    /// Decides the request. Called only when [`wants`](Self::wants) did not skip, with the body
    /// when it wanted [`Wants::Body`] (see the trait's documentation on when it is `None`).
    async fn check(
        &self,
        key: &Verified,
        head: &RequestHead<'_>,
        body: Option<&Bytes>,
    ) -> Result<(), CheckRejection>;

    /// Whether this check proves who sent a request by itself (a request signature), so the
    /// guard may accept requests that carry no token but name their key by the signature's
    /// `keyid` (keys in [`SigningMode::InsteadOfToken`](crate::signing::SigningMode) mode). Only
    /// [`SignatureCheck`](crate::signing::SignatureCheck) says yes; the default is no.
    fn authenticates_signed(&self) -> bool {
        false
    }

    /// A name for logs and `Debug` (default: the type's name).
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}
