//! The request glue of core's [`RequestCheck`](apikey_core::http::RequestCheck)s: the request's
//! head as core reads it, buffering the payload for checks that want it, and putting the same
//! bytes back for the handler. What runs and what it answers is decided in core.

use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_LENGTH, HeaderMap, HeaderValue};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{Error, HttpMessage};
use apikey_core::Verified;
use apikey_core::http::{BodyFailure, CheckPlan, GuardSettings, HeaderFields, RequestHead};
use apikey_core::limit::LimitStatus;
use futures_util::StreamExt;

use crate::response::{add_rate_limit, problem_response};

/// An actix header map as core's [`HeaderFields`].
struct Fields<'a>(&'a HeaderMap);

impl HeaderFields for Fields<'_> {
    fn line(&self, name: &str, index: usize) -> Option<&[u8]> {
        self.0.get_all(name).nth(index).map(HeaderValue::as_bytes)
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, &[u8])) {
        for (name, value) in self.0 {
            f(name.as_str(), value.as_bytes());
        }
    }
}

fn head<'a>(req: &'a ServiceRequest, fields: &'a Fields<'a>) -> RequestHead<'a> {
    RequestHead::new(req.method().as_str(), req.path(), fields)
        .with_query(Some(req.query_string()))
        .with_authority(req.uri().authority().map(|a| a.as_str()))
}

/// Which checks this request needs. Callers ask [`GuardSettings::has_checks`] first, so a guard
/// without checks pays one branch.
pub(crate) fn plan(settings: &GuardSettings, req: &ServiceRequest, key: &Verified) -> CheckPlan {
    let fields = Fields(req.headers());
    settings.plan_checks(key, &head(req, &fields))
}

/// Reads the whole payload, up to the cap.
async fn buffer(settings: &GuardSettings, req: &mut ServiceRequest) -> Result<Bytes, BodyFailure> {
    let declared = req.headers().get(CONTENT_LENGTH).map(HeaderValue::as_bytes);
    // A declared length over the cap is refused before a byte is read.
    if settings.check_body_declared_too_large(declared) {
        return Err(BodyFailure::TooLarge);
    }
    let max = settings.max_check_body();
    let mut payload = req.take_payload();
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut len = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyFailure::Unreadable)?;
        len = len.saturating_add(chunk.len());
        if len > max {
            return Err(BodyFailure::TooLarge);
        }
        // A body that arrives in one chunk is kept as is, without a copy.
        match &first {
            None if rest.is_empty() => first = Some(chunk),
            _ => {
                if let Some(f) = first.take() {
                    rest.extend_from_slice(&f);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}

type Answer<B> = Result<ServiceResponse<EitherBody<B>>, Error>;

/// Runs the planned checks for a verified request, then (if none refused) the inner service with
/// the verified key attached, the same payload, and `limit`'s `RateLimit` fields on the response.
pub(crate) async fn checked<S, B>(
    settings: &GuardSettings,
    mut req: ServiceRequest,
    key: Verified,
    (plan, limit): (CheckPlan, Option<LimitStatus>),
    service: &S,
) -> Answer<B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    let buffered = if plan.wants_body() {
        match buffer(settings, &mut req).await {
            Ok(bytes) => {
                req.set_payload(Payload::from(bytes.clone()));
                Some(bytes)
            }
            Err(failure) => {
                let res = problem_response(settings.body_problem(failure));
                return Ok(req.into_response(res).map_into_right_body());
            }
        }
    } else {
        None
    };
    let outcome = {
        let fields = Fields(req.headers());
        settings
            .run_checks(plan, &key, &head(&req, &fields), buffered.as_ref())
            .await
    };
    if let Err(rejection) = outcome {
        let res = problem_response(settings.check_problem(&rejection));
        return Ok(req.into_response(res).map_into_right_body());
    }
    // Under an outer middleware the key is already attached (the same one).
    if req.extensions().get::<Verified>().is_none() {
        req.extensions_mut().insert(key);
    }
    let mut res = service.call(req).await?;
    if let Some(limit) = &limit {
        add_rate_limit(res.headers_mut(), limit);
    }
    Ok(res.map_into_left_body())
}
