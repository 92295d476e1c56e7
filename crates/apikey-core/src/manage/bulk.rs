//! Bulk work: creating many keys at once (per row, or all-or-none) and revoking, suspending or
//! updating every key a filter selects, with a dry run that lists what would change.

use std::fmt;
use std::sync::Arc;

use super::catalog::PresetCache;
use super::{Change, CreatedKey, KeyManager, KeyUpdate, NewKey};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{KeyId, TenantId, TenantScope};
use crate::record::KeyRecord;
use crate::state::KeyState;
use crate::store::{KeyFilter, MAX_PAGE_SIZE};

/// How many rows one store call inserts: large enough that a bulk creation costs a few
/// transactions instead of one per key, small enough that a failed chunk is cheap to redo row by row.
const CHUNK: usize = 500;

/// A test on a key (see [`BulkOptions::within`]).
pub type KeyPredicate = Arc<dyn Fn(&KeyRecord) -> bool + Send + Sync>;

/// How bulk work runs.
#[derive(Clone, Default)]
pub struct BulkOptions {
    /// Creation: write every row or none (all rows must belong to one tenant).
    pub atomic: bool,
    /// Changes: list what would change and write nothing.
    pub dry_run: bool,
    /// Called with the number of rows (or keys) done so far, after each step.
    pub progress: Option<Arc<dyn Fn(u64) + Send + Sync>>,
    /// Changes: only keys this admits are considered; the others are neither changed nor
    /// reported (not even as skipped). A service uses it to keep keys its caller must not see
    /// (its own admin keys) out of a filter's reach.
    pub within: Option<KeyPredicate>,
}

impl fmt::Debug for BulkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkOptions")
            .field("atomic", &self.atomic)
            .field("dry_run", &self.dry_run)
            .field("progress", &self.progress.is_some())
            .field("within", &self.within.is_some())
            .finish()
    }
}

impl BulkOptions {
    fn report(&self, done: usize) {
        if let Some(p) = &self.progress {
            p(done as u64);
        }
    }
}

/// The failure of one row of a bulk creation.
#[derive(Debug)]
pub struct BulkRowError {
    /// The row's index in the input (0-based).
    pub row: usize,
    /// Why it failed; nothing of the row was written.
    pub error: Error,
}

/// The outcome of a bulk creation, in input order: each row's key (and its token, shown only
/// here) or its error.
#[derive(Debug)]
pub struct BulkCreated {
    /// One entry per input row.
    pub rows: Vec<std::result::Result<CreatedKey, BulkRowError>>,
}

impl BulkCreated {
    /// How many rows were created.
    pub fn created(&self) -> usize {
        self.rows.iter().filter(|r| r.is_ok()).count()
    }
}

/// What a bulk change does to each selected key.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkAction {
    /// Revoke (keys already revoked are skipped).
    Revoke,
    /// Suspend (only active keys; others are skipped).
    Suspend,
    /// Apply an update (revoked keys are skipped).
    Update(Box<KeyUpdate>),
}

impl BulkAction {
    fn applies_to(&self, r: &KeyRecord) -> bool {
        match self {
            Self::Revoke => r.state != KeyState::Revoked,
            Self::Suspend => r.state == KeyState::Active,
            Self::Update(_) => r.state != KeyState::Revoked,
        }
    }
}

/// The outcome of a bulk change.
#[derive(Debug)]
pub struct BulkChanged {
    /// Keys the action applies to, as they were before: what a dry run would change.
    pub targeted: Vec<KeyRecord>,
    /// Keys the filter selected that the action does not apply to (already revoked, …).
    pub skipped: Vec<KeyId>,
    /// Keys changed (empty on a dry run).
    pub changed: Vec<KeyRecord>,
    /// Keys that could not be changed, with why; the others were changed.
    pub failed: Vec<(KeyId, Error)>,
}

impl KeyManager {
    /// Creates a key per row, in input order, each row with its template and group like
    /// [`create_as`](Self::create_as). Rows are inserted a chunk at a time under the tenant's
    /// key-count limits.
    ///
    /// By default each row stands alone: a bad row (invalid, unknown template, alias collision,
    /// limit reached) gets its error and the good rows are written. With
    /// [`atomic`](BulkOptions::atomic) every row is checked first and all are inserted in one
    /// step: the first bad row fails the call (its message names the row, 1-based) and nothing is
    /// written. An atomic creation needs every row in one tenant and a store with the
    /// [`CheckedInsert`](crate::tenant::CheckedInsert) capability.
    pub async fn bulk_create(
        &self,
        rows: Vec<NewKey>,
        options: &BulkOptions,
        change: Change,
    ) -> Result<BulkCreated> {
        change.validate()?;
        if options.atomic {
            return self.bulk_create_atomic(rows, options, &change).await;
        }
        let mut out: Vec<Option<std::result::Result<CreatedKey, BulkRowError>>> =
            (0..rows.len()).map(|_| None).collect();
        let mut rows: Vec<(usize, NewKey)> = rows.into_iter().enumerate().collect();
        let mut presets = PresetCache::default();
        let mut done = 0;
        while !rows.is_empty() {
            // A chunk is a run of rows of one tenant: a checked insert is per tenant.
            let tenant = rows[0].1.tenant.clone();
            let take = rows
                .iter()
                .take(CHUNK)
                .take_while(|(_, r)| r.tenant == tenant)
                .count();
            let chunk: Vec<(usize, NewKey)> = rows.drain(..take).collect();
            let settings = self.effective_settings(tenant.as_ref()).await?;
            let mut prepared = Vec::with_capacity(chunk.len());
            for (i, new) in chunk {
                match self.prepare(new, &change, &settings, &mut presets).await {
                    Ok(p) => prepared.push((i, p)),
                    Err(error) => out[i] = Some(Err(BulkRowError { row: i, error })),
                }
            }
            let (index, items): (Vec<usize>, Vec<_>) = prepared.into_iter().unzip();
            match self
                .try_commit(tenant.as_ref(), items, &settings, &change)
                .await
            {
                Ok(created) => {
                    for (i, c) in index.into_iter().zip(created) {
                        out[i] = Some(Ok(c));
                    }
                }
                // One row spoilt the chunk (a collision, the limit): find it row by row.
                Err((_, items)) if items.len() > 1 => {
                    for (i, item) in index.into_iter().zip(items) {
                        out[i] = Some(
                            self.commit_new(tenant.as_ref(), vec![item], &settings, &change)
                                .await
                                .map(|mut c| c.remove(0))
                                .map_err(|error| BulkRowError { row: i, error }),
                        );
                    }
                }
                Err((error, _)) => {
                    if let Some(i) = index.first() {
                        out[*i] = Some(Err(BulkRowError { row: *i, error }));
                    }
                }
            }
            done += take;
            options.report(done);
        }
        Ok(BulkCreated {
            rows: out
                .into_iter()
                .map(|r| r.expect("every row has an outcome"))
                .collect(),
        })
    }

