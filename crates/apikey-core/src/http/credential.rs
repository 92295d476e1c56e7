//! Where a request carries its API key, and reading it without copying.

use crate::secret::Credential;
use crate::verify::RejectionKind;

/// Where credentials are accepted. Header and `Authorization: Bearer` are on by default; query
/// parameters and cookies are off (they end up in access logs and browser stores).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialConfig {
    /// The dedicated header (default `x-api-key`), lower case; `None` turns it off.
    pub header: Option<String>,
    /// Accept `Authorization: Bearer <token>` (default on).
    pub bearer: bool,
    /// A query parameter name (default off). The value is taken verbatim, not percent-decoded:
    /// tokens never need encoding.
    pub query: Option<String>,
    /// A cookie name (default off).
    pub cookie: Option<String>,
    /// The realm of the `WWW-Authenticate` challenge (default `api`).
    pub realm: String,
}

impl Default for CredentialConfig {
    fn default() -> Self {
        Self {
            header: Some("x-api-key".to_owned()),
            bearer: true,
            query: None,
            cookie: None,
            realm: "api".to_owned(),
        }
    }
}

impl CredentialConfig {
    /// Sets the dedicated header name (stored lower case).
    #[must_use]
    pub fn header(mut self, name: &str) -> Self {
        self.header = Some(name.to_ascii_lowercase());
        self
    }

    /// Turns the dedicated header off.
    #[must_use]
    pub fn no_header(mut self) -> Self {
        self.header = None;
        self
    }

    /// Turns `Authorization: Bearer` on or off.
    #[must_use]
    pub fn bearer(mut self, on: bool) -> Self {
        self.bearer = on;
        self
    }

    /// Accepts the key in query parameter `name`.
    #[must_use]
    pub fn query(mut self, name: &str) -> Self {
        self.query = Some(name.to_owned());
        self
    }

    /// Accepts the key in cookie `name`.
    #[must_use]
    pub fn cookie(mut self, name: &str) -> Self {
        self.cookie = Some(name.to_owned());
        self
    }

    /// Sets the challenge realm (only visible ASCII and spaces are kept, without `"` and `\`).
    #[must_use]
    pub fn realm(mut self, realm: &str) -> Self {
        self.realm = realm.chars().filter(|&c| quotable(c)).collect();
        self
    }

    /// The `WWW-Authenticate` value sent with every 401: the `ApiKey` scheme with the realm and the
    /// header name, then a `Bearer` challenge when bearer tokens are accepted, e.g.
    /// `ApiKey realm="api", header="x-api-key", Bearer realm="api"`.
    ///
    /// Always a valid header value: the fields are public, and integrations drop a value that is
    /// not visible ASCII, which would send a 401 without its challenge.
    pub fn challenge(&self) -> String {
        let mut s = String::from("ApiKey realm=");
        push_quoted(&mut s, &self.realm);
        if let Some(h) = &self.header {
            s.push_str(", header=");
            push_quoted(&mut s, h);
        }
        if self.bearer {
            s.push_str(", Bearer realm=");
            push_quoted(&mut s, &self.realm);
        }
        s
    }
}

/// Whether `c` may stand inside a quoted-string without escaping in a header value every HTTP
/// library accepts: visible ASCII or space, not `"` or `\`.
fn quotable(c: char) -> bool {
    (c == ' ' || c.is_ascii_graphic()) && !matches!(c, '"' | '\\')
}

fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    out.extend(value.chars().filter(|&c| quotable(c)));
    out.push('"');
}

