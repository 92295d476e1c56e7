//! The one error type of the workspace: a stable [`ErrorKind`] plus the original cause.

use std::borrow::Cow;
use std::fmt;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, in terms a caller can act on. Backends classify their driver errors into these.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The key (or event) does not exist, or belongs to another tenant.
    NotFound,
    /// A stale `version`, or a unique constraint (for example a duplicate lookup id).
    Conflict,
    /// The caller's input was rejected; the message names the field.
    InvalidInput,
    /// A dependency is unreachable or overloaded (pool timeout, refused connection, slow-hash cap).
    Unavailable,
    /// The backend failed in a way the caller cannot fix (a bug, corrupt data, a driver error).
    Backend,
    /// The configuration is wrong (for example an unknown pepper id).
    Config,
    /// The change **is committed** in the store, but the shared cache could not be invalidated, so
    /// other instances may keep using the old state of the key until their cache entries expire
    /// (at most their `cache_ttl`). Do not retry the change; retry the propagation by repeating
    /// it later if needed, or wait out the TTL.
    NotPropagated,
    /// A limit of the tenant's settings refused the call (for example `max_keys_per_tenant` on a
    /// creation). Not retryable as is: the caller must free room or raise the limit. The source
    /// is a [`KeyLimitReached`](crate::tenant::KeyLimitReached) naming the limit.
    LimitReached,
}

impl ErrorKind {
    /// A short lowercase name, stable across versions.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not found",
            Self::Conflict => "conflict",
            Self::InvalidInput => "invalid input",
            Self::Unavailable => "unavailable",
            Self::Backend => "backend error",
            Self::Config => "configuration error",
            Self::NotPropagated => "committed but not propagated",
            Self::LimitReached => "limit reached",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from a store, cache, limiter, hasher or the manager.
///
/// The message never contains a secret; the source is kept as it was (no stringified causes), so
/// `tracing` and error reporters can walk the chain.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
    #[source]
    source: Option<BoxError>,
}

impl Error {
    /// A new error of `kind` with a message for people.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Keeps `source` as the cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The classification.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `InvalidInput` naming the offending field.
    pub fn invalid(field: &str, problem: impl fmt::Display) -> Self {
        Self::new(ErrorKind::InvalidInput, format!("{field}: {problem}"))
    }

    /// `InvalidInput` for a change the key's state does not allow (suspending a revoked key):
    /// the field is `state`, and the cause is [`WrongState`], so a caller can tell it from bad
    /// input (an HTTP service answers it 409 rather than 422).
    pub fn wrong_state(problem: impl fmt::Display) -> Self {
        Self::invalid("state", problem).with_source(WrongState)
    }

    /// `NotFound` for a key id.
    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::new(ErrorKind::NotFound, format!("{what} not found"))
    }

    /// `Conflict` for a stale version.
    pub fn stale(what: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::Conflict,
            format!("{what} was changed concurrently; reload and retry"),
        )
    }

    /// `Backend` wrapping a cause.
    pub fn backend(message: impl Into<Cow<'static, str>>, source: impl Into<BoxError>) -> Self {
        Self::new(ErrorKind::Backend, message).with_source(source)
    }

    /// `Unavailable` wrapping a cause.
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
}

/// `Result` with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn keeps_kind_message_and_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = Error::unavailable("store unreachable").with_source(io);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.to_string(), "unavailable: store unreachable");
        assert!(err.source().unwrap().to_string().contains("refused"));
    }
}

/// The cause of an [`Error::wrong_state`]: the request was well formed, the key is not in a state
/// for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the key's state does not allow this change")]
pub struct WrongState;

impl WrongState {
    /// Whether `err` is a refusal for the key's state.
    pub fn is(err: &Error) -> bool {
        std::error::Error::source(err).is_some_and(|s| s.downcast_ref::<Self>().is_some())
    }
}
