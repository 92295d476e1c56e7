//! The statements of webhooks (migration 0009): [`subscriptions`] in
//! `apikey_webhook_subscriptions` and [`deliveries`] in `apikey_webhook_deliveries`. Both carry
//! `tenant_key`, the tenant id or [`DEFAULT_ROW`](crate::tenant::DEFAULT_ROW) for no tenant, so a
//! [`TenantScope`](apikey_core::TenantScope) is one equality on an indexed column.

pub mod deliveries;
pub mod subscriptions;

use crate::tenant::{push_scope, tenant_of};
