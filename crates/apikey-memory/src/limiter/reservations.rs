//! The in-process limiter's open (and recently settled) credit reservations, forgotten when they
//! expire: an expired reservation is settled at its estimate, which was charged already.

use std::collections::HashMap;
use std::sync::Arc;

use apikey_core::limit::{CreditPlan, PoolCharge, Reserve};
use parking_lot::{Mutex, MutexGuard};
use uuid::Uuid;

/// One reservation: what it charged where, until when, and what it settled at.
#[derive(Debug)]
pub(super) struct Open {
    /// Every credit pool it charged: the counter and its plan (for refills at settlement).
    pub(super) credits: Vec<(Arc<str>, CreditPlan)>,
    pub(super) estimate: u64,
    expires_us: i64,
    /// Set by the first settle; later ones answer with it until the reservation expires.
    pub(super) settled: Option<u64>,
}

/// The reservations, behind one lock (settles are rare next to decisions).
#[derive(Debug, Default)]
pub(super) struct Reservations {
    open: Mutex<Book>,
}

#[derive(Debug, Default)]
pub(super) struct Book {
    by_id: HashMap<Uuid, Open>,
    swept_us: i64,
    /// The time the book was locked at.
    now_us: i64,
}

impl Book {
    /// The reservation `id`, unless it has expired (swept or not yet).
    pub(super) fn get_mut(&mut self, id: &Uuid) -> Option<&mut Open> {
        let now_us = self.now_us;
        self.by_id.get_mut(id).filter(|r| r.expires_us > now_us)
    }
}

impl Reservations {
    /// The book, with the reservations that expired by `now_us` gone (once a second at most).
    pub(super) fn lock(&self, now_us: i64) -> MutexGuard<'_, Book> {
        let mut book = self.open.lock();
        if now_us - book.swept_us >= 1_000_000 {
            book.by_id.retain(|_, r| r.expires_us > now_us);
            book.swept_us = now_us;
        }
        book.now_us = now_us;
        book
    }

    /// Remembers reservation `r` over the credit pools among `pools`.
    pub(super) fn remember(&self, r: Reserve, pools: &[PoolCharge], now_us: i64) {
        let credits = pools
            .iter()
            .filter_map(|p| Some((p.counter.clone(), p.limits.credits.clone()?)))
            .collect();
        let ttl = i64::try_from(r.ttl.as_micros()).unwrap_or(i64::MAX);
        self.lock(now_us).by_id.insert(
            r.id,
            Open {
                credits,
                estimate: r.estimate,
                expires_us: now_us.saturating_add(ttl),
                settled: None,
            },
        );
    }
}
