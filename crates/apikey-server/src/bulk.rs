//! `/v1/keys/bulk…`: many keys created at once (each row on its own, or all or none), and
//! every key a filter selects revoked, suspended or updated, with a dry run that lists what
//! would change. The service's own admin keys are never within a filter's reach.

use std::sync::Arc;

use apikey_axum::Verified;
use apikey_core::manage::{BulkAction, BulkChanged, BulkOptions};
use apikey_core::{KeyFilter, KeyId, KeyRecord, TenantScope};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::admin::scope_of;
use crate::keys::{CreateKey, actor, actor_because, body, is_admin, view};
use crate::problem::Problem;
use crate::update::UpdateKey;

/// Most rows (or keys) one request may create.
pub const MAX_BULK_ROWS: usize = 1000;

/// Keys to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkCreate {
    /// One entry per key, as `POST /v1/keys` takes it (without `credits`).
    #[schema(min_items = 1, max_items = 1000)]
    pub keys: Vec<CreateKey>,
    /// Write every row or none (all rows in one tenant): the first bad row fails the request.
    #[serde(default)]
    pub atomic: bool,
}

/// Why a row failed (the problem `POST /v1/keys` would have answered).
#[derive(Debug, Serialize, ToSchema)]
pub struct RowProblem {
    /// The HTTP status it would have had.
    pub status: u16,
    /// The stable code.
    pub code: String,
    /// What to fix.
    pub detail: String,
}

impl From<Problem> for RowProblem {
    fn from(p: Problem) -> Self {
        Self {
            status: p.status().as_u16(),
            code: p.code().to_owned(),
            detail: p.detail().to_owned(),
        }
    }
}

/// One row's outcome: its key and token (shown once), or its problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkRow {
    /// The row's index in `keys` (0-based).
    pub row: usize,
    /// The key's public view.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<serde_json::Value>,
    /// The key's whole token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Why nothing was written for this row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RowProblem>,
}

/// What a bulk creation did, row by row in input order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkCreatedView {
    /// How many keys were created.
    pub created: usize,
    /// Every row.
    pub rows: Vec<BulkRow>,
}

/// Which keys a bulk change selects: at least one field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkFilter {
    /// Keys of this owner.
    #[schema(schema_with = crate::schema::optional_label)]
    pub owner: Option<String>,
    /// Keys of this group.
    #[schema(schema_with = crate::schema::optional_label)]
    pub group: Option<String>,
    /// Keys of this environment.
    #[schema(schema_with = crate::schema::optional_label)]
    pub environment: Option<String>,
    /// Keys with every one of these tags.
    #[serde(default)]
    #[schema(schema_with = crate::schema::tags)]
    pub tags: Vec<String>,
    /// Keys of this tenant (an admin key of one tenant may only name its own).
    #[schema(schema_with = crate::schema::tenant)]
    pub tenant: Option<String>,
}

/// A bulk revocation or suspension.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkChange {
    /// The keys.
    pub filter: BulkFilter,
    /// List what would change and change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Why (recorded in the audit log of each key).
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// A bulk update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkUpdate {
    /// The keys.
    pub filter: BulkFilter,
    /// The fields to change on each (merge patch, as `PATCH /v1/keys/{id}`).
    pub update: UpdateKey,
    /// List what would change and change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Why (recorded in the audit log of each key).
    #[schema(schema_with = crate::schema::reason)]
    pub reason: Option<String>,
}

/// A key a bulk change could not change.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedKey {
    /// The key.
    #[schema(value_type = String, format = "uuid")]
    pub id: KeyId,
    /// Why.
    pub error: RowProblem,
}

/// What a bulk change did.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkChangedView {
    /// The keys the change applies to, as they were before (what a dry run would change).
    #[schema(value_type = Vec<Object>)]
    pub targeted: Vec<serde_json::Value>,
    /// Keys selected that the change does not apply to (already revoked, …).
    #[schema(value_type = Vec<String>)]
    pub skipped: Vec<KeyId>,
    /// The keys as they are now (none on a dry run).
    #[schema(value_type = Vec<Object>)]
    pub changed: Vec<serde_json::Value>,
    /// Keys that could not be changed; the others were.
    pub failed: Vec<FailedKey>,
}

