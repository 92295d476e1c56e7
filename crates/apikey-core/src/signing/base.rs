//! The signature base (RFC 9421 §2.5): one line per covered component, then
//! `"@signature-params"` with the serialized component list and parameters. The same function
//! builds it for the guard and for the client, so both sides cannot drift apart.

use std::fmt::Write as _;

use sfv::{Integer, KeyRef, ListSerializer, StringRef};

use crate::http::RequestHead;

use super::error::SignatureError;
use super::input::{Param, SignatureInput};

/// Derived components this guard computes. Others (`@status`, `@query-param`, `@request-response`)
/// are refused: they need parameters or a response.
const DERIVED: [&str; 7] = [
    "@method",
    "@authority",
    "@path",
    "@query",
    "@target-uri",
    "@request-target",
    "@scheme",
];

/// The `@signature-params` value: the inner list of components with the parameters, in the
/// order given, in structured-field serialization.
pub(crate) fn signature_params(input: &SignatureInput) -> Result<String, SignatureError> {
    let mut ser = ListSerializer::new();
    {
        let mut list = ser.inner_list();
        for c in &input.components {
            list.bare_item(StringRef::from_str(c).map_err(|_| SignatureError::Malformed)?);
        }
        let mut params = list.finish();
        for (name, value) in &input.params {
            let key = KeyRef::from_str(name).map_err(|_| SignatureError::Malformed)?;
            params = match value {
                Param::Int(i) => params.parameter(
                    key,
                    Integer::try_from(*i).map_err(|_| SignatureError::Malformed)?,
                ),
                Param::Str(s) => params.parameter(
                    key,
                    StringRef::from_str(s).map_err(|_| SignatureError::Malformed)?,
                ),
            };
        }
        let _ = params.finish();
    }
    ser.finish().ok_or(SignatureError::Malformed)
}

/// The value of one covered component of `head`. `scheme` is the scheme the service is reached
/// by (the guard cannot see TLS terminated in front of it).
fn component(
    head: &RequestHead<'_>,
    scheme: &str,
    name: &str,
    out: &mut String,
) -> Result<(), SignatureError> {
    let authority = || {
        head.authority()
            .map(str::to_ascii_lowercase)
            .ok_or(SignatureError::UnknownComponent)
    };
    let path = if head.path().is_empty() {
        "/"
    } else {
        head.path()
    };
    match name {
        "@method" => out.push_str(head.method()),
        "@authority" => out.push_str(&authority()?),
        "@path" => out.push_str(path),
        "@query" => {
            out.push('?');
            out.push_str(head.query().unwrap_or(""));
        }
        "@target-uri" => {
            let _ = write!(out, "{scheme}://{}{path}", authority()?);
            if let Some(q) = head.query() {
                out.push('?');
                out.push_str(q);
            }
        }
        "@request-target" => {
            out.push_str(path);
            if let Some(q) = head.query() {
                out.push('?');
                out.push_str(q);
            }
        }
        "@scheme" => out.push_str(scheme),
        field => {
            // Field names are lower case in the input (RFC 9421 §2.1) and as the heads give them.
            if field.starts_with('@') || field.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(SignatureError::UnknownComponent);
            }
            let mut any = false;
            for line in head.header_lines(field) {
                let line = std::str::from_utf8(line)
                    .map_err(|_| SignatureError::UnknownComponent)?
                    .trim_matches([' ', '\t']);
                if any {
                    out.push_str(", ");
                }
                out.push_str(line);
                any = true;
            }
            if !any {
                return Err(SignatureError::UnknownComponent);
            }
        }
    }
    Ok(())
}

/// Whether `name` is a component this guard can derive (a derived one it knows, or a field).
pub(crate) fn known(name: &str) -> bool {
    !name.starts_with('@') || DERIVED.contains(&name)
}

/// The signature base of `input` over `head`.
pub(crate) fn signature_base(
    head: &RequestHead<'_>,
    scheme: &str,
    input: &SignatureInput,
) -> Result<String, SignatureError> {
    let mut out = String::with_capacity(256);
    for (i, name) in input.components.iter().enumerate() {
        if !known(name) || input.components[..i].contains(name) {
            return Err(SignatureError::UnknownComponent);
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\": ");
        component(head, scheme, name, &mut out)?;
        out.push('\n');
    }
    out.push_str("\"@signature-params\": ");
    out.push_str(&signature_params(input)?);
    Ok(out)
}
