//! Where a deployment's peppers come from — one place, so every binary, example and the CLI agree
//! on what `APIKEY_PEPPER` means and on the pepper file format; a service and the CLI pointed at
//! the same database then hash and verify with the same peppers.
//!
//! - `APIKEY_PEPPER` is `id=base64secret[,id=base64secret…]`; the first entry is current.
//! - A pepper file (`<database file>.pepper` beside a SQLite database) holds the same text, one or
//!   more entries per line (`#` starts a comment line). Files of exactly 32 raw bytes, as early quick
//!   starts wrote them, are read as pepper `qs1` so their keys keep verifying.
//! - A pepper file open to group or others is refused: the pepper is the key of every stored hash.
//! - No pepper at all is an error, unless the caller explicitly allows an ephemeral one (keys made
//!   under it die with the process) — for services, through [`EPHEMERAL_ENV`].
//! - A missing pepper file is created only when asked and only while the store holds no key: a new
//!   pepper would silently invalidate every existing key.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::pepper::Peppers;
use crate::error::{Error, ErrorKind};
use crate::ids::TenantScope;
use crate::store::{KeyFilter, KeyStore};

/// The environment variable holding the peppers: `id=base64secret[,…]`, the first current.
pub const PEPPER_ENV: &str = "APIKEY_PEPPER";

/// The explicit switch (`=1`) that lets a service run with a random pepper when none is
/// configured. Its name says the cost: every key created under it stops verifying at exit.
pub const EPHEMERAL_ENV: &str = "APIKEY_EPHEMERAL_PEPPER_KEYS_DIE_AT_EXIT";

/// The pepper id of a raw 32-byte pepper file written by early quick starts.
pub const RAW_FILE_PEPPER_ID: &str = "qs1";

/// Length of a raw pepper file.
const RAW_FILE_LEN: usize = 32;

/// The id of a pepper this module generates.
const GENERATED_ID: &str = "v1";

/// How to set a pepper, for error messages.
const PEPPER_HOW: &str = "APIKEY_PEPPER=v1=$(openssl rand -base64 32)";

/// The pepper file beside a SQLite database file: `<file>.pepper`.
pub fn pepper_file_beside(db_file: &Path) -> PathBuf {
    let mut name = db_file.as_os_str().to_owned();
    name.push(".pepper");
    PathBuf::from(name)
}

fn config(message: String) -> Error {
    Error::new(ErrorKind::Config, message)
}

/// Reads a pepper file: the `APIKEY_PEPPER` text form, or 32 raw bytes (pepper `qs1`). A file
/// that group or others may access is an error naming the `chmod` that fixes it.
pub fn read_pepper_file(path: &Path) -> Result<Peppers, Error> {
    check_private(path)?;
    let bytes = zeroize::Zeroizing::new(fs::read(path).map_err(|e| {
        config(format!(
            "cannot read the pepper file {}: {e}",
            path.display()
        ))
        .with_source(e)
    })?);
    match std::str::from_utf8(&bytes) {
        Ok(text) if looks_like_text(text) => parse_file_text(text).map_err(|e| {
            config(format!(
                "the pepper file {} is not valid: {}; restore it from your backup (it holds id=base64secret lines, as {PEPPER_ENV} does)",
                path.display(),
                e.message()
            ))
        }),
        _ if bytes.len() == RAW_FILE_LEN => Peppers::single(RAW_FILE_PEPPER_ID, bytes.to_vec()),
        _ => Err(config(format!(
            "the pepper file {} is neither id=base64secret text nor {RAW_FILE_LEN} raw bytes; restore it from your backup",
            path.display()
        ))),
    }
}

/// Text as people and this module write it. Random raw bytes are all printable ASCII with odds
/// of about 1e-14, so this tells the two formats apart.
fn looks_like_text(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
}

