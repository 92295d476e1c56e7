//! Where the key-encryption key (KEK) of sealed secrets (webhook and request-signing secrets)
//! comes from: `APIKEY_KEK` (`id=base64key[,…]`, the first current), else — for a SQLite
//! database, like the pepper — the file `<db file>.kek` beside it, created (mode 0600) on first
//! need (`KekConfig::load_beside`, which the quick start uses too). Any other database without
//! `APIKEY_KEK` is a configuration error: a KEK invented on one host would seal secrets the other
//! hosts cannot open.

use apikey_core::secret_box::{KEK_ENV, KekConfig, KekSource, Keks};

use crate::db::Target;
use crate::error::{CliError, Exit};

/// The KEKs for `target`; `create` allows making the file beside a SQLite database.
pub(crate) fn load(target: &Target, create: bool) -> Result<Keks, CliError> {
    let config = KekConfig::from_env();
    let Some(db) = target.sqlite_file().filter(|_| !config.is_set()) else {
        // Set, or not SQLite: the variable or the loader's error, which says how to set it.
        return Ok(config.load()?);
    };
    let (keks, source) = config
        .load_beside(&db, create)
        .map_err(|e| CliError::new(Exit::Config, e.message().to_owned()))?;
    if let KekSource::Created(file) = source {
        eprintln!(
            "Created a new key-encryption key in {} (mode 0600).\n\
             It encrypts the webhook and request-signing secrets in this database: keep it private and back it up with the database.\n\
             To use this database from another place, set {KEK_ENV} to its content.",
            file.display()
        );
    }
    Ok(keks)
}
