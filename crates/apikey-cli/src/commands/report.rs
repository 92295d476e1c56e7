//! `apikey report`: a month's usage report as CSV, PDF or JSON (`apikey-reports`).

use std::io::Write;

use apikey_reports::{Period, ReportRequest, Sources};

use crate::cli_report::{ReportArgs, ReportFormat};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};

pub(crate) async fn run(ctx: &Ctx, a: ReportArgs) -> Result<Exit, CliError> {
    let period = Period::month(&a.period).map_err(|e| CliError::usage(e.to_string()))?;
    let format = a.format.unwrap_or_else(|| {
        match a
            .out
            .as_ref()
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str())
        {
            Some(e) if e.eq_ignore_ascii_case("pdf") => ReportFormat::Pdf,
            _ => ReportFormat::Csv,
        }
    });
    if format == ReportFormat::Pdf && a.out.is_none() && !ctx.json {
        return Err(CliError::usage("a PDF needs --out FILE"));
    }
    // Refuse a path that cannot be written before reading anything.
    if let Some(out) = &a.out {
        let dir = match out.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(CliError::usage(format!(
                "--out: the directory {} does not exist",
                dir.display()
            )));
        }
    }
    let analytics = ctx.db.analytics();
    let audit = ctx.db.audit_store();
    let sources = Sources {
        analytics: &*analytics,
        keys: ctx.keys.manager(),
        audit: Some(&*audit),
    };
    let request = ReportRequest {
        period,
        tenant: ctx.tenant.clone(),
        owner: a.owner,
    };
    let report = apikey_reports::gather(sources, &request, ctx.now())
        .await
        .map_err(|e| match e {
            apikey_reports::ReportError::Store(e) => CliError::from(e),
            other => CliError::usage(other.to_string()),
        })?;
    let bytes = if ctx.json {
        serde_json::to_vec_pretty(&report).map_err(|e| CliError::usage(e.to_string()))?
    } else {
        match format {
            ReportFormat::Csv => {
                let mut out = Vec::new();
                apikey_reports::write_csv(&report, &mut out)
                    .map_err(|e| CliError::usage(e.to_string()))?;
                out
            }
            ReportFormat::Pdf => {
                apikey_reports::render_pdf(&report).map_err(|e| CliError::usage(e.to_string()))?
            }
        }
    };
    match &a.out {
        Some(path) => {
            write_whole(path, &bytes).map_err(|e| {
                CliError::usage(format!("--out: cannot write {}: {e}", path.display()))
            })?;
            printed(ctx.out.line(&format!(
                "wrote {} ({} bytes){}",
                path.display(),
                bytes.len(),
                if report.is_empty() {
                    "; no requests were recorded in this period"
                } else {
                    ""
                }
            )))?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            printed(stdout.write_all(&bytes))?;
        }
    }
    Ok(Exit::Ok)
}

/// Writes `bytes` to `path` whole (a temporary file in the same directory, 0600, renamed over
/// it): a failure leaves what was there.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".apikey-report-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
