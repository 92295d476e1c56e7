//! Verification against a MongoDB-wire server: commands per cold verification and latency, cold
//! and warm, with a `ping` and a raw `find` by lookup id measured in the same run as baselines.
//!
//! ```sh
//! APIKEY_TEST_MONGODB_URL=mongodb://127.0.0.1:27018 \
//!   cargo bench -p apikey-mongodb --bench mongo_verify_bench
//! ```
//!
//! Commands are counted on the client with the driver's command monitoring: every command sent
//! emits one `CommandStartedEvent`. The bench makes its own database and drops it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apikey_core::{ApiKeys, Credential, NewKey, Peppers, RequestContext, VerifierConfig};
use apikey_mongodb::MongoStore;
use apikey_mongodb::mongodb::Client;
use apikey_mongodb::mongodb::bson::{Document, doc};
use apikey_mongodb::mongodb::event::EventHandler;
use apikey_mongodb::mongodb::event::command::CommandEvent;
use apikey_mongodb::mongodb::options::ClientOptions;
use apikey_testkit::bench::{next, report};

const KEYS: usize = 1_000;
const COLD: usize = 2_000;
const WARM: usize = 50_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("APIKEY_TEST_MONGODB_URL")
        .map_err(|_| "set APIKEY_TEST_MONGODB_URL, e.g. mongodb://127.0.0.1:27018")?;
    let commands = Arc::new(AtomicU64::new(0));
    let mut options = ClientOptions::parse(&url).await?;
    let counter = commands.clone();
    options.command_event_handler = Some(EventHandler::callback(move |e: CommandEvent| {
        if matches!(e, CommandEvent::Started(_)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }));
    let client = Client::with_options(options)?;
    let db = client.database(&format!("apikey_bench_{}", std::process::id()));
    let store = MongoStore::new(db.clone());
    store.init().await?;

    let peppers = Peppers::single("bench", b"a benchmark pepper of enough length".to_vec())?;
    let quiet = VerifierConfig {
        usage_flush_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let cold = ApiKeys::builder(Arc::new(store.clone()))
        .peppers(peppers.clone())
        .config(VerifierConfig {
            cache_ttl: Duration::ZERO,
            ..quiet.clone()
        })
        .build()?;
    let warm = ApiKeys::builder(Arc::new(store.clone()))
        .peppers(peppers)
        .config(quiet)
        .build()?;

    let mut tokens = Vec::with_capacity(KEYS);
    for i in 0..KEYS {
        let new = NewKey::new(format!("bench {i}"))
            .scopes(["projects:read"])?
            .tags(["bench"]);
        tokens.push(cold.manager().create(new).await?.token);
    }
    let lookup = {
        let t = tokens[0].expose();
        t["sk_live_".len().."sk_live_".len() + 12].to_owned()
    };
    println!("MongoDB wire at {url}, {KEYS} keys, HMAC-SHA-256, one worker thread");

    // Baselines: one round trip, and the point query a verification issues.
    let keys = db.collection::<Document>(store.keys_collection());
    let mut ping = Vec::with_capacity(COLD);
    let mut point = Vec::with_capacity(COLD);
    for _ in 0..COLD {
        let t = Instant::now();
        db.run_command(doc! { "ping": 1 }).await?;
        ping.push(t.elapsed());
        let t = Instant::now();
        keys.find_one(doc! { "lookup_id": { "$eq": &lookup } })
            .await?;
        point.push(t.elapsed());
    }
    println!("{:<42} {:>17} {:>19} {:>8}", "", "", "", "× ping");
    let base = report("baseline: ping round trip", ping, None);
    report("baseline: find_one by lookup id", point, Some(base));

    let ctx = RequestContext::new();
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let before = commands.load(Ordering::Relaxed);
    let mut samples = Vec::with_capacity(COLD);
    for _ in 0..COLD {
        let token = tokens[next(&mut rng, KEYS)].expose();
        let t = Instant::now();
        cold.verifier()
            .verify(Credential::new(token), &ctx)
            .await
            .map_err(|r| format!("rejected: {r}"))?;
        samples.push(t.elapsed());
    }
    let per = (commands.load(Ordering::Relaxed) - before) as f64 / COLD as f64;
    report("verify, cold (cache miss every time)", samples, Some(base));
    println!("  commands per cold verification: {per:.3}");

    for token in &tokens {
        warm.verifier()
            .verify(Credential::new(token.expose()), &ctx)
            .await
            .map_err(|r| format!("rejected: {r}"))?;
    }
    let before = commands.load(Ordering::Relaxed);
    let mut samples = Vec::with_capacity(WARM);
    for _ in 0..WARM {
        let token = tokens[next(&mut rng, KEYS)].expose();
        let t = Instant::now();
        warm.verifier()
            .verify(Credential::new(token), &ctx)
            .await
            .map_err(|r| format!("rejected: {r}"))?;
        samples.push(t.elapsed());
    }
    let per = (commands.load(Ordering::Relaxed) - before) as f64 / WARM as f64;
    report("verify, warm (cache hit)", samples, Some(base));
    println!("  commands per warm verification: {per:.3}");

    db.drop().await?;
    Ok(())
}
