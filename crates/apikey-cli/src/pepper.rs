//! Where the HMAC pepper comes from: `APIKEY_PEPPER` (`id=base64secret[,…]`, first is current), or a
//! key file `<db file>.pepper` beside a SQLite database. The file is created (mode 0600, 32 random
//! bytes) only for the default `sqlite://apikeys.db`, only by `create`, and only while that database
//! holds no key; for any other database a missing pepper is an error, never a new one.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use apikey_core::{KeyFilter, KeyStore, Peppers, TenantScope};
use base64::Engine as _;

use crate::db::Target;
use crate::error::CliError;

/// The environment variable holding the peppers.
pub(crate) const PEPPER_ENV: &str = "APIKEY_PEPPER";

/// Id of a pepper the CLI generates.
const GENERATED_ID: &str = "v1";

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

/// The pepper file beside a SQLite database file.
pub(crate) fn pepper_file(db_file: &Path) -> PathBuf {
    let mut name = db_file.as_os_str().to_owned();
    name.push(".pepper");
    PathBuf::from(name)
}

/// The pepper as configuration gives it, before the database is opened (so a configuration error
/// never waits on the network).
#[derive(Debug)]
pub(crate) enum Resolved {
    /// Ready to use.
    Ready(Peppers),
    /// The default database's pepper file is to be created, once the store says it holds no key.
    CreateFile(PathBuf),
}

/// Resolves the peppers for a command from `APIKEY_PEPPER` or the SQLite pepper file.
pub(crate) fn resolve(need: Need, target: &Target) -> Result<Resolved, CliError> {
    if let Ok(spec) = std::env::var(PEPPER_ENV)
        && !spec.trim().is_empty()
    {
        return Peppers::from_spec(&spec).map(Resolved::Ready).map_err(|e| {
            CliError::config(format!("{PEPPER_ENV} is not valid: {}", e.message())).hint(
                "expected id=base64secret[,id=base64secret...] (at least 16 bytes each; the first is current), e.g. v1=$(openssl rand -base64 32)",
            )
        });
    }
    let file = target.sqlite_file().map(|db| pepper_file(&db));
    if let Some(file) = &file
        && file.exists()
    {
        return read(file).map(Resolved::Ready);
    }
    match (need, file) {
        (Need::None, _) => Ok(Resolved::Ready(Peppers::random())),
        (Need::Create, Some(file)) if target.is_default => Ok(Resolved::CreateFile(file)),
        (_, Some(file)) if target.is_default => Err(CliError::config(format!(
            "the pepper file {} is missing",
            file.display()
        ))
        .hint(format!(
            "restore it from your backup, or set {PEPPER_ENV}; without the pepper that hashed them, no key in this database verifies"
        ))),
        _ => Err(CliError::config(format!(
            "no pepper: set {PEPPER_ENV} for {}",
            target.redacted
        ))
        .hint(format!(
            "{PEPPER_ENV}=v1=<base64 of 32 random bytes> (e.g. v1=$(openssl rand -base64 32)); every process that verifies these keys needs the same value, and losing it invalidates every key"
        ))),
    }
}

/// Finishes [`resolve`] once the database is open: creates the pepper file if asked to.
pub(crate) async fn finish(resolved: Resolved, store: &dyn KeyStore) -> Result<Peppers, CliError> {
    match resolved {
        Resolved::Ready(p) => Ok(p),
        Resolved::CreateFile(file) => create(&file, store).await,
    }
}

fn read(file: &Path) -> Result<Peppers, CliError> {
    let text = fs::read_to_string(file).map_err(|e| {
        CliError::config(format!(
            "cannot read the pepper file {}: {e}",
            file.display()
        ))
    })?;
    if let Ok(meta) = fs::metadata(file)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "warning: the pepper file {} is readable by other users; run `chmod 600 {}`",
            file.display(),
            file.display()
        );
    }
    Peppers::from_spec(text.trim()).map_err(|e| {
        CliError::config(format!(
            "the pepper file {} is not valid: {}",
            file.display(),
            e.message()
        ))
        .hint("restore it from your backup; it holds id=base64secret lines as APIKEY_PEPPER does")
    })
}

async fn create(file: &Path, store: &dyn KeyStore) -> Result<Peppers, CliError> {
    let probe = KeyFilter {
        limit: 1,
        ..KeyFilter::default()
    };
    if !store
        .query(&TenantScope::All, &probe)
        .await?
        .items
        .is_empty()
    {
        return Err(CliError::config(format!(
            "this database holds keys but their pepper file {} is missing",
            file.display()
        ))
        .hint(format!(
            "restore the file from your backup, or set {PEPPER_ENV}; a new pepper would invalidate every existing key, so none is created"
        )));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| CliError::config(format!("no OS random source for a new pepper: {e}")))?;
    let spec = format!(
        "{GENERATED_ID}={}",
        base64::engine::general_purpose::STANDARD.encode(secret)
    );
    let peppers = Peppers::from_spec(&spec)?;
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .map_err(|e| {
            CliError::config(format!(
                "cannot create the pepper file {}: {e}",
                file.display()
            ))
        })?;
    f.write_all(format!("{spec}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| {
            CliError::config(format!(
                "cannot write the pepper file {}: {e}",
                file.display()
            ))
        })?;
    let shown = fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    eprintln!(
        "Created a new pepper in {} (mode 0600).\n\
         It is the secret key of every key hash in this database: keep it private and back it up with the database.\n\
         Losing it invalidates every key. To use this database from another place, set {PEPPER_ENV} to its content.",
        shown.display()
    );
    Ok(peppers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pepper_file_sits_beside_the_database() {
        assert_eq!(
            pepper_file(Path::new("apikeys.db")),
            PathBuf::from("apikeys.db.pepper")
        );
        assert_eq!(
            pepper_file(Path::new("/var/lib/x/keys.sqlite")),
            PathBuf::from("/var/lib/x/keys.sqlite.pepper")
        );
    }
}
