//! The request log beyond the conformance suite: a batch larger than one statement, with
//! addresses whose 16 bytes are not UTF-8 (`255.255.…`), which a driver binding bytes as text
//! would mangle.

use apikey_core::TenantScope;
use apikey_core::request_log::{RequestCursor, RequestFilter, RequestLogStore};
use apikey_testkit::requests::record;

/// 1,001 records (more than two multi-row inserts) go in once, come back once, and a network
/// filter over their non-UTF-8 address bytes finds each.
pub async fn batches_span_statements_and_keep_their_bytes<S: RequestLogStore + ?Sized>(store: &S) {
    let batch: Vec<_> = (0..1001)
        .map(|i| {
            let ip = format!("255.255.{}.{}", i / 256, i % 256);
            record(i, None, None, Some(ip.as_str()))
        })
        .collect();
    assert_eq!(store.append_requests(&batch).await.expect("append"), 1001);
    assert_eq!(store.append_requests(&batch).await.expect("again"), 0);

    let mut filter = RequestFilter {
        network: Some("255.255.0.0/16".parse().expect("net")),
        limit: 1000,
        ..RequestFilter::default()
    };
    let page = store
        .requests(&TenantScope::All, &filter)
        .await
        .expect("page");
    assert_eq!(page.len(), 1000);
    assert_eq!(page[0], batch[1000], "newest first, every field");
    filter.before = page.last().map(RequestCursor::after);
    let rest = store
        .requests(&TenantScope::All, &filter)
        .await
        .expect("rest");
    assert_eq!(rest, vec![batch[0].clone()]);

    let one = RequestFilter {
        network: Some("255.255.3.232/32".parse().expect("net")),
        ..RequestFilter::default()
    };
    let found = store.requests(&TenantScope::All, &one).await.expect("one");
    assert_eq!(
        found,
        vec![batch[1000].clone()],
        "255.255.3.232 is record 1000"
    );
}
