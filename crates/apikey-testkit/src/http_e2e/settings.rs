//! Cases for one layer setting each, run against a server the integration builds with that
//! setting: configurable credential sources, and `RateLimit` fields kept to refusals.

use std::net::SocketAddr;
use std::time::Duration;

use apikey_core::{NewKey, Rate};

/// The credential settings [`credential_sources`] expects the server under test to use.
pub fn custom_sources() -> apikey_core::http::CredentialConfig {
    apikey_core::http::CredentialConfig::default()
        .header("X-Service-Key")
        .bearer(false)
        .cookie("api_key")
        .query("key")
}

/// Checks a server whose `/any` route is guarded with [`custom_sources`]: the configured header
/// (in any case), cookie and query parameter are read; the defaults no longer are; two sources at
/// once are refused.
pub async fn credential_sources(addr: SocketAddr, token: &str) {
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/any");
    let status = |req: reqwest::RequestBuilder| async move { req.send().await.unwrap().status() };
    for name in ["x-service-key", "X-SERVICE-KEY"] {
        assert_eq!(
            status(http.get(&url).header(name, token)).await,
            200,
            "{name}"
        );
    }
    let cookie = format!("theme=dark; api_key={token}");
    assert_eq!(
        status(http.get(&url).header("cookie", &cookie)).await,
        200,
        "cookie"
    );
    let query = format!("{url}?key={token}");
    assert_eq!(status(http.get(&query)).await, 200, "query");
    assert_eq!(
        status(http.get(&url).header("x-api-key", token)).await,
        401,
        "default header off"
    );
    let bearer = format!("Bearer {token}");
    assert_eq!(
        status(http.get(&url).header("authorization", &bearer)).await,
        401,
        "bearer off"
    );
    let both = http
        .get(&url)
        .header("x-service-key", token)
        .header("cookie", &cookie);
    assert_eq!(status(both).await, 401, "two credentials");
}

/// Checks a server whose `/any` route is guarded with `rate_limit_fields_on_success(false)`:
/// admitted answers carry no `RateLimit` fields, the 429 still does.
pub async fn fields_only_on_refusal(addr: SocketAddr, token: &str) {
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/any");
    let send = || http.get(&url).header("x-api-key", token).send();
    let ok = send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(
        ok.headers().get("ratelimit").is_none(),
        "admitted: no fields"
    );
    assert!(
        ok.headers().get("ratelimit-policy").is_none(),
        "admitted: no fields"
    );
    let limited = send().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(
        limited.headers().get("ratelimit").unwrap(),
        "\"rate\";r=0;t=60"
    );
    assert_eq!(
        limited.headers().get("ratelimit-policy").unwrap(),
        "\"rate\";q=1;w=60"
    );
}

/// A key [`fields_only_on_refusal`] expects: one request a minute.
pub fn one_a_minute() -> NewKey {
    NewKey::new("one a minute").rate_limit(Rate::new(1, Duration::from_secs(60)).unwrap())
}