    async fn bulk_create_atomic(
        &self,
        rows: Vec<NewKey>,
        options: &BulkOptions,
        change: &Change,
    ) -> Result<BulkCreated> {
        let tenant: Option<TenantId> = rows.first().and_then(|r| r.tenant.clone());
        if let Some(i) = rows.iter().position(|r| r.tenant != tenant) {
            return Err(Error::invalid(
                "tenant",
                format_args!(
                    "row {}: an atomic bulk creation must keep to one tenant (row 1's)",
                    i + 1
                ),
            ));
        }
        let settings = self.effective_settings(tenant.as_ref()).await?;
        let mut presets = PresetCache::default();
        let mut prepared = Vec::with_capacity(rows.len());
        for (i, new) in rows.into_iter().enumerate() {
            let p = self
                .prepare(new, change, &settings, &mut presets)
                .await
                .map_err(|e| at_row(i, e))?;
            prepared.push(p);
            if (i + 1) % CHUNK == 0 {
                options.report(i + 1);
            }
        }
        let n = prepared.len();
        if let Some((i, a)) = duplicate_alias(&prepared) {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("row {}: alias {a:?} is given to an earlier row too", i + 1),
            ));
        }
        let created = self
            .commit_new(tenant.as_ref(), prepared, &settings, change)
            .await?;
        options.report(n);
        Ok(BulkCreated {
            rows: created.into_iter().map(Ok).collect(),
        })
    }

    /// Applies `action` to every key of `tenant` that `filter` selects (its `after` and `limit`
    /// are ignored: every page is read first, then each key is changed on its own, with its own
    /// version check and audit event). Keys the action does not apply to are skipped; a key that
    /// fails (a lost race three times, say) is reported and the rest go on. With
    /// [`dry_run`](BulkOptions::dry_run) nothing is written and `targeted` lists what would
    /// change.
    pub async fn bulk_change(
        &self,
        tenant: &TenantScope,
        filter: &KeyFilter,
        action: &BulkAction,
        options: &BulkOptions,
        change: Change,
    ) -> Result<BulkChanged> {
        change.validate()?;
        if let BulkAction::Update(u) = action {
            u.validate(self.inner.clock.now())?;
        }
        let mut page_filter = KeyFilter {
            after: None,
            limit: MAX_PAGE_SIZE,
            ..filter.clone()
        };
        let mut targeted = Vec::new();
        let mut skipped = Vec::new();
        loop {
            let page = self.inner.store.query(tenant, &page_filter).await?;
            let admitted = |r: &KeyRecord| options.within.as_ref().is_none_or(|w| w(r));
            for r in page.items.into_iter().filter(admitted) {
                if action.applies_to(&r) {
                    targeted.push(r);
                } else {
                    skipped.push(r.id);
                }
            }
            match page.next {
                Some(next) => page_filter.after = Some(next),
                None => break,
            }
        }
        let mut changed = Vec::new();
        let mut failed = Vec::new();
        if !options.dry_run {
            for (n, r) in targeted.iter().enumerate() {
                let result = match action {
                    BulkAction::Revoke => self.revoke(tenant, r.id, change.clone()).await,
                    BulkAction::Suspend => self.suspend(tenant, r.id, change.clone()).await,
                    BulkAction::Update(u) => {
                        self.update(tenant, r.id, (**u).clone(), change.clone())
                            .await
                    }
                };
                match result {
                    Ok(after) => changed.push(after),
                    Err(e) => failed.push((r.id, e)),
                }
                options.report(n + 1);
            }
        }
        Ok(BulkChanged {
            targeted,
            skipped,
            changed,
            failed,
        })
    }
}

fn at_row(i: usize, e: Error) -> Error {
    let message = format!("row {}: {}", i + 1, e.message());
    Error::new(e.kind(), message).with_source(e)
}

/// The first row (and alias) repeating an alias of an earlier row of the same batch.
fn duplicate_alias(items: &[super::create::Prepared]) -> Option<(usize, String)> {
    let mut seen = std::collections::HashSet::new();
    for (i, p) in items.iter().enumerate() {
        for a in &p.record.aliases {
            if !seen.insert(a.as_str()) {
                return Some((i, a.clone()));
            }
        }
    }
    None
}
