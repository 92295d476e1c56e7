//! What a report holds, gathered from the usage analytics, the keys and the audit log.

use std::collections::HashSet;

use apikey_core::analytics::{
    self, AnalyticsStore, Ranking, Resolution, SeriesQuery, TopQuery, UsageCounts, UsageRange,
    UsageSubject,
};
use apikey_core::audit::{AuditFilter, EventSubject, EventType};
use apikey_core::{AuditStore, KeyFilter, KeyId, KeyManager, KeyState, TenantScope};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::error::ReportError;
use crate::period::Period;

/// Keys in the top-keys table and chart.
pub const TOP_KEYS: u32 = 10;
/// How far ahead "expiring soon" looks, from the report's time.
pub const EXPIRING_WITHIN_DAYS: i64 = 30;
/// How long without a request makes a key "unused".
pub const UNUSED_FOR_DAYS: i64 = 30;
/// Most rows of the expiring, unused and security tables.
pub const MAX_ROWS: usize = 200;

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// The month.
    pub period: Period,
    /// The tenant(s) the caller may see.
    pub tenant: TenantScope,
    /// Only this owner's keys.
    pub owner: Option<String>,
}

/// One day of the daily series.
#[derive(Debug, Clone, Serialize)]
pub struct Day {
    /// The day (its first instant, UTC).
    pub day: DateTime<Utc>,
    /// Its counts.
    pub counts: UsageCounts,
}

/// A key with its counts over the period.
#[derive(Debug, Clone, Serialize)]
pub struct TopKey {
    /// The key.
    pub key_id: KeyId,
    /// Its name (empty when the key is gone).
    pub name: String,
    /// Its owner.
    pub owner: Option<String>,
    /// Its counts.
    pub counts: UsageCounts,
}

/// A key in the expiring or unused tables.
#[derive(Debug, Clone, Serialize)]
pub struct KeyLine {
    /// The key.
    pub key_id: KeyId,
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner: Option<String>,
    /// When it expires (expiring) or was last used (unused; `None`: never).
    pub at: Option<DateTime<Utc>>,
}

/// A security event in the period.
#[derive(Debug, Clone, Serialize)]
pub struct SecurityEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// The event type (`key.revoked`, `canary.tripped`, …).
    pub event: &'static str,
    /// The key it is about.
    pub key_id: Option<KeyId>,
    /// Who or what did it.
    pub actor: Option<String>,
}

/// A report's content, ready to render as CSV, PDF or JSON.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The month.
    pub period: Period,
    /// Up to when the data was read (the period's end, or now for a month in progress).
    pub until: DateTime<Utc>,
    /// `every tenant` or `tenant acme`.
    pub scope: String,
    /// The owner filter.
    pub owner: Option<String>,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// The period's totals.
    pub totals: UsageCounts,
    /// Refusals before a key was known (every tenant, no owner filter only).
    pub unattributed: Option<UsageCounts>,
    /// Every day of the period up to `until`, zeros included.
    pub daily: Vec<Day>,
    /// The keys with the most requests.
    pub top_keys: Vec<TopKey>,
    /// Active keys expiring within [`EXPIRING_WITHIN_DAYS`] of `generated_at`.
    pub expiring: Vec<KeyLine>,
    /// Active keys with no request for [`UNUSED_FOR_DAYS`].
    pub unused: Vec<KeyLine>,
    /// Revocations, suspensions, leaks, canary trips, threats and aggregated auth failures in
    /// the period, newest first.
    pub security: Vec<SecurityEvent>,
}

impl Report {
    /// Whether the period holds no request at all (the documents say so instead of drawing
    /// empty charts).
    pub fn is_empty(&self) -> bool {
        self.totals.requests() == 0 && self.unattributed.is_none_or(|u| u.requests() == 0)
    }
}

/// Where a report reads from.
#[derive(Clone, Copy, Debug)]
pub struct Sources<'a> {
    /// Usage buckets.
    pub analytics: &'a dyn AnalyticsStore,
    /// Keys (names, owners, expiry, last use).
    pub keys: &'a KeyManager,
    /// Security events; without it the table is left out.
    pub audit: Option<&'a dyn AuditStore>,
}

const SECURITY: [EventType; 6] = [
    EventType::Revoked,
    EventType::Suspended,
    EventType::Leaked,
    EventType::CanaryTripped,
    EventType::ThreatDetected,
    EventType::AuthFailures,
];

