//! [`UnknownPreset`]: the typed cause of a creation that named a template or group the catalog
//! does not have, so callers (the CLI's hint, an HTTP 404 body) need not parse a message.

use std::fmt;

use super::CatalogKind;
use crate::error::{Error, ErrorKind};

/// The cause carried by the [`ErrorKind::NotFound`] error of an unknown template or group. Read
/// it back with [`UnknownPreset::of`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UnknownPreset {
    /// Template or group.
    pub kind: CatalogKind,
    /// The name asked for.
    pub name: String,
}

impl fmt::Display for UnknownPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The name is the caller's input: Debug, so control characters cannot forge log lines.
        write!(f, "unknown {} {:?}", self.kind, self.name)
    }
}

impl UnknownPreset {
    /// The core error: kind [`ErrorKind::NotFound`], this as its message and its source.
    pub fn into_error(self) -> Error {
        Error::new(ErrorKind::NotFound, self.to_string()).with_source(self)
    }

    /// The unknown preset behind `err`, if that is what it is.
    pub fn of(err: &Error) -> Option<&Self> {
        std::error::Error::source(err).and_then(|s| s.downcast_ref::<Self>())
    }
}
