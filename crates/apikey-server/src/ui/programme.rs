//! The key programme of a tenant at a glance: its settings, templates, groups, shared pools and
//! rotation policies (read here; changed over the API or the CLI).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use tower_sessions::Session;

use super::page::{Nav, error_page, page, respond, text, when};
use super::session::viewing;
use crate::AppState;
use crate::presets::PresetQuery;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TenantForm {
    #[serde(default)]
    tenant: String,
}

fn query(t: &str) -> PresetQuery {
    let t = t.trim();
    PresetQuery {
        tenant: (!t.is_empty()).then(|| t.to_owned()),
    }
}

/// A preset's defaults in a line.
fn defaults(d: &Value) -> Markup {
    html! {
        div.chips {
            @for s in d["scopes"].as_array().into_iter().flatten() { span.chip { (text(s)) } }
        }
        div.hint {
            @if let Some(days) = d["expires_in_days"].as_u64() { "expires after " (days) " days · " }
            @if d["rate_limit"].is_object() { "rate " (d["rate_limit"]["requests"]) " per " (d["rate_limit"]["per_ms"].as_u64().unwrap_or(0) / 1000) " s · " }
            @if d["quota"].is_object() { "quota " (d["quota"]["limit"]) " per " (text(&d["quota"]["period"])) " · " }
            @if d["require_approval"] == true { "needs approval" }
        }
    }
}

fn presets(title: &str, items: &[Value]) -> Markup {
    html! {
        div.panel {
            h2 { (title) }
            @if items.is_empty() {
                p.empty { "None." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Description" } th { "Defaults" } th { "Version" } th { "Saved" } } }
                    tbody {
                        @for p in items {
                            tr {
                                td { (text(&p["name"])) }
                                td { (text(&p["description"])) }
                                td { (defaults(&p["defaults"])) }
                                td { (text(&p["version"])) }
                                td { (when(&p["updated_at"])) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn limits(l: &Value) -> String {
    let mut parts = Vec::new();
    if let (Some(n), Some(ms)) = (l["rate"]["requests"].as_u64(), l["rate"]["per_ms"].as_u64()) {
        parts.push(format!("{n} per {} s", ms / 1000));
    }
    if let Some(n) = l["quota"]["limit"].as_u64() {
        parts.push(format!("{n} per {}", text(&l["quota"]["period"])));
    }
    if let Some(n) = l["credits"]["initial"].as_u64() {
        parts.push(if l["credits"]["refill"].is_object() {
            format!("{n} credits, refilled")
        } else {
            format!("{n} credits")
        });
    }
    parts.join(" · ")
}

pub(crate) async fn show(
    State(st): State<AppState>,
    session: Session,
    Query(f): Query<TenantForm>,
) -> Response {
    let op = match viewing(&st, &session, "keys:read", "read the key programme").await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let key = || super::keys::verified(&op);
    let s = || State(st.clone());
    let settings = crate::settings::get(s(), key(), Ok(Query(query(&f.tenant)))).await;
    let settings = match settings {
        Ok(Json(v)) => v,
        Err(p) => return error_page(p.status(), p.detail()),
    };
    let items = |r: Result<Json<crate::presets::PresetList>, crate::problem::Problem>| {
        r.map(|Json(l)| {
            l.items
                .iter()
                .filter_map(|p| serde_json::to_value(p).ok())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    };
    let templates =
        items(crate::presets::list_templates(s(), key(), Ok(Query(query(&f.tenant)))).await);
    let groups = items(crate::presets::list_groups(s(), key(), Ok(Query(query(&f.tenant)))).await);
    let pools = crate::pools::list(s(), key(), Ok(Query(query(&f.tenant))))
        .await
        .map(|Json(l)| l.items)
        .unwrap_or_default();
    let policies = crate::policies::list(s(), key(), Ok(Query(query(&f.tenant))))
        .await
        .map(|Json(l)| l.items)
        .unwrap_or_default();
    let e = serde_json::to_value(&settings.effective).unwrap_or_default();
    let every_tenant = matches!(
        crate::admin::scope_of(&op.key),
        Ok(apikey_core::TenantScope::All)
    );
    let body = html! {
        h1 { "Key programme" }
        p.sub {
            "Settings, templates, groups, pools and rotation policies of "
            @match &settings.tenant { Some(t) => { "tenant " strong { (t) } }, None => { "the keys without a tenant" } }
            ". Change them with the API (/v1/settings, /v1/templates, …) or the CLI."
        }
        @if every_tenant {
            form.panel method="get" action="/ui/programme" {
                div.row {
                    div.field { label for="tenant" { "Tenant" } input id="tenant" name="tenant" type="text" value=(f.tenant) placeholder="empty: keys without a tenant"; }
                    div.field { button.btn type="submit" { "Show" } }
                }
            }
        }
        div.panel {
            h2 { "Settings" }
            dl.facts {
                dt { "New keys need approval" } dd { @if e["approval_required"] == true { "yes" } @else { "no" } }
                dt { "Keys per tenant" } dd { @if e["max_keys_per_tenant"].is_null() { "no limit" } @else { (text(&e["max_keys_per_tenant"])) } }
                dt { "Keys per owner" } dd { @if e["max_keys_per_owner"].is_null() { "no limit" } @else { (text(&e["max_keys_per_owner"])) } }
                dt { "Audit kept" } dd { @if e["retention"]["audit_days"].is_null() { "the retention job's period" } @else { (text(&e["retention"]["audit_days"])) " days" } }
                dt { "Usage kept" } dd { @if e["retention"]["usage_days"].is_null() { "the retention job's periods" } @else { (text(&e["retention"]["usage_days"])) " days" } }
                dt { "Request log" } dd { (text(&e["request_log"]["mode"]["mode"])) ", kept " (text(&e["request_log"]["retention_days"])) " days" }
                dt { "Saved" } dd { @if settings.version == 0 { "never (defaults)" } @else { "version " (settings.version) } }
            }
        }
        (presets("Templates", &templates))
        (presets("Groups", &groups))
        div.panel {
            h2 { "Shared pools" }
            @if pools.is_empty() { p.empty { "None." } } @else {
                table {
                    thead { tr { th { "Pool" } th { "Limits" } th { "Description" } th { "Saved" } } }
                    tbody {
                        @for p in &pools {
                            tr { td.mono { (p.name) } td { (limits(&p.limits)) } td { (p.description.as_deref().unwrap_or("—")) } td { (p.updated_at.format("%Y-%m-%d %H:%M UTC")) } }
                        }
                    }
                }
            }
        }
        div.panel {
            h2 { "Rotation policies" }
            @if policies.is_empty() { p.empty { "None." } } @else {
                table {
                    thead { tr { th { "Applies to" } th { "Every" } th { "Grace" } th { "Then" } } }
                    tbody {
                        @for p in &policies {
                            tr {
                                td.mono { (p.target) }
                                td { (p.every_days) " days" }
                                td { (p.grace_days.unwrap_or(0)) " days" }
                                td { @match p.mode { crate::policies::DueMode::Notify => "notify", crate::policies::DueMode::Rotate => "rotate" } }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        page("Key programme", Some(&op), Nav::Programme, body),
    )
}
