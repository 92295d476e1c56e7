//! Hashing of key secrets.
//!
//! The default is HMAC-SHA-256 under a server-side pepper: keys are ≥ 190-bit random, so a fast
//! keyed hash is the right verifier (NIST SP 800-63B §5.1.2.2) and a cold verification costs
//! microseconds. Argon2id and bcrypt are there for teams whose policy requires them; they run on a
//! blocking thread behind a cap on concurrent slow hashes, and the verifier caches an HMAC of a
//! token once it verified, so each key pays the slow hash once per cache TTL.
//!
//! Crates: `hmac`/`sha2` and `argon2` (RustCrypto, audited and widely used), `bcrypt` (its
//! `non_truncating_*` functions refuse input over 72 bytes instead of silently cutting it),
//! `subtle` for constant-time comparison.

mod digest;
pub(crate) mod pepper;
mod pepper_source;
mod seal;
mod stored;

pub use digest::DigestKey;
pub use pepper::{MIN_PEPPER_BYTES, PepperId, Peppers, PeppersBuilder};
pub use pepper_source::{
    EPHEMERAL_ENV, LoadedPeppers, PEPPER_ENV, PepperConfig, PepperPlan, PepperSource,
    RAW_FILE_PEPPER_ID, create_pepper_file, pepper_file_beside, read_pepper_file,
};
pub use seal::Sealer;
pub use stored::StoredHash;

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// Which hasher new keys get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashAlgorithm {
    /// HMAC-SHA-256 with the current pepper (default, fast).
    #[default]
    HmacSha256,
    /// Argon2id (slow, memory-hard).
    Argon2id,
    /// bcrypt (slow).
    Bcrypt,
}

/// Argon2id cost parameters (defaults: OWASP's m = 19 MiB, t = 2, p = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// Whether the secret matched.
    pub matched: bool,
    /// Whether the stored hash should be replaced (another hasher, or a retired pepper).
    pub rehash: bool,
}

/// Hashes and verifies secrets. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hasher {
    peppers: Peppers,
    algorithm: HashAlgorithm,
    argon2: Argon2Params,
    bcrypt_cost: u32,
    slow_permits: Arc<Semaphore>,
    /// Slow kinds accepted on current-format keys besides `algorithm` (a deployment moving
    /// from argon2 to HMAC keeps its argon2 keys working until they are re-hashed on use).
    also_accepted: [bool; 3],
}

impl Hasher {
    /// HMAC-SHA-256 under `peppers`; at most 2 concurrent slow hashes.
    pub fn new(peppers: Peppers) -> Self {
        Self {
            peppers,
            algorithm: HashAlgorithm::HmacSha256,
            argon2: Argon2Params::default(),
            bcrypt_cost: 12,
            slow_permits: Arc::new(Semaphore::new(2)),
            also_accepted: [false; 3],
        }
    }

    /// Also accepts stored hashes of `algorithm` on current-format keys, for a deployment that
    /// changed its hasher and still has keys hashed by the old one (they are re-hashed on their
    /// next verification). Without it only the configured hasher's hashes verify (HMAC always:
    /// making one takes the pepper), so a row planted with a bcrypt or argon2 hash of a secret of
    /// the writer's choosing verifies nothing.
    #[must_use]
    pub fn also_accept(mut self, algorithm: HashAlgorithm) -> Self {
        self.also_accepted[algorithm as usize] = true;
        self
    }

    /// Whether `stored` may be verified. HMAC hashes always (they need the pepper); a slow kind
    /// when it is the configured hasher or explicitly [also accepted](Self::also_accept), or on a
    /// `legacy_row` (reached only through a legacy lookup, which exists only when legacy tokens
    /// are enabled: imports from nest-api-key-auth are bcrypt or argon2 by nature).
    pub fn accepts(&self, stored: &StoredHash, legacy_row: bool) -> bool {
        let kind = match stored {
            StoredHash::HmacSha256 { .. } => return true,
            StoredHash::Argon2id(_) => HashAlgorithm::Argon2id,
            StoredHash::Bcrypt(_) => HashAlgorithm::Bcrypt,
        };
        legacy_row || kind == self.algorithm || self.also_accepted[kind as usize]
    }

