//! [`RedisInstances`]: the registry of live verifier instances and the confirmation requests
//! they answer.
//!
//! Every instance running a [`RevocationListener`](crate::RevocationListener) keeps itself in a
//! sorted set scored by its presence deadline (Redis's clock + the presence TTL), renewed with
//! every ping; an instance that crashes or is paused drops out by itself when the deadline
//! passes. A confirmation request snapshots the live set, is recorded as pending and is
//! published on the invalidation channel; each instance applies it and adds itself to the
//! request's acknowledgement set.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::{Error, ErrorKind, Instance, LookupId, Result};
use chrono::{DateTime, Utc};
use redis::Script;

use crate::conn::RedisConnection;
use crate::error::{from_redis, timed_out};
use crate::keys::KeyPrefix;

/// How long one registry call may take.
const BUDGET: Duration = Duration::from_secs(2);

/// The state of one instance in a confirmation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Acknowledged,
    Departed,
    Missing,
}

/// A pending confirmation request as instances read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) id: String,
    pub(crate) lookup: LookupId,
    pub(crate) version: u64,
}

impl Request {
    /// Parses `"<request id> <lookup id> <version>"`.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(' ');
        let id = parts.next().filter(|id| !id.is_empty())?;
        let lookup = LookupId::parse(parts.next()?).ok()?;
        let version = parts.next()?.parse().ok()?;
        parts.next().is_none().then(|| Self {
            id: id.to_owned(),
            lookup,
            version,
        })
    }
}

/// The live verifier instances sharing one Redis and key prefix.
#[derive(Clone)]
pub struct RedisInstances {
    conn: RedisConnection,
    prefix: KeyPrefix,
    heartbeat: Arc<Script>,
    ask: Arc<Script>,
    poll: Arc<Script>,
    list: Arc<Script>,
}

impl RedisInstances {
    /// The registry on `conn` under the default prefix `apikey`.
    pub fn new(conn: RedisConnection) -> Self {
        Self {
            conn,
            prefix: KeyPrefix::default(),
            heartbeat: Arc::new(Script::new(include_str!("heartbeat.lua"))),
            ask: Arc::new(Script::new(include_str!("ask.lua"))),
            poll: Arc::new(Script::new(include_str!("poll.lua"))),
            list: Arc::new(Script::new(include_str!("list.lua"))),
        }
    }

    /// Uses `prefix` (the one the instances' cache and listener use).
    #[must_use]
    pub fn with_prefix(mut self, prefix: KeyPrefix) -> Self {
        self.prefix = prefix;
        self
    }

    pub(crate) fn prefix(&self) -> &KeyPrefix {
        &self.prefix
    }

    /// The instances live now, oldest first.
    pub async fn list(&self) -> Result<Vec<Instance>> {
        let mut call = self.list.prepare_invoke();
        call.key(self.prefix.instances("live"))
            .key(self.prefix.instances("info"));
        let mut conn = self.conn.clone();
        let flat: Vec<String> =
            within("redis instance list failed", call.invoke_async(&mut conn)).await?;
        let mut out: Vec<Instance> = flat
            .chunks_exact(2)
            .map(|pair| instance(&pair[0], &pair[1]))
            .collect();
        out.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Records `id` as live for `ttl`; returns Redis's time.
    pub(crate) async fn heartbeat(
        &self,
        id: &str,
        name: Option<&str>,
        ttl: Duration,
    ) -> Result<()> {
        let mut call = self.heartbeat.prepare_invoke();
        call.key(self.prefix.instances("live"))
            .key(self.prefix.instances("info"))
            .arg(id)
            .arg(millis(ttl))
            .arg(name.unwrap_or(""));
        let mut conn = self.conn.clone();
        let _: i64 = within("redis heartbeat failed", call.invoke_async(&mut conn)).await?;
        Ok(())
    }

    /// Takes `id` out of the registry at once (a graceful shutdown).
    pub(crate) async fn leave(&self, id: &str) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .zrem(self.prefix.instances("live"), id)
            .ignore()
            .hdel(self.prefix.instances("info"), id)
            .ignore();
        let mut conn = self.conn.clone();
        within(
            "redis deregistration failed",
            pipe.query_async::<()>(&mut conn),
        )
        .await
    }

