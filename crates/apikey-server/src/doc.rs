//! The OpenAPI document: operations from the handlers' `utoipa` annotations, security from the
//! route declarations.

use apikey_core::routes::RouteTable;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use utoipa::OpenApi;

use crate::AppState;
use crate::admins::CreateAdmin;
use crate::audit::AuditPage;
use crate::bulk::{
    BulkChange, BulkChangedView, BulkCreate, BulkCreatedView, BulkFilter, BulkRow, BulkUpdate,
    FailedKey, RowProblem,
};
use crate::credits::{AdjustCredits, CreditAction, Credits};
use crate::diff::{Change, Diff};
use crate::history::{History, Rollback, Version};
use crate::keys::{CreateKey, CreatedKey, KeyPage};
use crate::leaks::{Labelled, Reported};
use crate::lifecycle::{Reason, Rotate, Rotated};
use crate::organise::{CloneKey, Transfer};
use crate::policies::{DueMode, Policy, PolicyList};
use crate::pools::{
    AdjustPool, Every, PlanBody, PoolList, PoolView, RefillBody, RefillHow, SavePool,
};
use crate::presets::{DefaultsBody, PresetList, PresetView, SavePreset};
use crate::requests::RequestPage;
use crate::settings::{
    DetectorAction, LogMode, RequestLogBody, SaveSettings, SettingsView, SpreadBody, SurgeBody,
    ThreatsBody,
};
use crate::signing::{Mode, RotateSigning, SetSigning, Signed};
use crate::update::{Period, QuotaBody, RateBody, UpdateKey};
use crate::usage::{Counts, Point, RankBy, RankedKey, TopUsage, UsageSeries, Width};
use crate::verify::{Verdict, VerifyRequest};
use crate::webhooks::{
    CreateWebhook, CreatedWebhook, DeliveryList, RotateSecret, RotatedSecret, WebhookList,
};

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses(
    (status = 200, description = "The OpenAPI document", content_type = "application/json"),
))]
pub(crate) async fn openapi_json(
    State(st): State<AppState>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    ([(CONTENT_TYPE, "application/json")], st.doc.to_string())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "apikey serve",
        description = "Verify and manage API keys over HTTP: the key service of apikey."
    ),
    paths(
        crate::verify::verify,
        crate::keys::create,
        crate::keys::list,
        crate::bulk::create,
        crate::bulk::revoke,
        crate::bulk::suspend,
        crate::bulk::update,
        crate::keys::get,
        crate::update::update,
        crate::history::history,
        crate::history::rollback,
        crate::diff::diff,
        crate::signing::set,
        crate::signing::remove,
        crate::signing::rotate,
        crate::settings::get,
        crate::settings::put,
        crate::audit::audit,
        crate::requests::requests,
        crate::usage::series,
        crate::usage::top,
        crate::metrics::metrics,
        crate::credits::get,
        crate::credits::adjust,
        crate::lifecycle::revoke,
        crate::lifecycle::suspend,
        crate::lifecycle::unsuspend,
        crate::lifecycle::restore,
        crate::lifecycle::approve,
        crate::lifecycle::reject,
        crate::lifecycle::rotate,
        crate::organise::clone,
        crate::organise::transfer,
        crate::presets::list_templates,
        crate::presets::get_template,
        crate::presets::save_template,
        crate::presets::remove_template,
        crate::policies::list,
        crate::policies::set,
        crate::policies::remove,
        crate::pools::list,
        crate::pools::save,
        crate::pools::remove,
        crate::pools::credits,
        crate::pools::adjust,
        crate::presets::list_groups,
        crate::presets::get_group,
        crate::presets::save_group,
        crate::presets::remove_group,
        crate::webhooks::create,
        crate::webhooks::list,
        crate::webhooks::deliveries,
        crate::webhooks::redeliver,
        crate::webhooks::get,
        crate::webhooks::remove,
        crate::webhooks::enable,
        crate::webhooks::disable,
        crate::webhooks::rotate,
        crate::webhooks::ping,
        crate::admins::create,
        crate::admins::list,
        crate::admins::revoke,
        crate::leaks::github,
        openapi_json
    ),
    components(schemas(
        AdjustCredits,
        Counts,
        Point,
        RankBy,
        RankedKey,
        TopUsage,
        UsageSeries,
        Width,
        CloneKey,
        Transfer,
        AuditPage,
        CreditAction,
        Credits,
        CreateAdmin,
        History,
        Rollback,
        Version,
        CreateKey,
        CreatedKey,
        KeyPage,
        Labelled,
        Period,
        QuotaBody,
        RateBody,
        UpdateKey,
        Reported,
        Reason,
        Rotate,
        Rotated,
        Verdict,
        VerifyRequest,
        DefaultsBody,
        PresetList,
        PresetView,
        SavePreset,
        BulkChange,
        BulkChangedView,
        BulkCreate,
        BulkCreatedView,
        BulkFilter,
        BulkRow,
        BulkUpdate,
        FailedKey,
        RowProblem,
        CreateWebhook,
        CreatedWebhook,
        DeliveryList,
        RotateSecret,
        RotatedSecret,
        WebhookList,
        RequestPage,
        Change,
        Diff,
        LogMode,
        RequestLogBody,
        SaveSettings,
        DetectorAction,
        SpreadBody,
        SurgeBody,
        ThreatsBody,
        SettingsView,
        Mode,
        RotateSigning,
        SetSigning,
        Signed,
        AdjustPool,
        Every,
        PlanBody,
        PoolList,
        PoolView,
        RefillBody,
        RefillHow,
        SavePool,
        DueMode,
        Policy,
        PolicyList
    ))
)]
struct ApiDoc;

/// The document, secured from `table`.
pub(crate) fn document(
    table: &RouteTable,
) -> Result<utoipa::openapi::OpenApi, apikey_openapi::SecureError> {
    let mut doc = ApiDoc::openapi();
    apikey_openapi::secure(&mut doc, table)?;
    Ok(doc)
}
