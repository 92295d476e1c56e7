//! Fuzzes problem+json rendering (`crates/apikey-core/src/http/problem.rs`) and the `RateLimit`
//! fields, for every rejection kind and for real rejections out of the `Verifier`.
//!
//! The retry and limit parts of a `Rejection` are only set by the verifier, so the target keeps one
//! in-memory deployment with a key whose limiter answers what the input says, and renders the
//! rejections it returns. Every rendered body must be a JSON object that agrees with the status and
//! headers, every 401 must be byte-identical, numbers in headers must be the limiter's, header
//! values must be valid field values, and no body may contain the token.

#![no_main]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use apikey_core::http::{
    PROBLEM_CONTENT_TYPE, Problem, UNAUTHORIZED_BODY, insufficient_scope, missing_layer,
    problem_for, rate_limit_fields,
};
use apikey_core::limit::{LimitKind, LimitStatus};
use apikey_core::{
    ApiKeys, Credential, Decision, LimitPolicy, NewKey, Rate, RateLimiter, Rejection,
    RejectionKind, RequestContext, Scope, Subject, Token,
};
use apikey_memory::MemoryStore;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const KINDS: [RejectionKind; 16] = RejectionKind::ALL;

#[derive(Debug, Arbitrary)]
struct Input {
    kind: u8,
    challenge: String,
    layer: String,
    scope: String,
    limit: Limit,
    retry_secs: u64,
    retry_nanos: u32,
}

#[derive(Debug, Arbitrary)]
struct Limit {
    kind: u8,
    limit: u64,
    remaining: u64,
    reset: (u64, u32),
    window: (u64, u32),
}

fn duration((secs, nanos): (u64, u32)) -> Duration {
    Duration::new(secs, nanos % 1_000_000_000)
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

impl Limit {
    fn status(&self) -> LimitStatus {
        LimitStatus {
            kind: [LimitKind::Rate, LimitKind::Endpoint, LimitKind::Quota]
                [usize::from(self.kind % 3)],
            limit: self.limit,
            remaining: self.remaining,
            reset_after: duration(self.reset),
            window: duration(self.window),
        }
    }
}

/// A limiter that refuses with whatever the current input says.
#[derive(Debug, Default)]
struct Scripted(Mutex<Option<Decision>>);

#[async_trait::async_trait]
impl RateLimiter for Scripted {
    async fn check(
        &self,
        _: &Subject<'_>,
        _: &LimitPolicy,
        _: u32,
    ) -> apikey_core::Result<Decision> {
        Ok(self.decision())
    }

    fn check_now(
        &self,
        _: &Subject<'_>,
        _: &LimitPolicy,
        _: u32,
    ) -> Option<apikey_core::Result<Decision>> {
        Some(Ok(self.decision()))
    }
}

impl Scripted {
    fn decision(&self) -> Decision {
        let set = *self.0.lock().expect("not poisoned");
        set.unwrap_or(Decision::Allowed { tightest: None })
    }
}

struct Deployment {
    rt: tokio::runtime::Runtime,
    keys: ApiKeys,
    limiter: Arc<Scripted>,
    token: Token,
}

fn deployment() -> &'static Deployment {
    static ONE: OnceLock<Deployment> = OnceLock::new();
    ONE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let limiter = Arc::new(Scripted::default());
        let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
            .random_peppers_keys_die_at_exit()
            .limiter(limiter.clone())
            .build()
            .expect("a deployment");
        let new = NewKey::new("fuzz")
            .scopes(["fuzz:read"])
            .expect("a valid scope")
            .rate_limit(Rate::new(10, Duration::from_secs(1)).expect("a valid rate"));
        let created = rt
            .block_on(keys.manager().create(new))
            .expect("a key is created");
        Deployment {
            rt,
            keys,
            limiter,
            token: created.token,
        }
    })
}

fn header<'p>(p: &'p Problem, name: &str) -> Option<&'p str> {
    p.headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// `"name";a=1;b=2` → (name, 1, 2), for the two `RateLimit` fields.
fn structured(value: &str, a: &str, b: &str) -> (String, u64, u64) {
    let mut parts = value.split(';');
    let name = parts.next().expect("a name").trim_matches('"').to_owned();
    let mut num = |key: &str| -> u64 {
        let p = parts.next().expect("a parameter");
        let v = p.strip_prefix(key).and_then(|r| r.strip_prefix('='));
        v.and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{p:?} is not {key}=<integer>"))
    };
    let (x, y) = (num(a), num(b));
    assert!(parts.next().is_none(), "trailing parameters in {value:?}");
    (name, x, y)
}

