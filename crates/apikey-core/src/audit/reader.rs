//! Following the log by position without missing a late commit.
//!
//! Stores hand out positions when an event is *inserted*, but transactions commit in their own
//! order: a reader can see position 8 while 7 is still uncommitted, and if it saved "8" it would
//! never see 7. Positions also have gaps that never fill (a rolled-back insert, a duplicate append,
//! a sequence that skipped). So the reader hands out only the contiguous run after its cursor; at
//! the first missing position it waits, and treats the hole as permanent once it has been missing
//! for [`gap_timeout`](AuditReader::gap_timeout) on the injected clock. With no hole there is no
//! lag at all; the timeout is the longest a write transaction may stay open between its insert and
//! its commit (ours are single statements plus the audit row, milliseconds).
//!
//! The cursor is persisted only by [`ack`](AuditReader::ack), after the caller has handled the
//! events, so a crash re-delivers (at-least-once) and never skips. Retention purges stop at the
//! slowest registered cursor.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{AuditEvent, AuditStore, cursor_of, validate_reader_name};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};

/// Where a reader with no saved cursor starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReaderStart {
    /// At the oldest event still kept.
    #[default]
    Beginning,
    /// After the newest event at registration: only what happens from now on.
    Now,
}

/// A named reader of the audit log with a persisted cursor (see the [module docs](self)).
#[derive(Debug)]
pub struct AuditReader {
    store: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    name: String,
    start: ReaderStart,
    gap_timeout: Duration,
    batch: u32,
    /// Holes seen after the cursor: start → (end, exclusive; first seen).
    holes: BTreeMap<u64, (u64, DateTime<Utc>)>,
    /// The last position handed out and not yet acknowledged.
    handed_out: Option<u64>,
}

impl AuditReader {
    /// Default [`gap_timeout`](Self::gap_timeout).
    pub const DEFAULT_GAP_TIMEOUT: Duration = Duration::from_secs(30);

    /// A reader named `name` (its cursor's key in the store). Fails on an invalid name.
    pub fn new(
        store: Arc<dyn AuditStore>,
        clock: Arc<dyn Clock>,
        name: impl Into<String>,
    ) -> Result<Self> {
        let name = name.into();
        validate_reader_name(&name)?;
        Ok(Self {
            store,
            clock,
            name,
            start: ReaderStart::default(),
            gap_timeout: Self::DEFAULT_GAP_TIMEOUT,
            batch: 100,
            holes: BTreeMap::new(),
            handed_out: None,
        })
    }

    /// Where to start when the store has no cursor for this reader yet.
    pub fn start(mut self, start: ReaderStart) -> Self {
        self.start = start;
        self
    }

    /// How long a missing position is waited for before it is taken as a hole that will never
    /// fill. Longer than any write transaction stays open; 30 s by default.
    pub fn gap_timeout(mut self, timeout: Duration) -> Self {
        self.gap_timeout = timeout;
        self
    }

    /// Events per [`poll`](Self::poll), 1..=1000 (100 by default).
    pub fn batch(mut self, batch: u32) -> Self {
        self.batch = batch.clamp(1, 1000);
        self
    }

    /// The reader's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The saved cursor, registering the reader (per [`ReaderStart`]) if it has none.
    pub async fn cursor(&self) -> Result<u64> {
        if let Some(c) = cursor_of(self.store.as_ref(), &self.name).await? {
            let last = self.store.last_position().await?;
            if c > last {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "reader {:?} is at position {c}, ahead of the log (last position {last}): \
                         was the log restored from an older backup? Remove the reader's cursor \
                         to start it again",
                        self.name
                    ),
                ));
            }
            return Ok(c);
        }
        let start = match self.start {
            ReaderStart::Now => self.store.last_position().await?,
            // The oldest kept event may sit above 1 after a purge: start just before it, so the
            // purged range is not taken for a hole to wait on.
            ReaderStart::Beginning => match self.store.read_after(0, 1).await?.first() {
                Some(e) => e.position.unwrap_or(1).saturating_sub(1),
                None => 0,
            },
        };
        self.store.save_cursor(&self.name, start).await?;
        Ok(start)
    }

    /// The next events after the cursor, in position order, up to the first position that may
    /// still be committed by someone. Handle them, then [`ack`](Self::ack) the last one.
    /// Polling again without an ack hands out the same events.
    pub async fn poll(&mut self) -> Result<Vec<AuditEvent>> {
        let cursor = self.cursor().await?;
        self.holes.retain(|_, (end, _)| *end > cursor + 1);
        let events = self.store.read_after(cursor, self.batch).await?;
        let now = self.clock.now();
        let mut expected = cursor + 1;
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            let p = e.position.ok_or_else(|| {
                Error::backend("audit event read without a position", "store bug")
            })?;
            if p < expected {
                return Err(Error::backend(
                    "audit positions out of order",
                    format!("read {p} after {}", expected - 1),
                ));
            }
            if p > expected && !self.hole_settled(expected, p, now) {
                break;
            }
            expected = p + 1;
            out.push(e);
        }
        self.handed_out = out.last().and_then(|e| e.position);
        Ok(out)
    }

    /// Saves the cursor at `position` (the last handled event); events up to it are not handed
    /// out again. Acknowledging past what [`poll`](Self::poll) handed out is refused.
    pub async fn ack(&mut self, position: u64) -> Result<()> {
        if self.handed_out.is_none_or(|h| position > h) {
            return Err(Error::invalid(
                "audit reader ack",
                "past the last event handed out",
            ));
        }
        self.store.save_cursor(&self.name, position).await
    }

    /// Whether the hole `[start, end)` has been missing long enough to skip. Records when it was
    /// first seen; a hole that shrank or split keeps the earliest sighting.
    fn hole_settled(&mut self, start: u64, end: u64, now: DateTime<Utc>) -> bool {
        let seen = self
            .holes
            .iter()
            .filter(|(s, (e, _))| **s < end && *e > start)
            .map(|(_, (_, at))| *at)
            .min()
            .unwrap_or(now);
        self.holes.retain(|s, (e, _)| !(*s < end && *e > start));
        self.holes.insert(start, (end, seen));
        let waited = (now - seen).to_std().unwrap_or_default();
        waited >= self.gap_timeout
    }
}
