//! From a database URL to a key store: `sqlite:` (the file is created on first use by the commands
//! that write), `postgres:`/`postgresql:`, `mysql:`/`mariadb:`. Connecting has a short timeout so an
//! unreachable server fails fast, and no message ever shows the password in the URL.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use apikey_core::jobs::LeaseStore;
use apikey_core::{AuditStore, KeyStore, TenantSettingsStore};
use apikey_sqlx::sqlx;
use apikey_sqlx::{SqlxMySqlStore, SqlxPostgresStore, SqlxSqliteStore};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::error::{CliError, chain};

/// How long connecting may take before the database counts as unreachable.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

/// A parsed `--database-url`, with what messages may show of it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    url: String,
    kind: Kind,
    /// The URL with its password replaced by `***`.
    pub(crate) redacted: String,
    /// `host[:port]`, or the SQLite file.
    pub(crate) place: String,
    /// Secrets to scrub from any message (the password, raw and percent-decoded).
    secrets: Vec<String>,
    /// Whether this is the default `sqlite://apikeys.db`.
    pub(crate) is_default: bool,
}

impl Target {
    /// Recognises the scheme; anything else is a usage error.
    pub(crate) fn parse(url: &str) -> Result<Self, CliError> {
        let url = url.trim();
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        let kind = match scheme.as_deref() {
            Some("sqlite") => Kind::Sqlite,
            Some("postgres" | "postgresql") => Kind::Postgres,
            Some("mysql" | "mariadb") => Kind::MySql,
            _ => {
                return Err(CliError::usage(format!(
                    "--database-url {:?} is not a supported database URL",
                    redact(url).0
                ))
                .hint("use sqlite://FILE, postgres://USER:PASSWORD@HOST/DB or mysql://USER:PASSWORD@HOST/DB"));
            }
        };
        let (redacted, secrets) = redact(url);
        let place = match kind {
            Kind::Sqlite => sqlite_path(url).unwrap_or_default(),
            _ => authority_host(url),
        };
        Ok(Self {
            url: url.to_owned(),
            kind,
            redacted,
            place,
            secrets,
            is_default: url == crate::cli::DEFAULT_DATABASE_URL,
        })
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// Removes the password from `msg`.
    pub(crate) fn scrub(&self, msg: &str) -> String {
        let mut out = msg.replace(&self.url, &self.redacted);
        for s in &self.secrets {
            out = out.replace(s.as_str(), "***");
        }
        out
    }

    /// The SQLite database file (`None` for other databases and in-memory SQLite).
    pub(crate) fn sqlite_file(&self) -> Option<PathBuf> {
        if self.kind != Kind::Sqlite {
            return None;
        }
        let opts = SqliteConnectOptions::from_str(&self.url).ok()?;
        let file = opts.get_filename();
        let text = file.to_string_lossy();
        if text.is_empty()
            || text.starts_with("file:sqlx-in-memory")
            || self.url.contains(":memory:")
            || self.url.contains("mode=memory")
        {
            return None;
        }
        Some(file.to_path_buf())
    }

    /// Opens the database. With `create`, a missing SQLite file is created; without it, a missing
    /// file is an error that says how to create one.
    ///
    /// One connection is opened directly first, within [`CONNECT_TIMEOUT`], so an unreachable
    /// server fails fast with its real cause (a pool would retry until its timeout and report only
    /// that); the pool then connects lazily.
    pub(crate) async fn connect(&self, create: bool) -> Result<Database, CliError> {
        match self.kind {
            Kind::Sqlite => {
                if let Some(file) = self.sqlite_file()
                    && !create
                    && !file.exists()
                {
                    return Err(CliError::unavailable(format!(
                        "there is no database at {}",
                        file.display()
                    ))
                    .hint("create a key first (`apikey create --name NAME`), run `apikey migrate`, or pass --database-url"));
                }
                let opts = SqliteConnectOptions::from_str(&self.url)
                    .map_err(|e| self.bad_url(&e))?
                    .create_if_missing(create)
                    .busy_timeout(CONNECT_TIMEOUT);
                self.probe::<sqlx::SqliteConnection>(&opts).await?;
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_lazy_with(opts);
                Ok(Database::Sqlite(SqlxSqliteStore::new(pool.clone()), pool))
            }
            Kind::Postgres => {
                let opts = PgConnectOptions::from_str(&self.url).map_err(|e| self.bad_url(&e))?;
                self.probe::<sqlx::PgConnection>(&opts).await?;
                let pool = PgPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_lazy_with(opts);
                Ok(Database::Postgres(
                    SqlxPostgresStore::new(pool.clone()),
                    pool,
                ))
            }
            Kind::MySql => {
                // sqlx reads MariaDB URLs with its MySQL driver.
                let url = match self.url.split_once(':') {
                    Some((s, rest)) if s.eq_ignore_ascii_case("mariadb") => format!("mysql:{rest}"),
                    _ => self.url.clone(),
                };
                let opts = MySqlConnectOptions::from_str(&url).map_err(|e| self.bad_url(&e))?;
                self.probe::<sqlx::MySqlConnection>(&opts).await?;
                let pool = MySqlPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_lazy_with(opts);
                Ok(Database::MySql(SqlxMySqlStore::new(pool.clone()), pool))
            }
        }
    }

    /// Opens and closes one connection within [`CONNECT_TIMEOUT`].
    async fn probe<C: sqlx::Connection>(
        &self,
        opts: &<C as sqlx::Connection>::Options,
    ) -> Result<(), CliError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, C::connect_with(opts)).await {
            Ok(Ok(conn)) => {
                if let Err(e) = conn.close().await {
                    tracing::debug!(error = %e, "closing the probe connection");
                }
                Ok(())
            }
            Ok(Err(e)) => Err(self.unreachable(&e)),
            Err(_) => Err(self.unreachable(&sqlx::Error::PoolTimedOut)),
        }
    }

    fn bad_url(&self, e: &sqlx::Error) -> CliError {
        CliError::usage(format!(
            "--database-url {} is not valid: {}",
            self.redacted,
            self.scrub(&chain(e))
        ))
        .hint(
            "use sqlite://FILE, postgres://USER:PASSWORD@HOST/DB or mysql://USER:PASSWORD@HOST/DB",
        )
    }

    fn unreachable(&self, e: &sqlx::Error) -> CliError {
        let cause = match e {
            sqlx::Error::PoolTimedOut => {
                format!("no connection within {} s", CONNECT_TIMEOUT.as_secs())
            }
            other => chain(other),
        };
        let (what, hint) = match (self.kind, e) {
            (Kind::Sqlite, _) => (
                format!("cannot open the database {}", self.place),
                "check the path and its permissions in --database-url (or DATABASE_URL)",
            ),
            (_, sqlx::Error::Database(_)) => (
                format!("the database at {} refused the connection", self.place),
                "check the user, password and database name in --database-url (or DATABASE_URL)",
            ),
            _ => (
                format!("cannot reach the database at {}", self.place),
                "check --database-url (or DATABASE_URL) and that the database is running",
            ),
        };
        CliError::unavailable(format!("{what}: {}", self.scrub(&cause))).hint(hint)
    }
}