fn check_limit_fields(fields: &[(&'static str, String)], limit: &LimitStatus) {
    let get = |n: &str| {
        fields
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {n} field"))
    };
    let (name, r, t) = structured(get("ratelimit"), "r", "t");
    assert_eq!(
        (name.as_str(), r, t),
        (
            limit.kind.as_str(),
            limit.remaining,
            ceil_secs(limit.reset_after)
        )
    );
    let (name, q, w) = structured(get("ratelimit-policy"), "q", "w");
    let window = ceil_secs(limit.window).max(1);
    assert_eq!(
        (name.as_str(), q, w),
        (limit.kind.as_str(), limit.limit, window)
    );
}

/// What every problem must satisfy, whatever produced it.
fn check_problem(p: &Problem, challenge: &str) {
    assert_eq!(
        p.headers[0],
        ("content-type", PROBLEM_CONTENT_TYPE.to_owned())
    );
    let body: Value = serde_json::from_str(&p.body).expect("the body is JSON");
    let obj = body.as_object().expect("the body is a JSON object");
    assert_eq!(obj["type"], "about:blank");
    assert_eq!(obj["status"], p.status);
    assert!(obj["title"].is_string() && obj["detail"].is_string() && obj["code"].is_string());
    for (name, value) in &p.headers {
        if *name != "www-authenticate" {
            assert!(
                value.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{name}: {value:?} is not a valid field value"
            );
        }
    }
    if p.status == 401 {
        assert_eq!(p.body, UNAUTHORIZED_BODY, "401 bodies differ");
        assert_eq!(header(p, "www-authenticate"), Some(challenge));
        assert_eq!(header(p, "cache-control"), Some("no-store"));
    }
    match (header(p, "retry-after"), obj.get("retry_after")) {
        (None, None) => {}
        (Some(h), Some(b)) => {
            let secs: u64 = h.parse().expect("Retry-After is whole seconds");
            assert!(secs >= 1);
            assert_eq!(
                b.as_u64(),
                Some(secs),
                "body and header disagree on the retry"
            );
        }
        other => panic!("retry-after in only one place: {other:?}"),
    }
}

fuzz_target!(|input: Input| {
    let kind = KINDS[usize::from(input.kind) % KINDS.len()];
    let p = problem_for(&Rejection::new(kind), &input.challenge);
    check_problem(&p, &input.challenge);
    assert_eq!(p.status, kind.status());

    let p = missing_layer(&input.layer);
    check_problem(&p, "");
    let body: Value = serde_json::from_str(&p.body).expect("JSON");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&input.layer))
    );

    let status = input.limit.status();
    check_limit_fields(&rate_limit_fields(&status), &status);

    let d = deployment();
    let token = d.token.expose();
    let wanted = Scope::new(&input.scope).ok();
    if let Some(scope) = &wanted {
        let p = insufficient_scope(scope);
        check_problem(&p, "");
        let body: Value = serde_json::from_str(&p.body).expect("JSON");
        assert_eq!(body["missing_scope"], scope.as_str());
    }

    let retry_after = Duration::new(input.retry_secs, input.retry_nanos % 1_000_000_000);
    *d.limiter.0.lock().expect("not poisoned") = Some(Decision::Limited {
        limit: status,
        retry_after,
    });
    let required: Vec<Scope> = wanted.into_iter().collect();
    let ctx = RequestContext::new().scopes(&required);
    let rejection =
        d.rt.block_on(d.keys.verifier().verify(Credential::new(token), &ctx))
            .expect_err("the limiter refuses every request");
    let p = problem_for(&rejection, &input.challenge);
    check_problem(&p, &input.challenge);
    assert!(!p.body.contains(token) && p.headers.iter().all(|(_, v)| !v.contains(token)));
    match rejection.kind() {
        RejectionKind::RateLimited => {
            assert_eq!(p.status, 429);
            let secs = ceil_secs(retry_after).max(1);
            assert_eq!(header(&p, "retry-after"), Some(secs.to_string().as_str()));
            check_limit_fields(&p.headers, &status);
        }
        RejectionKind::InsufficientScope => {
            let missing = required.first().expect("a scope was required");
            assert_ne!(missing.as_str(), "fuzz:read");
            let body: Value = serde_json::from_str(&p.body).expect("JSON");
            assert_eq!(body["missing_scope"], missing.as_str());
        }
        other => panic!("unexpected rejection {other:?}"),
    }
});