/// Creates many keys; each token is in the answer, the only time it is shown.
#[utoipa::path(post, path = "/v1/keys/bulk", operation_id = "bulk_create", request_body = BulkCreate, params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body within 24 hours get the first answer again (Idempotent-Replayed: true)", pattern = r"^[\x21-\x7e]{1,255}$")), responses(
    (status = 200, description = "Each row's key and token, or its problem", body = BulkCreatedView),
    (status = 400, description = "The body is not usable (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write, or a row names another tenant (atomic) (problem+json)"),
    (status = 404, description = "A row's template does not exist (atomic) (problem+json)"),
    (status = 409, description = "A tenant's key limit is reached (atomic) (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "A field is invalid, a row asks for credits, or (atomic) a row is bad (problem+json)"),
))]
pub(crate) async fn create(
    State(st): State<AppState>,
    key: Verified,
    b: Result<Json<BulkCreate>, JsonRejection>,
) -> Result<Json<BulkCreatedView>, Problem> {
    let b = body(b)?;
    if b.keys.is_empty() || b.keys.len() > MAX_BULK_ROWS {
        return Err(Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!("`keys` holds 1 to {MAX_BULK_ROWS} rows"),
        ));
    }
    if let Some(row) = b
        .keys
        .iter()
        .position(|k| k.credits.is_some() || k.refill.is_some())
    {
        return Err(Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!("row {row}: credits are given one key at a time (POST /v1/keys)"),
        ));
    }
    let scope = scope_of(&key)?;
    let n = b.keys.len();
    let mut rows: Vec<Option<BulkRow>> = (0..n).map(|_| None).collect();
    let mut good = Vec::new();
    let mut index = Vec::new();
    for (i, k) in b.keys.into_iter().enumerate() {
        match k.into_new_key(&scope) {
            Ok(new) => {
                good.push(new);
                index.push(i);
            }
            // All or none: a row that cannot even be read fails the request, naming it.
            Err(p) if b.atomic => {
                return Err(Problem::new(
                    p.status(),
                    p.code(),
                    format!("row {i}: {}", p.detail()),
                ));
            }
            Err(p) => rows[i] = Some(failed_row(i, p)),
        }
    }
    let options = BulkOptions {
        atomic: b.atomic,
        ..BulkOptions::default()
    };
    let done = st
        .keys
        .manager()
        .bulk_create(good, &options, actor(&key))
        .await?;
    for (r, i) in done.rows.into_iter().zip(index) {
        rows[i] = Some(match r {
            Ok(c) => BulkRow {
                row: i,
                key: Some(view(&c.record)),
                token: Some(c.token.expose().to_owned()),
                error: None,
            },
            Err(e) => failed_row(i, e.error.into()),
        });
    }
    let rows: Vec<BulkRow> = rows.into_iter().flatten().collect();
    Ok(Json(BulkCreatedView {
        created: rows.iter().filter(|r| r.key.is_some()).count(),
        rows,
    }))
}

fn failed_row(row: usize, p: Problem) -> BulkRow {
    BulkRow {
        row,
        key: None,
        token: None,
        error: Some(p.into()),
    }
}

impl BulkFilter {
    /// The tenants and the filter, refused when it selects nothing in particular.
    fn into_filter(self, scope: &TenantScope) -> Result<(TenantScope, KeyFilter), Problem> {
        if self.owner.is_none()
            && self.group.is_none()
            && self.environment.is_none()
            && self.tags.is_empty()
        {
            return Err(Problem::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                "a bulk change needs a filter: owner, group, environment or tags",
            ));
        }
        for (name, value) in [
            ("owner", &self.owner),
            ("group", &self.group),
            ("environment", &self.environment),
        ] {
            crate::keys::label_filter(name, value.as_deref()).map_err(Problem::unprocessable)?;
        }
        for t in &self.tags {
            crate::keys::label_filter("tags", Some(t)).map_err(Problem::unprocessable)?;
        }
        // No tenant named by an admin key of every tenant: every tenant.
        let scope = match crate::presets::tenant_for(scope, self.tenant)? {
            Some(t) => TenantScope::Tenant(t),
            None => scope.clone(),
        };
        Ok((
            scope,
            KeyFilter {
                owner: self.owner,
                group: self.group,
                environment: self.environment,
                tags: self.tags,
                ..KeyFilter::default()
            },
        ))
    }
}

