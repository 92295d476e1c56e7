//! Signing secrets once opened, by key: opening one is an AES-256-GCM decryption (and key
//! schedule) per request otherwise — about a third of a signed request's cost in the guard. An
//! entry is used only while the key's sealed text is the one it was opened from, so a rotation
//! or removal takes effect with the record the verifier hands over.

use std::collections::HashMap;
use std::fmt;

use parking_lot::Mutex;

use super::sealing::open;
use super::secret::SigningSecret;
use crate::error::Result;
use crate::ids::KeyId;
use crate::secret_box::SecretBox;

/// Most keys whose secrets are kept open; past it the cache starts over (each key then pays one
/// decryption again).
const CAPACITY: usize = 10_000;

/// A key's opened secrets with the sealed texts they came from: the current one and, during a
/// rotation's grace period, the previous one.
type Opened = Vec<(String, SigningSecret)>;

/// Opened secrets by key. Secrets are wiped when dropped; `Debug` shows a count.
#[derive(Default)]
pub(crate) struct OpenedSecrets(Mutex<HashMap<KeyId, Opened>>);

impl fmt::Debug for OpenedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpenedSecrets({} keys)", self.0.lock().len())
    }
}

impl OpenedSecrets {
    /// Key `id`'s secret sealed as `sealed`, opened now or earlier.
    pub(crate) fn get(&self, sbox: &SecretBox, id: KeyId, sealed: &str) -> Result<SigningSecret> {
        if let Some(opened) = self.0.lock().get(&id)
            && let Some((_, secret)) = opened.iter().find(|(s, _)| s == sealed)
        {
            return Ok(secret.clone());
        }
        let secret = open(sbox, id, sealed)?;
        let mut map = self.0.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        let opened = map.entry(id).or_default();
        // Two texts at most: a third means a rotation happened and the oldest is stale.
        if opened.len() >= 2 {
            opened.remove(0);
        }
        opened.push((sealed.to_owned(), secret.clone()));
        Ok(secret)
    }
}