/// An open database: the store and its pool (closed at exit).
#[derive(Debug)]
pub(crate) enum Database {
    Sqlite(SqlxSqliteStore, sqlx::SqlitePool),
    Postgres(SqlxPostgresStore, sqlx::PgPool),
    MySql(SqlxMySqlStore, sqlx::MySqlPool),
}

impl Database {
    /// Creates or upgrades the schema.
    pub(crate) async fn migrate(&self) -> apikey_core::Result<()> {
        match self {
            Self::Sqlite(s, _) => s.migrate().await,
            Self::Postgres(s, _) => s.migrate().await,
            Self::MySql(s, _) => s.migrate().await,
        }
    }

    /// The store, for `ApiKeys`.
    pub(crate) fn key_store(&self) -> Arc<dyn KeyStore> {
        match self {
            Self::Sqlite(s, _) => Arc::new(s.clone()),
            Self::Postgres(s, _) => Arc::new(s.clone()),
            Self::MySql(s, _) => Arc::new(s.clone()),
        }
    }

    /// The audit log, for the retention job.
    pub(crate) fn audit_store(&self) -> Arc<dyn AuditStore> {
        match self {
            Self::Sqlite(s, _) => Arc::new(s.clone()),
            Self::Postgres(s, _) => Arc::new(s.clone()),
            Self::MySql(s, _) => Arc::new(s.clone()),
        }
    }

    /// The job leases every instance sharing this database claims (table `apikey_job_leases`).
    pub(crate) fn lease_store(&self) -> Arc<dyn LeaseStore> {
        match self {
            Self::Sqlite(s, _) => Arc::new(s.clone()),
            Self::Postgres(s, _) => Arc::new(s.clone()),
            Self::MySql(s, _) => Arc::new(s.clone()),
        }
    }

    /// The tenant settings `create` honours (approval by default, key limits).
    pub(crate) fn tenant_settings(&self) -> Arc<dyn TenantSettingsStore> {
        match self {
            Self::Sqlite(s, _) => Arc::new(s.clone()),
            Self::Postgres(s, _) => Arc::new(s.clone()),
            Self::MySql(s, _) => Arc::new(s.clone()),
        }
    }

    /// Templates, groups and rotation policies.
    pub(crate) fn catalog(&self) -> Arc<dyn apikey_core::CatalogStore> {
        match self {
            Self::Sqlite(s, _) => Arc::new(s.clone()),
            Self::Postgres(s, _) => Arc::new(s.clone()),
            Self::MySql(s, _) => Arc::new(s.clone()),
        }
    }

