//! `Idempotency-Key` on the operations that create keys (`POST /v1/keys`, `POST /v1/admins`,
//! `POST /v1/keys/{id}/rotate`, `POST /v1/keys/{id}/clone`), as the IETF draft
//! `draft-ietf-httpapi-idempotency-key-header` describes it: a retry with the same key and the same body gets the first answer again (with
//! `Idempotent-Replayed: true`) instead of a second key; the same key with another body is a 422;
//! a retry while the first is still running is a 409.
//!
//! An answer is remembered for 24 hours, per caller (the credential the request carried, hashed)
//! so one caller can never be handed another's. Only successes are remembered: a refused request
//! changed nothing and may be retried as it is once fixed. The answers hold tokens, so they are
//! kept in this process only, wiped when dropped, and never written anywhere; behind a load
//! balancer, a retry that reaches another instance is not recognised (see the crate README).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::problem::Problem;

/// The request header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long an answer is replayed.
const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);
/// The most answers kept; past it the oldest is forgotten first.
const MAX_ENTRIES: usize = 10_000;
/// The largest request or answer body handled (both are small JSON documents).
const MAX_BODY: usize = 64 * 1024;

enum Entry {
    InFlight {
        body: [u8; 32],
        at: Instant,
    },
    Done {
        body: [u8; 32],
        at: Instant,
        status: StatusCode,
        answer: Zeroizing<Vec<u8>>,
    },
}

impl Entry {
    fn at(&self) -> Instant {
        match self {
            Self::InFlight { at, .. } | Self::Done { at, .. } => *at,
        }
    }
}

/// The answers remembered by this instance.
#[derive(Default)]
pub(crate) struct Idempotency {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl std::fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.lock().map_or(0, |e| e.len());
        f.debug_struct("Idempotency").field("entries", &n).finish()
    }
}

fn creates(method: &Method, path: &str) -> bool {
    method == Method::POST
        && (path == "/v1/keys"
            || path == "/v1/keys/bulk"
            || path == "/v1/admins"
            || (path.starts_with("/v1/keys/")
                && (path.ends_with("/rotate") || path.ends_with("/clone"))))
}

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        // Lengths first, so no two different lists of parts hash alike.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn caller(headers: &HeaderMap) -> [u8; 32] {
    let auth = headers
        .get(header::AUTHORIZATION)
        .map_or(&[][..], HeaderValue::as_bytes);
    let api_key = headers
        .get("x-api-key")
        .map_or(&[][..], HeaderValue::as_bytes);
    sha(&[auth, api_key])
}

enum Begin {
    Run,
    Replay(StatusCode, Zeroizing<Vec<u8>>),
    Refuse(Problem),
}

impl Idempotency {
    fn begin(&self, slot: [u8; 32], body: [u8; 32], now: Instant) -> Begin {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(&slot) {
            Some(e) if now.duration_since(e.at()) < KEEP_FOR => {
                let (same, done) = match e {
                    Entry::InFlight { body: b, .. } => (*b == body, None),
                    Entry::Done {
                        body: b,
                        status,
                        answer,
                        ..
                    } => (*b == body, Some((*status, answer.clone()))),
                };
                return match (same, done) {
                    (false, _) => Begin::Refuse(Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "idempotency_key_reused",
                        "this Idempotency-Key was used with another request body; use a new key for a new request",
                    )),
                    (true, None) => Begin::Refuse(Problem::new(
                        StatusCode::CONFLICT,
                        "idempotency_in_progress",
                        "the first request with this Idempotency-Key is still running; retry shortly",
                    )),
                    (true, Some((status, answer))) => Begin::Replay(status, answer),
                };
            }
            _ => {}
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now.duration_since(e.at()) < KEEP_FOR);
        }
        if entries.len() >= MAX_ENTRIES
            && let Some(oldest) = entries
                .iter()
                .filter(|(_, e)| matches!(e, Entry::Done { .. }))
                .min_by_key(|(_, e)| e.at())
                .map(|(k, _)| *k)
        {
            entries.remove(&oldest);
        }
        entries.insert(slot, Entry::InFlight { body, at: now });
        Begin::Run
    }

    fn finish(&self, slot: [u8; 32], body: [u8; 32], kept: Option<(StatusCode, Vec<u8>)>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match kept {
            Some((status, answer)) => {
                entries.insert(
                    slot,
                    Entry::Done {
                        body,
                        at: Instant::now(),
                        status,
                        answer: Zeroizing::new(answer),
                    },
                );
            }
            None => {
                entries.remove(&slot);
            }
        }
    }
}

fn json(status: StatusCode, body: Vec<u8>, replayed: bool) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        res.headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    res
}

/// Records the outcome when dropped, however the request ended.
struct Pending<'a> {
    store: &'a Idempotency,
    slot: [u8; 32],
    body: [u8; 32],
    kept: Option<(StatusCode, Vec<u8>)>,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.store.finish(self.slot, self.body, self.kept.take());
    }
}

/// The middleware: does nothing unless the request creates a key and carries the header.
pub(crate) async fn middleware(
    State(store): State<std::sync::Arc<Idempotency>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(key) = req.headers().get(IDEMPOTENCY_KEY).cloned() else {
        return next.run(req).await;
    };
    if !creates(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let k = key.as_bytes();
    if k.is_empty() || k.len() > 255 || !k.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Problem::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters")
            .into_response();
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {MAX_BODY} bytes"),
        )
        .into_response();
    };
    let slot = sha(&[
        &caller(&parts.headers),
        parts.method.as_str().as_bytes(),
        parts.uri.path().as_bytes(),
        k,
    ]);
    let fingerprint = sha(&[&bytes]);
    match store.begin(slot, fingerprint, Instant::now()) {
        Begin::Refuse(p) => return p.into_response(),
        Begin::Replay(status, answer) => return json(status, answer.to_vec(), true),
        Begin::Run => {}
    }
    // If this future is dropped (the client went away), the slot is freed for the retry.
    let mut pending = Pending {
        store: &store,
        slot,
        body: fingerprint,
        kept: None,
    };
    let res = next
        .run(Request::from_parts(parts, Body::from(Bytes::clone(&bytes))))
        .await;
    if !res.status().is_success() {
        return res;
    }
    let (parts, body) = res.into_parts();
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(answer) => {
            pending.kept = Some((parts.status, answer.to_vec()));
            Response::from_parts(parts, Body::from(answer))
        }
        Err(_) => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The key service failed to answer; see its log.",
        )
        .into_response(),
    }
}
