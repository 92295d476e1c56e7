//! `AuditReader` over a log whose positions have holes: a position that is late to commit is
//! waited for, a hole that never fills is skipped after the gap timeout, and the cursor moves
//! only on ack.

use std::sync::Arc;
use std::time::Duration;

use apikey_core::audit::{ahead_of_log, validate_reader_name};
use apikey_core::{
    AuditEvent, AuditFilter, AuditReader, AuditStore, ErrorKind, EventType, ManualClock,
    ReaderCursor, ReaderStart, Result, TenantScope,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

/// A log where the test decides which positions are committed.
#[derive(Debug, Default)]
struct HoleyLog {
    events: Mutex<Vec<AuditEvent>>,
    last: Mutex<u64>,
    cursors: Mutex<Vec<ReaderCursor>>,
}

impl HoleyLog {
    /// Commits an event at `position` (positions up to it count as handed out).
    fn commit(&self, position: u64) {
        let mut e = AuditEvent::system(
            EventType::AuthFailures,
            None,
            None,
            DateTime::<Utc>::UNIX_EPOCH,
            None,
            &[&position.to_string()],
        );
        e.position = Some(position);
        let mut events = self.events.lock();
        events.push(e);
        events.sort_by_key(|e| e.position);
        let mut last = self.last.lock();
        *last = (*last).max(position);
    }

    /// A position handed out to a transaction that has not committed (yet).
    fn reserve(&self, position: u64) {
        let mut last = self.last.lock();
        *last = (*last).max(position);
    }
}

#[async_trait]
impl AuditStore for HoleyLog {
    async fn query(&self, _: &TenantScope, _: &AuditFilter) -> Result<Vec<AuditEvent>> {
        Ok(Vec::new())
    }
    async fn append(&self, _: &AuditEvent) -> Result<bool> {
        Ok(false)
    }
    async fn read_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEvent>> {
        Ok(self
            .events
            .lock()
            .iter()
            .filter(|e| e.position > Some(after))
            .take(limit as usize)
            .cloned()
            .collect())
    }
    async fn last_position(&self) -> Result<u64> {
        Ok(*self.last.lock())
    }
    async fn cursors(&self) -> Result<Vec<ReaderCursor>> {
        Ok(self.cursors.lock().clone())
    }
    async fn save_cursor(&self, reader: &str, position: u64) -> Result<()> {
        validate_reader_name(reader)?;
        let last = *self.last.lock();
        if position > last {
            return Err(ahead_of_log(position, last));
        }
        let mut cursors = self.cursors.lock();
        cursors.retain(|c| c.reader != reader);
        cursors.push(ReaderCursor {
            reader: reader.to_owned(),
            position,
        });
        Ok(())
    }
    async fn remove_cursor(&self, _: &str) -> Result<bool> {
        Ok(false)
    }
    async fn purge_before(&self, _: DateTime<Utc>) -> Result<u64> {
        Ok(0)
    }
}

fn positions(events: &[AuditEvent]) -> Vec<u64> {
    events.iter().filter_map(|e| e.position).collect()
}

fn setup() -> (Arc<HoleyLog>, Arc<ManualClock>) {
    (
        Arc::new(HoleyLog::default()),
        Arc::new(ManualClock::fixed()),
    )
}

fn reader(log: &Arc<HoleyLog>, clock: &Arc<ManualClock>) -> AuditReader {
    AuditReader::new(log.clone(), clock.clone(), "webhooks")
        .unwrap()
        .gap_timeout(Duration::from_secs(30))
}

#[tokio::test]
async fn a_late_commit_is_waited_for_not_skipped() {
    let (log, clock) = setup();
    for p in [1, 2, 4, 5] {
        log.commit(p);
    }
    log.reserve(3);
    let mut r = reader(&log, &clock);
    let got = r.poll().await.unwrap();
    assert_eq!(positions(&got), [1, 2]);
    r.ack(2).await.unwrap();
    clock.advance(chrono::Duration::seconds(10));
    assert!(r.poll().await.unwrap().is_empty(), "3 may still commit");
    log.commit(3);
    let got = r.poll().await.unwrap();
    assert_eq!(positions(&got), [3, 4, 5]);
    r.ack(5).await.unwrap();
    assert!(r.poll().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_hole_that_never_fills_is_skipped_after_the_gap_timeout() {
    let (log, clock) = setup();
    for p in [1, 4, 5] {
        log.commit(p);
    }
    let mut r = reader(&log, &clock);
    assert_eq!(positions(&r.poll().await.unwrap()), [1]);
    clock.advance(chrono::Duration::seconds(29));
    assert_eq!(positions(&r.poll().await.unwrap()), [1]);
    // Position 3 fills meanwhile; 2 never does. The hole's first sighting still counts.
    log.commit(3);
    clock.advance(chrono::Duration::seconds(1));
    assert_eq!(positions(&r.poll().await.unwrap()), [1, 3, 4, 5]);
}

#[tokio::test]
async fn the_cursor_moves_only_on_ack_and_survives_a_restart() {
    let (log, clock) = setup();
    for p in 1..=4 {
        log.commit(p);
    }
    let mut r = reader(&log, &clock);
    assert_eq!(positions(&r.poll().await.unwrap()), [1, 2, 3, 4]);
    let err = r.ack(9).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    r.ack(2).await.unwrap();
    drop(r);
    // A new process: same name, same cursor; unacknowledged events come again.
    let mut again = reader(&log, &clock);
    assert_eq!(again.cursor().await.unwrap(), 2);
    assert_eq!(positions(&again.poll().await.unwrap()), [3, 4]);
}

#[tokio::test]
async fn a_cursor_ahead_of_the_log_is_a_conflict_not_a_silent_skip() {
    let (log, clock) = setup();
    log.commit(1);
    log.reserve(7);
    log.save_cursor("webhooks", 7).await.unwrap();
    // The log is restored from a backup taken before position 7.
    *log.last.lock() = 1;
    let mut r = reader(&log, &clock);
    let err = r.poll().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(
        err.message().contains("ahead of the log"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn new_readers_start_at_the_oldest_kept_event_or_now() {
    let (log, clock) = setup();
    // Positions 1..=9 were purged.
    for p in [10, 11] {
        log.commit(p);
    }
    let mut from_start = reader(&log, &clock);
    assert_eq!(positions(&from_start.poll().await.unwrap()), [10, 11]);
    let mut from_now = AuditReader::new(log.clone(), clock.clone(), "exports")
        .unwrap()
        .start(ReaderStart::Now);
    assert!(from_now.poll().await.unwrap().is_empty());
    log.commit(12);
    assert_eq!(positions(&from_now.poll().await.unwrap()), [12]);
    assert!(AuditReader::new(log.clone(), clock.clone(), "").is_err());
}
