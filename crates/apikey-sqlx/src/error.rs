//! Classifying sqlx errors into core [`ErrorKind`]s, keeping the driver error as the source.
//!
//! Messages name the database and the operation only: driver messages can quote values, so they
//! stay in the source chain (for logs a deployment controls) and never in our message.

use apikey_core::{Error, ErrorKind};

/// What a caller can do about `e`: retry later, fix the input, reload, or nothing.
pub(crate) fn kind_of(e: &sqlx::Error) -> ErrorKind {
    match e {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return ErrorKind::Conflict;
            }
            let code = db.code();
            database_code_kind(code.as_deref().unwrap_or(""))
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => ErrorKind::Unavailable,
        sqlx::Error::Configuration(_) => ErrorKind::Config,
        _ => ErrorKind::Backend,
    }
}

/// SQLSTATE classes (PostgreSQL, MySQL/MariaDB) and SQLite result codes.
fn database_code_kind(code: &str) -> ErrorKind {
    match code {
        // Connection exceptions, insufficient resources, operator intervention (shutdown).
        c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57") => {
            ErrorKind::Unavailable
        }
        // Serialization failure and deadlock: the transaction lost a race; reload and retry.
        "40001" | "40P01" => ErrorKind::Conflict,
        // Data exceptions (bad encoding, value too long, out of range) and program limits
        // (an index row too large): the input cannot be stored.
        c if c.starts_with("22") || c == "54000" => ErrorKind::InvalidInput,
        // SQLite: BUSY and LOCKED, with their extended codes.
        "5" | "6" | "261" | "262" | "517" => ErrorKind::Unavailable,
        // SQLite: TOOBIG.
        "18" => ErrorKind::InvalidInput,
        _ => ErrorKind::Backend,
    }
}

/// Wraps `e` as a core error of its kind: `"{db}: {what} failed"` with `e` as the source.
pub(crate) fn classify(db: &'static str, what: &'static str, e: sqlx::Error) -> Error {
    let kind = kind_of(&e);
    let detail = match kind {
        ErrorKind::Conflict => "a unique constraint or a concurrent change refused it",
        ErrorKind::Unavailable => "the database is unreachable or busy",
        ErrorKind::InvalidInput => "the database cannot store the value",
        ErrorKind::Config => "the connection is misconfigured",
        _ => "the database reported an error",
    };
    Error::new(kind, format!("{db}: {what} failed: {detail}")).with_source(e)
}

/// A closure for `map_err` that classifies with `db` and `what`.
pub(crate) fn ctx(db: &'static str, what: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| classify(db, what, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_io_failures_are_unavailable() {
        assert_eq!(kind_of(&sqlx::Error::PoolTimedOut), ErrorKind::Unavailable);
        assert_eq!(kind_of(&sqlx::Error::PoolClosed), ErrorKind::Unavailable);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(kind_of(&sqlx::Error::Io(refused)), ErrorKind::Unavailable);
        assert_eq!(kind_of(&sqlx::Error::RowNotFound), ErrorKind::Backend);
    }

    #[test]
    fn sqlstate_classes() {
        assert_eq!(database_code_kind("08006"), ErrorKind::Unavailable);
        assert_eq!(database_code_kind("57P01"), ErrorKind::Unavailable);
        assert_eq!(database_code_kind("40P01"), ErrorKind::Conflict);
        assert_eq!(database_code_kind("22021"), ErrorKind::InvalidInput);
        assert_eq!(database_code_kind("54000"), ErrorKind::InvalidInput);
        assert_eq!(database_code_kind("517"), ErrorKind::Unavailable);
        assert_eq!(database_code_kind("42P01"), ErrorKind::Backend);
    }

    #[test]
    fn keeps_the_source_and_names_no_value() {
        let e = classify("PostgreSQL", "insert key", sqlx::Error::PoolTimedOut);
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(
            e.to_string()
                .starts_with("unavailable: PostgreSQL: insert key failed")
        );
        assert!(std::error::Error::source(&e).is_some());
    }
}
