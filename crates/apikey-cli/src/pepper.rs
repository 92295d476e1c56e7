//! Where the HMAC pepper comes from, through the library's one loader (`apikey_core::PepperConfig`),
//! so the CLI reads `APIKEY_PEPPER` and pepper files exactly as every service does: the variable
//! (`id=base64secret[,…]`, first is current), else the file `<db file>.pepper` beside a SQLite
//! database (text, or the early quick start's 32 raw bytes). The file is created (mode 0600) only
//! for the default `sqlite://apikeys.db`, only by `create`, and only while that database holds no
//! key; for any other database a missing pepper is an error, never a new one.

use std::fs;

use apikey_core::hash::{PepperPlan, PepperSource};
use apikey_core::{KeyStore, PepperConfig, Peppers};

use crate::db::Target;
use crate::error::CliError;

/// The environment variable holding the peppers.
pub(crate) const PEPPER_ENV: &str = apikey_core::hash::PEPPER_ENV;

/// What a command needs of the pepper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// It hashes a new key and may create the default pepper file (`create`).
    Create,
    /// It hashes or verifies with the existing pepper (`rotate`, `verify`).
    Existing,
    /// It never hashes (`list`, `revoke`, `export`, …): an unset pepper is fine.
    None,
}

/// Resolves the peppers for a command before the database is opened (so a configuration error
/// never waits on the network).
pub(crate) fn resolve(need: Need, target: &Target) -> Result<PepperPlan, CliError> {
    let mut config = PepperConfig::with_spec(std::env::var(PEPPER_ENV).ok())
        .create_file_if_no_keys(need == Need::Create && target.is_default)
        // A command that never hashes has no use for the pepper; a random one keeps it out of
        // the way without ever being used to make or check a digest.
        .allow_ephemeral(need == Need::None);
    if let Some(db) = target.sqlite_file() {
        config = config.beside_sqlite(&db);
    }
    Ok(config.resolve()?)
}

/// Finishes [`resolve`] once the database is open: creates the pepper file if planned and the
/// database holds no key.
pub(crate) async fn finish(plan: PepperPlan, store: &dyn KeyStore) -> Result<Peppers, CliError> {
    let loaded = plan.finish(store).await?;
    if let PepperSource::CreatedFile(file) = &loaded.source {
        let shown = fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        eprintln!(
            "Created a new pepper in {} (mode 0600).\n\
             It is the secret key of every key hash in this database: keep it private and back it up with the database.\n\
             Losing it invalidates every key. To use this database from another place, set {PEPPER_ENV} to its content.",
            shown.display()
        );
    }
    Ok(loaded.peppers)
}
