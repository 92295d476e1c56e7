//! End-to-end tests of `apikey jobs` on SQLite: a period runs once however often cron calls, a
//! lease held by a dead process is reported and then taken over, a failing job exits 1 and keeps
//! its error, and `audit.retention` deletes what is older than the retention.

mod common;

use std::path::Path;

use apikey_sqlx::sqlx::{self, Connection as _};
use common::apikey;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Runs `sql` on the default database in `dir`, returning the rows it changed.
fn sql(dir: &Path, sql: &str) -> u64 {
    let url = format!("sqlite://{}", dir.join("apikeys.db").display());
    block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let done = sqlx::query(sql).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
        done.rows_affected()
    })
}

fn count(dir: &Path, table: &str) -> i64 {
    let url = format!("sqlite://{}", dir.join("apikeys.db").display());
    block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        n
    })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn fresh() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    apikey(dir.path(), &["migrate"], &[]).expect(0);
    dir
}

#[test]
fn a_period_runs_once_however_often_cron_calls() {
    let dir = fresh();
    let d = dir.path();
    let before = apikey(d, &["jobs", "list"], &[]).expect(0);
    assert!(
        before.stdout.contains("audit.retention"),
        "{}",
        before.stdout
    );
    assert!(before.stdout.contains("now (due)"), "{}", before.stdout);
    for header in [
        "JOB",
        "PERIOD",
        "LAST DONE",
        "LAST ERROR",
        "HOLDER",
        "LEASE UNTIL",
        "NEXT RUN",
    ] {
        assert!(
            before.stdout.contains(header),
            "{header}: {}",
            before.stdout
        );
    }

    let first = apikey(d, &["jobs", "run"], &[]).expect(0);
    assert!(first.stdout.contains("audit.retention"), "{}", first.stdout);
    assert!(first.stdout.contains("ran"), "{}", first.stdout);
    let again = apikey(d, &["--json", "jobs", "run"], &[]).expect(0);
    let lines = again.json();
    assert_eq!(lines[0]["job"], "audit.retention");
    assert_eq!(lines[0]["status"], "done", "{lines}");
    let named = apikey(d, &["jobs", "run", "audit.retention"], &[]).expect(0);
    assert!(named.stdout.contains("already done"), "{}", named.stdout);

    let list = apikey(d, &["jobs", "list", "--json"], &[]).expect(0).json();
    let job = &list[0];
    assert_eq!(job["job"], "audit.retention");
    assert_eq!(job["period_seconds"], 86_400);
    assert_eq!(job["due"], false);
    assert_eq!(job["last_period"], job["current_period"]);
    assert!(job["last_error"].is_null() && job["holder"].is_null());
    let next = job["next_run"].as_str().unwrap();
    assert!(
        next.ends_with("T00:00:00Z"),
        "the next day begins at midnight UTC: {next}"
    );
}

#[test]
fn a_lease_held_by_a_dead_process_is_reported_then_taken_over() {
    let dir = fresh();
    let d = dir.path();
    let period = now_ms().div_euclid(86_400_000);
    // A process claimed today's period and died: its lease holds for another hour.
    sql(
        d,
        &format!(
            "INSERT INTO apikey_job_leases (job, holder, fence, lease_until) \
             VALUES ('audit.retention', 'dead-host', 7, {})",
            now_ms() + 3_600_000
        ),
    );
    let held = apikey(d, &["jobs", "run"], &[]).expect(0);
    assert!(
        held.stdout.contains("held by dead-host until"),
        "{}",
        held.stdout
    );
    let list = apikey(d, &["jobs", "list", "--json"], &[]).expect(0).json();
    assert_eq!(list[0]["holder"], "dead-host");
    assert_eq!(list[0]["due"], false);

    // Its lease ran out: the next run takes the period over.
    sql(
        d,
        &format!(
            "UPDATE apikey_job_leases SET lease_until = {} WHERE job = 'audit.retention'",
            now_ms() - 1
        ),
    );
    let list = apikey(d, &["jobs", "list", "--json"], &[]).expect(0).json();
    assert!(
        list[0]["holder"].is_null(),
        "an expired lease holds nothing"
    );
    assert_eq!(list[0]["due"], true);
    let took = apikey(d, &["--json", "jobs", "run"], &[]).expect(0).json();
    assert_eq!(took[0]["status"], "ran", "{took}");
    assert_eq!(took[0]["period"], period);
    let state = apikey(d, &["jobs", "list", "--json"], &[]).expect(0).json();
    assert_eq!(state[0]["last_period"], period);
}

#[test]
fn a_failing_job_exits_1_and_keeps_its_error_and_the_period_due() {
    let dir = fresh();
    let d = dir.path();
    sql(d, "DROP TABLE apikey_audit_events");
    let run = apikey(d, &["jobs", "run"], &[]).expect(1);
    assert!(run.stdout.contains("failed"), "{}", run.stdout);
    let list = apikey(d, &["jobs", "list", "--json"], &[]).expect(0).json();
    assert!(list[0]["last_period"].is_null());
    assert_eq!(list[0]["due"], true, "a failure keeps the period due");
    assert!(
        list[0]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{list}"
    );
    let table = apikey(d, &["jobs", "list"], &[]).expect(0);
    assert!(table.stdout.contains("now (due)"), "{}", table.stdout);
}