/// Reads everything a report shows.
///
/// # Errors
///
/// [`ReportError::FuturePeriod`] for a month that has not started; a store's error.
pub async fn gather(
    from: Sources<'_>,
    req: &ReportRequest,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    let period = req.period.started_by(now)?;
    let until = period.end.min(now);
    let range = UsageRange {
        since: period.start,
        until: until.max(period.start + TimeDelta::milliseconds(1)),
    };
    let (subject, owned) = match &req.owner {
        Some(o) => {
            let filter = KeyFilter {
                owner: Some(o.clone()),
                ..KeyFilter::default()
            };
            let subject = analytics::keys_matching(from.keys, &req.tenant, filter).await?;
            let owned: HashSet<KeyId> = match &subject {
                UsageSubject::Keys(ks) => ks.iter().copied().collect(),
                _ => HashSet::new(),
            };
            (subject, Some(owned))
        }
        None => (UsageSubject::Scope, None),
    };
    let days = SeriesQuery {
        subject,
        resolution: Resolution::Day,
        range,
    };
    let points = from.analytics.usage_series(&req.tenant, &days).await?;
    let totals = analytics::total(&points);
    let unattributed = if owned.is_none() && req.tenant == TenantScope::All {
        let q = SeriesQuery {
            subject: UsageSubject::Unattributed,
            ..days.clone()
        };
        Some(analytics::total(
            &from.analytics.usage_series(&req.tenant, &q).await?,
        ))
    } else {
        None
    };
    let daily = analytics::filled(&points, &range, Resolution::Day)
        .into_iter()
        .map(|p| Day {
            day: p.bucket,
            counts: p.counts,
        })
        .collect();

    // An owner's top keys: the tenant's ranking, kept to the owner's keys.
    let ranked = from
        .analytics
        .top_keys(
            &req.tenant,
            &TopQuery {
                by: Ranking::Requests,
                resolution: Resolution::Day,
                range,
                limit: if owned.is_some() { 1000 } else { TOP_KEYS },
            },
        )
        .await?;
    let mut top_keys = Vec::new();
    for k in ranked
        .into_iter()
        .filter(|k| owned.as_ref().is_none_or(|o| o.contains(&k.key_id)))
        .take(TOP_KEYS as usize)
    {
        let record = from.keys.get(&req.tenant, k.key_id).await.ok();
        top_keys.push(TopKey {
            key_id: k.key_id,
            name: record.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
            owner: record.and_then(|r| r.owner),
            counts: k.counts,
        });
    }

    let live = KeyFilter {
        owner: req.owner.clone(),
        states: vec![KeyState::Active],
        ..KeyFilter::default()
    };
    let expiring = lines(
        from.keys,
        &req.tenant,
        KeyFilter {
            expires_from: Some(now),
            expires_to: Some(now + TimeDelta::days(EXPIRING_WITHIN_DAYS)),
            ..live.clone()
        },
        |r| r.expires_at,
    )
    .await?;
    let idle_since = now - TimeDelta::days(UNUSED_FOR_DAYS);
    let mut unused = lines(
        from.keys,
        &req.tenant,
        KeyFilter {
            created_to: Some(idle_since),
            ..live
        },
        |r| r.last_used_at,
    )
    .await?;
    unused.retain(|k| k.at.is_none_or(|t| t < idle_since));

    let mut security = Vec::new();
    if let Some(audit) = from.audit {
        let mut filter = AuditFilter {
            types: SECURITY.to_vec(),
            from: Some(period.start),
            to: Some(until),
            limit: 1000,
            ..AuditFilter::default()
        };
        loop {
            let page = audit.query(&req.tenant, &filter).await?;
            let full = page.len() >= filter.page_size();
            for e in &page {
                let key_id = match &e.subject {
                    Some(EventSubject::Key(k)) => Some(*k),
                    _ => None,
                };
                if owned
                    .as_ref()
                    .is_some_and(|o| !key_id.is_some_and(|k| o.contains(&k)))
                {
                    continue;
                }
                security.push(SecurityEvent {
                    at: e.at,
                    event: e.event_type.as_str(),
                    key_id,
                    actor: e.actor.clone(),
                });
            }
            match page.last() {
                Some(last) if full && security.len() < 10 * MAX_ROWS => {
                    filter.after = Some((last.at, last.id));
                }
                _ => break,
            }
        }
        security.sort_by_key(|e| std::cmp::Reverse(e.at));
        security.truncate(MAX_ROWS);
    }

    Ok(Report {
        period,
        until,
        scope: match &req.tenant {
            TenantScope::All => "every tenant".to_owned(),
            TenantScope::Tenant(t) => format!("tenant {t}"),
        },
        owner: req.owner.clone(),
        generated_at: now,
        totals,
        unattributed,
        daily,
        top_keys,
        expiring,
        unused,
        security,
    })
}

/// The keys `filter` selects (up to [`MAX_ROWS`]), with one date each.
async fn lines(
    keys: &KeyManager,
    tenant: &TenantScope,
    mut filter: KeyFilter,
    at: impl Fn(&apikey_core::KeyRecord) -> Option<DateTime<Utc>>,
) -> Result<Vec<KeyLine>, ReportError> {
    filter.limit = 500;
    let mut out = Vec::new();
    loop {
        let page = keys.query(tenant, &filter).await?;
        out.extend(page.items.iter().map(|r| KeyLine {
            key_id: r.id,
            name: r.name.clone(),
            owner: r.owner.clone(),
            at: at(r),
        }));
        match page.next {
            Some(next) if out.len() < MAX_ROWS => filter.after = Some(next),
            _ => break,
        }
    }
    out.truncate(MAX_ROWS);
    Ok(out)
}
