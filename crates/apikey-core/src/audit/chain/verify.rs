//! Walking the log: every event against its own hash and the checkpoints, every key's chain
//! link by link, every checkpoint against its MAC and its predecessor.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::canonical::digest;
use super::checkpoint::{Checkpoint, Covered};
use super::link::ChainHash;
use crate::audit::{AuditEvent, AuditStore, EventType};
use crate::error::Result;
use crate::ids::KeyId;
use crate::secret_box::SecretBox;

/// What is wrong with a record.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Its content no longer gives the hash it was sealed with, or a checkpoint recorded.
    Altered,
    /// A checkpoint lists it (or the chain needs it) and it is gone, not by retention.
    Removed,
    /// It sits at a position a checkpoint covers without being listed, or breaks into a chain.
    Inserted,
    /// A checkpoint whose MAC does not hold, or that does not follow its predecessor.
    CheckpointInvalid,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Altered => "altered",
            Self::Removed => "removed",
            Self::Inserted => "inserted",
            Self::CheckpointInvalid => "checkpoint invalid",
        })
    }
}

/// One record found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What is wrong.
    pub problem: Problem,
    /// Its position in the log (or the position a checkpoint lists for it).
    pub position: Option<u64>,
    /// The event's id.
    pub event_id: Option<Uuid>,
    /// The key whose chain it belongs to, when known.
    pub key_id: Option<KeyId>,
    /// Its version in that chain.
    pub version: Option<u64>,
    /// In words.
    pub detail: String,
}

/// The newest valid checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastCheckpoint {
    /// Its number.
    pub seq: u64,
    /// When it was made.
    pub made_at: DateTime<Utc>,
    /// The position it covers the log through.
    pub through: u64,
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Events read (checkpoints not counted).
    pub events: u64,
    /// Keys with a chain.
    pub keys: u64,
    /// Events sealed into the chain.
    pub chained: u64,
    /// Events without a link (written before chaining, or without an audit store wired).
    pub unchained: u64,
    /// Events whose personal fields were erased.
    pub erased: u64,
    /// Checkpoints read.
    pub checkpoints: u64,
    /// Whether their MACs were checked (it takes the secret box).
    pub checkpoints_verified: bool,
    /// The newest checkpoint.
    pub last_checkpoint: Option<LastCheckpoint>,
    /// Events a checkpoint vouches for.
    pub covered: u64,
    /// Events after the last checkpoint: consistent with their chains, not yet under a MAC.
    pub unanchored: u64,
    /// Listed events gone by retention.
    pub purged: u64,
    /// The newest retention horizon recorded (`audit.purged`).
    pub purged_before: Option<DateTime<Utc>>,
    /// Everything wrong, in position order; empty when the log verifies.
    pub findings: Vec<Finding>,
}

impl ChainReport {
    /// Whether nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }

    /// The first record found wrong, by position.
    pub fn first(&self) -> Option<&Finding> {
        self.findings.first()
    }
}

/// Reads the whole log of `store` and checks it (see the [module docs](super)). With `sbox`,
/// checkpoints are checked against their MACs; without it only their succession is, and
/// [`ChainReport::checkpoints_verified`] says so.
pub async fn verify(store: &dyn AuditStore, sbox: Option<&SecretBox>) -> Result<ChainReport> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_after(after, 1000).await?;
        let Some(last) = page.last().and_then(|e| e.position) else {
            break;
        };
        after = last;
        all.extend(page);
    }
    let mut report = ChainReport {
        checkpoints_verified: sbox.is_some(),
        ..ChainReport::default()
    };
    let (checkpoints, events): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|e| e.event_type == EventType::AuditCheckpoint);
    let listed = check_checkpoints(&checkpoints, sbox, &mut report);
    report.purged_before = events
        .iter()
        .filter(|e| e.event_type == EventType::AuditPurged)
        .filter_map(|e| e.data.as_ref()?.get("before")?.as_i64())
        .max()
        .and_then(DateTime::from_timestamp_millis);
    let through = report.last_checkpoint.as_ref().map_or(0, |c| c.through);
    check_events(&events, &listed, through, &mut report);
    let passed = crate::audit::cursor_of(store, super::CHECKPOINT_READER)
        .await?
        .unwrap_or(0);
    if let Some(e) = events.iter().find(|e| {
        e.event_type != EventType::AuditCheckpoint
            && e.position.is_some_and(|p| p > through && p <= passed)
    }) {
        report.findings.push(finding(
            Problem::CheckpointInvalid,
            e,
            format!(
                "the checkpoint job passed position {passed}, but no checkpoint lists this event: a newer checkpoint was removed"
            ),
        ));
    }
    let purged = check_listed(&events, &listed, &mut report);
    check_chains(&events, &purged, &mut report);
    report
        .findings
        .sort_by_key(|f| (f.position.unwrap_or(u64::MAX), f.event_id));
    Ok(report)
}

