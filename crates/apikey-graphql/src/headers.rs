//! [`HeaderList`]: request headers as a plain list, for frameworks without an adapter and tests.

use apikey_core::http::RequestHeaders;

/// Headers as `(lower-case name, value)` pairs, in order.
#[derive(Clone, Copy)]
pub struct HeaderList<'h>(pub &'h [(&'h str, &'h str)]);

impl std::fmt::Debug for HeaderList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n))
            .finish()
    }
}

impl RequestHeaders for HeaderList<'_> {
    fn header_lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_bytes())
    }

    fn query_string(&self) -> Option<&str> {
        None
    }
}