    /// Chooses the hasher for new keys (and the target of re-hashing).
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: HashAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sets argon2id costs.
    pub fn with_argon2(mut self, params: Argon2Params) -> Result<Self> {
        argon2::Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| Error::new(ErrorKind::Config, format!("argon2 parameters: {e}")))?;
        self.argon2 = params;
        Ok(self)
    }

    /// Sets the bcrypt cost (4–31); it is honoured exactly.
    pub fn with_bcrypt_cost(mut self, cost: u32) -> Result<Self> {
        if !(4..=31).contains(&cost) {
            return Err(Error::new(ErrorKind::Config, "bcrypt cost must be 4..=31"));
        }
        self.bcrypt_cost = cost;
        Ok(self)
    }

    /// Caps concurrent slow (argon2/bcrypt) hashes, every one of them: verifications and the
    /// hashing of create, rotate and re-hash share the cap. A verification over the cap is
    /// answered 503 at once (it is on the request path); hashing waits for a free permit (it is
    /// management work, and refusing a create because of a verification burst would help no one).
    /// A permit is held until the blocking thread finishes, even when the caller gave up waiting.
    #[must_use]
    pub fn with_max_concurrent_slow(mut self, n: usize) -> Self {
        self.slow_permits = Arc::new(Semaphore::new(n.max(1)));
        self
    }

    /// The hasher new keys get.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The peppers.
    pub fn peppers(&self) -> &Peppers {
        &self.peppers
    }

    fn hmac(prepared: &Hmac<Sha256>, secret: &str) -> [u8; 32] {
        let mut mac = prepared.clone();
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Hashes a secret with the configured hasher. Slow hashers run on a blocking thread.
    pub async fn hash(&self, secret: &str) -> Result<StoredHash> {
        match self.algorithm {
            HashAlgorithm::HmacSha256 => Ok(self.hash_hmac(secret)),
            HashAlgorithm::Argon2id | HashAlgorithm::Bcrypt => {
                let permit = self
                    .slow_permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| Error::unavailable("the slow-hash cap was closed"))?;
                let this = self.clone();
                let secret = Zeroizing::new(secret.to_owned());
                tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    this.hash_slow(&secret)
                })
                .await
                .map_err(|e| Error::backend("hashing task failed", e))?
            }
        }
    }

    /// HMAC-SHA-256 under the current pepper.
    pub fn hash_hmac(&self, secret: &str) -> StoredHash {
        StoredHash::HmacSha256 {
            pepper: self.peppers.current_id().clone(),
            digest: Self::hmac(self.peppers.current_mac(), secret),
        }
    }

    fn hash_slow(&self, secret: &str) -> Result<StoredHash> {
        match self.algorithm {
            HashAlgorithm::HmacSha256 => Ok(self.hash_hmac(secret)),
            HashAlgorithm::Argon2id => {
                use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
                let salt = SaltString::generate(&mut OsRng);
                let phc = self
                    .argon2_ctx()?
                    .hash_password(secret.as_bytes(), &salt)
                    .map_err(|e| Error::backend("argon2 hashing failed", e))?;
                Ok(StoredHash::Argon2id(phc.to_string()))
            }
            HashAlgorithm::Bcrypt => bcrypt::non_truncating_hash(secret, self.bcrypt_cost)
                .map(StoredHash::Bcrypt)
                .map_err(|e| Error::invalid("secret", e)),
        }
    }

    fn argon2_ctx(&self) -> Result<argon2::Argon2<'static>> {
        let p = argon2::Params::new(
            self.argon2.memory_kib,
            self.argon2.iterations,
            self.argon2.parallelism,
            None,
        )
        .map_err(|e| Error::new(ErrorKind::Config, format!("argon2 parameters: {e}")))?;
        Ok(argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            p,
        ))
    }

    /// Verifies an HMAC hash in place (constant time). `None` for slow hashes, and for an unknown
    /// pepper id (which [`verify`](Self::verify) reports as a configuration error).
    #[inline]
    pub fn verify_fast(&self, secret: &str, stored: &StoredHash) -> Option<Verification> {
        let StoredHash::HmacSha256 { pepper, digest } = stored else {
            return None;
        };
        let key = self.peppers.mac(pepper)?;
        let matched = bool::from(Self::hmac(key, secret).ct_eq(digest));
        let rehash =
            self.algorithm != HashAlgorithm::HmacSha256 || pepper != self.peppers.current_id();
        Some(Verification { matched, rehash })
    }

    /// Verifies any stored hash. Slow hashes take a permit first (none free: `Unavailable`) and run
    /// on a blocking thread.
    pub async fn verify(&self, secret: &str, stored: &StoredHash) -> Result<Verification> {
        if let Some(v) = self.verify_fast(secret, stored) {
            return Ok(v);
        }
        if let StoredHash::HmacSha256 { pepper, .. } = stored {
            return Err(Error::new(
                ErrorKind::Config,
                format!("pepper {pepper} is not configured"),
            ));
        }
        let permit = self
            .slow_permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::unavailable("too many concurrent slow hash verifications"))?;
        let this = self.clone();
        let stored = stored.clone();
        let secret = Zeroizing::new(secret.to_owned());
        // The permit goes with the work: a caller that stops waiting (a client that hung up)
        // must not free a slot while its hash still runs.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            this.verify_slow(&secret, &stored)
        })
        .await
        .map_err(|e| Error::backend("hash verification task failed", e))?
    }

    fn verify_slow(&self, secret: &str, stored: &StoredHash) -> Result<Verification> {
        let matched = match stored {
            StoredHash::Argon2id(phc) => {
                use argon2::password_hash::{PasswordHash, PasswordVerifier};
                let parsed = PasswordHash::new(phc)
                    .map_err(|e| Error::backend("stored argon2 hash is corrupt", e))?;
                argon2::Argon2::default()
                    .verify_password(secret.as_bytes(), &parsed)
                    .is_ok()
            }
            StoredHash::Bcrypt(h) => bcrypt::non_truncating_verify(secret, h).unwrap_or(false),
            StoredHash::HmacSha256 { .. } => {
                unreachable!("fast hashes never reach the blocking path")
            }
        };
        let rehash = !matches!(
            (stored, self.algorithm),
            (StoredHash::Argon2id(_), HashAlgorithm::Argon2id)
                | (StoredHash::Bcrypt(_), HashAlgorithm::Bcrypt)
        );
        Ok(Verification { matched, rehash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> Hasher {
        Hasher::new(Peppers::single("p1", b"0123456789abcdef0123".to_vec()).unwrap())
    }

    #[tokio::test]
    async fn hmac_round_trip_and_text_form() {
        let h = hasher();
        let stored = h.hash("s3cret").await.unwrap();
        let text = stored.to_string();
        assert!(text.starts_with("$hmac-sha256$v1$p1$"));
        let back: StoredHash = text.parse().unwrap();
        assert_eq!(back, stored);
        assert!(h.verify("s3cret", &back).await.unwrap().matched);
        assert!(!h.verify("s3creT", &back).await.unwrap().matched);
        assert!(!format!("{stored:?}").contains(&text[20..]));
    }

    #[tokio::test]
    async fn old_pepper_still_verifies_and_asks_for_rehash() {
        let old = hasher().hash_hmac("abc");
        let rotated = Hasher::new(
            Peppers::builder()
                .add("p1", b"0123456789abcdef0123".to_vec())
                .unwrap()
                .add("p2", b"fedcba9876543210fedc".to_vec())
                .unwrap()
                .current("p2")
                .unwrap(),
        );
        let v = rotated.verify("abc", &old).await.unwrap();
        assert!(v.matched && v.rehash);
        let gone = Hasher::new(Peppers::single("p3", b"fedcba9876543210fedc".to_vec()).unwrap());
        assert_eq!(
            gone.verify("abc", &old).await.unwrap_err().kind(),
            ErrorKind::Config
        );
    }

    #[tokio::test]
    async fn bcrypt_honours_cost_and_refuses_truncation() {
        let h = hasher()
            .with_algorithm(HashAlgorithm::Bcrypt)
            .with_bcrypt_cost(5)
            .unwrap();
        let stored = h.hash("secret-part").await.unwrap();
        assert!(stored.to_string().starts_with("$2b$05$"));
        assert!(h.verify("secret-part", &stored).await.unwrap().matched);
        assert!(!h.verify("secret-parT", &stored).await.unwrap().matched);
        assert!(h.hash(&"x".repeat(80)).await.is_err());
        let back_to_hmac = hasher().verify("secret-part", &stored).await.unwrap();
        assert!(back_to_hmac.matched && back_to_hmac.rehash);
    }

    #[tokio::test]
    async fn argon2_round_trip() {
        let params = Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        let h = hasher()
            .with_algorithm(HashAlgorithm::Argon2id)
            .with_argon2(params)
            .unwrap();
        let stored = h.hash("abc").await.unwrap();
        assert!(matches!(stored, StoredHash::Argon2id(_)));
        let v = h.verify("abc", &stored).await.unwrap();
        assert!(v.matched && !v.rehash);
        assert!(!h.verify("abd", &stored).await.unwrap().matched);
    }

    #[tokio::test]
    async fn only_configured_or_legacy_slow_hashes_are_accepted() {
        let bcrypt = hasher()
            .with_algorithm(HashAlgorithm::Bcrypt)
            .with_bcrypt_cost(4)
            .unwrap();
        let planted = bcrypt.hash("chosen").await.unwrap();
        let hmac = hasher();
        assert!(
            !hmac.accepts(&planted, false),
            "HMAC deployment, current key"
        );
        assert!(hmac.accepts(&planted, true), "legacy row");
        assert!(
            bcrypt.accepts(&planted, false),
            "bcrypt is the configured hasher"
        );
        assert!(
            hmac.clone()
                .also_accept(HashAlgorithm::Bcrypt)
                .accepts(&planted, false)
        );
        assert!(
            !hmac
                .also_accept(HashAlgorithm::Argon2id)
                .accepts(&planted, false)
        );
        assert!(
            bcrypt.accepts(&hasher().hash_hmac("x"), false),
            "HMAC always"
        );
    }

    #[tokio::test]
    async fn slow_hash_cap_answers_unavailable() {
        let h = hasher()
            .with_algorithm(HashAlgorithm::Bcrypt)
            .with_bcrypt_cost(4)
            .unwrap()
            .with_max_concurrent_slow(1);
        let stored = h.hash("abc").await.unwrap();
        let _held = h.slow_permits.clone().try_acquire_owned().unwrap();
        assert_eq!(
            h.verify("abc", &stored).await.unwrap_err().kind(),
            ErrorKind::Unavailable
        );
    }

    fn cheap_argon2() -> Hasher {
        let params = Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        hasher()
            .with_algorithm(HashAlgorithm::Argon2id)
            .with_argon2(params)
            .unwrap()
            .with_max_concurrent_slow(1)
    }

    /// Creating (and rotating, re-hashing: they all call `hash`) is under the cap too: with the
    /// one permit taken, an argon2 hash waits, and runs once the permit is free.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_hash_cap_makes_hashing_wait() {
        let h = cheap_argon2();
        let held = h.slow_permits.clone().try_acquire_owned().unwrap();
        let creating = tokio::spawn({
            let h = h.clone();
            async move { h.hash("abc").await }
        });
        // Without the cap this hash takes a few milliseconds; with it, it cannot start at all.
        let waited = tokio::time::timeout(std::time::Duration::from_millis(300), async {
            while !creating.is_finished() {
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(
            waited.is_err(),
            "the hash ran while the only permit was held"
        );
        drop(held);
        let stored = creating.await.unwrap().unwrap();
        assert!(h.verify("abc", &stored).await.unwrap().matched);
    }

    /// A verification whose caller stops waiting keeps its permit until the hash finished.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_verification_keeps_its_permit() {
        let h = hasher()
            .with_algorithm(HashAlgorithm::Bcrypt)
            .with_bcrypt_cost(10)
            .unwrap()
            .with_max_concurrent_slow(1);
        let stored = StoredHash::Bcrypt(bcrypt::non_truncating_hash("abc", 10).unwrap());
        let abandoned =
            tokio::time::timeout(std::time::Duration::ZERO, h.verify("abc", &stored)).await;
        assert!(abandoned.is_err(), "cancelled after its first poll");
        assert_eq!(
            h.verify("abc", &stored).await.unwrap_err().kind(),
            ErrorKind::Unavailable,
            "the abandoned hash still runs and still counts"
        );
    }
}