fn finding(problem: Problem, e: &AuditEvent, detail: impl Into<String>) -> Finding {
    Finding {
        problem,
        position: e.position,
        event_id: Some(e.id),
        key_id: e.key_id().filter(|_| e.version > 0),
        version: (e.version > 0).then_some(e.version),
        detail: detail.into(),
    }
}

/// Checks each checkpoint's MAC and succession; returns what the valid ones list, by position.
fn check_checkpoints(
    events: &[AuditEvent],
    sbox: Option<&SecretBox>,
    report: &mut ChainReport,
) -> HashMap<u64, Covered> {
    let mut parsed = Vec::new();
    for e in events {
        match Checkpoint::from_event(e) {
            Ok(cp) => parsed.push((e, cp)),
            Err(err) => report.findings.push(finding(
                Problem::CheckpointInvalid,
                e,
                format!("unreadable checkpoint: {err}"),
            )),
        }
    }
    parsed.sort_by_key(|(_, cp)| cp.seq);
    report.checkpoints = parsed.len() as u64;
    let mut listed = HashMap::new();
    let mut prev: Option<&Checkpoint> = None;
    for (e, cp) in &parsed {
        let expected = prev.map_or(1, |p| p.seq + 1);
        if cp.seq != expected || cp.prev != prev.map(|p| p.mac) {
            report.findings.push(finding(
                Problem::CheckpointInvalid,
                e,
                format!(
                    "checkpoint {} does not follow checkpoint {}: one between them was removed, or this one was forged",
                    cp.seq,
                    expected - 1
                ),
            ));
        }
        if let Some(sbox) = sbox {
            match cp.verify(sbox) {
                Ok(true) => {}
                Ok(false) | Err(_) => {
                    report.findings.push(finding(
                        Problem::CheckpointInvalid,
                        e,
                        format!("checkpoint {}'s MAC does not hold under the KEK", cp.seq),
                    ));
                    prev = Some(cp);
                    continue;
                }
            }
        }
        for c in &cp.events {
            listed.entry(c.0).or_insert_with(|| c.clone());
        }
        report.last_checkpoint = Some(LastCheckpoint {
            seq: cp.seq,
            made_at: DateTime::from_timestamp_millis(cp.made_at).unwrap_or_default(),
            through: cp.through,
        });
        prev = Some(cp);
    }
    listed
}

