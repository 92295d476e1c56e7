//! [`RequestHead`]: the parts of a request a [`RequestCheck`](super::RequestCheck) may read —
//! method, target and header fields — borrowed from the framework's own request, so building one
//! costs no allocation and core depends on no HTTP crate.

use std::fmt;

/// Read access to a request's header fields, implemented by each integration over its framework's
/// header map (a small wrapper type, since neither the trait nor the map is the integration's).
///
/// Object-safe, so one [`RequestHead`] type serves every framework.
pub trait HeaderFields: Sync {
    /// The `index`-th line (from 0, in order) of field `name` (lower case), if there is one.
    fn line(&self, name: &str, index: usize) -> Option<&[u8]>;

    /// Calls `f` with every field line in order: the name (lower case) and the raw value.
    fn for_each(&self, f: &mut dyn FnMut(&str, &[u8]));
}

/// A request's method, target and header fields, as the guard hands them to a
/// [`RequestCheck`](super::RequestCheck).
///
/// Everything is borrowed from the request. `Debug` shows the method and path only: the query
/// string and the header fields may hold the credential.
#[derive(Clone, Copy)]
pub struct RequestHead<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    authority: Option<&'a str>,
    headers: &'a dyn HeaderFields,
}

impl<'a> RequestHead<'a> {
    /// A head with `method` (e.g. `"POST"`), `path` (e.g. `"/orders/7"`, not percent-decoded)
    /// and `headers`; no query string and no authority until set.
    pub fn new(method: &'a str, path: &'a str, headers: &'a dyn HeaderFields) -> Self {
        Self {
            method,
            path,
            query: None,
            authority: None,
            headers,
        }
    }

    /// Sets the raw query string (without `?`); an empty one counts as none.
    #[must_use]
    pub fn with_query(mut self, query: Option<&'a str>) -> Self {
        self.query = query.filter(|q| !q.is_empty());
        self
    }

    /// Sets the authority from the request target (HTTP/2's `:authority`, an absolute-form
    /// target); without it [`authority`](Self::authority) reads the `Host` field.
    #[must_use]
    pub fn with_authority(mut self, authority: Option<&'a str>) -> Self {
        self.authority = authority;
        self
    }

    /// The method, e.g. `"GET"`.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The path of the target, as sent (not percent-decoded).
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The raw query string, without `?`, if there is a non-empty one.
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// The authority the request was sent to: the target's, else the first `Host` line (if it is
    /// UTF-8).
    pub fn authority(&self) -> Option<&'a str> {
        self.authority.or_else(|| {
            self.header("host")
                .and_then(|h| std::str::from_utf8(h).ok())
        })
    }

    /// The header fields, for building another head over them.
    pub fn fields(&self) -> &'a dyn HeaderFields {
        self.headers
    }

    /// The first line of header field `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers.line(name, 0)
    }

    /// Every line of header field `name` (lower case), in order.
    pub fn header_lines<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        let headers = self.headers;
        (0..).map_while(move |i| headers.line(name, i))
    }

    /// Calls `f` with every header line in order: name (lower case) and raw value.
    pub fn for_each_header(&self, mut f: impl FnMut(&str, &[u8])) {
        self.headers.for_each(&mut f);
    }
}

impl fmt::Debug for RequestHead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_hides() {
        let fields = crate::http::FieldList::new()
            .with("host", "api.example")
            .with("x-api-key", "sk_secret")
            .with("accept", "a")
            .with("accept", "b");
        let head = RequestHead::new("POST", "/orders", &fields).with_query(Some("api_key=sk_q"));
        assert_eq!(head.authority(), Some("api.example"));
        assert_eq!(head.header("accept"), Some(&b"a"[..]));
        assert_eq!(
            head.header_lines("accept").collect::<Vec<_>>(),
            [&b"a"[..], &b"b"[..]]
        );
        let mut n = 0;
        head.for_each_header(|_, _| n += 1);
        assert_eq!(n, 4);
        let debug = format!("{head:?}");
        assert!(debug.contains("/orders"));
        assert!(!debug.contains("sk_"), "{debug}");
        assert_eq!(
            RequestHead::new("GET", "/", &fields)
                .with_query(Some(""))
                .query(),
            None
        );
    }
}
