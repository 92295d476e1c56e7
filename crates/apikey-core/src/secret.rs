//! Types that hold a secret: zeroized on drop, redacted in `Debug`, with no `Display` or `Serialize`.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A whole token, as handed to its owner exactly once at creation or rotation.
///
/// Read it with [`Token::expose`]; there is deliberately no `Display`, `Serialize` or `Clone`, so it
/// cannot slip into a log line or a response by accident.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Token(String);

impl Token {
    pub(crate) fn new(s: String) -> Self {
        Self(s)
    }

    /// The token text. Print it once, to its owner, and nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A credential as a request presented it, borrowed from the request: the verifier parses it in
/// place, so verification copies nothing. `Debug` is redacted.
#[derive(Clone, Copy)]
pub struct Credential<'a>(&'a str);

impl<'a> Credential<'a> {
    /// Wraps the raw credential text (header value, bearer token, query or cookie value).
    pub fn new(raw: &'a str) -> Self {
        Self(raw)
    }

    /// The raw text.
    pub fn expose(&self) -> &'a str {
        self.0
    }
}

impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let t = Token::new("sk_test_SECRETSECRET".into());
        assert!(!format!("{t:?}").contains("SECRET"));
        let c = Credential::new("sk_test_SECRETSECRET");
        assert!(!format!("{c:?}").contains("SECRET"));
    }
}
