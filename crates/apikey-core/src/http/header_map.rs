//! [`HttpHeaders`]: an `http::HeaderMap` (the type axum, tonic, hyper and reqwest share) as both
//! [`RequestHeaders`] and [`HeaderFields`], written once for every integration built on it
//! (feature `http`). actix-web has its own header map and keeps its own adapter.

use ::http::header::{AUTHORIZATION, COOKIE};
use ::http::{HeaderMap, HeaderName, HeaderValue};

use super::{HeaderFields, RequestHeaders};

/// A request's header map, with its query string and the guard's credential header if it has one.
#[derive(Clone, Copy)]
pub struct HttpHeaders<'a> {
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    custom: Option<&'a HeaderName>,
}

impl<'a> HttpHeaders<'a> {
    /// `headers` with no query string (gRPC metadata, for one).
    pub fn new(headers: &'a HeaderMap) -> Self {
        Self {
            headers,
            query: None,
            custom: None,
        }
    }

    /// The request's raw query string (without `?`).
    #[must_use]
    pub fn with_query(mut self, query: Option<&'a str>) -> Self {
        self.query = query;
        self
    }

    /// The configured credential header, parsed once when the guard was built: reading it then
    /// skips parsing and validating the name on every request.
    #[must_use]
    pub fn with_credential_header(mut self, name: Option<&'a HeaderName>) -> Self {
        self.custom = name;
        self
    }

    fn lines(&self, name: &str) -> ::http::header::GetAll<'a, HeaderValue> {
        // Known names skip parsing the name; an unknown one is parsed by `get_all(&str)`.
        match (name, self.custom) {
            ("authorization", _) => self.headers.get_all(AUTHORIZATION),
            ("cookie", _) => self.headers.get_all(COOKIE),
            (n, Some(custom)) if custom.as_str() == n => self.headers.get_all(custom),
            (n, _) => self.headers.get_all(n),
        }
    }
}

impl std::fmt::Debug for HttpHeaders<'_> {
    // Names only: values and the query string may hold the credential.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpHeaders")
            .field("names", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl RequestHeaders for HttpHeaders<'_> {
    fn header_lines<'b>(&'b self, name: &'b str) -> impl Iterator<Item = &'b [u8]> + 'b {
        self.lines(name).into_iter().map(HeaderValue::as_bytes)
    }

    fn query_string(&self) -> Option<&str> {
        self.query
    }
}

impl HeaderFields for HttpHeaders<'_> {
    fn line(&self, name: &str, index: usize) -> Option<&[u8]> {
        self.lines(name)
            .into_iter()
            .nth(index)
            .map(HeaderValue::as_bytes)
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, &[u8])) {
        for (name, value) in self.headers {
            f(name.as_str(), value.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{CredentialConfig, extract_credential};

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in pairs {
            m.append(*n, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn reads_every_line_in_order_by_known_custom_and_other_names() {
        let m = map(&[
            ("x-api-key", "a"),
            ("authorization", "Bearer b"),
            ("x-api-key", "c"),
            ("x-other", "d"),
        ]);
        let custom = HeaderName::from_static("x-api-key");
        let h = HttpHeaders::new(&m).with_credential_header(Some(&custom));
        let lines = |n| h.header_lines(n).collect::<Vec<_>>();
        assert_eq!(lines("x-api-key"), [b"a".as_slice(), b"c"]);
        assert_eq!(lines("authorization"), [b"Bearer b".as_slice()]);
        assert_eq!(lines("x-other"), [b"d".as_slice()]);
        assert_eq!(h.line("x-api-key", 1), Some(b"c".as_slice()));
        assert_eq!(h.line("x-api-key", 2), None);
        let mut seen = Vec::new();
        h.for_each(&mut |n, v| seen.push((n.to_owned(), v.to_vec())));
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn extracts_the_credential_and_sees_the_query() {
        let m = map(&[("x-api-key", "tok")]);
        let h = HttpHeaders::new(&m).with_query(Some("a=1"));
        assert_eq!(h.query_string(), Some("a=1"));
        let config = CredentialConfig::default();
        let c = extract_credential(&config, &h).expect("one credential");
        assert_eq!(c.expose(), "tok");
        let twice = map(&[("x-api-key", "tok"), ("x-api-key", "tok")]);
        assert!(extract_credential(&config, &HttpHeaders::new(&twice)).is_err());
    }

    #[test]
    fn debug_shows_names_not_values() {
        let m = map(&[("x-api-key", "sk_secret_value")]);
        let shown = format!("{:?}", HttpHeaders::new(&m).with_query(Some("key=sk_q")));
        assert!(shown.contains("x-api-key"));
        assert!(!shown.contains("sk_secret_value") && !shown.contains("sk_q"));
    }
}
