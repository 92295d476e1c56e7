//! `POST /v1/keys/verify`: verification for services in any language. The verdict is the JSON
//! `apikey verify --json` prints; a refused key is a 200 with `valid: false`.

use std::net::{IpAddr, SocketAddr};

use apikey_axum::Verified;
use apikey_core::{Credential, KeyView, RequestContext, Scope, TenantScope};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::body;
use crate::problem::Problem;

/// What to verify.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The token the end client presented.
    pub token: String,
    /// Scopes the route requires (all of them).
    #[serde(default)]
    #[schema(schema_with = crate::schema::scopes)]
    pub scopes: Vec<String>,
    /// The endpoint, for endpoint limits (`"GET /projects"`).
    pub endpoint: Option<String>,
    /// What the request costs (default 1; 0 for a free one).
    #[serde(default, deserialize_with = "crate::schema::whole")]
    #[schema(value_type = Option<u64>, minimum = 0, maximum = 4_294_967_295_u64)]
    pub cost: Option<u32>,
    /// The end client's address, for the key's IP rules (failed attempts are counted against
    /// the caller's own address, never this one).
    #[schema(schema_with = crate::schema::ip)]
    pub ip: Option<IpAddr>,
}

/// The verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verdict {
    /// Whether the key may make this request.
    pub valid: bool,
    /// Why not (`invalid_api_key` kinds are told apart here: `unknown`, `revoked`, …).
    pub kind: Option<&'static str>,
    /// The HTTP status a guard would answer.
    pub status: u16,
    /// The key, once its secret verified.
    pub key_id: Option<String>,
    /// The first required scope the key lacks.
    pub missing_scope: Option<String>,
    /// When to retry (429).
    pub retry_after_secs: Option<f64>,
    /// The limit that refused, or the tightest one after an admitted request.
    pub limit: Option<&'static str>,
    /// The pool that refused, when it was a pool's.
    pub pool: Option<String>,
    /// Requests left under the tightest limit.
    pub remaining: Option<u64>,
    /// The key's public view, when valid.
    #[schema(value_type = Option<Object>)]
    pub key: Option<KeyView>,
    /// Whether the key works only thanks to its expiry grace period.
    pub in_expiry_grace: Option<bool>,
}

/// Verifies a token for another service.
#[utoipa::path(post, path = "/v1/keys/verify", request_body = VerifyRequest, responses(
    (status = 200, description = "The verdict (a refused key is valid: false)", body = Verdict),
    (status = 400, description = "The body is not usable (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 403, description = "The admin key lacks keys:verify (problem+json)"),
    (status = 422, description = "A scope is invalid (problem+json)"),
))]
pub(crate) async fn verify(
    State(st): State<AppState>,
    admin: Verified,
    Peer(peer): Peer,
    b: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<Json<Verdict>, Problem> {
    let b = body(b)?;
    let scope = scope_of(&admin)?;
    let scopes = b
        .scopes
        .iter()
        .map(|s| Scope::new(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ctx = RequestContext::new()
        .scopes(&scopes)
        .client_ip(b.ip)
        .failures_from(peer)
        .cost(b.cost.unwrap_or(1));
    if let TenantScope::Tenant(t) = &scope {
        // Another tenant's key is unknown to this admin key, and charged nothing.
        ctx = ctx.within_tenant(t);
    }
    if let Some(e) = &b.endpoint {
        ctx = ctx.endpoint(e);
    }
    let result = st
        .keys
        .verifier()
        .verify(Credential::new(b.token.trim()), &ctx)
        .await;
    let verdict = match result {
        // A tenant's admin key sees only its tenant's keys: `within_tenant` answers another's
        // as unknown before anything is charged; this stays as a backstop for isolation.
        Ok(v) if !scope.admits(v.tenant_id()) => refused_unknown(),
        Ok(v) => Verdict {
            valid: true,
            kind: None,
            status: 200,
            key_id: Some(v.key_id().to_string()),
            missing_scope: None,
            retry_after_secs: None,
            limit: v.limit().map(|l| l.kind.as_str()),
            pool: None,
            remaining: v.limit().map(|l| l.remaining),
            // Serialized straight into the answer (no intermediate JSON tree).
            key: Some(KeyView::from(v.record())),
            in_expiry_grace: Some(v.in_expiry_grace()),
        },
        Err(r) if r.key_id().is_some() && !scope.admits(r.tenant_id()) => refused_unknown(),
        Err(r) => Verdict {
            valid: false,
            kind: Some(r.kind().code()),
            status: r.status(),
            key_id: r.key_id().map(|k| k.to_string()),
            missing_scope: r.missing_scope().map(|s| s.as_str().to_owned()),
            retry_after_secs: r.retry_after_duration().map(|d| d.as_secs_f64()),
            limit: r.limit().map(|l| l.kind.as_str()),
            pool: r.limiting_pool().map(str::to_owned),
            remaining: r.limit().map(|l| l.remaining),
            key: None,
            in_expiry_grace: None,
        },
    };
    Ok(Json(verdict))
}

/// The caller's address: the socket peer (when the server was started with connect info), or,
/// when the peer is a trusted proxy, the first untrusted hop of `X-Forwarded-For`.
pub(crate) struct Peer(Option<IpAddr>);

impl FromRequestParts<AppState> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .map(axum::http::HeaderValue::as_bytes);
        Ok(Self(st.proxies.resolve(peer, forwarded)))
    }
}

fn refused_unknown() -> Verdict {
    Verdict {
        valid: false,
        kind: Some(apikey_core::RejectionKind::Unknown.code()),
        status: 401,
        key_id: None,
        missing_scope: None,
        retry_after_secs: None,
        limit: None,
        pool: None,
        remaining: None,
        key: None,
        in_expiry_grace: None,
    }
}
