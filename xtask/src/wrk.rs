//! wrk for `cargo xtask bench-http`: installed from Debian's packages when missing, run pinned to a
//! core, and its `--latency` report read into requests per second and latency percentiles.

use std::path::Path;
use std::process::Command;

use crate::{Outcome, run_output, run_status};

/// What one wrk run measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Report {
    /// Completed requests.
    pub(crate) requests: u64,
    /// Length of the run in seconds, as wrk reports it.
    pub(crate) seconds: f64,
    /// `Requests/sec`.
    pub(crate) rps: f64,
    /// Median latency in microseconds.
    pub(crate) p50_us: f64,
    /// 99th percentile latency in microseconds.
    pub(crate) p99_us: f64,
    /// Responses with a status outside 2xx/3xx.
    pub(crate) non_2xx: u64,
    /// Connect, read, write and timeout errors added up.
    pub(crate) socket_errors: u64,
}

/// Whether `program` can be started at all.
pub(crate) fn found(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

/// Makes sure `wrk` is on the PATH: `apt-get install -y wrk` as root (after `apt-get update` if
/// the first try fails); otherwise an error telling the user what to run.
pub(crate) fn ensure_installed() -> Outcome {
    if found("wrk", "-v") {
        return Ok(());
    }
    let uid = run_output({
        let mut c = Command::new("id");
        c.arg("-u");
        c
    })
    .unwrap_or_default();
    if uid.trim() != "0" {
        return Err(
            "wrk is not installed and this is not root: install it first \
             (`sudo apt-get install -y wrk` on Debian/Ubuntu), then run again"
                .to_owned(),
        );
    }
    println!("bench-http: wrk not found; installing it from Debian's packages");
    let install = || {
        let mut c = Command::new("apt-get");
        c.args(["install", "-y", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run_status(c)
    };
    if install().is_err() {
        let mut update = Command::new("apt-get");
        update.arg("update");
        run_status(update)?;
        install()?;
    }
    if found("wrk", "-v") {
        Ok(())
    } else {
        Err("apt-get installed wrk but it still cannot be started".to_owned())
    }
}

/// The first line of `wrk -v` (it exits 1 after printing its version and usage).
pub(crate) fn version() -> String {
    Command::new("wrk")
        .arg("-v")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "wrk (version unknown)".to_owned())
}

/// `program` under `taskset -c core` when a core is given.
pub(crate) fn pinned(core: Option<usize>, program: &Path) -> Command {
    match core {
        Some(core) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(core.to_string()).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// One wrk run: one thread, `connections` connections, `seconds` long, with `script`.
pub(crate) fn run(
    core: Option<usize>,
    connections: u32,
    seconds: u64,
    script: &Path,
    url: &str,
) -> Result<Report, String> {
    let mut cmd = pinned(core, Path::new("wrk"));
    cmd.args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .args(["--latency", "--timeout", "5s", "-s"])
        .arg(script)
        .arg(url);
    let out = run_output(cmd)?;
    parse(&out).map_err(|e| format!("{e}; wrk printed:\n{out}"))
}

/// How the token travels in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    /// `x-api-key: <token>`.
    ApiKey,
    /// `authorization: Bearer <token>` (the tower-http peer row).
    Bearer,
}

/// A wrk script that reads the tokens from `tokens` (never from the command line).
pub(crate) fn write_script(path: &Path, tokens: &Path, cycle: bool, header: Header) -> Outcome {
    let file = tokens.display();
    let (name, prefix) = match header {
        Header::ApiKey => ("x-api-key", ""),
        Header::Bearer => ("authorization", "Bearer "),
    };
    let text = if cycle {
        format!(
            "local tokens = {{}}\n\
             for line in io.lines([==[{file}]==]) do tokens[#tokens + 1] = line end\n\
             local requests = {{}}\n\
             local i = 0\n\
             function init(args)\n  \
               for n, t in ipairs(tokens) do requests[n] = wrk.format(nil, nil, {{ [\"{name}\"] = \"{prefix}\" .. t }}) end\n\
             end\n\
             function request()\n  i = i % #requests + 1\n  return requests[i]\nend\n"
        )
    } else {
        format!(
            "for line in io.lines([==[{file}]==]) do wrk.headers[\"{name}\"] = \"{prefix}\" .. line; break end\n"
        )
    };
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads wrk's `--latency` report.
pub(crate) fn parse(report: &str) -> Result<Report, String> {
    let mut requests = None;
    let mut seconds = None;
    let mut rps = None;
    let mut p50 = None;
    let mut p99 = None;
    let mut non_2xx = 0;
    let mut socket_errors = 0;
    for line in report.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", t] => p50 = Some(micros(t)?),
            ["99%", t] => p99 = Some(micros(t)?),
            [n, "requests", "in", t, ..] => {
                requests = Some(n.parse().map_err(|_| format!("bad request count `{n}`"))?);
                seconds = Some(micros(t.trim_end_matches(','))? / 1e6);
            }
            ["Requests/sec:", r] => {
                rps = Some(r.parse().map_err(|_| format!("bad Requests/sec `{r}`"))?);
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => {
                non_2xx = n.parse().map_err(|_| format!("bad Non-2xx count `{n}`"))?;
            }
            ["Socket", "errors:", rest @ ..] => {
                socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    let missing = |what: &str| format!("wrk report has no {what} (was --latency given?)");
    Ok(Report {
        requests: requests.ok_or_else(|| missing("request count"))?,
        seconds: seconds.ok_or_else(|| missing("duration"))?,
        rps: rps.ok_or_else(|| missing("Requests/sec"))?,
        p50_us: p50.ok_or_else(|| missing("50% latency"))?,
        p99_us: p99.ok_or_else(|| missing("99% latency"))?,
        non_2xx,
        socket_errors,
    })
}

/// A wrk time (`527.00us`, `3.97ms`, `1.02s`, `2.00m`, `1.00h`) in microseconds.
fn micros(text: &str) -> Result<f64, String> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("time `{text}` has no unit"))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("bad time `{text}`"))?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return Err(format!("unknown time unit in `{text}`")),
    };
    Ok(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 3s test @ http://127.0.0.1:18081/guarded
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.61ms    3.29ms  24.30ms   85.66%
    Req/Sec    20.20k     4.38k   26.40k    60.00%
  Latency Distribution
     50%  527.00us
     75%    3.97ms
     90%    7.18ms
     99%   14.67ms
  60500 requests in 3.01s, 11.37MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  20115.78
Transfer/sec:      3.78MB
";

    #[test]
    fn reads_the_latency_report() {
        let r = parse(REPORT).unwrap();
        assert_eq!(r.requests, 60_500);
        assert!((r.seconds - 3.01).abs() < 1e-9);
        assert!((r.rps - 20_115.78).abs() < 1e-9);
        assert!((r.p50_us - 527.0).abs() < 1e-9);
        assert!((r.p99_us - 14_670.0).abs() < 1e-6);
        assert_eq!(r.non_2xx, 7);
        assert_eq!(r.socket_errors, 3);
    }

    #[test]
    fn a_report_without_percentiles_is_refused() {
        let plain = REPORT.replace("     50%  527.00us\n", "");
        assert!(parse(&plain).unwrap_err().contains("50%"));
    }

    #[test]
    fn times_in_every_unit() {
        assert_eq!(micros("12.50us").unwrap(), 12.5);
        assert_eq!(micros("1.50ms").unwrap(), 1500.0);
        assert_eq!(micros("2.00s").unwrap(), 2e6);
        assert_eq!(micros("1.00m").unwrap(), 60e6);
        assert!(micros("12").is_err());
        assert!(micros("3.0xs").is_err());
    }
}
