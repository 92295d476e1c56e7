//! `POST /v1/leaks/github`: GitHub's secret-scanning partner contract.
//!
//! GitHub posts the tokens it found in public (a JSON array of `{token, type, url, source}`),
//! signed with one of its keys. Each token that is a real key's whole token is revoked with the
//! reason `leaked: <url>`; the answer labels every token `true_positive` or `false_positive`, as
//! GitHub expects. Without a valid signature nothing is read and nothing is revoked.

use apikey_core::{Change, LeakOutcome};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::github_keys::SignatureError;
use crate::problem::Problem;

/// The most tokens one alert may carry (GitHub sends a few at a time).
pub const MAX_REPORTED: usize = 1000;

/// One token GitHub found.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Reported {
    /// The whole token as found.
    pub token: String,
    /// The token type registered with GitHub.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where it was found.
    pub url: Option<String>,
    /// What kind of place (`content`, `commit`, `issue`…).
    pub source: Option<String>,
}

/// GitHub's label for one reported token.
#[derive(Debug, Serialize, ToSchema)]
pub struct Labelled {
    /// The token as reported.
    pub token_raw: String,
    /// The type as reported.
    pub token_type: String,
    /// `true_positive` (a real key: revoked now or before) or `false_positive`.
    pub label: &'static str,
}

fn header<'h>(h: &'h HeaderMap, name: &str) -> Result<&'h str, Problem> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized(format!("the {name} header is missing")))
}

fn unauthorized(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "invalid_signature", detail)
}

/// Receives a GitHub secret-scanning alert.
#[utoipa::path(post, path = "/v1/leaks/github", request_body = Vec<Reported>,
    params(
        ("Github-Public-Key-Identifier" = String, Header, description = "Which of GitHub's keys signed the body"),
        ("Github-Public-Key-Signature" = String, Header, description = "ECDSA P-256 SHA-256 signature of the raw body, base64 DER"),
    ),
    responses(
        (status = 200, description = "Every reported token, labelled", body = Vec<Labelled>),
        (status = 400, description = "The body is not a list of reports (problem+json)"),
        (status = 401, description = "No valid GitHub signature; nothing was revoked (problem+json)"),
        (status = 404, description = "The receiver is not configured (--github-keys) (problem+json)"),
        (status = 503, description = "GitHub's keys or the store are unreachable; retry (problem+json)"),
    ),
)]
pub(crate) async fn github(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Vec<Labelled>>, Problem> {
    let id = header(&headers, "Github-Public-Key-Identifier")?;
    let sig = header(&headers, "Github-Public-Key-Signature")?;
    let Some(keys) = &st.github else {
        return Err(Problem::not_found(
            "the GitHub secret-scanning receiver is not configured (start the service with --github-keys)",
        ));
    };
    keys.verify(id, sig, &body).await.map_err(|e| match e {
        SignatureError::Invalid(why) => unauthorized(why),
        SignatureError::KeysUnavailable(why) => {
            tracing::error!(error = %why, "cannot fetch GitHub's public keys");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "GitHub's public keys cannot be fetched; retry later",
            )
        }
    })?;
    let reports: Vec<Reported> = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(format!(
            "the body is not a JSON array of {{token, type, url, source}}: {e}"
        ))
    })?;
    if reports.len() > MAX_REPORTED {
        return Err(Problem::bad_request(format!(
            "an alert carries at most {MAX_REPORTED} tokens"
        )));
    }
    let mut labels = Vec::with_capacity(reports.len());
    let mut revoked = 0usize;
    for r in reports {
        let found_at = r.url.as_deref().or(r.source.as_deref()).unwrap_or("GitHub");
        let outcome = st
            .keys
            .manager()
            .revoke_leaked(&r.token, found_at, Change::by("github secret scanning"))
            .await?;
        if let LeakOutcome::Revoked(record) = &outcome {
            revoked += 1;
            // The service's own verifier caches admin keys apart: a leaked admin key stops
            // authenticating the service at once too.
            st.admin
                .verifier()
                .invalidate(record.lookup_id, record.version);
            tracing::warn!(key = %record.id, "key revoked: GitHub found its token in public");
        }
        labels.push(Labelled {
            label: if outcome.is_key() {
                "true_positive"
            } else {
                "false_positive"
            },
            token_raw: r.token,
            token_type: r.kind,
        });
    }
    tracing::info!(
        reported = labels.len(),
        revoked,
        "GitHub secret-scanning alert"
    );
    Ok(Json(labels))
}
