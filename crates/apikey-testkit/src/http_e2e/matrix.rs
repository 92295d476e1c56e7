//! The matrix itself: one run drives every case against three servers (IPv4, IPv6 and an
//! IPv4-mapped IPv6 listener) made by the integration's [`Start`].

use apikey_core::Change;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use apikey_core::http::UNAUTHORIZED_BODY;
use apikey_core::token::base62;
use apikey_core::{NewKey, Quota, QuotaPeriod, Rate, TenantScope};

use super::Start;
use super::client::{Client, raw};
use super::fixture::{Fixture, LimiterMode, fixture_with};
use super::logs::capture_logs;

/// Same lookup id, another secret, valid checksum.
fn forge_secret(token: &str) -> String {
    let mut body = token.as_bytes()[..token.len() - 6].to_vec();
    let i = "sk_live_".len() + 12;
    body[i] = if body[i] == b'A' { b'B' } else { b'A' };
    let mut sum = [0u8; 6];
    base62::encode_fixed(u64::from(crc32fast::hash(&body)), &mut sum);
    body.extend_from_slice(&sum);
    String::from_utf8(body).unwrap()
}

async fn create(f: &Fixture, key: NewKey) -> String {
    create_id(f, key).await.0
}

async fn create_id(f: &Fixture, key: NewKey) -> (String, apikey_core::KeyId) {
    let created = f.keys.manager().create(key).await.unwrap();
    (created.token.expose().to_owned(), created.record.id)
}

fn listen(addr: &str) -> Option<TcpListener> {
    match TcpListener::bind(addr) {
        Ok(l) => Some(l),
        Err(e) => panic!("cannot listen on {addr}: {e}"),
    }
}

/// Runs the whole matrix against servers made by `start`, with an in-process limiter.
pub async fn run(start: Start<'_>) {
    run_with(start, LimiterMode::InProcess).await;
}

