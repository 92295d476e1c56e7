//! The quick start as a user restarts it: later starts say how to get a key again, and a lost
//! pepper file over a database with keys stops the start instead of silently replacing it.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts the quick start on a free port with its database in `dir`.
fn start(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(dir)
        .env("QUICKSTART_DB", dir.join("quickstart.db"))
        .env("QUICKSTART_ADDR", "127.0.0.1:0")
        .env("QUICKSTART_WORKERS", "1")
        .env("RUST_LOG", "warn")
        .env_remove("APIKEY_PEPPER")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the quickstart binary runs")
}

/// Stdout up to the "listening" line, then stops the process.
fn output_until_listening(mut child: Child) -> String {
    let mut out = String::new();
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    for line in lines.by_ref() {
        let line = line.expect("utf-8 stdout");
        out.push_str(&line);
        out.push('\n');
        if line.starts_with("listening on") {
            break;
        }
    }
    // Our own child, by its handle.
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        out.contains("listening on"),
        "the service did not start:\n{out}"
    );
    out
}

#[test]
fn later_starts_print_the_cli_line_and_a_lost_pepper_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = output_until_listening(start(d));
    assert!(first.contains("Demo API key"), "{first}");
    let pepper = d.join("quickstart.db.pepper");
    let text = std::fs::read_to_string(&pepper).expect("a text pepper file");
    assert!(text.starts_with("v1="), "one format with the CLI");

    let second = output_until_listening(start(d));
    assert!(!second.contains("Demo API key"), "{second}");
    let db = d.join("quickstart.db");
    let line = format!(
        "cargo run -p apikey-cli -- --database-url sqlite://{} create --name demo --scopes projects:read",
        db.display()
    );
    assert!(second.contains(&line), "{second}");

    std::fs::remove_file(&pepper).unwrap();
    let refused = start(d).wait_with_output().unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(stderr.contains(&pepper.display().to_string()), "{stderr}");
    assert!(stderr.contains("restore"), "{stderr}");
    assert!(!pepper.exists(), "no new pepper over existing keys");
}
