//! The request glue of core's [`RequestCheck`](apikey_core::http::RequestCheck)s on gRPC: the
//! call's head (method path and metadata) as core reads it. Checks run head-only: the body is a
//! stream of messages and is never buffered.

use apikey_core::Verified;
use apikey_core::http::{CheckPlan, GuardSettings, HttpHeaders, RequestHead};
use http::request::Parts;
use tonic::Status;

use crate::status::status_for_check;

fn head<'a>(parts: &'a Parts, fields: &'a HttpHeaders<'a>) -> RequestHead<'a> {
    RequestHead::new(parts.method.as_str(), parts.uri.path(), fields)
        .with_authority(parts.uri.authority().map(|a| a.as_str()))
}

/// Which checks this call needs. Callers ask [`GuardSettings::has_checks`] first.
pub(crate) fn plan(settings: &GuardSettings, parts: &Parts, key: &Verified) -> CheckPlan {
    let fields = HttpHeaders::new(&parts.headers);
    settings.plan_checks(key, &head(parts, &fields))
}

/// Runs the planned checks without a body; a refusal becomes its gRPC status.
pub(crate) async fn run(
    settings: &GuardSettings,
    parts: &Parts,
    key: &Verified,
    plan: CheckPlan,
) -> Result<(), Status> {
    let fields = HttpHeaders::new(&parts.headers);
    settings
        .run_checks(plan, key, &head(parts, &fields), None)
        .await
        .map_err(|rejection| status_for_check(&rejection))
}
