//! The dashboard in a real browser: Debian's Chromium, headless, driven through chromedriver
//! (WebDriver, `fantoccini`). An operator signs in with an admin key, creates a key and copies
//! its token (which then verifies), finds it in the list, revokes it after a confirmation, sees
//! the audit entry and signs out. A read-only admin sees no write action and is refused one; a
//! form posted without the session's CSRF token changes nothing.
//!
//! `source .ci/browser.sh` installs the browser; under CI=true a missing one fails the test.
//! `APIKEY_UPDATE_SCREENSHOTS=1` writes the pages to `docs/`.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

struct Browser {
    driver: Child,
    client: Client,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[allow(clippy::print_stderr)]
async fn browser() -> Option<Browser> {
    let (Some(driver), Some(chromium)) = (
        std::env::var_os("APIKEY_CHROMEDRIVER"),
        std::env::var_os("APIKEY_CHROMIUM"),
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "APIKEY_CHROMEDRIVER is not set: `source .ci/browser.sh` installs Chromium"
        );
        eprintln!("skipped: `source .ci/browser.sh` installs Chromium and chromedriver");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut driver = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium.to_string_lossy(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,860", "--force-device-scale-factor=1"],
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let connected = ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await;
        if let Ok(client) = connected {
            return Some(Browser { driver, client });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = driver.kill();
    let _ = driver.wait();
    panic!("chromedriver did not answer on {url}");
}

async fn start() -> common::Service {
    common::start_on(|store, svc| {
        let hooks = apikey_webhooks::Webhooks::new(
            std::sync::Arc::new(store.clone()),
            std::sync::Arc::new(store.clone()),
            std::sync::Arc::new(apikey_core::secret_box::SecretBox::new(
                apikey_core::secret_box::Keks::random(),
            )),
            std::sync::Arc::new(apikey_core::SystemClock),
        );
        svc.dashboard_secure_cookies(false)
            .request_log(std::sync::Arc::new(store.clone()))
            .analytics(std::sync::Arc::new(store.clone()))
            .webhooks(hooks)
    })
    .await
}

/// Requests of key `id` over the last fortnight, as its guards would have logged them.
async fn traffic(s: &common::Service, id: &str) {
    use apikey_core::request_log::{RequestFacts, RequestLogStore, RequestRecord};
    let id: apikey_core::KeyId = id.parse().unwrap();
    let facts = RequestFacts {
        method: "GET",
        route: Some("/orders"),
        path: "/orders",
        client_ip: None,
        request_id: "r",
        user_agent: None,
    };
    let now = chrono::Utc::now();
    let mut records = Vec::new();
    for day in 0..14_i64 {
        let at = now - chrono::Duration::days(day);
        for n in 0..(20 + (day * 7) % 23) {
            let outcome = if n % 9 == 0 {
                "rate_limited"
            } else {
                "admitted"
            };
            let status = if outcome == "admitted" { 200 } else { 429 };
            records.push(RequestRecord::new(
                at,
                Some(id),
                None,
                &facts,
                status,
                outcome,
                300,
                at + chrono::Duration::days(30),
            ));
        }
    }
    s.store.append_requests(&records).await.unwrap();
    // The same days as the verifier's usage flushes count them, which the chart reads.
    use apikey_core::analytics::{AnalyticsStore, UsageCounts, UsageRow};
    for day in 0..14_i64 {
        let n = 20 + (day * 7) % 23;
        let refused = (n + 8) / 9;
        let batch = apikey_core::UsageBatchId {
            flusher: uuid::Uuid::now_v7(),
            seq: 1,
            at: now - chrono::Duration::days(day),
        };
        let row = UsageRow {
            key_id: Some(id),
            tenant_id: None,
            counts: UsageCounts {
                success: u64::try_from(n - refused).unwrap(),
                rate_limited: u64::try_from(refused).unwrap(),
                ..UsageCounts::default()
            },
        };
        s.store.add_usage(batch, &[row]).await.unwrap();
    }
}

fn url(s: &common::Service, path: &str) -> String {
    format!("http://{}{path}", s.addr)
}

async fn sign_in(c: &Client, s: &common::Service, token: &str) {
    c.goto(&url(s, "/ui/login")).await.unwrap();
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_owned()
}

/// Waits (up to five seconds) for the page to say `what`: a click that navigates returns before
/// the next page has loaded.
async fn wait_for(c: &Client, what: &str) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        if let Ok(m) = c.find(Locator::Css("main")).await {
            text = m.text().await.unwrap_or_default();
            if text.contains(what) {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never said {what:?}; it says: {text}");
}

/// Waits for the browser to be at `want`.
async fn wait_path(c: &Client, want: &str) {
    let mut at = String::new();
    for _ in 0..100 {
        at = path(c).await;
        if at == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the browser is at {at}, not {want}");
}

async fn screenshot(c: &Client, name: &str) {
    if std::env::var("APIKEY_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        let png = c.screenshot().await.unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        std::fs::write(dir.join(format!("dashboard-{name}.png")), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_creates_copies_finds_revokes_and_audits_a_key() {
    let Some(b) = browser().await else { return };
    let c = &b.client;
    let s = start().await;

    // Signed out, every page leads to the sign-in form.
    c.goto(&url(&s, "/ui/keys")).await.unwrap();
    wait_path(c, "/ui/login").await;
    sign_in(c, &s, "sk_live_not_a_real_key").await;
    wait_for(c, "does not open this service").await;
    sign_in(c, &s, &s.root).await;
    wait_path(c, "/ui/keys").await;
    wait_for(c, "No keys here yet").await;

    // Create a key; its token is shown once, with a copy button.
    c.find(Locator::LinkText("New key"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("billing-service")
        .await
        .unwrap();
    c.find(Locator::Id("scopes"))
        .await
        .unwrap()
        .send_keys("orders:read, orders:write")
        .await
        .unwrap();
    c.find(Locator::Id("owner"))
        .await
        .unwrap()
        .send_keys("team-billing")
        .await
        .unwrap();
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "shown only once").await;
    let token = c
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    screenshot(c, "token").await;
    c.find(Locator::Css("[data-copy]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mut copied = String::new();
    for _ in 0..50 {
        copied = c
            .find(Locator::Id("copy-status"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if !copied.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(copied, "Copied to the clipboard.");
    // The token shown is the key's.
    let (_, v) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &s.root,
            Some(&json!({"token": token, "scopes": ["orders:read"]}).to_string()),
        )
        .await;
    assert_eq!(v["valid"], true, "{v}");

    // It is in the list.
    c.goto(&url(&s, "/ui/keys")).await.unwrap();
    wait_for(c, "billing-service").await;
    screenshot(c, "keys").await;
    c.find(Locator::LinkText("billing-service"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "team-billing").await;
    let detail = path(c).await;
    let id = detail.trim_start_matches("/ui/keys/").to_owned();

    // Edit it: a new version, whose changed fields the history names.
    c.find(Locator::LinkText("Edit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("description"))
        .await
        .unwrap()
        .send_keys("Invoices and refunds")
        .await
        .unwrap();
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "Invoices and refunds").await;
    let history = wait_for(c, "key.updated").await;
    assert!(history.contains("description"), "{history}");

    // Its usage, from the usage analytics.
    traffic(&s, &id).await;
    c.refresh().await.unwrap();
    let usage = wait_for(c, "requests in 14 days").await;
    assert!(usage.contains("(usage analytics)"), "{usage}");
    c.set_window_size(1280, 1280).await.unwrap();
    screenshot(c, "key").await;
    c.set_window_size(1280, 860).await.unwrap();

    // Revoke it, after a confirmation that asks why.
    c.find(Locator::LinkText("Revoke"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "stops working at once").await;
    c.find(Locator::Id("reason"))
        .await
        .unwrap()
        .send_keys("leaked in a chat")
        .await
        .unwrap();
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(c, &detail).await;
    wait_for(c, "revoked").await;
    let (_, v) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &s.root,
            Some(&json!({"token": token}).to_string()),
        )
        .await;
    assert_eq!(v["valid"], false, "{v}");

    // A revoked key offers only its restore; restoring brings the token back.
    c.find(Locator::LinkText("Restore"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "works again with its old token").await;
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(c, &detail).await;
    wait_for(c, "Suspend").await;
    let (_, v) = s
        .call(
            "POST",
            "/v1/keys/verify",
            &s.root,
            Some(&json!({"token": token}).to_string()),
        )
        .await;
    assert_eq!(v["valid"], true, "restored: {v}");

    // The audit log has it, with the reason.
    c.find(Locator::LinkText("Audit log"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let audit = wait_for(c, "key.revoked").await;
    assert!(audit.contains("leaked in a chat"), "{audit}");
    screenshot(c, "audit").await;

    // Sign out: the session is gone.
    c.find(Locator::Css("header form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(c, "/ui/login").await;
    c.goto(&url(&s, "/ui/keys")).await.unwrap();
    wait_path(c, "/ui/login").await;
    b.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_admin_sees_no_write_action_and_forged_forms_change_nothing() {
    let Some(b) = browser().await else { return };
    let c = &b.client;
    let s = start().await;
    let (_, k) = s
        .call("POST", "/v1/keys", &s.root, Some(r#"{"name": "payments"}"#))
        .await;
    let id = k["key"]["id"].as_str().unwrap().to_owned();
    let reader = s.admin_key(&["keys:read"], None).await;

    sign_in(c, &s, &reader).await;
    wait_path(c, "/ui/keys").await;
    let list = c.source().await.unwrap();
    assert!(
        list.contains("payments") && !list.contains("New key"),
        "no create button"
    );
    assert!(
        !list.contains("Audit log"),
        "no audit page without audit:read"
    );
    c.goto(&url(&s, &format!("/ui/keys/{id}"))).await.unwrap();
    let detail = c.source().await.unwrap();
    assert!(
        !detail.contains(">Revoke<") && !detail.contains(">Suspend<"),
        "no action buttons"
    );
    c.goto(&url(&s, "/ui/keys/new")).await.unwrap();
    wait_for(c, "may not create keys").await;
    c.goto(&url(&s, &format!("/ui/keys/{id}/confirm?action=revoke")))
        .await
        .unwrap();
    wait_for(c, "may not change keys").await;

    // A write-capable session, and forms posted from elsewhere without its CSRF token.
    c.goto(&url(&s, "/ui/login")).await.unwrap();
    sign_in(c, &s, &s.root).await;
    wait_path(c, "/ui/keys").await;
    wait_for(c, "New key").await;
    let cookie = c.get_named_cookie("apikey_ui").await.unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for body in ["reason=forged", "reason=forged&csrf=0123456789abcdef"] {
        let res = http
            .post(url(&s, &format!("/ui/keys/{id}/revoke")))
            .header("cookie", format!("apikey_ui={}", cookie.value()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{body}");
    }
    let (_, k) = s
        .call("GET", &format!("/v1/keys/{id}"), &s.root, None)
        .await;
    assert_eq!(k["state"], "active", "nothing changed");

    // Showing the sign-in form stores nothing, and a sign-in without its form token is refused.
    let res = http.get(url(&s, "/ui/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no session for a visitor"
    );
    let res = http
        .post(url(&s, "/ui/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", s.root))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("set-cookie").is_none());
    b.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_and_the_programme_from_the_dashboard() {
    let Some(b) = browser().await else { return };
    let c = &b.client;
    let s = start().await;
    let body = json!({"scopes": ["orders:read"], "rate_limit": {"requests": 10, "per_secs": 60}});
    let (status, _) = s
        .call(
            "PUT",
            "/v1/templates/read-only",
            &s.root,
            Some(&json!({"description": "for dashboards", "defaults": body}).to_string()),
        )
        .await;
    assert_eq!(status, 201);
    sign_in(c, &s, &s.root).await;
    wait_path(c, "/ui/keys").await;

    // The programme page shows the template and the tenant's settings.
    c.find(Locator::LinkText("Programme"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = wait_for(c, "read-only").await;
    assert!(
        text.contains("for dashboards") && text.contains("no limit"),
        "{text}"
    );

    // Subscribe a URL: the secret is shown once; disable; remove after a confirmation.
    c.find(Locator::LinkText("Webhooks"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "No subscriptions.").await;
    c.find(Locator::Id("url"))
        .await
        .unwrap()
        .send_keys("http://127.0.0.1:9/hook")
        .await
        .unwrap();
    c.find(Locator::Id("events"))
        .await
        .unwrap()
        .send_keys("key.revoked")
        .await
        .unwrap();
    for name in ["allow_http", "allow_private_network"] {
        c.find(Locator::Css(&format!("input[name={name}]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    c.find(Locator::Css(
        "form[action='/ui/webhooks'] button[type=submit]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_for(c, "shown only once").await;
    let secret = c
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    c.find(Locator::LinkText("Done: show the webhooks"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "http://127.0.0.1:9/hook").await;
    screenshot(c, "webhooks").await;
    c.find(Locator::Css("main form button.btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "Enable").await;
    let (_, list) = s.call("GET", "/v1/webhooks", &s.root, None).await;
    assert_eq!(list["items"][0]["enabled"], false, "{list}");
    c.find(Locator::LinkText("Remove"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "Remove this subscription?").await;
    c.find(Locator::Css("main form button.danger"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "No subscriptions.").await;
    let (_, list) = s.call("GET", "/v1/webhooks", &s.root, None).await;
    assert_eq!(list["items"], json!([]));
    b.client.clone().close().await.unwrap();
}
