//! What stops an import as a whole (as opposed to one row, which is reported and skipped).

/// Why a nest-api-key-auth source could not be read, or the import could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NestError {
    /// The URL names no source this build reads.
    #[error(
        "unsupported source {0}: expected postgres://, mysql://, sqlite: or mongodb:// (with the crate feature enabled)"
    )]
    Unsupported(String),
    /// The source did not answer, refused the login, or the file is missing.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL, without its password.
        url: String,
        /// The driver's message.
        reason: String,
    },
    /// There is no `api_keys` table.
    #[error("{url} has no api_keys table")]
    NoTable {
        /// The URL, without its password.
        url: String,
    },
    /// `api_keys` exists but lacks columns every shape the library writes has.
    #[error("api_keys does not look like nest-api-key-auth's table: missing columns {}", missing.join(", "))]
    UnknownShape {
        /// The columns not found.
        missing: Vec<String>,
    },
    /// Reading the rows failed part-way.
    #[error("reading {url}: {reason}")]
    Read {
        /// The URL, without its password.
        url: String,
        /// The driver's message.
        reason: String,
    },
    /// Writing the keys failed (nothing is reported imported when this happens).
    #[error("importing: {0}")]
    Import(#[from] apikey_core::Error),
}

/// `url` with any password replaced by `***`, for messages: connection strings carry credentials.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            if user.len() < authority.len() - host.len() - 1 {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                format!("{scheme}://{user}@{host}{tail}")
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/keys"),
            "postgres://app:***@db:5432/keys"
        );
        assert_eq!(redact("mysql://root@h/test"), "mysql://root@h/test");
        assert_eq!(redact("sqlite:/tmp/a.db"), "sqlite:/tmp/a.db");
        assert_eq!(
            redact("mongodb://u:p@w@h:1/db?x=1"),
            "mongodb://u:***@h:1/db?x=1"
        );
    }
}
