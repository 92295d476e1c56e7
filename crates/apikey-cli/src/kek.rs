//! Where the key-encryption key (KEK) of sealed secrets (webhook signing secrets) comes from:
//! `APIKEY_KEK` (`id=base64key[,…]`, the first current), else — for a SQLite database, like the
//! pepper — the file `<db file>.kek` beside it, created (mode 0600) on first need. Any other
//! database without `APIKEY_KEK` is a configuration error: a KEK invented on one host would seal
//! secrets the other hosts cannot open.

use std::fs;
use std::io::Write;
use std::path::Path;

use apikey_core::secret_box::{KEK_ENV, KekConfig, Keks};
use base64::Engine;
use zeroize::Zeroizing;

use crate::db::Target;
use crate::error::{CliError, Exit};

/// The KEKs for `target`; `create` allows making the file beside a SQLite database.
pub(crate) fn load(target: &Target, create: bool) -> Result<Keks, CliError> {
    let config = KekConfig::from_env();
    if config.is_set() {
        return Ok(config.load()?);
    }
    let Some(db) = target.sqlite_file() else {
        // Unset: the loader's error, which says how to set it.
        return Ok(config.load()?);
    };
    let mut file = db.into_os_string();
    file.push(".kek");
    let file = Path::new(&file);
    if file.exists() {
        let spec = Zeroizing::new(fs::read_to_string(file).map_err(|e| {
            CliError::new(
                Exit::Config,
                format!("cannot read the KEK file {}: {e}", file.display()),
            )
        })?);
        return Keks::from_spec(spec.trim()).map_err(|e| {
            CliError::new(
                Exit::Config,
                format!(
                    "the KEK file {} is not valid: {}",
                    file.display(),
                    e.message()
                ),
            )
        });
    }
    if !create {
        return Err(CliError::new(
            Exit::Config,
            format!(
                "no KEK: set {KEK_ENV}, or create a webhook subscription first (it makes {})",
                file.display()
            ),
        ));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut key[..])
        .map_err(|e| CliError::new(Exit::Config, format!("no randomness: {e}")))?;
    let spec = Zeroizing::new(format!(
        "k1={}",
        base64::engine::general_purpose::STANDARD.encode(&key[..])
    ));
    write_private(file, spec.as_bytes()).map_err(|e| {
        CliError::new(
            Exit::Config,
            format!("cannot create the KEK file {}: {e}", file.display()),
        )
    })?;
    eprintln!(
        "Created a new key-encryption key in {} (mode 0600).\n\
         It encrypts the webhook secrets in this database: keep it private and back it up with the database.\n\
         To use this database from another place, set {KEK_ENV} to its content.",
        file.display()
    );
    Ok(Keks::from_spec(&spec)?)
}

/// Writes a new file readable by its owner only; an existing file is never overwritten.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
