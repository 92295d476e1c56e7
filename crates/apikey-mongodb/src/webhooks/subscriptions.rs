//! `<prefix>webhook_subscriptions`: one document per subscription, `_id` the subscription id.
//! Every write is one single-document write: an insert (a duplicate `_id` is `Conflict`), a
//! compare-and-set `update_one` filtered on `{_id, tenant_id, version}`, or a `delete_one`
//! filtered on `{_id, [tenant_id]}`. Removal then deletes the subscription's deliveries (see
//! [`remove`](MongoStore::remove_webhook_subscription)).

use apikey_core::webhook::{Subscription, SubscriptionId};
use apikey_core::{Error, ErrorKind, Result, TenantScope};
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;

use super::doc::SubscriptionDoc;
use super::scoped;
use crate::doc::uuid;
use crate::error;
use crate::store::MongoStore;

/// Oldest first; the id breaks ties (binary UUID order is UUID order).
fn oldest_first() -> Document {
    doc! { "created_at": 1, "_id": 1 }
}

impl MongoStore {
    pub(crate) async fn insert_webhook_subscription(&self, s: &Subscription) -> Result<()> {
        let doc = SubscriptionDoc::from_subscription(s, 1).to_document()?;
        match self.webhook_subscriptions.insert_one(doc).await {
            Ok(_) => Ok(()),
            // The message names the id only: never the URL or a sealed secret.
            Err(e) if error::is_duplicate_key(&e) => Err(Error::new(
                ErrorKind::Conflict,
                format!("webhook subscription {} already exists", s.id),
            )
            .with_source(e)),
            Err(e) => Err(error::driver("insert webhook subscription", e)),
        }
    }

    pub(crate) async fn webhook_subscription(
        &self,
        scope: &TenantScope,
        id: SubscriptionId,
    ) -> Result<Option<Subscription>> {
        self.webhook_subscriptions
            .find_one(scoped(scope, doc! { "_id": { "$eq": uuid(id.0) } }))
            .await
            .map_err(|e| error::driver("get webhook subscription", e))?
            .map(SubscriptionDoc::decode)
            .transpose()
    }

    /// The subscriptions matching `filter`, oldest first.
    pub(crate) async fn webhook_subscriptions_where(
        &self,
        filter: Document,
        doing: &'static str,
    ) -> Result<Vec<Subscription>> {
        let docs: Vec<Document> = self
            .webhook_subscriptions
            .find(filter)
            .sort(oldest_first())
            .await
            .map_err(|e| error::driver(doing, e))?
            .try_collect()
            .await
            .map_err(|e| error::driver(doing, e))?;
        docs.into_iter().map(SubscriptionDoc::decode).collect()
    }

    /// Replaces every field if the subscription is stored at `expected` under the same tenant
    /// (a subscription never moves between tenants); the new version is `expected + 1`.
    pub(crate) async fn update_webhook_subscription(
        &self,
        s: &Subscription,
        expected: u64,
    ) -> Result<bool> {
        // A version past `i64::MAX` is never stored, and one at it has no successor to store:
        // either way nothing matches.
        let (Ok(expected), Ok(next)) = (
            i64::try_from(expected),
            i64::try_from(expected.saturating_add(1)),
        ) else {
            return Ok(false);
        };
        let mut set = SubscriptionDoc::from_subscription(s, next).to_document()?;
        set.remove("_id");
        let tenant = s
            .tenant_id
            .as_ref()
            .map_or(Bson::Null, |t| t.as_str().into());
        let result = self
            .webhook_subscriptions
            .update_one(
                doc! {
                    "_id": { "$eq": uuid(s.id.0) },
                    "tenant_id": { "$eq": tenant },
                    "version": { "$eq": expected },
                },
                doc! { "$set": set },
            )
            .await
            .map_err(|e| error::driver("update webhook subscription", e))?;
        Ok(result.matched_count == 1)
    }

    /// Deletes the subscription if `scope` admits it, then its deliveries.
    ///
    /// Two single-document-atomic steps, no transaction: if the second fails (or the process
    /// stops between them) the subscription is gone and its deliveries are orphans. An orphan
    /// is never sent: the dispatcher finds no subscription for it and dead-letters it at its next
    /// attempt ("the subscription was removed"), and retention purges it later. Retrying the
    /// removal deletes the orphans (and answers `false`: the subscription was already gone);
    /// that clean-up runs only when no subscription with this id exists, so a tenant cannot
    /// reach another tenant's live subscription's deliveries this way.
    pub(crate) async fn remove_webhook_subscription(
        &self,
        scope: &TenantScope,
        id: SubscriptionId,
    ) -> Result<bool> {
        let by_id = doc! { "_id": { "$eq": uuid(id.0) } };
        let deleted = self
            .webhook_subscriptions
            .delete_one(scoped(scope, by_id.clone()))
            .await
            .map_err(|e| error::driver("delete webhook subscription", e))?
            .deleted_count
            == 1;
        if !deleted {
            let exists = self
                .webhook_subscriptions
                .find_one(by_id)
                .projection(doc! { "_id": 1 })
                .await
                .map_err(|e| error::driver("get webhook subscription", e))?
                .is_some();
            if exists {
                // Another tenant's: nothing of it is touched.
                return Ok(false);
            }
        }
        self.webhook_deliveries
            .delete_many(scoped(
                scope,
                doc! { "subscription_id": { "$eq": uuid(id.0) } },
            ))
            .await
            .map_err(|e| error::driver("delete webhook deliveries", e))?;
        Ok(deleted)
    }
}