/// Runs the whole matrix against servers made by `start`.
#[allow(clippy::too_many_lines)]
pub async fn run_with(start: Start<'_>, mode: LimiterMode) {
    let logs = capture_logs();
    let f = fixture_with(mode);
    let m = f.keys.manager();
    let all = TenantScope::All;
    let v4s = start(&f.keys, listen("127.0.0.1:0").unwrap());
    let v6s = start(&f.keys, listen("[::1]:0").unwrap());
    let mapped = start(&f.keys, listen("[::ffff:127.0.0.1]:0").unwrap());
    let (v4, v6) = (v4s.addr(), v6s.addr());
    let mapped_v4: SocketAddr = format!("127.0.0.1:{}", mapped.addr().port())
        .parse()
        .unwrap();
    let mut c = Client::new();

    // The canary: a real key used throughout; its secret must never show up anywhere.
    let canary = create(&f, NewKey::new("canary").scopes(["projects:read"]).unwrap()).await;
    let canary_secret = canary["sk_live_".len() + 12..canary.len() - 6].to_owned();

    // Unguarded route; missing and malformed credentials cost no store call.
    assert_eq!(c.send("GET", v4, "/open", &[]).await.status, 200);
    let r = c.send("GET", v4, "/any", &[]).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (401, UNAUTHORIZED_BODY),
        "missing"
    );
    assert_eq!(c.get(v4, "/any", "nope").await.status, 401, "malformed");
    let mut bad_sum = canary.clone().into_bytes();
    let last = bad_sum.len() - 1;
    bad_sum[last] = if bad_sum[last] == b'a' { b'b' } else { b'a' };
    let bad_sum = String::from_utf8(bad_sum).unwrap();
    assert_eq!(
        c.get(v4, "/any", &bad_sum).await.status,
        401,
        "bad checksum"
    );
    let q = format!("/any?api_key={canary}");
    assert_eq!(
        c.send("GET", v4, &q, &[]).await.status,
        401,
        "query is off by default"
    );
    assert_eq!(f.store.finds(), 0, "malformed credentials reach no store");

    // A valid key, by header and by bearer; the handler sees it.
    let r = c.get(v4, "/any", &canary).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let canary_id = r.body.clone();
    assert!(
        r.header("ratelimit").is_none(),
        "no limits, no RateLimit fields"
    );
    let bearer = format!("Bearer {canary}");
    let r = c
        .send("GET", v4, "/any", &[("authorization", &bearer)])
        .await;
    assert_eq!((r.status, r.body.as_str()), (200, canary_id.as_str()));
    assert_eq!(
        f.store.finds(),
        1,
        "cache warm after the first verification"
    );

    // Two credentials in one request.
    let r = c
        .send(
            "GET",
            v4,
            "/any",
            &[("x-api-key", &canary), ("authorization", &bearer)],
        )
        .await;
    assert_eq!(r.status, 401, "header + bearer");
    let twice = format!(
        "GET /any HTTP/1.1\r\nhost: x\r\nx-api-key: {canary}\r\nx-api-key: {canary}\r\nconnection: close\r\n\r\n"
    );
    let (status, text) = raw(v4, twice.as_bytes()).await;
    assert_eq!(status, 401, "same header twice");
    assert!(text.ends_with(UNAUTHORIZED_BODY));
    c.seen.push(text);

    // Unknown id and wrong secret.
    let (_, unknown) = f.keys.verifier().token_format().generate();
    assert_eq!(
        c.get(v4, "/any", unknown.expose()).await.status,
        401,
        "unknown"
    );
    assert_eq!(
        c.get(v4, "/any", &forge_secret(&canary)).await.status,
        401,
        "wrong secret"
    );

    // Lifecycle states.
    let (revoked, rid) = create_id(&f, NewKey::new("revoked")).await;
    assert_eq!(c.get(v4, "/any", &revoked).await.status, 200);
    m.revoke(&all, rid, Change::new()).await.unwrap();
    assert_eq!(c.get(v4, "/any", &revoked).await.status, 401, "revoked");
    let (suspended, sid) = create_id(&f, NewKey::new("suspended")).await;
    m.suspend(&all, sid, Change::new()).await.unwrap();
    let r = c.get(v4, "/any", &suspended).await;
    assert_eq!((r.status, r.code().as_str()), (403, "suspended"));
    let pending = create(&f, NewKey::new("pending").require_approval()).await;
    let r = c.get(v4, "/any", &pending).await;
    assert_eq!((r.status, r.code().as_str()), (403, "pending_approval"));

    // Scopes, per route, and wildcards.
    assert_eq!(c.get(v4, "/projects", &canary).await.status, 200);
    let r = c
        .send("POST", v4, "/projects", &[("x-api-key", &canary)])
        .await;
    assert_eq!((r.status, r.code().as_str()), (403, "insufficient_scope"));
    assert!(
        r.body.contains(r#""missing_scope":"projects:write""#),
        "{}",
        r.body
    );
    let wild = create(&f, NewKey::new("wild").scopes(["projects:*"]).unwrap()).await;
    assert_eq!(
        c.get(v4, "/projects", &wild).await.status,
        200,
        "wildcard read"
    );
    let r = c
        .send("POST", v4, "/projects", &[("x-api-key", &wild)])
        .await;
    assert_eq!(r.status, 200, "wildcard write");

    // Extracting the key where no layer ran is a loud wiring error.
    let r = c.get(v4, "/no-layer", &canary).await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("not installed"), "{}", r.body);

    // Client addresses: IPv4, IPv6, IPv4-mapped.
    let only_v4 = create(
        &f,
        NewKey::new("v4")
            .ip_rules(["127.0.0.1/32"], [] as [&str; 0])
            .unwrap(),
    )
    .await;
    let only_v6 = create(
        &f,
        NewKey::new("v6")
            .ip_rules(["::1/128"], [] as [&str; 0])
            .unwrap(),
    )
    .await;
    let deny_lo = create(
        &f,
        NewKey::new("deny")
            .ip_rules([] as [&str; 0], ["127.0.0.0/8"])
            .unwrap(),
    )
    .await;
    assert_eq!(c.get(v4, "/any", &only_v4).await.status, 200, "v4 allowed");
    let r = c.get(v6, "/any", &only_v4).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "ip_denied"),
        "v4 key from ::1"
    );
    assert_eq!(c.get(v6, "/any", &only_v6).await.status, 200, "v6 allowed");
    assert_eq!(
        c.get(v4, "/any", &only_v6).await.status,
        403,
        "v6 key from v4"
    );
    assert_eq!(
        c.get(mapped_v4, "/any", &only_v4).await.status,
        200,
        "mapped peer matches v4 rule"
    );
    assert_eq!(
        c.get(mapped_v4, "/any", &deny_lo).await.status,
        403,
        "mapped peer denied"
    );
    assert_eq!(
        c.get(v6, "/any", &deny_lo).await.status,
        200,
        "deny list is v4 only"
    );

    // X-Forwarded-For: honoured from the trusted proxy (127.0.0.1), ignored from ::1.
    let office = create(
        &f,
        NewKey::new("office")
            .ip_rules(["203.0.113.0/24"], [] as [&str; 0])
            .unwrap(),
    )
    .await;
    let xff = |v: &'static str| [("x-api-key", office.as_str()), ("x-forwarded-for", v)];
    assert_eq!(c.get(v4, "/any", &office).await.status, 403, "proxy itself");
    assert_eq!(
        c.send("GET", v4, "/any", &xff("203.0.113.5")).await.status,
        200,
        "trusted proxy"
    );
    assert_eq!(
        c.send("GET", v4, "/any", &xff("198.51.100.1, 203.0.113.5"))
            .await
            .status,
        200
    );
    assert_eq!(
        c.send("GET", v4, "/any", &xff("203.0.113.5, 198.51.100.1"))
            .await
            .status,
        403
    );
    assert_eq!(
        c.send("GET", v6, "/any", &xff("203.0.113.5")).await.status,
        403,
        "untrusted peer"
    );

    // Rate limit, then recovery.
    let rate = Rate::with_burst(2, Duration::from_secs(1), 2).unwrap();
    let limited = create(&f, NewKey::new("limited").rate_limit(rate)).await;
    let r = c.get(v4, "/any", &limited).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("ratelimit-policy"), Some("\"rate\";q=2;w=1"));
    assert!(
        r.header("ratelimit")
            .unwrap()
            .starts_with("\"rate\";r=1;t="),
        "{:?}",
        r.header("ratelimit")
    );
    assert_eq!(c.get(v4, "/any", &limited).await.status, 200);
    let r = c.get(v4, "/any", &limited).await;
    assert_eq!((r.status, r.code().as_str()), (429, "rate_limited"));
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(
        r.header("ratelimit")
            .unwrap()
            .starts_with("\"rate\";r=0;t=")
    );
    assert_eq!(r.header("ratelimit-policy"), Some("\"rate\";q=2;w=1"));
    f.clock.advance(chrono::Duration::milliseconds(500));
    assert_eq!(c.get(v4, "/any", &limited).await.status, 200, "recovered");

    // Endpoint limit ("GET /projects") and quota.
    let per_min = Rate::new(1, Duration::from_secs(60)).unwrap();
    let ep = NewKey::new("endpoint").scopes(["projects:read"]).unwrap();
    let ep = create(&f, ep.endpoint_limit("GET /projects", per_min)).await;
    assert_eq!(c.get(v4, "/projects", &ep).await.status, 200);
    let r = c.get(v4, "/projects", &ep).await;
    assert_eq!(r.status, 429, "endpoint limit");
    assert!(
        r.header("ratelimit")
            .unwrap()
            .starts_with("\"endpoint\";r=0")
    );
    assert_eq!(
        c.get(v4, "/any", &ep).await.status,
        200,
        "other endpoints unaffected"
    );
    let quota = Quota {
        limit: 2,
        period: QuotaPeriod::Day,
    };
    let q = create(&f, NewKey::new("quota").quota(quota)).await;
    assert_eq!(c.get(v4, "/any", &q).await.status, 200);
    assert_eq!(c.get(v4, "/any", &q).await.status, 200);
    let r = c.get(v4, "/any", &q).await;
    assert_eq!(r.status, 429, "quota exhausted");
    assert_eq!(r.header("ratelimit-policy"), Some("\"quota\";q=2;w=86400"));
    assert_eq!(r.header("retry-after"), Some("43200"), "until midnight UTC");

    // Hostile header values: refused, no store call, no crash.
    let finds = f.store.finds();
    let non_utf8 = b"GET /any HTTP/1.1\r\nhost: x\r\nx-api-key: sk_live_\xff\xfe\xfd\r\nconnection: close\r\n\r\n".to_vec();
    let (status, text) = raw(v4, &non_utf8).await;
    assert_eq!(status, 401, "non-UTF-8");
    assert!(text.ends_with(UNAUTHORIZED_BODY), "{text}");
    c.seen.push(text);
    let big = format!(
        "GET /any HTTP/1.1\r\nhost: x\r\nx-api-key: {}\r\nconnection: close\r\n\r\n",
        "A".repeat(64 * 1024)
    );
    let (status, text) = raw(v4, big.as_bytes()).await;
    assert_eq!(status, 401, "64 KiB header");
    assert!(text.ends_with(UNAUTHORIZED_BODY));
    c.seen.push(text);
    assert_eq!(f.store.finds(), finds, "hostile values reach no store");

    // Expiry: one key within the grace period, one past it.
    let now = apikey_core::Clock::now(&f.clock);
    let grace = create(
        &f,
        NewKey::new("grace").expires_at(now + chrono::Duration::minutes(10)),
    )
    .await;
    let gone = create(
        &f,
        NewKey::new("gone").expires_at(now + chrono::Duration::minutes(5)),
    )
    .await;
    f.clock.advance(chrono::Duration::seconds(630));
    assert_eq!(c.get(v4, "/any", &grace).await.status, 200, "within grace");
    assert_eq!(c.get(v4, "/any", &gone).await.status, 401, "expired");

    // Store down: 503, not 401; then back.
    f.keys.verifier().clear_cache();
    f.store.set_down(true);
    let r = c.get(v4, "/any", &canary).await;
    assert_eq!((r.status, r.code().as_str()), (503, "unavailable"));
    f.store.set_down(false);
    assert_eq!(c.get(v4, "/any", &canary).await.status, 200, "store back");

    // Every 401 is byte-identical; the canary never leaks.
    assert_eq!(c.unauthorized.len(), 9, "every 401 case was seen");
    assert!(c.unauthorized.iter().all(|b| b == UNAUTHORIZED_BODY));
    for seen in &c.seen {
        assert!(
            !seen.contains(&canary_secret),
            "canary in a response: {seen}"
        );
    }
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(!logs.is_empty(), "logs were captured");
    assert!(!logs.contains(&canary_secret), "canary in the logs");
    drop((v4s, v6s, mapped));
}
