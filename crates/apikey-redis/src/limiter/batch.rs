//! Exact decisions that arrive together go to Redis as few script calls (opt-in:
//! [`RedisLimiter::with_batching`](super::RedisLimiter::with_batching)).
//!
//! One task owns the calls. A decision that finds it idle goes out at once, alone; decisions that
//! arrive while calls are in flight (up to [`IN_FLIGHT`]) wait and then leave together, up to
//! [`MAX_BATCH`], in one `EVALSHA` of `batch.lua`, which runs `decide.lua` for each in arrival
//! order. Redis runs a script atomically, so every decision is still decided atomically against
//! the state the ones before it left: the same answers as one call each, for a tenth of the calls.
//!
//! Fewer calls is not less time everywhere. On loopback, Redis's own time per decision (10–20 µs
//! in `INFO commandstats`) bounds the rate, and batching measured 0.76× the decisions/s of one
//! call each; it pays where the round trip or the call count costs (a Redis on another host).
//!
//! Only a single-node connection batches: on Cluster, one script's keys must share a slot, and
//! decisions for different keys rarely do, so Cluster keeps one call per decision.

use std::sync::Arc;
use std::sync::OnceLock;

use apikey_core::{Error, ErrorKind, Result};
use redis::Script;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::breaker::Counters;
use crate::conn::RedisConnection;
use crate::error::from_redis;

/// Most decisions in one call: enough to absorb a burst from hundreds of connections, small
/// enough that one call's script time (~1 µs per decision in Redis) never stalls the server.
pub(crate) const MAX_BATCH: usize = 128;

/// Decisions waiting for the batch task; a full queue makes callers wait (their time budget
/// still bounds the wait).
const QUEUE: usize = 4096;

/// Batch calls in flight at once. One would leave Redis idle while each reply travels back and
/// is handed out; a few keep it busy, and the calls go out in order on one connection, which
/// Redis runs in that order.
const IN_FLIGHT: usize = 4;

/// `decide.lua` as a function, called once per decision.
static BATCH_SCRIPT: OnceLock<Script> = OnceLock::new();

fn batch_script() -> &'static Script {
    BATCH_SCRIPT.get_or_init(|| {
        // `KEYS` and `ARGV` are the function's parameters, so `decide.lua` runs unchanged on each
        // decision's own three keys and eight arguments.
        Script::new(&format!(
            "local function decide(KEYS, ARGV)\n{}\nend\n{}",
            super::SCRIPT,
            include_str!("batch.lua")
        ))
    })
}

/// One exact decision's script input: three keys and eight arguments, as `decide.lua` takes them.
pub(crate) struct Call {
    pub(crate) keys: [String; 3],
    pub(crate) args: [String; 8],
}

/// What `decide.lua` returns in exact mode: admitted, now, rate TAT, endpoint TAT, quota used.
pub(crate) type Reply = (i64, i64, Option<i64>, Option<i64>, i64);

struct Job {
    call: Call,
    reply: oneshot::Sender<Result<Reply>>,
}

/// The sending side of the batch task, started on first use (it needs a Tokio runtime).
pub(crate) struct Batcher {
    conn: RedisConnection,
    counters: Arc<Counters>,
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl Batcher {
    pub(crate) fn new(conn: RedisConnection, counters: Arc<Counters>) -> Self {
        Self {
            conn,
            counters,
            queue: OnceLock::new(),
        }
    }

    /// Decides `call` in Redis, alone or with the decisions queued beside it.
    pub(crate) async fn decide(&self, call: Call) -> Result<Reply> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(self.conn.clone(), Arc::clone(&self.counters), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        queue.send(Job { call, reply }).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("started", &self.queue.get().is_some())
            .finish_non_exhaustive()
    }
}

fn gone() -> Error {
    Error::new(
        ErrorKind::Unavailable,
        "the redis limiter's batch task has stopped",
    )
}

/// The batch task: up to [`IN_FLIGHT`] calls at a time; whatever queued meanwhile is the next
/// batch. It ends when the limiter (the only sender) is dropped.
async fn run(conn: RedisConnection, counters: Arc<Counters>, mut rx: mpsc::Receiver<Job>) {
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        jobs.push(first);
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        // A caller whose time budget ran out while its decision queued has already applied the
        // failure policy: sending its decision now would charge a request that was answered
        // without Redis (a single call dropped before it was written is not sent either).
        jobs.retain(|job| !job.reply.is_closed());
        if jobs.is_empty() {
            continue;
        }
        Counters::bump(&counters.round_trips);
        let mut invoke = batch_script().prepare_invoke();
        invoke.arg(jobs.len());
        for job in &jobs {
            for key in &job.call.keys {
                invoke.key(key);
            }
            for arg in &job.call.args {
                invoke.arg(arg);
            }
        }
        let mut c = conn.clone();
        tokio::spawn(async move {
            let outcome: std::result::Result<Vec<Reply>, _> = invoke.invoke_async(&mut c).await;
            answer(jobs, outcome);
            drop(permit);
        });
    }
}

/// Hands each decision of a call its reply, or the call's failure.
fn answer(jobs: Vec<Job>, outcome: std::result::Result<Vec<Reply>, redis::RedisError>) {
    match outcome {
        Ok(replies) if replies.len() == jobs.len() => {
            for (job, reply) in jobs.into_iter().zip(replies) {
                // A caller whose time budget ran out has gone; its decision stands in Redis, as
                // a timed-out single call's would.
                let _ = job.reply.send(Ok(reply));
            }
        }
        Ok(replies) => {
            let n = replies.len();
            for job in jobs {
                let _ = job.reply.send(Err(Error::new(
                    ErrorKind::Backend,
                    format!("the redis limiter batch script answered {n} decisions"),
                )));
            }
        }
        Err(e) => {
            // Every decision of the call gets the error's class, so each applies the failure
            // policy exactly as a failed single call would.
            let first = from_redis("redis limiter call failed", e);
            let kind = first.kind();
            let mut first = Some(first);
            for job in jobs {
                let err = first
                    .take()
                    .unwrap_or_else(|| Error::new(kind, "redis limiter call failed"));
                let _ = job.reply.send(Err(err));
            }
        }
    }
}
