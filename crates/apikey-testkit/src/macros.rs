//! The suite macros: each expands to a module of plain `#[test]` functions, one per case, so a
//! failure is reported under the case's own name.

/// Runs the whole [`store`](crate::store) suite: one test per case, each on a store produced by
/// evaluating `$factory` (an expression of type `impl Future<Output = S>`, `S: KeyStore +
/// AuditStore`) afresh, so every case starts from an empty store.
///
/// ```ignore
/// apikey_testkit::key_store_suite!(async { MyStore::connect(&fresh_schema().await).await });
/// // With the optional `LegacyLookup` capability:
/// apikey_testkit::key_store_suite!(async { MyStore::new() }, legacy);
/// ```
///
/// The tests land in a module `key_store_suite` next to the call, which sees the caller's
/// imports; to run the suite twice in one file, call it inside two modules of your own.
#[macro_export]
macro_rules! key_store_suite {
    ($factory:expr $(,)?) => {
        $crate::__key_store_suite!($factory;);
    };
    ($factory:expr, legacy $(,)?) => {
        $crate::__key_store_suite!($factory; legacy_lookup_finds_every_match);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __key_store_suite {
    ($factory:expr; $($extra:ident)*) => {
        #[allow(unused_imports)]
        mod key_store_suite {
            use super::*;
            $crate::__store_cases!(store, $factory;
                round_trip_every_field
                timestamps_round_trip_at_millisecond_precision
                lookup_ids_compare_case_sensitively
                tags_compare_case_sensitively
                duplicate_id_is_conflict
                duplicate_lookup_id_is_conflict
                update_with_current_version_succeeds
                stale_update_is_conflict_and_changes_nothing
                update_of_missing_key_is_not_found
                delete_writes_event_and_removes_key
                tenant_isolation_get
                tenant_isolation_update
                tenant_isolation_delete
                tenant_isolation_query
                record_usage_updates_usage_columns_only
                record_usage_skips_unknown_ids
                record_usage_batch_sent_again_counts_once
                record_usage_exact_after_failure_mid_batch
                update_leaves_usage_alone
                query_filters_by_fields_agree_with_matches
                query_filters_by_time_ranges_agree_with_matches
                count_agrees_with_matches
                keyset_pagination_with_equal_created_at
                keyset_pagination_with_filter_and_tenant
                hostile_strings_are_stored_verbatim_or_rejected
                hostile_filter_values_match_literally
                $($extra)*
            );
        }
    };
}

/// Runs the whole [`audit`](crate::audit) suite (with [`audit_stream`](crate::audit_stream) and
/// [`audit_chain`](crate::audit_chain)) against stores produced by `$factory`, exactly like
/// [`key_store_suite!`]; the stores must be `Clone` (clones sharing one database), since the
/// chain cases run a manager and the checkpoint job over them. The tests land in a module
/// `audit_store_suite`.
///
/// ```ignore
/// apikey_testkit::audit_store_suite!(async { MyStore::new() });
/// ```
#[macro_export]
macro_rules! audit_store_suite {
    ($factory:expr $(,)?) => {
        #[allow(unused_imports)]
        mod audit_store_suite {
            use super::*;
            $crate::__store_cases!(audit, $factory;
                events_by_key_id
                events_by_action
                events_by_time_range
                pagination_by_at_and_id
                tenant_scoped
                purge_before_removes_only_older
                before_and_after_round_trip
            );
            $crate::__store_cases!(audit_stream, $factory;
                positions_follow_insertion_order
                system_events_append_once
                cursors_never_run_ahead_of_the_log
                purge_waits_for_the_slowest_reader
                events_never_carry_secrets
            );
            $crate::__store_cases!(audit_chain, $factory;
                a_managed_history_verifies
                an_inserted_record_is_named
                a_forged_checkpoint_is_found
                retention_keeps_live_keys_and_checkpoints
                actor_filter_matches_exactly
                erasure_keeps_the_chain_verifiable
            );
        }
    };
}

/// Runs the whole [`leases`](crate::leases) suite against stores produced by `$factory` (an
/// expression of type `impl Future<Output = S>`, `S: LeaseStore`), evaluated afresh for every
/// case, exactly like [`key_store_suite!`]; the tests land in a module `lease_store_suite`.
///
/// ```ignore
/// apikey_testkit::lease_store_suite!(async { MyStore::connect(&fresh_schema().await).await });
/// ```
///
/// The concurrency case runs on a two-worker multi-thread runtime (so the claims overlap in the
/// backend), the others on a current-thread one. A test server that refuses parallel writers
/// (BriskDB) cannot pass it: `lease_store_suite!(factory, serial_writes)` leaves it out, and the
/// caller then checks concurrent claims its own way.
#[macro_export]
macro_rules! lease_store_suite {
    ($factory:expr $(,)?) => {
        $crate::__lease_store_suite!($factory;
            $crate::__store_cases!(leases, $factory, block_on_multi_thread;
                concurrent_claims_admit_exactly_one
            );
        );
    };
    ($factory:expr, serial_writes $(,)?) => {
        $crate::__lease_store_suite!($factory;);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __lease_store_suite {
    ($factory:expr; $($concurrent:tt)*) => {
        #[allow(unused_imports)]
        mod lease_store_suite {
            use super::*;
            $crate::__store_cases!(leases, $factory;
                first_claim_wins
                claim_after_until_is_a_takeover
                taken_over_holder_is_fenced_out
                finish_ok_completes_the_period
                finish_failed_keeps_the_period_due
                release_leaves_the_period_due
                periods_compare_exactly
                renew_extends_the_lease
                jobs_lists_every_job
                instants_round_trip_at_millisecond_precision
                hostile_names_are_stored_verbatim
            );
            $($concurrent)*
        }
    };
}

/// Runs the whole [`tenant_settings`](crate::tenant_settings) suite. `$factory` is an async
/// expression evaluated afresh for every case, giving an empty store that implements
/// [`TenantSettingsStore`](apikey_core::TenantSettingsStore) and
/// [`AuditStore`](apikey_core::AuditStore) and [`AnalyticsStore`](apikey_core::analytics::AnalyticsStore):
///
/// ```ignore
/// apikey_testkit::tenant_settings_suite!(async { MemoryStore::new() });
/// ```
///
/// The tests land in a module `tenant_settings_suite`.
#[macro_export]
macro_rules! tenant_settings_suite {
    ($factory:expr $(,)?) => {
        #[allow(unused_imports)]
        mod tenant_settings_suite {
            use super::*;
            $crate::__store_cases!(tenant_settings, $factory;
                round_trip_every_field
                absent_is_none
                compare_and_set
                events_commit_with_the_write
                default_row_is_separate
                effective_without_rows_is_the_default
                tenant_ids_at_the_edges
                list_returns_every_row
                retention_applies_each_tenants_rule
                usage_retention_applies_each_tenants_rule
            );
        }
    };
}

/// Runs the whole [`key_programme`](crate::key_programme) suite. `$factory` is an async
/// expression evaluated afresh for every case, giving an empty store that implements
/// [`KeyStore`](apikey_core::KeyStore) (with [`checked`](apikey_core::KeyStore::checked)),
/// [`AuditStore`](apikey_core::AuditStore) and [`CatalogStore`](apikey_core::CatalogStore):
///
/// ```ignore
/// apikey_testkit::key_programme_suite!(async { MemoryStore::new() });
/// ```
///
/// The concurrency case runs on a multi-thread runtime. The tests land in a module
/// `key_programme_suite`.
#[macro_export]
macro_rules! key_programme_suite {
    ($factory:expr $(,)?) => {
        #[allow(unused_imports)]
        mod key_programme_suite {
            use super::*;
            $crate::__store_cases!(key_programme, $factory;
                presets_round_trip
                presets_compare_and_set
                presets_apart
                presets_remove
                aliases_unique_on_insert
                aliases_unique_on_update
                checked_insert_is_all_or_none
                checked_insert_limits
                checked_insert_large_batch
            );
            $crate::__store_cases!(key_programme, $factory, block_on_multi_thread;
                checked_insert_serializes
            );
        }
    };
}

/// Runs the whole [`webhooks`](crate::webhooks) suite. `$factory` is an async expression
/// evaluated afresh for every case, giving an empty store that implements
/// [`WebhookStore`](apikey_core::webhook::WebhookStore):
///
/// ```ignore
/// apikey_testkit::webhook_store_suite!(async { MemoryStore::new() });
/// ```
///
/// The tests land in a module `webhook_store_suite`.
#[macro_export]
macro_rules! webhook_store_suite {
    ($factory:expr $(,)?) => {
        #[allow(unused_imports)]
        mod webhook_store_suite {
            use super::*;
            $crate::__store_cases!(webhooks, $factory;
                subscription_round_trip
                duplicate_subscription_is_conflict
                update_is_compare_and_set
                subscriptions_apart_by_tenant
                remove_deletes_deliveries
                enqueue_is_idempotent
                due_is_ordered_and_limited
                record_attempt_writes_every_field
                deliveries_filter_and_order
                redeliver_makes_failed_due_again
                pending_count_counts_pending
                purge_keeps_pending_and_newer
                payloads_round_trip
            );
        }
    };
}

/// Runs the whole [`requests`](crate::requests) suite (the request log). `$factory` is an
/// expression evaluated once per case to a future of a fresh, empty store:
///
/// ```ignore
/// apikey_testkit::request_log_suite!(async { MemoryStore::new() });
/// ```
///
/// The tests land in a module `request_log_suite`.
#[macro_export]
macro_rules! request_log_suite {
    ($factory:expr $(,)?) => {
        #[allow(unused_imports)]
        mod request_log_suite {
            use super::*;
            $crate::__store_cases!(requests, $factory;
                request_round_trip
                append_is_idempotent
                pages_visit_every_record_once
                filters_select_exactly
                tenants_are_apart
                purge_removes_the_expired
                erase_removes_the_keys_records
                bad_filters_are_refused
                batches_span_statements_and_keep_their_bytes
            );
        }
    };
}

/// Runs the whole [`analytics`](crate::analytics) suite against the store returned by
/// `$factory` (an expression evaluating to a future of an
/// [`AnalyticsStore`](apikey_core::analytics::AnalyticsStore)), one fresh store per case:
///
/// ```ignore
/// apikey_testkit::analytics_suite!(async { MemoryStore::new() });
/// ```
///
/// The tests land in a module `analytics_suite`.
#[macro_export]
macro_rules! analytics_suite {
    ($factory:expr $(,)?) => {
        #[allow(unused_imports)]
        mod analytics_suite {
            use super::*;
            $crate::__store_cases!(analytics, $factory;
                every_resolution_is_written
                a_batch_applies_once
                flushers_add_up
                tenants_are_apart
                top_keys_rank
                purge_follows_each_resolution
                erase_removes_the_keys_buckets
                ranges_are_half_open
                bad_queries_are_refused
                large_counts_survive
            );
        }
    };
}

/// Runs the whole [`cache`](crate::cache) suite. `$factory` is called once per case with a
/// fresh [`ManualClock`](apikey_core::ManualClock) and returns a future of the cache built on it:
///
/// ```ignore
/// apikey_testkit::cache_suite!(|clock: ManualClock| async move {
///     MyCache::new(Arc::new(clock))
/// });
/// ```
///
/// The tests land in a module `cache_suite`.
#[macro_export]
macro_rules! cache_suite {
    ($factory:expr $(,)?) => {
        #[allow(unused_imports)]
        mod cache_suite {
            use super::*;
            $crate::__clocked_cases!(cache, $factory, block_on;
                put_get_round_trip
                entry_expires_exactly_at_ttl
                get_reports_remaining_life
                reads_do_not_extend_ttl
                invalidate_refuses_older_fill
                tombstone_expires_after_ttl
                lookup_ids_are_independent
            );
        }
    };
}

/// Runs the whole [`limiter`](crate::limiter) suite. `$factory` is called once per case with a
/// fresh [`ManualClock`](apikey_core::ManualClock) (the limiter must take its time from it) and
/// returns a future of the limiter:
///
/// ```ignore
/// apikey_testkit::limiter_suite!(|clock: ManualClock| async move {
///     MyLimiter::new(Arc::new(clock))
/// });
/// ```
///
/// The concurrency cases run on a two-worker multi-thread runtime, the others on a current-thread
/// one. The tests land in a module `limiter_suite`.
#[macro_export]
macro_rules! limiter_suite {
    ($factory:expr $(,)?) => {
        #[allow(unused_imports)]
        mod limiter_suite {
            use super::*;
            $crate::__clocked_cases!(limiter, $factory, block_on;
                rate_admits_burst_then_limits
                rate_recovers_after_retry_after
                rate_is_per_key
                rate_cost_above_one
                endpoint_limits_are_per_key_and_endpoint
                quota_day_resets_at_midnight_utc
                quota_month_resets_on_the_first
                quota_year_resets_on_january_first
                quota_is_shared_by_lineage
                quota_cost_above_one
                quota_denial_consumes_no_rate_budget
                rate_denial_consumes_no_quota
                endpoint_denial_consumes_nothing_else
                allowed_reports_tightest_limit
                limited_reports_longest_wait
                empty_policy_always_allows
            );
            $crate::__clocked_cases!(limiter, $factory, block_on_multi_thread;
                concurrent_rate_at_limit_admits_one
                concurrent_quota_at_limit_admits_one
            );
        }
    };
}

/// Runs the shared-pool and credit cases ([`crate::limiter`]'s `pools` module) against a
/// limiter built by `$factory` (a `FnOnce(ManualClock) -> impl Future<Output = L>`), which must
/// count credits.
#[macro_export]
macro_rules! pool_limiter_suite {
    ($factory:expr $(,)?) => {
        #[allow(unused_imports)]
        mod pool_limiter_suite {
            use super::*;
            $crate::__clocked_cases!(limiter, $factory, block_on;
                a_pool_refusal_charges_nothing
                pools_are_per_tenant_and_reported
                one_time_credits_stay_one_time
                credits_refill_on_the_chosen_day
                credits_are_topped_up_and_set
                credits_and_rates_are_all_or_nothing
                reservations_settle_once_and_expire_at_the_estimate
            );
            $crate::__clocked_cases!(limiter, $factory, block_on_multi_thread;
                twenty_keys_cannot_exceed_their_owner_pool
                reserve_and_settle_account_for_every_credit
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_cases {
    ($suite:ident, $factory:expr; $($case:ident)*) => {
        $crate::__store_cases!($suite, $factory, block_on; $($case)*);
    };
    ($suite:ident, $factory:expr, $runtime:ident; $($case:ident)*) => {
        $(
            #[test]
            fn $case() {
                $crate::__private::$runtime(async {
                    let store = $factory.await;
                    $crate::$suite::$case(&store).await;
                });
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __clocked_cases {
    ($suite:ident, $factory:expr, $runtime:ident; $($case:ident)*) => {
        $(
            #[test]
            fn $case() {
                $crate::__private::$runtime(async {
                    $crate::$suite::$case($factory).await;
                });
            }
        )*
    };
}
