//! Reports from seeded data, checked with poppler's tools (`.ci/poppler.sh`; a PDF reader we
//! did not write): the text extracts (title, period, key names, chart labels, tables), the page
//! count, tables continued across pages, an empty period said so; the CSV read back by the
//! `csv` crate. `APIKEY_UPDATE_SCREENSHOTS=1` writes `docs/report-*.png` from the PDF.

use std::process::Command;
use std::sync::Arc;

use apikey_core::{
    ApiKeys, Change, Credential, ManualClock, NewKey, Peppers, RequestContext, Scope, ScopeSet,
    TenantScope,
};
use apikey_memory::MemoryStore;
use apikey_reports::{Period, ReportError, ReportRequest, Sources, gather, render_pdf, write_csv};
use chrono::{DateTime, TimeDelta, Utc};

fn tool(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set: source .ci/poppler.sh")
        }
        _ => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("note: {var} not set (source .ci/poppler.sh); skipped");
            }
            None
        }
    }
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Seventy keys: "billing-api" busy every day of November, a few others, a revoked one, and
/// sixty expiring soon (so that table runs over a page).
async fn seeded() -> (MemoryStore, ApiKeys, ManualClock) {
    let store = MemoryStore::new();
    let clock = ManualClock::new(at("2026-11-01T08:00:00Z"));
    let keys = ApiKeys::builder(Arc::new(store.clone()))
        .peppers(Peppers::random())
        .audit(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let m = keys.manager();
    let mut made = Vec::new();
    for (name, owner) in [
        ("billing-api", "billing"),
        ("search, \"beta\"", "search"),
        ("mobile-app", "mobile"),
    ] {
        let mut new = NewKey::new(name).owner(owner);
        new.scopes = ScopeSet::parse(["docs:read"]).unwrap();
        made.push(m.create(new).await.unwrap());
    }
    for i in 0..60 {
        let mut new = NewKey::new(format!("partner-{i:02}")).owner("partners");
        new.expires_at = Some(at("2026-12-10T00:00:00Z") + TimeDelta::hours(i));
        m.create(new).await.unwrap();
    }
    let write = [Scope::new("docs:write").unwrap()];
    let v = keys.verifier();
    for day in 0..30 {
        for (k, per_day) in made.iter().zip([40 + day % 7 * 10, 12, day % 3]) {
            for _ in 0..per_day {
                let _ = v
                    .verify(Credential::new(k.token.expose()), &RequestContext::new())
                    .await;
            }
        }
        for _ in 0..(day % 5) {
            let _ = v
                .verify(
                    Credential::new(made[1].token.expose()),
                    &RequestContext::new().scopes(&write),
                )
                .await;
        }
        let _ = v
            .verify(Credential::new("apk_garbage"), &RequestContext::new())
            .await;
        v.flush_usage().await.unwrap();
        if day == 20 {
            m.revoke(
                &TenantScope::All,
                made[2].record.id,
                Change::by("security-team"),
            )
            .await
            .unwrap();
        }
        clock.advance(TimeDelta::days(1));
    }
    (store, keys, clock)
}

fn request(month: &str) -> ReportRequest {
    ReportRequest {
        period: Period::month(month).unwrap(),
        tenant: TenantScope::All,
        owner: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_reads_as_text_with_charts_and_tables_across_pages() {
    let (Some(pdftotext), Some(pdfinfo)) = (tool("APIKEY_PDFTOTEXT"), tool("APIKEY_PDFINFO"))
    else {
        return;
    };
    let (store, keys, _) = seeded().await;
    let sources = Sources {
        analytics: &store,
        keys: keys.manager(),
        audit: Some(&store),
    };
    let now = at("2026-12-01T09:30:00Z");
    let report = gather(sources, &request("2026-11"), now).await.unwrap();
    assert_eq!(report.daily.len(), 30);
    assert_eq!(report.top_keys[0].name, "billing-api");
    assert_eq!(report.expiring.len(), 60);
    assert!(report.security.iter().any(|e| e.event == "key.revoked"));
    assert!(report.unattributed.unwrap().invalid >= 30);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, render_pdf(&report).unwrap()).unwrap();

    let info = Command::new(&pdfinfo).arg(&file).output().unwrap();
    assert!(info.status.success());
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("API key usage report, November 2026"),
        "{info}"
    );
    let pages: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        pages >= 4,
        "title, charts and tables over several pages: {pages}"
    );

    let text = Command::new(&pdftotext)
        .args(["-layout"])
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    for expected in [
        "API key usage report",
        "November 2026",
        "Daily requests by outcome",
        // Chart labels are text too: an axis tick of the daily chart and the legend.
        "Nov 1",
        "refused: scope, address or state",
        "Top keys by requests",
        "billing-api",
        "search, \"beta\"",
        "Refusals by reason",
        "Missing scope",
        "Keys expiring within 30 days (continued)",
        "partner-59",
        "Security events",
        "key.revoked",
        "security-team",
        &format!("Page 1 of {pages}"),
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} is not in the text:\n{text}"
        );
    }
    assert!(
        !text.contains("apk_garbage"),
        "a presented token never appears"
    );

    if std::env::var("APIKEY_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let ppm = tool("APIKEY_PDFTOPPM").unwrap();
        // The whole document too, to page through.
        std::fs::copy(&file, std::env::temp_dir().join("apikey-report-sample.pdf")).unwrap();
        let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs");
        for (page, name) in [(1, "report-title"), (2, "report-charts")] {
            let out = Command::new(&ppm)
                .args(["-png", "-r", "80", "-singlefile", "-f"])
                .arg(page.to_string())
                .arg("-l")
                .arg(page.to_string())
                .arg(&file)
                .arg(format!("{docs}/{name}"))
                .status()
                .unwrap();
            assert!(out.success());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_month_says_so_and_a_future_one_is_refused() {
    let Some(pdftotext) = tool("APIKEY_PDFTOTEXT") else {
        return;
    };
    let (store, keys, _) = seeded().await;
    let sources = Sources {
        analytics: &store,
        keys: keys.manager(),
        audit: Some(&store),
    };
    let now = at("2026-12-01T09:30:00Z");
    let empty = gather(sources, &request("2026-10"), now).await.unwrap();
    assert!(empty.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("empty.pdf");
    std::fs::write(&file, render_pdf(&empty).unwrap()).unwrap();
    let text = Command::new(&pdftotext)
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("No requests were recorded in this period"),
        "{text}"
    );

    let future = gather(sources, &request("2027-01"), now).await;
    assert!(matches!(future, Err(ReportError::FuturePeriod(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_reads_back_as_one_rfc_4180_table() {
    let (store, keys, _) = seeded().await;
    let sources = Sources {
        analytics: &store,
        keys: keys.manager(),
        audit: Some(&store),
    };
    let report = gather(sources, &request("2026-11"), at("2026-12-01T09:30:00Z"))
        .await
        .unwrap();
    let mut out = Vec::new();
    write_csv(&report, &mut out).unwrap();
    let mut reader = csv::Reader::from_reader(out.as_slice());
    assert_eq!(
        reader.headers().unwrap().len(),
        apikey_reports::HEADER.len()
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let section = |s: &str| rows.iter().filter(|r| &r[0] == s).count();
    assert_eq!(section("total"), 1);
    assert_eq!(section("day"), 30);
    assert_eq!(section("expiring"), 60);
    let quoted = rows
        .iter()
        .find(|r| &r[0] == "key" && r[3].starts_with("search"))
        .unwrap();
    assert_eq!(&quoted[3], "search, \"beta\"", "a comma and quotes survive");
    let total = rows.iter().find(|r| &r[0] == "total").unwrap();
    assert_eq!(total[6].parse::<u64>().unwrap(), report.totals.requests());
}
