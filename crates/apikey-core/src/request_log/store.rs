//! [`RequestLogStore`]: the capability a backend implements to keep the request log.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::record::RequestRecord;
use crate::error::{Error, Result};
use crate::ids::{KeyId, TenantScope};

/// Most records one query returns.
pub const MAX_REQUEST_PAGE: u32 = 1000;

/// Which outcomes a query wants.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutcomeFilter {
    /// Admitted requests.
    Admitted,
    /// Every refusal.
    Rejected,
    /// One outcome text exactly (`rate_limited`, `revoked`, …).
    Exactly(String),
}

/// Where a page ended: the next page starts strictly after (older than) this record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestCursor {
    /// The last record's time.
    pub at: DateTime<Utc>,
    /// The last record's id.
    pub id: Uuid,
}

impl RequestCursor {
    /// The cursor after `record`.
    pub fn after(record: &RequestRecord) -> Self {
        Self {
            at: record.at,
            id: record.id,
        }
    }

    /// `"<unix ms>.<uuid>"`, for a command line or a URL.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at.timestamp_millis(), self.id.simple())
    }

    /// Parses [`encode`](Self::encode)'s form.
    pub fn decode(text: &str) -> Result<Self> {
        let bad = || Error::invalid("cursor", "expected the value a previous page printed");
        let (ms, id) = text.split_once('.').ok_or_else(bad)?;
        let at = DateTime::from_timestamp_millis(ms.parse().map_err(|_| bad())?).ok_or_else(bad)?;
        Ok(Self {
            at,
            id: Uuid::parse_str(id).map_err(|_| bad())?,
        })
    }
}

/// What a query of the request log selects. Every condition given must hold. Build it with
/// `..RequestFilter::default()`, so fields added later leave your code as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFilter {
    /// Requests made with this key.
    pub key: Option<KeyId>,
    /// Requests from this address or network.
    pub network: Option<ipnet::IpNet>,
    /// Requests to this route template exactly.
    pub route: Option<String>,
    /// Requests with this outcome.
    pub outcome: Option<OutcomeFilter>,
    /// At or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Strictly older than this record (keyset pagination: pass the last record of a page).
    pub before: Option<RequestCursor>,
    /// At most this many (1..=[`MAX_REQUEST_PAGE`]).
    pub limit: u32,
}

impl Default for RequestFilter {
    fn default() -> Self {
        Self {
            key: None,
            network: None,
            route: None,
            outcome: None,
            since: None,
            until: None,
            before: None,
            limit: 100,
        }
    }
}

impl RequestFilter {
    /// Refuses a filter no store should run: a limit out of range, a reversed range.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_REQUEST_PAGE).contains(&self.limit) {
            return Err(Error::invalid(
                "limit",
                format_args!("must be 1..={MAX_REQUEST_PAGE}"),
            ));
        }
        if let (Some(s), Some(u)) = (self.since, self.until)
            && s >= u
        {
            return Err(Error::invalid("since", "must be before until"));
        }
        Ok(())
    }
}

/// The request log, in a backend every instance shares.
///
/// Reads are scoped by [`TenantScope`]: a tenant sees only its own requests (records without a
/// tenant belong to [`TenantScope::All`] only). Writes come from the batching writer
/// ([`RequestLog`](super::RequestLog)), never from the request path.
#[async_trait]
pub trait RequestLogStore: Send + Sync + fmt::Debug + 'static {
    /// Stores the records whose id is not stored yet (a retried batch adds nothing twice); how
    /// many were new.
    async fn append_requests(&self, records: &[RequestRecord]) -> Result<u64>;

    /// The records `tenant` admits that match `filter`, newest first (by time, then id), at
    /// most `filter.limit`. The filter is validated first.
    async fn requests(
        &self,
        tenant: &TenantScope,
        filter: &RequestFilter,
    ) -> Result<Vec<RequestRecord>>;

    /// Deletes the records whose `expires_at` is at or before `now`; how many.
    async fn purge_requests(&self, now: DateTime<Utc>) -> Result<u64>;

    /// Deletes every record made with one of `keys` (erasure of an owner's data); how many.
    async fn erase_requests_of(&self, keys: &[KeyId]) -> Result<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = RequestCursor {
            at: DateTime::from_timestamp_millis(1_764_884_400_123).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(RequestCursor::decode(&c.encode()).unwrap(), c);
        for bad in ["", "x.y", "12", "12.not-a-uuid"] {
            assert!(RequestCursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_refuse_reversed_ranges_and_odd_limits() {
        let now = Utc::now();
        let reversed = RequestFilter {
            since: Some(now),
            until: Some(now - chrono::Duration::seconds(1)),
            ..RequestFilter::default()
        };
        assert!(reversed.validate().is_err());
        let zero = RequestFilter {
            limit: 0,
            ..RequestFilter::default()
        };
        assert!(zero.validate().is_err());
        assert!(RequestFilter::default().validate().is_ok());
    }
}