fn parse_file_text(text: &str) -> Result<Peppers, Error> {
    let spec: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    Peppers::from_spec(&spec.join(","))
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = fs::metadata(path).map_err(|e| {
        config(format!(
            "cannot read the pepper file {}: {e}",
            path.display()
        ))
        .with_source(e)
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(config(format!(
            "the pepper file {} is open to group or others (mode {mode:o}); run `chmod 600 {}` and restart",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), Error> {
    Ok(())
}

/// Creates a new pepper file (mode 0600, refusing to overwrite one) holding a fresh 32-byte pepper
/// `v1` in text form. Says nothing about existing keys: [`PepperConfig::load_or_create`] checks.
pub fn create_pepper_file(path: &Path) -> Result<Peppers, Error> {
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(secret.as_mut_slice())
        .map_err(|e| config(format!("no OS random source for a new pepper: {e}")))?;
    let line = zeroize::Zeroizing::new(format!(
        "{GENERATED_ID}={}\n",
        base64::engine::general_purpose::STANDARD.encode(secret.as_slice())
    ));
    let peppers = Peppers::single(GENERATED_ID, secret.to_vec())?;
    let cannot = |e: std::io::Error| {
        config(format!(
            "cannot create the pepper file {}: {e}",
            path.display()
        ))
        .with_source(e)
    };
    crate::private_file::create_private(path, line.as_bytes()).map_err(cannot)?;
    Ok(peppers)
}

/// Where the peppers in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PepperSource {
    /// `APIKEY_PEPPER`.
    Env,
    /// An existing pepper file.
    File(PathBuf),
    /// A pepper file created just now (the store held no key).
    CreatedFile(PathBuf),
    /// A random pepper for this process only.
    Ephemeral,
}

/// Peppers and where they came from.
#[derive(Debug, Clone)]
pub struct LoadedPeppers {
    /// The peppers.
    pub peppers: Peppers,
    /// Their source.
    pub source: PepperSource,
}

/// The outcome of [`PepperConfig::resolve`], before any store is opened.
#[derive(Debug)]
pub enum PepperPlan {
    /// Ready to use.
    Ready(LoadedPeppers),
    /// The pepper file is to be created once the store is known to hold no key.
    CreateFile(PathBuf),
}

impl PepperPlan {
    /// Creates the planned pepper file if the store holds no key; refuses otherwise.
    pub async fn finish(self, store: &dyn KeyStore) -> Result<LoadedPeppers, Error> {
        let file = match self {
            Self::Ready(loaded) => return Ok(loaded),
            Self::CreateFile(file) => file,
        };
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
            return Err(config(format!(
                "this database holds keys but their pepper file {} is missing; restore it from your backup (or set {PEPPER_ENV} to the pepper that hashed them). A new pepper would invalidate every existing key, so none is created",
                file.display()
            )));
        }
        let peppers = create_pepper_file(&file)?;
        Ok(LoadedPeppers {
            peppers,
            source: PepperSource::CreatedFile(file),
        })
    }
}

/// How a process finds its peppers. Build it with [`PepperConfig::from_env`], which every binary
/// and example uses, so `APIKEY_PEPPER` means one thing everywhere.
#[derive(Clone)]
pub struct PepperConfig {
    spec: Option<zeroize::Zeroizing<String>>,
    file: Option<PathBuf>,
    create_file: bool,
    ephemeral: bool,
    ephemeral_from_env: bool,
}

impl std::fmt::Debug for PepperConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PepperConfig")
            .field("spec", &self.spec.as_ref().map(|_| "<redacted>"))
            .field("file", &self.file)
            .field("create_file", &self.create_file)
            .field("ephemeral", &self.ephemeral)
            .finish()
    }
}

impl PepperConfig {
    /// Reads `APIKEY_PEPPER` and the [`EPHEMERAL_ENV`] switch from the environment.
    pub fn from_env() -> Self {
        let spec = std::env::var(PEPPER_ENV).ok();
        let ephemeral = std::env::var(EPHEMERAL_ENV).is_ok_and(|v| v.trim() == "1");
        let mut config = Self::with_spec(spec);
        config.ephemeral = ephemeral;
        config.ephemeral_from_env = ephemeral;
        config
    }

    /// As [`from_env`](Self::from_env), with the `APIKEY_PEPPER` value given (`None`: unset) and
    /// no ephemeral switch.
    pub fn with_spec(spec: Option<String>) -> Self {
        Self {
            spec: spec
                .filter(|s| !s.trim().is_empty())
                .map(zeroize::Zeroizing::new),
            file: None,
            create_file: false,
            ephemeral: false,
            ephemeral_from_env: false,
        }
    }

    /// Reads the pepper file beside this SQLite database file when `APIKEY_PEPPER` is unset.
    #[must_use]
    pub fn beside_sqlite(mut self, db_file: &Path) -> Self {
        self.file = Some(pepper_file_beside(db_file));
        self
    }

    /// Creates the pepper file when it is missing and the store holds no key
    /// ([`load_or_create`](Self::load_or_create)).
    #[must_use]
    pub fn create_file_if_no_keys(mut self, yes: bool) -> Self {
        self.create_file = yes;
        self
    }

    /// Falls back to a random pepper for this process when none is configured, for code paths
    /// that never hash (listing) or demos that say so.
    #[must_use]
    pub fn allow_ephemeral(mut self, yes: bool) -> Self {
        self.ephemeral = yes;
        self
    }

    /// Decides without touching a store: the peppers, or the file to create.
    pub fn resolve(&self) -> Result<PepperPlan, Error> {
        if let Some(spec) = &self.spec {
            return Peppers::from_spec(spec)
                .map(|peppers| {
                    PepperPlan::Ready(LoadedPeppers {
                        peppers,
                        source: PepperSource::Env,
                    })
                })
                .map_err(|e| {
                    config(format!(
                        "{PEPPER_ENV} is not valid: {}; expected id=base64secret[,id=base64secret...] (at least 16 bytes each, the first is current), e.g. {PEPPER_HOW}",
                        e.message()
                    ))
                });
        }
        if let Some(file) = &self.file
            && fs::symlink_metadata(file).is_ok()
        {
            return Ok(PepperPlan::Ready(LoadedPeppers {
                peppers: read_pepper_file(file)?,
                source: PepperSource::File(file.clone()),
            }));
        }
        if self.ephemeral {
            if self.ephemeral_from_env {
                tracing::warn!(
                    "{EPHEMERAL_ENV}=1: using a random pepper; every key created now stops verifying when this process exits"
                );
            }
            return Ok(PepperPlan::Ready(LoadedPeppers {
                peppers: Peppers::random(),
                source: PepperSource::Ephemeral,
            }));
        }
        match &self.file {
            Some(file) if self.create_file => Ok(PepperPlan::CreateFile(file.clone())),
            Some(file) => Err(config(format!(
                "no pepper: the pepper file {} is missing and {PEPPER_ENV} is not set; restore the file from your backup or set {PEPPER_ENV} (e.g. {PEPPER_HOW}); without the pepper that hashed them no stored key verifies",
                file.display()
            ))),
            None => Err(config(format!(
                "no pepper: set {PEPPER_ENV} (e.g. {PEPPER_HOW}); every process that verifies these keys needs the same value, and losing it invalidates every key. For a throwaway demo, {EPHEMERAL_ENV}=1 uses a random pepper instead"
            ))),
        }
    }

    /// The peppers, when no file is to be created (see [`load_or_create`](Self::load_or_create)).
    pub fn load(&self) -> Result<LoadedPeppers, Error> {
        match self.resolve()? {
            PepperPlan::Ready(loaded) => Ok(loaded),
            PepperPlan::CreateFile(file) => Err(config(format!(
                "the pepper file {} is missing; it is created only by load_or_create, which first checks the store holds no key",
                file.display()
            ))),
        }
    }

    /// The peppers, creating the pepper file if configured to and the store holds no key.
    pub async fn load_or_create(&self, store: &dyn KeyStore) -> Result<LoadedPeppers, Error> {
        self.resolve()?.finish(store).await
    }
}
