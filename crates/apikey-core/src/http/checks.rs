//! The guard's ordered list of [`RequestCheck`]s: which of them a request needs ([`CheckPlan`]),
//! running them, and the body cap.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::verify::Verified;

use super::check::{RequestCheck, Wants};
use super::check_rejection::CheckRejection;
use super::head::RequestHead;

/// The default cap on a body buffered for checks: 1 MiB.
pub const DEFAULT_MAX_CHECK_BODY: usize = 1024 * 1024;

/// At most this many checks per guard: a plan is one `u64` bitmask, so deciding which checks run
/// never allocates.
pub const MAX_CHECKS: usize = 64;

/// Which of a guard's checks run for one request and whether the body is buffered for them.
/// `Copy` and allocation-free, so integrations can compute it on the spot and carry it into the
/// future that runs the checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckPlan {
    run: u64,
    /// The checks (a subset of `run`) that wanted the body.
    body: u64,
}

impl CheckPlan {
    /// Whether no check runs: the request goes on as if none were configured.
    pub fn is_empty(&self) -> bool {
        self.run == 0
    }

    /// Whether some check wants the body buffered.
    pub fn wants_body(&self) -> bool {
        self.body != 0
    }
}

/// Why a body could not be handed to the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyFailure {
    /// Longer than the configured cap (declared by `Content-Length`, or found while reading).
    TooLarge,
    /// The body stream failed (the client went away, a malformed chunk, …).
    Unreadable,
}

#[derive(Clone)]
pub(crate) struct Checks {
    list: Vec<Arc<dyn RequestCheck>>,
    max_body: usize,
}

impl Default for Checks {
    fn default() -> Self {
        Self {
            list: Vec::new(),
            max_body: DEFAULT_MAX_CHECK_BODY,
        }
    }
}

impl fmt::Debug for Checks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checks")
            .field(
                "list",
                &self.list.iter().map(|c| c.name()).collect::<Vec<_>>(),
            )
            .field("max_body", &self.max_body)
            .finish()
    }
}

impl Checks {
    pub(crate) fn add(&mut self, check: Arc<dyn RequestCheck>) -> Result<()> {
        if self.list.len() == MAX_CHECKS {
            return Err(Error::invalid(
                "request checks",
                format_args!("at most {MAX_CHECKS} checks per guard"),
            ));
        }
        self.list.push(check);
        Ok(())
    }

    pub(crate) fn set_max_body(&mut self, bytes: usize) {
        self.max_body = bytes;
    }

    pub(crate) fn max_body(&self) -> usize {
        self.max_body
    }

    /// Whether a check authenticates signed requests ([`RequestCheck::authenticates_signed`]).
    pub(crate) fn authenticates_signed(&self) -> bool {
        self.list.iter().any(|c| c.authenticates_signed())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn plan(&self, key: &Verified, head: &RequestHead<'_>) -> CheckPlan {
        let mut plan = CheckPlan::default();
        for (i, check) in self.list.iter().enumerate() {
            match check.wants(key, head) {
                Wants::Skip => {}
                Wants::Head => plan.run |= 1 << i,
                Wants::Body => {
                    plan.run |= 1 << i;
                    plan.body |= 1 << i;
                }
            }
        }
        plan
    }

    /// Whether a declared `Content-Length` already exceeds the cap (an unparsable one is left to
    /// the reading, which the cap bounds anyway).
    pub(crate) fn declared_too_large(&self, content_length: Option<&[u8]>) -> bool {
        content_length
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > self.max_body as u64)
    }

    pub(crate) async fn run(
        &self,
        plan: CheckPlan,
        key: &Verified,
        head: &RequestHead<'_>,
        body: Option<&Bytes>,
    ) -> Result<(), CheckRejection> {
        for (i, check) in self.list.iter().enumerate() {
            if plan.run & (1 << i) == 0 {
                continue;
            }
            // A head-only check is not handed a body another check had buffered: what it is
            // given does not depend on the other checks configured.
            let body = if plan.body & (1 << i) == 0 {
                None
            } else {
                body
            };
            if let Err(rejection) = check.check(key, head, body).await {
                tracing::debug!(
                    check = check.name(),
                    key = %key.key_id(),
                    status = rejection.status(),
                    code = rejection.code(),
                    "request check refused the request"
                );
                return Err(rejection);
            }
        }
        Ok(())
    }

    pub(crate) fn body_rejection(&self, failure: BodyFailure) -> CheckRejection {
        match failure {
            BodyFailure::TooLarge => CheckRejection::new(
                413,
                format!(
                    "The request body is longer than the {} bytes this service checks.",
                    self.max_body
                ),
            )
            .with_code("body_too_large"),
            BodyFailure::Unreadable => {
                CheckRejection::new(400, "The request body could not be read.")
                    .with_code("body_unreadable")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;

    // Ordering, first-rejection-wins and who gets the body are tested over real servers in
    // `apikey-axum` and `apikey-actix` (`tests/checks.rs`): a `Verified` is only made by a
    // verifier, which needs a store this crate's unit tests do not have.

    type Log = Arc<Mutex<Vec<(&'static str, Option<Bytes>)>>>;

    /// Wants what it was built with; records its calls (name, whether it got a body) in `log`.
    struct Probe {
        name: &'static str,
        wants: Wants,
        refuse: Option<u16>,
        log: Log,
    }

    #[async_trait]
    impl RequestCheck for Probe {
        fn wants(&self, _: &Verified, _: &RequestHead<'_>) -> Wants {
            self.wants
        }

        async fn check(
            &self,
            _: &Verified,
            _: &RequestHead<'_>,
            body: Option<&Bytes>,
        ) -> Result<(), CheckRejection> {
            self.log.lock().unwrap().push((self.name, body.cloned()));
            match self.refuse {
                Some(status) => Err(CheckRejection::new(status, self.name)),
                None => Ok(()),
            }
        }
    }

    #[test]
    fn caps() {
        let mut checks = Checks::default();
        assert_eq!(checks.max_body(), DEFAULT_MAX_CHECK_BODY);
        checks.set_max_body(10);
        assert!(checks.declared_too_large(Some(b"11")));
        assert!(!checks.declared_too_large(Some(b" 10 ")));
        assert!(!checks.declared_too_large(Some(b"x")));
        assert!(!checks.declared_too_large(None));
        assert_eq!(checks.body_rejection(BodyFailure::TooLarge).status(), 413);
        assert_eq!(checks.body_rejection(BodyFailure::Unreadable).status(), 400);
        let log = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..MAX_CHECKS {
            let p = Probe {
                name: "p",
                wants: Wants::Head,
                refuse: None,
                log: Arc::clone(&log),
            };
            checks.add(Arc::new(p)).unwrap();
        }
        let p = Probe {
            name: "p",
            wants: Wants::Head,
            refuse: None,
            log,
        };
        assert!(checks.add(Arc::new(p)).is_err());
    }
}
