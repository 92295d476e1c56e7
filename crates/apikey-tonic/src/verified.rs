//! Reading the verified key inside a tonic handler.

use apikey_core::Verified;
use tonic::{Request, Status};

/// The key [`ApiKeyLayer`](crate::ApiKeyLayer) verified, read from a tonic request.
pub trait RequestVerifiedExt {
    /// The verified key; `None` on public methods or when no layer ran.
    fn verified(&self) -> Option<&Verified>;

    /// The verified key, or `INTERNAL` when no layer ran on this method (a wiring mistake, not a
    /// client error).
    fn require_verified(&self) -> Result<&Verified, Status> {
        self.verified().ok_or_else(|| {
            Status::internal(
                "no API key was verified for this method: the ApiKeyLayer is not installed on it",
            )
        })
    }
}

impl<T> RequestVerifiedExt for Request<T> {
    fn verified(&self) -> Option<&Verified> {
        self.extensions().get::<Verified>()
    }
}
