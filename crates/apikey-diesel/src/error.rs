//! Classifying diesel and pool errors into core [`ErrorKind`]s, keeping the driver error as the
//! source.
//!
//! Messages name the database and the operation only: driver messages can quote values, so they
//! stay in the source chain (for logs a deployment controls) and never in our message.

use apikey_core::{Error, ErrorKind};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// The pool's error type (`deadpool` over diesel-async's connection manager).
pub(crate) type PoolError =
    deadpool::managed::PoolError<diesel_async::pooled_connection::PoolError>;

/// What a caller can do about `e`: retry later, fix the input, reload, or nothing.
pub(crate) fn kind_of(e: &DieselError) -> ErrorKind {
    match e {
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure => {
                ErrorKind::Conflict
            }
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                ErrorKind::Unavailable
            }
            _ => message_kind(info.message()),
        },
        DieselError::BrokenTransactionManager => ErrorKind::Unavailable,
        _ => ErrorKind::Backend,
    }
}

/// diesel exposes no SQLSTATE; the few messages that matter are fixed texts of the servers.
fn message_kind(message: &str) -> ErrorKind {
    let m = message.to_ascii_lowercase();
    if m.contains("database is locked") || m.contains("database table is locked") {
        // SQLite BUSY / LOCKED: another writer held the lock past the busy timeout.
        ErrorKind::Unavailable
    } else if m.contains("deadlock") {
        // The transaction lost a race; reload and retry.
        ErrorKind::Conflict
    } else {
        ErrorKind::Backend
    }
}

/// The kind of a pool failure: every one means no connection now.
pub(crate) fn pool_kind(e: &PoolError) -> ErrorKind {
    match e {
        deadpool::managed::PoolError::Backend(
            diesel_async::pooled_connection::PoolError::QueryError(q),
        ) => match kind_of(q) {
            ErrorKind::Backend => ErrorKind::Unavailable,
            k => k,
        },
        _ => ErrorKind::Unavailable,
    }
}

fn detail(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Conflict => "a unique constraint or a concurrent change refused it",
        ErrorKind::Unavailable => "the database is unreachable or busy",
        ErrorKind::InvalidInput => "the database cannot store the value",
        ErrorKind::Config => "the connection is misconfigured",
        _ => "the database reported an error",
    }
}

/// Wraps `e` as a core error of its kind: `"{db}: {what} failed"` with `e` as the source.
pub(crate) fn classify(db: &'static str, what: &'static str, e: DieselError) -> Error {
    let kind = kind_of(&e);
    Error::new(kind, format!("{db}: {what} failed: {}", detail(kind))).with_source(e)
}

/// A closure for `map_err` that classifies with `db` and `what`.
pub(crate) fn ctx(db: &'static str, what: &'static str) -> impl FnOnce(DieselError) -> Error {
    move |e| classify(db, what, e)
}

/// Wraps a pool failure (timeout, closed pool, refused connection) as `Unavailable`.
pub(crate) fn pool(db: &'static str, e: PoolError) -> Error {
    let kind = pool_kind(&e);
    Error::new(
        kind,
        format!("{db}: acquire connection failed: {}", detail(kind)),
    )
    .with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn database_kinds() {
        assert_eq!(
            kind_of(&db(DatabaseErrorKind::UniqueViolation, "dup")),
            ErrorKind::Conflict
        );
        assert_eq!(
            kind_of(&db(DatabaseErrorKind::SerializationFailure, "x")),
            ErrorKind::Conflict
        );
        assert_eq!(
            kind_of(&db(DatabaseErrorKind::ClosedConnection, "x")),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind_of(&db(DatabaseErrorKind::Unknown, "database is locked")),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind_of(&db(
                DatabaseErrorKind::Unknown,
                "Deadlock found when trying to get lock"
            )),
            ErrorKind::Conflict
        );
        assert_eq!(
            kind_of(&db(DatabaseErrorKind::Unknown, "syntax")),
            ErrorKind::Backend
        );
        assert_eq!(kind_of(&DieselError::NotFound), ErrorKind::Backend);
    }

    #[test]
    fn pool_failures_are_unavailable() {
        let e: PoolError = deadpool::managed::PoolError::Closed;
        assert_eq!(pool_kind(&e), ErrorKind::Unavailable);
        let e = pool("PostgreSQL", e);
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn keeps_the_source_and_names_no_value() {
        let e = classify(
            "PostgreSQL",
            "insert key",
            db(
                DatabaseErrorKind::UniqueViolation,
                "Key (lookup_id)=(secret) exists",
            ),
        );
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert!(!e.to_string().contains("secret"));
        assert!(std::error::Error::source(&e).is_some());
    }
}
