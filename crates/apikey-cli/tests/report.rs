//! `apikey report` on SQLite: this month as CSV (to stdout and to a 0600 file), PDF to a file,
//! JSON; a PDF without --out, a bad or future period and an unwritable path are usage errors that
//! write nothing.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{PEPPER, apikey};

const ENV: [(&str, &str); 1] = [("APIKEY_PEPPER", PEPPER)];

#[test]
fn a_month_reports_as_csv_pdf_and_json_and_bad_requests_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let made = apikey(
        d,
        &["create", "--name", "reporting, \"one\"", "--json"],
        &ENV,
    )
    .expect(0);
    let token = made.json()["token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        apikey(d, &["verify", &token], &ENV).expect(0);
    }
    let month = chrono::Utc::now().format("%Y-%m").to_string();

    let csv = apikey(d, &["report", "--period", &month], &ENV).expect(0);
    assert!(
        csv.stdout.starts_with("section,date,key_id"),
        "{}",
        csv.stdout
    );
    assert!(
        csv.stdout.contains("\"reporting, \"\"one\"\"\""),
        "{}",
        csv.stdout
    );

    let pdf = d.join("month.pdf");
    let out = apikey(
        d,
        &["report", "--period", &month, "--out", pdf.to_str().unwrap()],
        &ENV,
    )
    .expect(0);
    assert!(out.stdout.contains("wrote"), "{}", out.stdout);
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF from the .pdf extension");
    let mode = std::fs::metadata(&pdf).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let json = apikey(d, &["report", "--period", &month, "--json"], &ENV).expect(0);
    assert_eq!(json.json()["totals"]["success"], 2);
    assert_eq!(json.json()["top_keys"][0]["name"], "reporting, \"one\"");

    apikey(d, &["report", "--period", &month, "--format", "pdf"], &ENV).expect(2);
    let future = apikey(d, &["report", "--period", "2999-01"], &ENV).expect(2);
    assert!(
        future.stderr.contains("has not started"),
        "{}",
        future.stderr
    );
    apikey(d, &["report", "--period", "November"], &ENV).expect(2);
    let nowhere = d.join("missing").join("x.pdf");
    let refused = apikey(
        d,
        &[
            "report",
            "--period",
            &month,
            "--out",
            nowhere.to_str().unwrap(),
        ],
        &ENV,
    )
    .expect(2);
    assert!(
        refused.stderr.contains("does not exist"),
        "{}",
        refused.stderr
    );
    assert!(!nowhere.exists());
}