    /// The confirmation requests not yet expired.
    pub(crate) async fn pending(&self) -> Result<Vec<Request>> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(self.prefix.instances("pending")).arg(0).arg(-1);
        let all: Vec<String> = within(
            "redis pending requests read failed",
            cmd.query_async(&mut conn),
        )
        .await?;
        Ok(all.iter().filter_map(|m| Request::parse(m)).collect())
    }

    /// Records that `instance` applied request `request`.
    pub(crate) async fn acknowledge(&self, request: &str, instance: &str) -> Result<()> {
        let key = self.prefix.instances(&format!("ack:{request}"));
        let mut pipe = redis::pipe();
        pipe.atomic()
            .sadd(&key, instance)
            .ignore()
            .pexpire(&key, ACK_KEEP_MS)
            .ignore();
        let mut conn = self.conn.clone();
        within(
            "redis acknowledgement failed",
            pipe.query_async::<()>(&mut conn),
        )
        .await
    }

    /// Asks every live instance to apply `lookup` at `version`; returns how many were asked.
    pub(crate) async fn ask(
        &self,
        request: &str,
        lookup: &LookupId,
        version: u64,
        keep: Duration,
        channel: &str,
    ) -> Result<usize> {
        let mut call = self.ask.prepare_invoke();
        call.key(self.prefix.instances("live"))
            .key(self.prefix.instances("info"))
            .key(self.prefix.instances("pending"))
            .key(self.prefix.instances(&format!("want:{request}")))
            .arg(request)
            .arg(lookup.as_str())
            .arg(version)
            .arg(millis(keep))
            .arg(channel);
        let mut conn = self.conn.clone();
        within(
            "redis confirmation request failed",
            call.invoke_async(&mut conn),
        )
        .await
    }

    /// Where each instance asked by `request` stands.
    pub(crate) async fn answers(&self, request: &str) -> Result<Vec<(Instance, Answer)>> {
        let mut call = self.poll.prepare_invoke();
        call.key(self.prefix.instances("live"))
            .key(self.prefix.instances(&format!("want:{request}")))
            .key(self.prefix.instances(&format!("ack:{request}")));
        let mut conn = self.conn.clone();
        let flat: Vec<String> = within(
            "redis confirmation read failed",
            call.invoke_async(&mut conn),
        )
        .await?;
        flat.chunks_exact(3)
            .map(|t| {
                let answer = match t[1].as_str() {
                    "a" => Answer::Acknowledged,
                    "m" => Answer::Missing,
                    "d" => Answer::Departed,
                    other => {
                        return Err(Error::new(
                            ErrorKind::Backend,
                            format!("unexpected confirmation state {other:?}"),
                        ));
                    }
                };
                Ok((instance(&t[0], &t[2]), answer))
            })
            .collect()
    }
}

/// Acknowledgements outlive any sensible confirmation timeout.
const ACK_KEEP_MS: i64 = 10 * 60 * 1000;

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// An instance from its id and the registry's JSON (`n` name, `s` started ms, `l` last seen ms).
fn instance(id: &str, json: &str) -> Instance {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let at = |field: &str| {
        v[field]
            .as_f64()
            .and_then(|ms| DateTime::<Utc>::from_timestamp_millis(ms as i64))
            .unwrap_or(DateTime::UNIX_EPOCH)
    };
    let name = v["n"].as_str().filter(|n| !n.is_empty()).map(str::to_owned);
    Instance::new(id, name, at("s"), at("l"))
}

async fn within<T>(
    what: &'static str,
    fut: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T> {
    match tokio::time::timeout(BUDGET, fut).await {
        Ok(r) => r.map_err(|e| from_redis(what, e)),
        Err(_) => Err(timed_out(what)),
    }
}

impl fmt::Debug for RedisInstances {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisInstances")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_exactly() {
        let l = LookupId::generate();
        let r = Request::parse(&format!("req-1 {l} 7")).unwrap();
        assert_eq!((r.id.as_str(), r.lookup, r.version), ("req-1", l, 7));
        assert_eq!(Request::parse(&format!("req-1 {l} 7 extra")), None);
        assert_eq!(Request::parse(&format!("req-1 {l}")), None);
        assert_eq!(Request::parse(&format!(" {l} 7")), None);
    }

    #[test]
    fn instance_json_is_read_leniently() {
        let i = instance("a", r#"{"n":"web-1","s":1764884400000,"l":1764884401000}"#);
        assert_eq!(i.name.as_deref(), Some("web-1"));
        assert_eq!(i.started.timestamp_millis(), 1_764_884_400_000);
        let unknown = instance("b", "{}");
        assert_eq!(unknown.name, None);
        assert_eq!(unknown.started, DateTime::UNIX_EPOCH);
    }
}
