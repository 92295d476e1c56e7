//! The token sink of `apikey jobs run --token-sink-dir DIR`: each token a rotation policy
//! produced is written to `DIR/<key id>.token`, readable by its owner only, created new (an
//! existing file is never overwritten) and synced before the rotation counts as delivered.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use apikey_core::jobs::builtin::TokenSink;
use apikey_core::{Error, KeyRecord, Result, Token};
use async_trait::async_trait;

/// Writes tokens into a directory, one file per key.
pub(crate) struct DirSink {
    dir: PathBuf,
}

impl DirSink {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

impl fmt::Debug for DirSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirSink").field("dir", &self.dir).finish()
    }
}

#[async_trait]
impl TokenSink for DirSink {
    async fn deliver(&self, key: &KeyRecord, token: &Token) -> Result<()> {
        let path = self.dir.join(format!("{}.token", key.id));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        // The message names the file, never the token.
        let failed = |e: std::io::Error| {
            Error::unavailable(format!(
                "cannot write the new token to {}: {e}",
                path.display()
            ))
        };
        let mut file = options.open(&path).map_err(failed)?;
        file.write_all(token.expose().as_bytes()).map_err(failed)?;
        file.write_all(b"\n").map_err(failed)?;
        file.sync_all().map_err(failed)?;
        Ok(())
    }
}
