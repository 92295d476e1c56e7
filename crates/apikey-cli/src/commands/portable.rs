//! `apikey export` and `apikey import`: every key as JSON (the `KeyManager::export` format, stored
//! hashes included, tokens never), for backups and moving keys between databases. The importing
//! side needs the same pepper for the keys to keep verifying.

use apikey_core::Change;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use apikey_core::KeyFilter;
use apikey_core::manage::Export;

use crate::cli::{ExportArgs, ImportArgs};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};

const EXPORT_WARNING: &str = "This export contains the stored hash of every key: protect it like a database dump. \
It holds no tokens; keys imported elsewhere verify only with the same pepper.";

pub(crate) async fn export(ctx: &Ctx, a: ExportArgs) -> Result<Exit, CliError> {
    let export = ctx
        .keys
        .manager()
        .export(&ctx.tenant, &KeyFilter::default())
        .await?;
    let text = serde_json::to_string_pretty(&export)
        .map_err(|e| CliError::new(Exit::Failure, format!("cannot serialize the export: {e}")))?;
    match &a.out {
        Some(path) => {
            write_private(path, &text)
                .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "Exported {} key(s) to {}.",
                export.keys.len(),
                path.display()
            );
        }
        None => printed(ctx.out.line(&text))?,
    }
    eprintln!("{EXPORT_WARNING}");
    Ok(Exit::Ok)
}

/// Writes `text` to `path` with mode 0600 whatever was there before: opening an existing file
/// keeps its old mode (0644 would leave every stored hash readable to all), so the export goes to
/// a temporary file in the same directory, made 0600, and is renamed over `path`.
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".apikey-export-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

pub(crate) async fn import(ctx: &Ctx, a: ImportArgs) -> Result<Exit, CliError> {
    if let Some(url) = &a.from_nest {
        return super::nest::import(ctx, url, a.dry_run).await;
    }
    let file = a.file.unwrap_or_else(|| "-".to_owned());
    let (text, source) = if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::usage(format!("cannot read stdin: {e}")))?;
        (s, "stdin".to_owned())
    } else {
        let s = std::fs::read_to_string(&file)
            .map_err(|e| CliError::usage(format!("cannot read {file}: {e}")))?;
        (s, file.clone())
    };
    let export: Export = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(format!("{source} is not an apikey export: {e}"))
            .hint("import reads the JSON that `apikey export` writes")
    })?;
    let report = ctx
        .keys
        .manager()
        .import(
            &ctx.tenant,
            export,
            Change::new().with_actor(ctx.actor.clone()),
        )
        .await?;
    if ctx.json {
        printed(ctx.out.json(&serde_json::json!({
            "imported": report.imported,
            "skipped": report.skipped,
            "crowded_legacy": report.crowded_legacy,
        })))?;
    } else {
        printed(ctx.out.line(&format!(
            "imported {} key(s), skipped {} already present",
            report.imported.len(),
            report.skipped.len()
        )))?;
    }
    if !report.crowded_legacy.is_empty() {
        eprintln!(
            "warning: {} imported legacy key(s) share their 8-character prefix with more keys than are tried per request, so some may never verify; re-issue them: {}",
            report.crowded_legacy.len(),
            report
                .crowded_legacy
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(Exit::Ok)
}
