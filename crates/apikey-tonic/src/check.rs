//! The request glue of core's [`RequestCheck`](apikey_core::http::RequestCheck)s on gRPC: the
//! call's head (method path and metadata) as core reads it. Checks run head-only: the body is a
//! stream of messages and is never buffered.

use apikey_core::Verified;
use apikey_core::http::{CheckPlan, GuardSettings, HeaderFields, RequestHead};
use http::HeaderMap;
use http::request::Parts;
use tonic::Status;

use crate::status::status_for_check;

/// A call's metadata as core's [`HeaderFields`].
struct Fields<'a>(&'a HeaderMap);

impl HeaderFields for Fields<'_> {
    fn line(&self, name: &str, index: usize) -> Option<&[u8]> {
        self.0
            .get_all(name)
            .iter()
            .nth(index)
            .map(http::HeaderValue::as_bytes)
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, &[u8])) {
        for (name, value) in self.0 {
            f(name.as_str(), value.as_bytes());
        }
    }
}

fn head<'a>(parts: &'a Parts, fields: &'a Fields<'a>) -> RequestHead<'a> {
    RequestHead::new(parts.method.as_str(), parts.uri.path(), fields)
        .with_authority(parts.uri.authority().map(|a| a.as_str()))
}

/// Which checks this call needs. Callers ask [`GuardSettings::has_checks`] first.
pub(crate) fn plan(settings: &GuardSettings, parts: &Parts, key: &Verified) -> CheckPlan {
    let fields = Fields(&parts.headers);
    settings.plan_checks(key, &head(parts, &fields))
}

/// Runs the planned checks without a body; a refusal becomes its gRPC status.
pub(crate) async fn run(
    settings: &GuardSettings,
    parts: &Parts,
    key: &Verified,
    plan: CheckPlan,
) -> Result<(), Status> {
    let fields = Fields(&parts.headers);
    settings
        .run_checks(plan, key, &head(parts, &fields), None)
        .await
        .map_err(|rejection| status_for_check(&rejection))
}