#[test]
fn audit_retention_deletes_only_what_is_older_than_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let old = apikey(d, &["create", "--name", "old", "--json"], &[]).expect(0);
    let old = old.json()["key"]["id"].as_str().unwrap().to_owned();
    apikey(d, &["create", "--name", "new"], &[]).expect(0);
    apikey(d, &["update", &old, "--description", "later"], &[]).expect(0);
    let key_events = "apikey_audit_events WHERE action LIKE 'key.%'";
    assert_eq!(count(d, key_events), 3);
    let day = 86_400_000_i64;
    // The old key's creation is 31 days old; its update (its newest record) is today's.
    sql(
        d,
        &format!(
            "UPDATE apikey_audit_events SET occurred_at = {} \
             WHERE action = 'key.created' AND record_after LIKE '%\"old\"%'",
            now_ms() - 31 * day
        ),
    );
    apikey(
        d,
        &["jobs", "run", "audit.retention"],
        &[("APIKEY_AUDIT_RETENTION_DAYS", "30")],
    )
    .expect(0);
    assert_eq!(count(d, key_events), 2, "the 31-day-old event is gone");
    assert_eq!(
        count(d, "apikey_audit_events WHERE action = 'audit.purged'"),
        1,
        "the purge is recorded for `audit verify`"
    );
}

/// A tenant whose settings keep audit events 10 days loses its month-old ones; events without
/// a tenant follow `--audit-retention-days` (a year) and stay. Its `usage_days` rules its usage
/// buckets the same way, beside the default retention of the rest.
#[test]
fn a_tenants_own_retention_applies_to_its_events_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut ids = Vec::new();
    for tenant in [Some("acme"), None] {
        let mut args = vec!["create", "--name", "k", "--json"];
        if let Some(t) = tenant {
            args.extend(["--tenant", t]);
        }
        let k = apikey(d, &args, &[]).expect(0);
        let id = k.json()["key"]["id"].as_str().unwrap().to_owned();
        let mut update = vec!["update", id.as_str(), "--description", "later"];
        if let Some(t) = tenant {
            update.extend(["--tenant", t]);
        }
        apikey(d, &update, &[]).expect(0);
        ids.push(id);
    }
    let day = 86_400_000_i64;
    sql(
        d,
        &format!(
            "UPDATE apikey_audit_events SET occurred_at = {} WHERE action = 'key.created'",
            now_ms() - 31 * day
        ),
    );
    sql(
        d,
        &format!(
            "INSERT INTO apikey_tenant_settings (tenant_key, settings, version, updated_at) \
             VALUES ('acme', '{{\"retention\": {{\"audit_days\": 10, \"usage_days\": 20}}}}', 1, {})",
            now_ms()
        ),
    );
    // A day bucket 31 days old of each key (the default keeps day buckets two years).
    for (id, tenant) in ids.iter().zip(["acme", ""]) {
        sql(
            d,
            &format!(
                "INSERT INTO apikey_usage_buckets VALUES (2, 0, '{id}', {}, '{tenant}', \
                 1, 0, 0, 0, 0, 0, 0, 0, 0)",
                (now_ms() - 31 * day) / day * day
            ),
        );
    }
    apikey(d, &["jobs", "run", "usage.retention"], &[]).expect(0);
    let buckets = |id: &str| count(d, &format!("apikey_usage_buckets WHERE key_id = '{id}'"));
    assert_eq!(buckets(&ids[0]), 0, "acme keeps usage 20 days");
    assert_eq!(buckets(&ids[1]), 1, "no tenant: the default two years");
    apikey(d, &["jobs", "run", "audit.retention"], &[]).expect(0);
    let created = |id: &str| {
        count(
            d,
            &format!("apikey_audit_events WHERE action = 'key.created' AND key_id = '{id}'"),
        )
    };
    assert_eq!(created(&ids[0]), 0, "acme keeps 10 days");
    assert_eq!(
        created(&ids[1]),
        1,
        "no tenant: the year of --audit-retention-days"
    );
}

#[test]
fn unknown_jobs_and_bad_retentions_get_messages_that_say_what_to_do() {
    let dir = fresh();
    let d = dir.path();
    let unknown = apikey(d, &["jobs", "run", "nope"], &[]).expect(3);
    assert!(
        unknown.stderr.contains("no job named \"nope\""),
        "{}",
        unknown.stderr
    );
    assert!(
        unknown.stderr.contains("apikey jobs list"),
        "{}",
        unknown.stderr
    );
    let zero = apikey(d, &["jobs", "run", "--audit-retention-days", "0"], &[]).expect(2);
    assert!(
        zero.stderr.contains("--audit-retention-days"),
        "{}",
        zero.stderr
    );
    apikey(
        d,
        &["jobs", "list"],
        &[("APIKEY_AUDIT_RETENTION_DAYS", "soon")],
    )
    .expect(2);
}

