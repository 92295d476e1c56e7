//! Exit codes and the error a command fails with: a message that says what to do, an optional hint,
//! and the exit code scripts branch on.

use std::fmt;
use std::process::ExitCode;

use apikey_core::ErrorKind;

/// The documented exit codes (also in `apikey --help` and the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Success; for `verify`, the token is valid.
    Ok = 0,
    /// `verify` rejected the token, or an unexpected database error.
    Failure = 1,
    /// Usage error or invalid input (clap uses 2 for usage errors too).
    Usage = 2,
    /// No such key.
    NotFound = 3,
    /// The database is unreachable or unavailable.
    Unavailable = 4,
    /// A concurrent change or a duplicate.
    Conflict = 5,
    /// Configuration: missing or invalid pepper.
    Config = 6,
    /// The change is committed, but the running services could not be told.
    NotPropagated = 7,
    /// A tenant setting refused the creation (maximum keys per tenant or owner reached).
    LimitReached = 8,
    /// The change is committed, but not every running instance confirmed it in time.
    NotConfirmed = 9,
    /// Interrupted by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Why a command failed.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) exit: Exit,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

impl CliError {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(Exit::Config, message)
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Exit::Unavailable, message)
    }

    #[must_use]
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The error of a call about key `id`: a missing key gets the message people act on.
    pub(crate) fn for_key(e: apikey_core::Error, id: impl fmt::Display) -> Self {
        if e.kind() == ErrorKind::NotFound {
            Self::new(Exit::NotFound, format!("no key with id {id}"))
                .hint("run `apikey list` to see ids (add --all to include revoked keys)")
        } else {
            Self::from(e)
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The message of `e` followed by its causes, `: `-separated.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

impl From<apikey_core::Error> for CliError {
    fn from(e: apikey_core::Error) -> Self {
        match e.kind() {
            ErrorKind::NotFound => Self::new(Exit::NotFound, e.message().to_owned())
                .hint("run `apikey list` to see ids"),
            ErrorKind::Conflict => Self::new(Exit::Conflict, e.message().to_owned())
                .hint("the key changed while this command ran, or it exists already; run `apikey show` and retry"),
            ErrorKind::InvalidInput => Self::usage(e.message().to_owned()),
            ErrorKind::Unavailable => Self::unavailable(format!(
                "the database is unavailable: {}",
                chain(&e)
            ))
            .hint("check that the database is running and that --database-url (or DATABASE_URL) points at it"),
            ErrorKind::Config => Self::config(e.message().to_owned()),
            ErrorKind::NotPropagated => Self::new(Exit::NotPropagated, chain(&e))
                .hint("the change is saved; do not repeat it. Check Redis (--redis-url): until it is reachable, running services learn of the change only when their cache entry expires"),
            ErrorKind::LimitReached => Self::new(Exit::LimitReached, e.message().to_owned())
                .hint("revoke keys the owner or tenant no longer needs, or raise the limit in the tenant's settings"),
            _ => Self::new(Exit::Failure, format!("database error: {}", chain(&e)))
                .hint("if the schema is missing or old, run `apikey migrate`"),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::new(Exit::Failure, format!("i/o error: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_documented_codes() {
        let code = |k| CliError::from(apikey_core::Error::new(k, "x")).exit as u8;
        assert_eq!(code(ErrorKind::NotFound), 3);
        assert_eq!(code(ErrorKind::Conflict), 5);
        assert_eq!(code(ErrorKind::InvalidInput), 2);
        assert_eq!(code(ErrorKind::Unavailable), 4);
        assert_eq!(code(ErrorKind::Config), 6);
        assert_eq!(code(ErrorKind::Backend), 1);
        assert_eq!(code(ErrorKind::LimitReached), 8);
        let nf = CliError::for_key(apikey_core::Error::not_found("k"), "abc");
        assert_eq!(nf.message, "no key with id abc");
        assert!(nf.hint.unwrap().contains("apikey list"));
    }
}
