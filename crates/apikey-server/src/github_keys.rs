//! GitHub's secret-scanning public keys: which key signed an alert, from a file in the shape GitHub
//! serves (air-gapped use, tests) or from GitHub's URL, cached.
//!
//! An alert names its key (`Github-Public-Key-Identifier`) and carries an ECDSA P-256 / SHA-256
//! signature of its raw body (`Github-Public-Key-Signature`, base64 DER). GitHub rotates its keys by
//! publishing the new one beside the old, so an identifier the cache does not know makes the URL
//! source fetch again, at most once a minute (an unknown identifier cannot make the service
//! hammer GitHub).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey as _;
use serde::Deserialize;
use tokio::sync::Mutex;

/// GitHub's public keys for secret-scanning partners.
pub const GITHUB_KEYS_URL: &str = "https://api.github.com/meta/public_keys/secret_scanning";

/// How long keys fetched from the URL are used before fetching again.
const FRESH_FOR: Duration = Duration::from_secs(3600);
/// The least time between two fetches, however many unknown identifiers arrive.
const REFETCH_AFTER: Duration = Duration::from_secs(60);

/// Why an alert's signature was not accepted, or the keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// A header is missing, the signature is not base64 DER, the key is unknown, or the signature
    /// does not match the body. The alert is refused (401).
    Invalid(&'static str),
    /// The keys could not be fetched (the URL source); the alert should be retried (503).
    KeysUnavailable(String),
}

/// The document GitHub serves.
#[derive(Deserialize)]
struct Document {
    public_keys: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    key_identifier: String,
    key: String,
    // `is_current` says which key GitHub signs with now; an alert signed with an older key that is
    // still published is still GitHub's, so every published key is accepted.
}

type KeySet = HashMap<String, VerifyingKey>;

fn parse(json: &[u8]) -> Result<KeySet, String> {
    let doc: Document = serde_json::from_slice(json)
        .map_err(|e| format!("not GitHub's public-keys document: {e}"))?;
    doc.public_keys
        .into_iter()
        .map(|e| {
            VerifyingKey::from_public_key_pem(e.key.trim())
                .map(|k| (e.key_identifier.clone(), k))
                .map_err(|err| {
                    format!(
                        "key {:?} is not a PEM P-256 public key: {err}",
                        e.key_identifier
                    )
                })
        })
        .collect()
}

#[derive(Debug)]
enum Source {
    Fixed,
    Url {
        url: String,
        client: reqwest::Client,
        cache: Mutex<Fetched>,
        refetch_after: Duration,
    },
}

#[derive(Debug, Default)]
struct Fetched {
    keys: Arc<KeySet>,
    at: Option<Instant>,
}

/// The keys alerts are checked against.
#[derive(Debug)]
pub struct GithubKeys {
    fixed: Arc<KeySet>,
    source: Source,
}

impl GithubKeys {
    /// The keys in `json`, GitHub's document (`{"public_keys": [{"key_identifier", "key",
    /// "is_current"}]}` with PEM keys).
    ///
    /// # Errors
    ///
    /// When it is not that document or a key is not a P-256 public key.
    pub fn from_json(json: &[u8]) -> Result<Self, String> {
        Ok(Self {
            fixed: Arc::new(parse(json)?),
            source: Source::Fixed,
        })
    }

    /// The keys in the file at `path`, read now.
    ///
    /// # Errors
    ///
    /// When it cannot be read or [`from_json`](Self::from_json) refuses it.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_json(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The keys served at `url` (GitHub's is [`GITHUB_KEYS_URL`]), fetched on first use, used for
    /// an hour, and fetched again early when an alert names a key not yet seen.
    ///
    /// # Errors
    ///
    /// When the HTTP client cannot be built.
    pub fn from_url(url: impl Into<String>) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            // GitHub's API refuses requests without one.
            .user_agent(concat!("apikey-server/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            fixed: Arc::default(),
            source: Source::Url {
                url: url.into(),
                client,
                cache: Mutex::default(),
                refetch_after: REFETCH_AFTER,
            },
        })
    }

    /// The least time between two fetches for identifiers not yet seen (default a minute); the
    /// keys are fetched again after an hour whatever it is. No effect on keys from a file.
    #[must_use]
    pub fn refetch_after(mut self, least: Duration) -> Self {
        if let Source::Url { refetch_after, .. } = &mut self.source {
            *refetch_after = least;
        }
        self
    }

    /// `--github-keys`: a URL (`http://` or `https://`) or a file.
    ///
    /// # Errors
    ///
    /// As [`from_url`](Self::from_url) or [`from_file`](Self::from_file).
    pub fn from_arg(arg: &str) -> Result<Self, String> {
        if arg.starts_with("https://") || arg.starts_with("http://") {
            Self::from_url(arg)
        } else {
            Self::from_file(Path::new(arg))
        }
    }

    async fn key(&self, id: &str) -> Result<Option<VerifyingKey>, SignatureError> {
        let Source::Url {
            url,
            client,
            cache,
            refetch_after,
        } = &self.source
        else {
            return Ok(self.fixed.get(id).copied());
        };
        let mut fetched = cache.lock().await;
        let age = fetched.at.map(|at| at.elapsed());
        let stale = age.is_none_or(|a| a >= FRESH_FOR);
        let unknown = !fetched.keys.contains_key(id) && age.is_none_or(|a| a >= *refetch_after);
        if stale || unknown {
            match fetch(client, url).await {
                Ok(keys) => {
                    fetched.keys = Arc::new(keys);
                    fetched.at = Some(Instant::now());
                }
                // Keys fetched before still verify what they signed.
                Err(e) if fetched.at.is_some() => {
                    tracing::warn!(error = %e, "could not refresh GitHub's public keys");
                }
                Err(e) => return Err(SignatureError::KeysUnavailable(e)),
            }
        }
        Ok(fetched.keys.get(id).copied())
    }

    /// Checks that the key named `identifier` signed `body` with `signature` (base64 DER).
    ///
    /// # Errors
    ///
    /// [`SignatureError::Invalid`] when it did not; [`SignatureError::KeysUnavailable`] when the
    /// keys could not be fetched.
    pub async fn verify(
        &self,
        identifier: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let der = base64::engine::general_purpose::STANDARD
            .decode(signature.trim())
            .map_err(|_| SignatureError::Invalid("the signature is not base64"))?;
        let sig = Signature::from_der(&der)
            .map_err(|_| SignatureError::Invalid("the signature is not a DER ECDSA signature"))?;
        let key = self.key(identifier).await?.ok_or(SignatureError::Invalid(
            "the signing key is not one of GitHub's",
        ))?;
        key.verify(body, &sig)
            .map_err(|_| SignatureError::Invalid("the signature does not match the body"))
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<KeySet, String> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("{url} answered {}", resp.status()));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("cannot read {url}: {e}"))?;
    parse(&body)
}
