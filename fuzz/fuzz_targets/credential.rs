//! Fuzzes `extract_credential` (`crates/apikey-core/src/http/credential.rs`) and the
//! `WWW-Authenticate` challenge.
//!
//! Input, line by line: the first byte of line one switches the sources (dedicated header, bearer,
//! query, cookie) and the rest of that line is the realm; every other line is a header line
//! `name:value` (value as raw bytes), or `?query` for the query string. The extractor is checked
//! against a plain model of "exactly one credential among the enabled sources", and an accepted
//! credential must be a non-empty UTF-8 slice of what the request carried.

#![no_main]

use apikey_core::RejectionKind;
use apikey_core::http::{CredentialConfig, RequestHeaders, extract_credential};
use libfuzzer_sys::fuzz_target;

struct Request<'a> {
    headers: Vec<(String, &'a [u8])>,
    query: Option<&'a str>,
}

impl RequestHeaders for Request<'_> {
    fn header_lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    fn query_string(&self) -> Option<&str> {
        self.query
    }
}

fn config(flags: u8, realm: &[u8]) -> CredentialConfig {
    let mut c = CredentialConfig::default().bearer(flags & 1 != 0);
    // Header names as operators spell them; "authorization" also collides with bearer on purpose.
    c = match (flags >> 1) & 3 {
        0 => c.no_header(),
        1 => c,
        2 => c.header("X-Key"),
        _ => c.header("Authorization"),
    };
    if flags & 8 != 0 {
        c = c.query("api_key");
    }
    if flags & 16 != 0 {
        c = c.cookie("k");
    }
    c.realm(&String::from_utf8_lossy(realm))
}

/// Every value an enabled source offers, found independently of the extractor.
fn candidates<'a>(c: &CredentialConfig, req: &'a Request<'a>) -> Vec<&'a [u8]> {
    let mut found = Vec::new();
    for (name, value) in &req.headers {
        let value = value.trim_ascii();
        if c.header.as_deref() == Some(name.as_str()) {
            found.push(value);
        }
        if c.bearer && name == "authorization" {
            let lower = value.to_ascii_lowercase();
            if lower.starts_with(b"bearer ") && value.len() > 7 {
                found.push(value[7..].trim_ascii());
            }
        }
        if let Some(cookie) = c.cookie.as_deref().filter(|_| name == "cookie") {
            for pair in value.split(|&b| b == b';') {
                let pair = pair.trim_ascii();
                if let Some(rest) = pair.strip_prefix(cookie.as_bytes())
                    && let Some(v) = rest.strip_prefix(b"=")
                {
                    found.push(v.trim_ascii());
                }
            }
        }
    }
    if let (Some(name), Some(query)) = (c.query.as_deref(), req.query) {
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if k == name {
                found.push(v.as_bytes());
            }
        }
    }
    found
}

/// Whether `inner` lies within `outer` in memory: "nothing is copied".
fn within(inner: &[u8], outer: &[u8]) -> bool {
    let o = outer.as_ptr_range();
    let i = inner.as_ptr_range();
    o.start <= i.start && i.end <= o.end
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let (flags, realm) = first.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
    let c = config(flags, realm);

    let mut req = Request {
        headers: Vec::new(),
        query: None,
    };
    for line in lines {
        if let Some(q) = line.strip_prefix(b"?") {
            req.query = std::str::from_utf8(q).ok();
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase();
            req.headers.push((name, &line[colon + 1..]));
        }
    }

    let challenge = c.challenge();
    assert!(
        !c.realm.contains(['"', '\\']),
        "the realm can break out of its quoted string: {challenge:?}"
    );
    // Integrations drop a header value that is not visible ASCII, and a 401 must carry its
    // challenge (RFC 9110 §11.6.1), so every realm has to yield one.
    assert!(
        challenge.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "the challenge is not a valid header value: {challenge:?}"
    );

    let expected = candidates(&c, &req);
    match extract_credential(&c, &req) {
        Ok(cred) => {
            let raw = cred.expose();
            assert_eq!(
                expected.len(),
                1,
                "one credential accepted among {expected:?}"
            );
            assert_eq!(raw.as_bytes(), expected[0]);
            assert!(!raw.is_empty());
            assert!(
                req.headers.iter().any(|(_, v)| within(raw.as_bytes(), v))
                    || req
                        .query
                        .is_some_and(|q| within(raw.as_bytes(), q.as_bytes())),
                "the credential was copied out of the request"
            );
            assert_eq!(format!("{cred:?}"), "Credential(<redacted>)");
        }
        Err(RejectionKind::Missing) => assert!(expected.is_empty()),
        Err(RejectionKind::Ambiguous) => assert!(expected.len() > 1),
        Err(RejectionKind::Malformed) => {
            assert_eq!(expected.len(), 1);
            assert!(expected[0].is_empty() || std::str::from_utf8(expected[0]).is_err());
        }
        Err(other) => panic!("extract_credential answered {other:?}"),
    }
});
