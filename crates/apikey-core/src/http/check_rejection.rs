//! [`CheckRejection`]: what a [`RequestCheck`](super::RequestCheck) answers when it refuses a
//! request, as an RFC 9457 problem.

use std::borrow::Cow;
use std::time::Duration;

/// Why a [`RequestCheck`](super::RequestCheck) refused a request: an RFC 9457 problem (status,
/// type, title, detail, a stable `code`) plus the headers that go with it. Turned into a response by
/// [`problem_for_check`](super::problem_for_check) (HTTP) or by the gRPC integration.
///
/// Holds no credential: only what the check chose to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRejection {
    pub(crate) status: u16,
    pub(crate) type_uri: Cow<'static, str>,
    pub(crate) title: Option<Cow<'static, str>>,
    pub(crate) detail: Cow<'static, str>,
    pub(crate) code: Cow<'static, str>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl CheckRejection {
    /// A refusal with `status` (an error status, 400–599; anything else becomes 500) and
    /// `detail`, type `about:blank`, the status's reason phrase as title and code
    /// `request_refused`.
    pub fn new(status: u16, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status: if (400..=599).contains(&status) {
                status
            } else {
                500
            },
            type_uri: Cow::Borrowed("about:blank"),
            title: None,
            detail: detail.into(),
            code: Cow::Borrowed("request_refused"),
            retry_after: None,
            headers: Vec::new(),
        }
    }

    /// 401, e.g. a missing or bad request signature. The guard adds its `WWW-Authenticate`
    /// challenge unless the check set one.
    pub fn unauthorized(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(401, detail)
    }

    /// 402, e.g. no credits left.
    pub fn payment_required(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(402, detail)
    }

    /// 403, e.g. a canary key.
    pub fn forbidden(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(403, detail)
    }

    /// 429, e.g. credits spent for this period; add [`with_retry_after`](Self::with_retry_after)
    /// when the check knows when to retry.
    pub fn too_many_requests(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(429, detail)
    }

    /// The problem type, a URI naming the kind of refusal (default `about:blank`).
    #[must_use]
    pub fn with_type(mut self, uri: impl Into<Cow<'static, str>>) -> Self {
        self.type_uri = uri.into();
        self
    }

    /// The title (default: the status's reason phrase, as `about:blank` requires).
    #[must_use]
    pub fn with_title(mut self, title: impl Into<Cow<'static, str>>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The `code` extension member (default `request_refused`).
    #[must_use]
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.code = code.into();
        self
    }

    /// When to retry: a `Retry-After` field (whole seconds, rounded up) and `retry_after` member.
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// An extra response header, e.g. `accept-signature`. `name` must be a lower-case field name
    /// and `value` visible ASCII; otherwise the header is left out (a check cannot break the
    /// response). `content-type`, `retry-after` (see [`with_retry_after`](Self::with_retry_after))
    /// and `cache-control` are the guard's and are left out too.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        let value = value.into();
        let name_ok = !name.is_empty()
            && !matches!(name, "content-type" | "retry-after" | "cache-control")
            && name.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
            });
        let value_ok = value
            .bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
        if name_ok && value_ok {
            self.headers.push((name, value));
        }
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The problem type URI.
    pub fn type_uri(&self) -> &str {
        &self.type_uri
    }

    /// The title, if the check set one (else the reason phrase is used).
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The stable `code`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// When to retry, if known.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The extra headers.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_headers_are_kept_valid() {
        assert_eq!(CheckRejection::new(200, "x").status(), 500);
        assert_eq!(CheckRejection::payment_required("x").status(), 402);
        let r = CheckRejection::unauthorized("bad signature")
            .with_header("accept-signature", "sig=(\"@method\")")
            .with_header("Bad-Name", "x")
            .with_header("content-type", "text/plain")
            .with_header("retry-after", "5")
            .with_header("x-ok", "line\r\nbreak");
        assert_eq!(
            r.headers(),
            [("accept-signature", "sig=(\"@method\")".to_owned())]
        );
    }
}