/// Checks every event's own hash and its listing.
fn check_events(
    events: &[AuditEvent],
    listed: &HashMap<u64, Covered>,
    through: u64,
    report: &mut ChainReport,
) {
    for e in events {
        report.events += 1;
        let d = match digest(e) {
            Ok(d) => d,
            Err(err) => {
                report.findings.push(finding(
                    Problem::Altered,
                    e,
                    format!("cannot be hashed: {err}"),
                ));
                continue;
            }
        };
        match &e.chain {
            Some(link) => {
                report.chained += 1;
                if link.salt.is_none() {
                    report.erased += 1;
                }
                if link.hash != d {
                    report.findings.push(finding(
                        Problem::Altered,
                        e,
                        "its content does not give the hash it was sealed with",
                    ));
                    continue;
                }
            }
            None => report.unchained += 1,
        }
        let position = e.position.unwrap_or_default();
        if position > through {
            report.unanchored += 1;
            continue;
        }
        match listed.get(&position) {
            Some(c) if c.1 == e.id && c.3 == d => report.covered += 1,
            Some(c) if c.1 == e.id => report.findings.push(finding(
                Problem::Altered,
                e,
                "its content differs from what a checkpoint recorded",
            )),
            Some(c) => report.findings.push(finding(
                Problem::Inserted,
                e,
                format!("a checkpoint lists event {} at this position", c.1),
            )),
            None => report.findings.push(finding(
                Problem::Inserted,
                e,
                format!("no checkpoint lists it, though checkpoints cover the log through position {through}"),
            )),
        }
    }
}

/// Finds listed events that are gone: purged by retention, or removed. Returns the digests of
/// the purged ones (a chain cut by retention starts at one of them).
fn check_listed(
    events: &[AuditEvent],
    listed: &HashMap<u64, Covered>,
    report: &mut ChainReport,
) -> HashSet<ChainHash> {
    let present: HashSet<u64> = events.iter().filter_map(|e| e.position).collect();
    let horizon = report.purged_before.map(|t| t.timestamp_millis());
    let mut purged = HashSet::new();
    let mut missing: Vec<&Covered> = listed
        .values()
        .filter(|c| !present.contains(&c.0))
        .collect();
    missing.sort_by_key(|c| c.0);
    for c in missing {
        if horizon.is_some_and(|h| c.2 < h) {
            report.purged += 1;
            purged.insert(c.3);
        } else {
            report.findings.push(Finding {
                problem: Problem::Removed,
                position: Some(c.0),
                event_id: Some(c.1),
                key_id: None,
                version: None,
                detail: "a checkpoint lists it and it is gone (not by retention)".into(),
            });
        }
    }
    purged
}

/// Walks each key's chain in version order.
fn check_chains(events: &[AuditEvent], purged: &HashSet<ChainHash>, report: &mut ChainReport) {
    let mut chains: BTreeMap<KeyId, Vec<&AuditEvent>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.version > 0) {
        if let Some(key) = e.key_id() {
            chains.entry(key).or_default().push(e);
        }
    }
    report.keys = chains.len() as u64;
    for chain in chains.values_mut() {
        chain.sort_by_key(|e| (e.version, e.position));
        // The hash the next linked event must name: None before the first linked one (it may
        // start at GENESIS or at a purged event), GENESIS after an unlinked one.
        let mut expected: Option<ChainHash> = None;
        let mut last_version = None;
        for e in chain.iter() {
            let Some(link) = &e.chain else {
                expected = Some(ChainHash::GENESIS);
                last_version = Some(e.version);
                continue;
            };
            let ok = match expected {
                None => link.prev == ChainHash::GENESIS || purged.contains(&link.prev),
                Some(h) => link.prev == h,
            };
            if !ok {
                let problem = match last_version {
                    Some(v) if v == e.version && e.after.is_some() => Problem::Inserted,
                    Some(v) if e.version > v + 1 => Problem::Removed,
                    None if link.prev != ChainHash::GENESIS => Problem::Removed,
                    _ => Problem::Altered,
                };
                let detail = match problem {
                    Problem::Removed => "the record before it in its key's chain is missing",
                    Problem::Inserted => "a second record for the same version of its key",
                    _ => "it does not link to the record before it in its key's chain",
                };
                report.findings.push(finding(problem, e, detail));
                if problem == Problem::Inserted {
                    // The chain goes on from the record it duplicates.
                    continue;
                }
            }
            // Follow what the event claims, so one altered record is reported once.
            expected = Some(link.hash);
            last_version = Some(e.version);
        }
    }
}