/// `keys.expiry` from cron: a key two days from expiry gets one 7-day warning however often the
/// job is run, and `keys.rotation` applies a notify policy set with `apikey policies`.
#[test]
fn expiry_warnings_and_policies_from_the_command_line() {
    let dir = fresh();
    let d = dir.path();
    let env = [("APIKEY_PEPPER", common::PEPPER)];
    apikey(d, &["create", "--name", "soon", "--expires-in", "2d"], &env).expect(0);
    apikey(
        d,
        &["create", "--name", "later", "--expires-in", "90d"],
        &env,
    )
    .expect(0);
    let listed = apikey(d, &["jobs", "list"], &env).expect(0);
    assert!(listed.stdout.contains("keys.expiry") && listed.stdout.contains("keys.rotation"));
    assert!(
        listed.stdout.contains("webhooks.retention"),
        "{}",
        listed.stdout
    );
    for _ in 0..3 {
        apikey(d, &["jobs", "run", "keys.expiry"], &env).expect(0);
        sql(
            d,
            "UPDATE apikey_job_leases SET last_period = NULL WHERE job = 'keys.expiry'",
        );
    }
    let warned = count(d, "apikey_audit_events WHERE action = 'key.expiring'");
    assert_eq!(
        warned, 1,
        "one warning, at the 7-day threshold, however often the job runs"
    );

    let set = apikey(
        d,
        &[
            "policies",
            "create",
            "tenant",
            "--every-days",
            "30",
            "--json",
        ],
        &env,
    )
    .expect(0)
    .json();
    assert_eq!(set["version"], 1);
    apikey(
        d,
        &["policies", "create", "group:x", "--every-days", "0"],
        &env,
    )
    .expect(2);
    apikey(
        d,
        &["policies", "create", "owner:x", "--every-days", "5"],
        &env,
    )
    .expect(2);
    let all = apikey(d, &["policies", "list", "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(all[0]["target"], "tenant");
    assert_eq!(all[0]["policy"]["mode"], "notify");
    apikey(d, &["jobs", "run", "keys.rotation"], &env).expect(0);
    apikey(d, &["policies", "remove", "tenant"], &env).expect(0);
    apikey(d, &["policies", "remove", "tenant"], &env).expect(3);
}

/// A `rotate` policy from cron: without a sink the run fails and nothing is rotated; with
/// `--token-sink-dir` the due key is rotated once and its new token lands in a file that works.
#[test]
fn rotation_policies_hand_the_new_token_to_the_sink_directory() {
    let dir = fresh();
    let d = dir.path();
    let env = [("APIKEY_PEPPER", common::PEPPER)];
    let created = apikey(d, &["create", "--name", "old", "--json"], &env)
        .expect(0)
        .json();
    let id = created["key"]["id"].as_str().unwrap().to_owned();
    apikey(
        d,
        &[
            "policies",
            "create",
            &format!("key:{id}"),
            "--every-days",
            "1",
            "--grace-days",
            "2",
            "--mode",
            "rotate",
        ],
        &env,
    )
    .expect(0);
    // Created two days ago, as far as the policy can tell.
    let two_days = 2 * 24 * 60 * 60 * 1000;
    sql(
        d,
        &format!("UPDATE apikey_keys SET created_at = created_at - {two_days} WHERE id = '{id}'"),
    );

    let failed = apikey(d, &["jobs", "run", "keys.rotation"], &env).expect(1);
    assert!(
        failed.stdout.contains("token sink") || failed.stderr.contains("token sink"),
        "{}{}",
        failed.stdout,
        failed.stderr
    );
    assert_eq!(count(d, "apikey_keys"), 1, "nothing rotated without a sink");

    let sink = d.join("tokens");
    std::fs::create_dir(&sink).unwrap();
    let sink_arg = sink.display().to_string();
    sql(
        d,
        "UPDATE apikey_job_leases SET last_period = NULL WHERE job = 'keys.rotation'",
    );
    apikey(
        d,
        &[
            "jobs",
            "run",
            "keys.rotation",
            "--token-sink-dir",
            &sink_arg,
        ],
        &env,
    )
    .expect(0);
    let files: Vec<_> = std::fs::read_dir(&sink)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one new token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "readable by its owner only");
    }
    let token = std::fs::read_to_string(&files[0]).unwrap();
    apikey(d, &["verify", token.trim()], &env).expect(0);
    let old = apikey(d, &["show", &id, "--json"], &env).expect(0).json();
    assert!(
        old["rotated_to"].is_string(),
        "the old key points at its successor"
    );
    assert_eq!(count(d, "apikey_keys"), 2);
}
