//! The request glue of core's [`RequestCheck`](apikey_core::http::RequestCheck)s: the request's
//! head as core reads it, buffering the body for checks that want it, and handing the handler the
//! same bytes. What runs and what it answers is decided in core.

use apikey_core::Verified;
use apikey_core::http::{BodyFailure, CheckPlan, GuardSettings, HttpHeaders, RequestHead};
use apikey_core::limit::LimitStatus;
use axum::BoxError;
use axum::body::{Bytes, HttpBody};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Request};
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tower_service::Service;

use crate::response::{add_rate_limit, problem_response};

fn head<'a>(parts: &'a Parts, fields: &'a HttpHeaders<'a>) -> RequestHead<'a> {
    RequestHead::new(parts.method.as_str(), parts.uri.path(), fields)
        .with_query(parts.uri.query())
        .with_authority(parts.uri.authority().map(|a| a.as_str()))
}

/// Which checks this request needs. Callers ask [`GuardSettings::has_checks`] first, so a guard
/// without checks pays one branch.
pub(crate) fn plan(settings: &GuardSettings, parts: &Parts, key: &Verified) -> CheckPlan {
    let fields = HttpHeaders::new(&parts.headers);
    settings.plan_checks(key, &head(parts, &fields))
}

async fn buffer<B>(
    settings: &GuardSettings,
    headers: &HeaderMap,
    body: B,
) -> Result<Bytes, BodyFailure>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    // A declared length over the cap is refused before a byte is read.
    if settings
        .check_body_declared_too_large(headers.get(CONTENT_LENGTH).map(HeaderValue::as_bytes))
    {
        return Err(BodyFailure::TooLarge);
    }
    match Limited::new(body, settings.max_check_body())
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyFailure::TooLarge),
        Err(_) => Err(BodyFailure::Unreadable),
    }
}

/// Runs the planned checks for a verified request, then (if none refused) the inner service with
/// the verified key attached, the same body, and `limit`'s `RateLimit` fields on the response.
/// Trailers of a buffered body are not kept.
pub(crate) async fn checked<S, B>(
    settings: &GuardSettings,
    (mut parts, body): (Parts, B),
    key: Verified,
    plan: CheckPlan,
    limit: Option<LimitStatus>,
    mut inner: S,
) -> Result<Response, S::Error>
where
    S: Service<Request<B>, Response = Response>,
    B: HttpBody + From<Bytes>,
    B::Error: Into<BoxError>,
{
    let (buffered, body) = if plan.wants_body() {
        match buffer(settings, &parts.headers, body).await {
            Ok(bytes) => (Some(bytes.clone()), B::from(bytes)),
            Err(failure) => return Ok(problem_response(settings.body_problem(failure))),
        }
    } else {
        (None, body)
    };
    let outcome = {
        let fields = HttpHeaders::new(&parts.headers);
        settings
            .run_checks(plan, &key, &head(&parts, &fields), buffered.as_ref())
            .await
    };
    if let Err(rejection) = outcome {
        return Ok(problem_response(settings.check_problem(&rejection)));
    }
    // Under an outer layer the key is already attached (the same one).
    if parts.extensions.get::<Verified>().is_none() {
        parts.extensions.insert(key);
    }
    let mut res = inner.call(Request::from_parts(parts, body)).await?;
    if let Some(limit) = &limit {
        add_rate_limit(&mut res, limit);
    }
    Ok(res)
}
