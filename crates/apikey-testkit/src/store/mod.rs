//! The [`KeyStore`](apikey_core::KeyStore) conformance suite: one `pub async fn` per case, each
//! taking a fresh, empty store that also implements [`AuditStore`](apikey_core::AuditStore)
//! (the suite checks that every write and its audit event commit together).
//!
//! Run them all with [`key_store_suite!`](crate::key_store_suite), or call a case from your own
//! test. Every case starts from an empty store and uses only its own data.

mod filter;
mod hostile;
mod legacy;
mod paging;
mod roundtrip;
pub(crate) mod support;
mod tenancy;
mod usage;
mod usage_retry;
mod writes;

pub use filter::{
    count_agrees_with_matches, query_filters_by_fields_agree_with_matches,
    query_filters_by_time_ranges_agree_with_matches,
};
pub use hostile::{
    HOSTILE, hostile_filter_values_match_literally, hostile_strings_are_stored_verbatim_or_rejected,
};
pub use legacy::legacy_lookup_finds_every_match;
pub use paging::{
    keyset_pagination_with_equal_created_at, keyset_pagination_with_filter_and_tenant,
};
pub use roundtrip::{
    lookup_ids_compare_case_sensitively, round_trip_every_field, tags_compare_case_sensitively,
    timestamps_round_trip_at_millisecond_precision,
};
pub use tenancy::{
    tenant_isolation_delete, tenant_isolation_get, tenant_isolation_query, tenant_isolation_update,
};
pub use usage::{
    record_usage_skips_unknown_ids, record_usage_updates_usage_columns_only,
    update_leaves_usage_alone,
};
pub use usage_retry::{
    record_usage_batch_sent_again_counts_once, record_usage_exact_after_failure_mid_batch,
    record_usage_failing_after,
};
pub use writes::{
    delete_writes_event_and_removes_key, duplicate_id_is_conflict, duplicate_lookup_id_is_conflict,
    stale_update_is_conflict_and_changes_nothing, update_of_missing_key_is_not_found,
    update_with_current_version_succeeds,
};
