//! `--config FILE` (or `APIKEY_CONFIG`): settings from a file of `NAME=value` lines whose names are
//! the environment variables the flags read (`DATABASE_URL`, `REDIS_URL`, `APIKEY_PEPPER`,
//! `APIKEY_KEK`, `APIKEY_LISTEN`, `APIKEY_CORS_ORIGINS`, …). A flag beats the environment, which
//! beats the file: the file only fills variables that are not set. Read with `dotenvy` (the
//! `.env` format, quoting and comments included) before the command line is parsed, so every
//! flag with an environment variable can come from it.

use std::ffi::OsString;
use std::path::PathBuf;

/// Where the file is: `--config FILE`, `--config=FILE`, or `APIKEY_CONFIG`.
fn path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a.to_string_lossy();
        if a == "--" {
            break;
        }
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os("APIKEY_CONFIG").map(PathBuf::from)
}

/// Loads the file when one is named; an error says which file and why. A file others may read is
/// loaded with a warning: it may hold the pepper or the KEK.
pub(crate) fn load() -> Result<(), String> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let Some(file) = path(&args) else {
        return Ok(());
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(&file)
            && meta.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "warning: {} is readable by others; if it holds APIKEY_PEPPER or APIKEY_KEK, chmod 600 it",
                file.display()
            );
        }
    }
    dotenvy::from_path(&file).map_err(|e| format!("--config {}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_is_found_in_either_form_and_not_after_a_double_dash() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            path(&args(&["apikey", "--config", "a.env", "serve"])),
            Some(PathBuf::from("a.env"))
        );
        assert_eq!(
            path(&args(&["apikey", "serve", "--config=b.env"])),
            Some(PathBuf::from("b.env"))
        );
        if std::env::var_os("APIKEY_CONFIG").is_none() {
            assert_eq!(path(&args(&["apikey", "--", "--config", "c"])), None);
        }
    }
}
