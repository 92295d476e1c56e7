//! The outage proxy (`apikey_testkit::isolated::proxy`) with a `redis://` URL through it.

// Not every test binary that includes `common` uses both.
#[allow(unused_imports)]
pub use apikey_testkit::isolated::proxy::{Mode, Proxy};

/// `redis://` URL through a proxy.
pub trait RedisUrl {
    /// The URL.
    fn url(&self) -> String;
}

impl RedisUrl for Proxy {
    fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }
}
