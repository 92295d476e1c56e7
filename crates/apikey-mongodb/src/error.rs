//! Classifying driver errors into the core [`Error`]: a duplicate key is `Conflict`, an
//! unreachable or overloaded server is `Unavailable`, anything else is `Backend`. The driver's
//! error is always kept as the source.

use apikey_core::{Error, ErrorKind};
use mongodb::error::{Error as DriverError, ErrorKind as DriverKind, WriteFailure};

/// MongoDB's duplicate key codes (`E11000` and its legacy update variant).
pub(crate) const DUPLICATE_KEY: [i32; 2] = [11000, 11001];

/// Server codes for a document over the server's size limit (`BSONObjectTooLarge`, and an update
/// whose result would be too large).
const TOO_LARGE: [i32; 3] = [10334, 17419, 17420];

/// Server codes that mean "try again later": the node is stepping down, shutting down, out of
/// time, or not reachable from the node that answered.
const TRANSIENT: [i32; 13] = [
    6,     // HostUnreachable
    7,     // HostNotFound
    50,    // MaxTimeMSExpired
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// The server code of a command or write error, if there is one.
pub(crate) fn server_code(e: &DriverError) -> Option<i32> {
    match e.kind.as_ref() {
        DriverKind::Command(c) => Some(c.code),
        DriverKind::Write(WriteFailure::WriteError(w)) => Some(w.code),
        DriverKind::Write(WriteFailure::WriteConcernError(w)) => Some(w.code),
        DriverKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .and_then(|errs| errs.first())
            .map(|w| w.code),
        _ => None,
    }
}

/// Whether `e` is a unique-index violation.
pub(crate) fn is_duplicate_key(e: &DriverError) -> bool {
    server_code(e).is_some_and(|c| DUPLICATE_KEY.contains(&c))
}

/// The driver error as a core error; `doing` names the operation for the message.
pub(crate) fn driver(doing: &'static str, e: DriverError) -> Error {
    let kind = classify(&e);
    let message = match kind {
        ErrorKind::Conflict => format!("{doing}: a key with this id or lookup id already exists"),
        ErrorKind::Unavailable => format!("{doing}: MongoDB is unavailable"),
        ErrorKind::InvalidInput => {
            format!("{doing}: the document is over the server's size limit or otherwise refused")
        }
        _ => format!("{doing}: MongoDB error"),
    };
    Error::new(kind, message).with_source(e)
}

fn classify(e: &DriverError) -> ErrorKind {
    if is_duplicate_key(e) {
        return ErrorKind::Conflict;
    }
    if server_code(e).is_some_and(|c| TOO_LARGE.contains(&c)) {
        return ErrorKind::InvalidInput;
    }
    if e.contains_label("RetryableWriteError")
        || e.contains_label("TransientTransactionError")
        || server_code(e).is_some_and(|c| TRANSIENT.contains(&c))
    {
        return ErrorKind::Unavailable;
    }
    match e.kind.as_ref() {
        DriverKind::Io(_)
        | DriverKind::ServerSelection { .. }
        | DriverKind::ConnectionPoolCleared { .. }
        | DriverKind::DnsResolve { .. }
        | DriverKind::Shutdown => ErrorKind::Unavailable,
        // The driver refuses a document over the server's `maxBsonObjectSize` before sending it.
        DriverKind::InvalidArgument { .. } => ErrorKind::InvalidInput,
        DriverKind::Authentication { .. } | DriverKind::InvalidTlsConfig { .. } => {
            ErrorKind::Config
        }
        _ => ErrorKind::Backend,
    }
}

/// A document that does not convert to or from BSON: corrupt data or a bug, so `Backend`.
pub(crate) fn bson(
    doing: &'static str,
    e: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::backend(format!("{doing}: BSON conversion failed"), e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_and_selection_are_unavailable_and_keep_the_source() {
        let io = DriverError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let e = driver("get", io);
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(std::error::Error::source(&e).is_some());
    }
}