async fn change(
    st: &AppState,
    key: &Verified,
    filter: BulkFilter,
    action: BulkAction,
    dry_run: bool,
    reason: Option<String>,
) -> Result<Json<BulkChangedView>, Problem> {
    let (scope, filter) = filter.into_filter(&scope_of(key)?)?;
    let options = BulkOptions {
        dry_run,
        within: Some(Arc::new(|r: &KeyRecord| !is_admin(r))),
        ..BulkOptions::default()
    };
    let done: BulkChanged = st
        .keys
        .manager()
        .bulk_change(
            &scope,
            &filter,
            &action,
            &options,
            actor_because(key, reason),
        )
        .await?;
    Ok(Json(BulkChangedView {
        targeted: done.targeted.iter().map(view).collect(),
        skipped: done.skipped,
        changed: done.changed.iter().map(view).collect(),
        failed: done
            .failed
            .into_iter()
            .map(|(id, e)| FailedKey {
                id,
                error: Problem::from(e).into(),
            })
            .collect(),
    }))
}

/// Revokes every key the filter selects (or, with `dry_run`, lists them).
#[utoipa::path(post, path = "/v1/keys/bulk/revoke", operation_id = "bulk_revoke", request_body = BulkChange, responses(
    (status = 200, description = "What was (or would be) revoked", body = BulkChangedView),
    (status = 400, description = "The body is not usable (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write, or names another tenant (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "No filter, or a field is invalid (problem+json)"),
))]
pub(crate) async fn revoke(
    State(st): State<AppState>,
    key: Verified,
    b: Result<Json<BulkChange>, JsonRejection>,
) -> Result<Json<BulkChangedView>, Problem> {
    let b = body(b)?;
    change(&st, &key, b.filter, BulkAction::Revoke, b.dry_run, b.reason).await
}

/// Suspends every active key the filter selects (or, with `dry_run`, lists them).
#[utoipa::path(post, path = "/v1/keys/bulk/suspend", operation_id = "bulk_suspend", request_body = BulkChange, responses(
    (status = 200, description = "What was (or would be) suspended", body = BulkChangedView),
    (status = 400, description = "The body is not usable (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write, or names another tenant (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "No filter, or a field is invalid (problem+json)"),
))]
pub(crate) async fn suspend(
    State(st): State<AppState>,
    key: Verified,
    b: Result<Json<BulkChange>, JsonRejection>,
) -> Result<Json<BulkChangedView>, Problem> {
    let b = body(b)?;
    change(
        &st,
        &key,
        b.filter,
        BulkAction::Suspend,
        b.dry_run,
        b.reason,
    )
    .await
}

/// Updates every key the filter selects that is not revoked (or, with `dry_run`, lists them).
#[utoipa::path(post, path = "/v1/keys/bulk/update", operation_id = "bulk_update", request_body = BulkUpdate, responses(
    (status = 200, description = "What was (or would be) updated", body = BulkChangedView),
    (status = 400, description = "The body is not usable (problem+json)"),
    (status = 401, description = "No valid admin key (problem+json)"),
    (status = 403, description = "The admin key lacks keys:write, or names another tenant (problem+json)"),
    (status = 415, description = "The body is not application/json (problem+json)"),
    (status = 422, description = "No filter, nothing to change, or a field is invalid (problem+json)"),
))]
pub(crate) async fn update(
    State(st): State<AppState>,
    key: Verified,
    b: Result<Json<BulkUpdate>, JsonRejection>,
) -> Result<Json<BulkChangedView>, Problem> {
    let b = body(b)?;
    let update = b.update.into_update()?;
    let action = BulkAction::Update(Box::new(update));
    change(&st, &key, b.filter, action, b.dry_run, b.reason).await
}
