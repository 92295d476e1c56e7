//! [`ScopeGuard`]: an async-graphql guard that checks the key the HTTP integration verified.

use std::time::Duration;

use apikey_core::log_throttle::LogThrottle;
use apikey_core::{Scope, Verified};
use async_graphql::{Context, Guard, Result};

use crate::auth::AuthFailure;
use crate::error::{missing_scope, rejection_error, unauthenticated};

/// Misconfigured guards deny every request; the log says so once per interval.
static INVALID_SCOPE_LOG: LogThrottle = LogThrottle::new(Duration::from_secs(60));

/// Requires a verified key holding every listed scope. Use it on a resolver or a single field:
///
/// ```
/// use apikey_graphql::ScopeGuard;
/// use async_graphql::{Object, SimpleObject};
///
/// struct Query;
///
/// #[Object]
/// impl Query {
///     /// Anyone.
///     async fn version(&self) -> &str { "1" }
///
///     /// Keys with `projects:read`.
///     #[graphql(guard = "ScopeGuard::new([\"projects:read\"])")]
///     async fn projects(&self) -> Vec<String> { vec![] }
/// }
///
/// #[derive(SimpleObject)]
/// struct Project {
///     name: String,
///     /// This one field needs `billing:read`.
///     #[graphql(guard = "ScopeGuard::new([\"billing:read\"])")]
///     cost: i32,
/// }
/// ```
///
/// # Errors null the nearest nullable parent
///
/// async-graphql propagates an error of a guarded field (like any resolver error) to the nearest
/// nullable **parent**: on a root field the whole `data` becomes `null`. For an error on that one
/// field only, call [`permit`](Self::permit) inside a resolver that returns an `Option`:
///
/// ```
/// use apikey_graphql::ScopeGuard;
/// use async_graphql::{Context, Object};
///
/// struct Query;
///
/// #[Object]
/// impl Query {
///     async fn invoices(&self, ctx: &Context<'_>) -> Option<Vec<String>> {
///         if !ScopeGuard::new(["invoices:read"]).permit(ctx) {
///             return None; // this field is null, with its error; siblings resolve
///         }
///         Some(vec![])
///     }
/// }
/// ```
///
/// The guard never queries storage: it reads the [`Verified`] key (or the [`AuthFailure`]) that the
/// HTTP integration put into the request data
/// ([`authenticate`](crate::GraphQlAuth::authenticate)). No key at all is `UNAUTHENTICATED`; a
/// missing scope is `FORBIDDEN` with `extensions.missingScope`.
/// A scope string that does not parse denies every request (and logs the mistake): a guard never
/// fails open.
#[derive(Debug, Clone)]
pub struct ScopeGuard {
    required: Result<Vec<Scope>, String>,
}

impl ScopeGuard {
    /// Requires every scope in `scopes` (none: any verified key).
    pub fn new<I, T>(scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let mut parsed = Vec::new();
        for s in scopes {
            match Scope::new(s.as_ref()) {
                Ok(scope) => parsed.push(scope),
                Err(_) => {
                    return Self {
                        required: Err(s.as_ref().to_owned()),
                    };
                }
            }
        }
        Self {
            required: Ok(parsed),
        }
    }

    /// Requires these parsed scopes.
    pub fn scopes(scopes: Vec<Scope>) -> Self {
        Self {
            required: Ok(scopes),
        }
    }

    /// Any verified key.
    pub fn authenticated() -> Self {
        Self::scopes(Vec::new())
    }

    fn decide(&self, verified: Option<&Verified>, failure: Option<&AuthFailure>) -> Result<()> {
        let required = match &self.required {
            Ok(r) => r,
            Err(bad) => {
                // Every request through this guard lands here: say it once a minute, not each time.
                if let Some(suppressed) = INVALID_SCOPE_LOG.allow_monotonic() {
                    tracing::error!(scope = %bad, suppressed, "ScopeGuard with an invalid scope denies every request");
                }
                return Err(crate::error::rejection_error(&apikey_core::Rejection::new(
                    apikey_core::RejectionKind::InsufficientScope,
                )));
            }
        };
        let Some(key) = verified else {
            return Err(failure.map_or_else(unauthenticated, |f| rejection_error(&f.0)));
        };
        match key.scopes().first_missing(required) {
            None => Ok(()),
            Some(missing) => Err(missing_scope(missing)),
        }
    }
}

impl ScopeGuard {
    /// Checks the guard for the field `ctx` resolves; on refusal records the error on this field
    /// (with its path) and returns `false`, so the resolver can answer `None` and only this field
    /// is null.
    pub fn permit(&self, ctx: &Context<'_>) -> bool {
        match self.decide(ctx.data_opt::<Verified>(), ctx.data_opt::<AuthFailure>()) {
            Ok(()) => true,
            Err(e) => {
                ctx.add_error(ctx.set_error_path(e.into_server_error(ctx.item.pos)));
                false
            }
        }
    }
}

impl Guard for ScopeGuard {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        self.decide(ctx.data_opt::<Verified>(), ctx.data_opt::<AuthFailure>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apikey_core::{Rejection, RejectionKind};

    fn code(r: Result<()>) -> String {
        let e = r.unwrap_err();
        e.extensions
            .unwrap()
            .get("code")
            .unwrap()
            .to_string()
            .trim_matches('"')
            .to_owned()
    }

    #[test]
    fn without_a_key() {
        let g = ScopeGuard::new(["a:read"]);
        assert_eq!(code(g.decide(None, None)), "UNAUTHENTICATED");
        let limited = AuthFailure(Rejection::new(RejectionKind::TooManyFailures));
        assert_eq!(code(g.decide(None, Some(&limited))), "RATE_LIMITED");
        let bad = ScopeGuard::new(["not a scope"]);
        assert_eq!(code(bad.decide(None, None)), "FORBIDDEN");
    }

    /// Counts error events on this thread.
    struct Errors(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Errors {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if *event.metadata().level() == tracing::Level::ERROR {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }

    #[test]
    fn a_misconfigured_guard_logs_once_not_per_request() {
        use tracing_subscriber::layer::SubscriberExt;
        let errors = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let _log = tracing::subscriber::set_default(
            tracing_subscriber::registry().with(Errors(errors.clone())),
        );
        let bad = ScopeGuard::new(["not a scope"]);
        for _ in 0..100 {
            assert_eq!(code(bad.decide(None, None)), "FORBIDDEN");
        }
        // The throttle is per process: another test may have taken this minute's line.
        assert!(errors.load(std::sync::atomic::Ordering::SeqCst) <= 1);
    }
}