/// Read access to a request's header lines and query string, implemented by each integration over
/// its framework's types.
pub trait RequestHeaders {
    /// Every line of header `name` (lower case), in order, as raw bytes.
    fn header_lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a;
    /// The raw query string (without `?`), if any.
    fn query_string(&self) -> Option<&str>;
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// Finds the one credential in a request.
///
/// Every enabled source is read; more than one credential (the header twice, header and bearer,
/// header and query, …) is [`RejectionKind::Ambiguous`], none is [`RejectionKind::Missing`], and
/// a value that is not UTF-8 or is empty is [`RejectionKind::Malformed`]. Nothing is copied.
pub fn extract_credential<'a, R: RequestHeaders>(
    config: &'a CredentialConfig,
    req: &'a R,
) -> Result<Credential<'a>, RejectionKind> {
    let mut found: Option<&'a [u8]> = None;
    let mut take = |v: &'a [u8]| -> Result<(), RejectionKind> {
        if found.replace(v).is_some() {
            return Err(RejectionKind::Ambiguous);
        }
        Ok(())
    };
    if let Some(name) = &config.header {
        for line in req.header_lines(name) {
            take(trim(line))?;
        }
    }
    if config.bearer {
        for line in req.header_lines("authorization") {
            let line = trim(line);
            if line.len() > 7 && line[..7].eq_ignore_ascii_case(b"bearer ") {
                take(trim(&line[7..]))?;
            }
        }
    }
    if let Some(name) = &config.cookie {
        for line in req.header_lines("cookie") {
            for pair in line.split(|&b| b == b';') {
                let pair = trim(pair);
                if let Some(eq) = pair.iter().position(|&b| b == b'=')
                    && &pair[..eq] == name.as_bytes()
                {
                    take(trim(&pair[eq + 1..]))?;
                }
            }
        }
    }
    if let (Some(name), Some(query)) = (&config.query, req.query_string()) {
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if k == name {
                take(v.as_bytes())?;
            }
        }
    }
    let raw = found.ok_or(RejectionKind::Missing)?;
    match std::str::from_utf8(raw) {
        Ok(s) if !s.is_empty() => Ok(Credential::new(s)),
        _ => Err(RejectionKind::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Req(Vec<(&'static str, Vec<u8>)>, Option<&'static str>);

    impl RequestHeaders for Req {
        fn header_lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
            self.0
                .iter()
                .filter(move |(n, _)| *n == name)
                .map(|(_, v)| v.as_slice())
        }
        fn query_string(&self) -> Option<&str> {
            self.1
        }
    }

    fn get(
        c: &CredentialConfig,
        h: &[(&'static str, &[u8])],
        q: Option<&'static str>,
    ) -> Result<String, RejectionKind> {
        let req = Req(h.iter().map(|(n, v)| (*n, v.to_vec())).collect(), q);
        extract_credential(c, &req).map(|c| c.expose().to_owned())
    }

    #[test]
    fn sources_and_ambiguity() {
        let d = CredentialConfig::default();
        assert_eq!(get(&d, &[], None), Err(RejectionKind::Missing));
        assert_eq!(
            get(&d, &[("x-api-key", b" k1 ")], None).as_deref(),
            Ok("k1")
        );
        assert_eq!(
            get(&d, &[("authorization", b"bearer k2")], None).as_deref(),
            Ok("k2")
        );
        assert_eq!(
            get(&d, &[("authorization", b"Basic abc")], None),
            Err(RejectionKind::Missing)
        );
        assert_eq!(
            get(&d, &[("x-api-key", b"a"), ("x-api-key", b"a")], None),
            Err(RejectionKind::Ambiguous)
        );
        assert_eq!(
            get(
                &d,
                &[("x-api-key", b"a"), ("authorization", b"Bearer b")],
                None
            ),
            Err(RejectionKind::Ambiguous)
        );
        assert_eq!(
            get(&d, &[("x-api-key", b"\xff\xfe")], None),
            Err(RejectionKind::Malformed)
        );
        assert_eq!(
            get(&d, &[("x-api-key", b"")], None),
            Err(RejectionKind::Malformed)
        );
        // Query and cookie are off by default.
        assert_eq!(
            get(&d, &[("cookie", b"k=v")], Some("api_key=v")),
            Err(RejectionKind::Missing)
        );
        let all = CredentialConfig::default().query("api_key").cookie("k");
        assert_eq!(get(&all, &[], Some("a=1&api_key=v")).as_deref(), Ok("v"));
        assert_eq!(
            get(&all, &[("cookie", b"x=1; k=c")], None).as_deref(),
            Ok("c")
        );
        assert_eq!(
            get(&all, &[("x-api-key", b"a")], Some("api_key=v")),
            Err(RejectionKind::Ambiguous)
        );
    }

    #[test]
    fn challenge_names_scheme_realm_and_header() {
        assert_eq!(
            CredentialConfig::default().challenge(),
            r#"ApiKey realm="api", header="x-api-key", Bearer realm="api""#
        );
        assert_eq!(
            CredentialConfig::default()
                .bearer(false)
                .realm("x\"y")
                .challenge(),
            r#"ApiKey realm="xy", header="x-api-key""#
        );
    }

    /// Found by the `credential` fuzz target (input `03 dd`: a realm of one non-ASCII character):
    /// integrations drop a header value that is not visible ASCII, so such a realm sent every 401
    /// without `WWW-Authenticate`, and a CR/LF in it would have split the header.
    #[test]
    fn challenge_is_a_valid_header_value_whatever_the_realm() {
        let valid = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
        for realm in [
            "\u{fffd}",
            "Zürich API",
            "a\r\nset-cookie: x=1",
            "tab\there",
            "\0",
        ] {
            let set = CredentialConfig::default().realm(realm);
            assert!(valid(&set.challenge()), "{:?}", set.challenge());
            let raw = CredentialConfig {
                realm: realm.to_owned(),
                header: Some(format!("x-{realm}\"")),
                ..CredentialConfig::default()
            };
            assert!(valid(&raw.challenge()), "{:?}", raw.challenge());
        }
        assert_eq!(
            CredentialConfig::default()
                .bearer(false)
                .realm("Zürich API\r\n")
                .challenge(),
            r#"ApiKey realm="Zrich API", header="x-api-key""#
        );
    }
}
