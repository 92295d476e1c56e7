//! `apikey serve` as a child process: the documents it prints (`--json`), and a kill on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running `apikey serve`.
pub(crate) struct Served {
    pub(crate) child: Child,
    out: BufReader<ChildStdout>,
    /// `http://ADDR`.
    pub(crate) base: String,
    /// The root key, when started with `--init`.
    pub(crate) root: Option<String>,
}

impl Served {
    /// `apikey serve --listen 127.0.0.1:0 --json ARGS` in `dir` with only `env` (and `PATH`).
    pub(crate) fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_apikey"))
            .current_dir(dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--json"])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut s = Self {
            child,
            out,
            base: String::new(),
            root: None,
        };
        let first = s.document();
        if let Some(t) = first["token"].as_str() {
            s.root = Some(t.to_owned());
            s.base = s.document()["listening"].as_str().unwrap().to_owned();
        } else {
            s.base = first["listening"].as_str().unwrap().to_owned();
        }
        s
    }

    /// The next pretty-printed JSON document on stdout.
    pub(crate) fn document(&mut self) -> serde_json::Value {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            assert!(
                self.out.read_line(&mut line).unwrap() > 0,
                "apikey serve stopped; it printed: {text}"
            );
            text.push_str(&line);
            if line.starts_with('}') {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    /// SIGTERM, and the exit code.
    pub(crate) fn stop(mut self) -> Option<i32> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        self.child.wait().unwrap().code()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