    /// The request log (table `apikey_requests`).
    pub(crate) fn request_log(&self) -> Arc<dyn apikey_core::request_log::RequestLogStore> {
        match self {
            Self::Sqlite(s, _) => Arc::new(s.clone()),
            Self::Postgres(s, _) => Arc::new(s.clone()),
            Self::MySql(s, _) => Arc::new(s.clone()),
        }
    }

    /// Usage buckets (tables `apikey_usage_buckets` and `apikey_usage_batches`).
    pub(crate) fn analytics(&self) -> Arc<dyn apikey_core::analytics::AnalyticsStore> {
        match self {
            Self::Sqlite(s, _) => Arc::new(s.clone()),
            Self::Postgres(s, _) => Arc::new(s.clone()),
            Self::MySql(s, _) => Arc::new(s.clone()),
        }
    }

    /// Webhook subscriptions and deliveries.
    pub(crate) fn webhook_store(&self) -> Arc<dyn apikey_core::webhook::WebhookStore> {
        match self {
            Self::Sqlite(s, _) => Arc::new(s.clone()),
            Self::Postgres(s, _) => Arc::new(s.clone()),
            Self::MySql(s, _) => Arc::new(s.clone()),
        }
    }

    /// Aliases several keys of one tenant share (from before they were unique per tenant).
    pub(crate) async fn duplicate_aliases(
        &self,
    ) -> apikey_core::Result<Vec<apikey_sqlx::DuplicateAlias>> {
        match self {
            Self::Sqlite(s, _) => s.duplicate_aliases().await,
            Self::Postgres(s, _) => s.duplicate_aliases().await,
            Self::MySql(s, _) => s.duplicate_aliases().await,
        }
    }

    /// Closes the pool, waiting for connections to finish.
    pub(crate) async fn close(&self) {
        match self {
            Self::Sqlite(_, p) => p.close().await,
            Self::Postgres(_, p) => p.close().await,
            Self::MySql(_, p) => p.close().await,
        }
    }
}

/// The file of a `sqlite:` URL, as written (relative paths stay relative).
fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.split_once(':')?.1;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    Some(Path::new(path).display().to_string())
}

/// Splits `scheme://authority/rest` into its parts.
fn authority(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((scheme, &rest[..end], &rest[end..]))
}

/// `host[:port]` of a server URL.
fn authority_host(url: &str) -> String {
    match authority(url) {
        Some((_, auth, _)) => auth.rsplit_once('@').map_or(auth, |(_, h)| h).to_owned(),
        None => "(unknown host)".to_owned(),
    }
}

/// The URL with the password (in the user info or a `password=` parameter) replaced by `***`, and
/// the secrets removed.
pub(crate) fn redact(url: &str) -> (String, Vec<String>) {
    let mut secrets = Vec::new();
    let mut out = url.to_owned();
    if let Some((scheme, auth, rest)) = authority(url)
        && let Some((userinfo, host)) = auth.rsplit_once('@')
        && let Some((user, password)) = userinfo.split_once(':')
        && !password.is_empty()
    {
        secrets.push(password.to_owned());
        out = format!("{scheme}://{user}:***@{host}{rest}");
    }
    if let Some((base, query)) = out.clone().split_once('?') {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, v)) if k.eq_ignore_ascii_case("password") && !v.is_empty() => {
                    secrets.push(v.to_owned());
                    format!("{k}=***")
                }
                _ => p.to_owned(),
            })
            .collect();
        out = format!("{base}?{}", params.join("&"));
    }
    let decoded: Vec<String> = secrets.iter().filter_map(|s| percent_decode(s)).collect();
    secrets.extend(decoded);
    secrets.retain(|s| s.len() >= 2);
    (out, secrets)
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let t =
            Target::parse("postgres://app:s3cr%40t@db.example:5432/keys?sslmode=require").unwrap();
        assert_eq!(
            t.redacted,
            "postgres://app:***@db.example:5432/keys?sslmode=require"
        );
        assert_eq!(t.place, "db.example:5432");
        assert_eq!(
            t.scrub("bad password s3cr@t for app"),
            "bad password *** for app"
        );
        let q = Target::parse("mysql://db/keys?user=a&password=hunter2").unwrap();
        assert_eq!(q.redacted, "mysql://db/keys?user=a&password=***");
        assert!(!q.scrub("hunter2 rejected").contains("hunter2"));
    }

    #[test]
    fn schemes_and_sqlite_files() {
        assert!(Target::parse("redis://x").is_err());
        assert!(Target::parse("apikeys.db").is_err());
        let d = Target::parse(crate::cli::DEFAULT_DATABASE_URL).unwrap();
        assert!(d.is_default);
        assert_eq!(d.sqlite_file().unwrap(), PathBuf::from("apikeys.db"));
        assert!(
            Target::parse("sqlite::memory:")
                .unwrap()
                .sqlite_file()
                .is_none()
        );
        assert_eq!(Target::parse("mariadb://h/x").unwrap().kind(), Kind::MySql);
        assert_eq!(
            Target::parse("postgresql://h/x").unwrap().kind(),
            Kind::Postgres
        );
    }
}
