//! The KEK file beside a SQLite database, as the pepper has one: for the embedded default, where
//! no operator sets `APIKEY_KEK`, every binary (the CLI, the quick start, `apikey serve`) finds
//! the same key next to the database.

use std::path::{Path, PathBuf};

use base64::Engine;
use zeroize::Zeroizing;

use super::config::{KEK_ENV, KekConfig};
use super::kek::{KEK_BYTES, Keks};
use crate::error::{Error, ErrorKind};

/// Where the KEKs in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KekSource {
    /// `APIKEY_KEK`.
    Env,
    /// The existing file beside the database.
    File(PathBuf),
    /// A file made now, beside the database (mode 0600).
    Created(PathBuf),
}

/// `<db file>.kek`.
pub fn kek_file_beside(db_file: &Path) -> PathBuf {
    let mut file = db_file.as_os_str().to_owned();
    file.push(".kek");
    PathBuf::from(file)
}

fn config(message: String) -> Error {
    Error::new(ErrorKind::Config, message)
}

impl KekConfig {
    /// The KEKs: `APIKEY_KEK` when set, else the file beside the SQLite database `db_file`;
    /// with `create`, a missing file is made (a fresh random key `k1`, mode 0600). Without it, a
    /// missing file is a configuration error naming both ways to provide one.
    pub fn load_beside(&self, db_file: &Path, create: bool) -> Result<(Keks, KekSource), Error> {
        if self.is_set() {
            return Ok((self.load()?, KekSource::Env));
        }
        let file = kek_file_beside(db_file);
        if file.exists() {
            let spec = Zeroizing::new(std::fs::read_to_string(&file).map_err(|e| {
                config(format!("cannot read the KEK file {}: {e}", file.display())).with_source(e)
            })?);
            let keks = Keks::from_spec(spec.trim()).map_err(|e| {
                config(format!(
                    "the KEK file {} is not valid: {}",
                    file.display(),
                    e.message()
                ))
            })?;
            return Ok((keks, KekSource::File(file)));
        }
        if !create {
            return Err(config(format!(
                "no KEK: set {KEK_ENV}, or let a command that seals a secret make {}",
                file.display()
            )));
        }
        let mut key = Zeroizing::new([0u8; KEK_BYTES]);
        getrandom::fill(&mut key[..])
            .map_err(|e| config(format!("no OS random source for a new KEK: {e}")))?;
        let spec = Zeroizing::new(format!(
            "k1={}",
            base64::engine::general_purpose::STANDARD.encode(&key[..])
        ));
        crate::private_file::create_private(&file, spec.as_bytes()).map_err(|e| {
            config(format!(
                "cannot create the KEK file {}: {e}",
                file.display()
            ))
            .with_source(e)
        })?;
        Ok((Keks::from_spec(&spec)?, KekSource::Created(file)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_read_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("keys.db");
        let none = KekConfig::with_spec(None);
        let e = none.load_beside(&db, false).unwrap_err();
        assert!(e.message().contains("APIKEY_KEK"), "{}", e.message());
        let (made, source) = none.load_beside(&db, true).unwrap();
        assert_eq!(source, KekSource::Created(kek_file_beside(&db)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(kek_file_beside(&db))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (read, source) = none.load_beside(&db, true).unwrap();
        assert_eq!(source, KekSource::File(kek_file_beside(&db)));
        // The same key: what one seals, the other opens.
        let binding = super::super::Binding::new("t", "p");
        let sealed = super::super::SecretBox::new(made)
            .seal(b"x", &binding)
            .unwrap();
        assert_eq!(
            &super::super::SecretBox::new(read)
                .open(&sealed, &binding)
                .unwrap()[..],
            b"x"
        );
        let env = KekConfig::with_spec(Some(
            "k9=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
        ));
        assert_eq!(env.load_beside(&db, true).unwrap().1, KekSource::Env);
    }
}
