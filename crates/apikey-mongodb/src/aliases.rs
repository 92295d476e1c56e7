//! Aliases are unique per tenant (keys without a tenant share one alias space): the
//! `apikey_tenant_alias` index of the keys collection, unique on `(tenant_id, aliases)` and partial
//! on `{aliases: {$type: "string"}}`. `aliases` is an array, so the index holds one entry per alias
//! (two aliases of one key never collide with each other), and the partial filter leaves out keys
//! without any alias (an empty array would index as one shared missing value). `tenant_id` is null
//! for keys without a tenant, and nulls are equal in an index: one space.
//!
//! Keys written before this rule may already share an alias. [`init`](MongoStore::init) then
//! leaves the index uncreated (logging how many there are) instead of failing;
//! [`MongoStore::duplicate_aliases`] lists them, and the next `init` after they are resolved
//! creates it. Until then each write still checks its aliases first (below), which two racing
//! writes can both pass.
//!
//! Every insert and update of a key with aliases first looks for another key of its tenant holding
//! one of them (and names it in the `Conflict`); the index makes the check atomic, and a write it
//! refuses is answered with the same named `Conflict`.

use std::collections::BTreeMap;

use apikey_core::{Error, ErrorKind, KeyId, KeyRecord, Result, TenantId};
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use mongodb::IndexModel;
use mongodb::options::IndexOptions;
use serde::Deserialize;

use crate::doc::{key_id, uuid};
use crate::error;
use crate::store::MongoStore;

/// The name of the unique alias index.
pub(crate) const UNIQUE_ALIAS_INDEX: &str = "apikey_tenant_alias";

/// An alias that several keys of one tenant hold (keys written before aliases were unique).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateAlias {
    /// The tenant (`None`: the keys without one).
    pub tenant: Option<TenantId>,
    /// The alias.
    pub alias: String,
    /// Every key holding it.
    pub keys: Vec<KeyId>,
}

/// What the duplicate scan reads of a key.
#[derive(Deserialize)]
struct Aliased {
    #[serde(rename = "_id")]
    id: bson::Uuid,
    tenant_id: Option<TenantId>,
    #[serde(default)]
    aliases: Vec<String>,
}

/// The `Conflict` of an alias another key of the tenant holds.
pub(crate) fn taken(alias: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("alias {alias:?} is already used by another key of its tenant"),
    )
}

/// `{tenant_id: {$eq: tenant}}`; null for the keys without a tenant.
fn tenant_eq(tenant: Option<&TenantId>) -> Document {
    let t = tenant.map_or(Bson::Null, |t| Bson::String(t.as_str().to_owned()));
    doc! { "tenant_id": { "$eq": t } }
}

impl MongoStore {
    /// Every alias that several keys of one tenant hold, by tenant and alias. While there are
    /// any, [`init`](Self::init) leaves the unique alias index uncreated; resolve them (remove
    /// the alias from all keys but one) and run `init` again.
    pub async fn duplicate_aliases(&self) -> Result<Vec<DuplicateAlias>> {
        // Scanned here rather than aggregated: every MongoDB-wire server can `find`.
        let mut cursor = self
            .keys
            .find(doc! { "aliases": { "$type": "string" } })
            .projection(doc! { "_id": 1, "tenant_id": 1, "aliases": 1 })
            .await
            .map_err(|e| error::driver("list duplicate aliases", e))?;
        let mut holders: BTreeMap<(Option<TenantId>, String), Vec<KeyId>> = BTreeMap::new();
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(|e| error::driver("list duplicate aliases", e))?
        {
            let k: Aliased =
                bson::from_document(d).map_err(|e| error::bson("list duplicate aliases", e))?;
            let mut aliases = k.aliases;
            aliases.sort();
            aliases.dedup();
            for a in aliases {
                holders
                    .entry((k.tenant_id.clone(), a))
                    .or_default()
                    .push(key_id(k.id));
            }
        }
        Ok(holders
            .into_iter()
            .filter(|(_, keys)| keys.len() > 1)
            .map(|((tenant, alias), mut keys)| {
                keys.sort();
                DuplicateAlias {
                    tenant,
                    alias,
                    keys,
                }
            })
            .collect())
    }

    /// Creates the unique alias index unless it exists; when duplicates stand in its way, leaves
    /// it uncreated, logs how many, and returns them.
    pub(crate) async fn ensure_unique_aliases(&self) -> Result<Vec<DuplicateAlias>> {
        let names = self
            .keys
            .list_index_names()
            .await
            .map_err(|e| error::driver("list key indexes", e))?;
        if names.iter().any(|n| n == UNIQUE_ALIAS_INDEX) {
            return Ok(Vec::new());
        }
        let found = self.duplicate_aliases().await?;
        if !found.is_empty() {
            warn_duplicates(found.len());
            return Ok(found);
        }
        let options = IndexOptions::builder()
            .name(UNIQUE_ALIAS_INDEX.to_owned())
            .unique(true)
            .partial_filter_expression(doc! { "aliases": { "$type": "string" } })
            .build();
        let model = IndexModel::builder()
            .keys(doc! { "tenant_id": 1, "aliases": 1 })
            .options(options)
            .build();
        match self.keys.create_index(model).await {
            Ok(_) => Ok(Vec::new()),
            // A duplicate written since the scan: the same answer as finding it there.
            Err(e) if error::is_duplicate_key(&e) => {
                let found = self.duplicate_aliases().await?;
                if found.is_empty() {
                    return Err(error::driver("create the unique alias index", e));
                }
                warn_duplicates(found.len());
                Ok(found)
            }
            Err(e) => Err(error::driver("create the unique alias index", e)),
        }
    }

    /// An alias of `records` (all of `tenant`) that a key other than them holds in `tenant`, if
    /// there is one. Keys marked `deleting` (or staged) count: they hold their aliases in the
    /// unique index until they are gone.
    pub(crate) async fn alias_held(
        &self,
        tenant: Option<&TenantId>,
        records: &[&KeyRecord],
    ) -> Result<Option<String>> {
        let wanted: Vec<&str> = records
            .iter()
            .flat_map(|r| r.aliases.iter().map(String::as_str))
            .collect();
        if wanted.is_empty() {
            return Ok(None);
        }
        let ids: Vec<Bson> = records
            .iter()
            .map(|r| Bson::from(uuid(*r.id.as_uuid())))
            .collect();
        let mut filter = tenant_eq(tenant);
        filter.insert("aliases", doc! { "$in": wanted.clone() });
        filter.insert("_id", doc! { "$nin": ids });
        let holder = self
            .keys
            .find_one(filter)
            .projection(doc! { "aliases": 1 })
            .await
            .map_err(|e| error::driver("check aliases", e))?;
        let Some(holder) = holder else {
            return Ok(None);
        };
        let held: Vec<String> = holder
            .get_array("aliases")
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(wanted
            .into_iter()
            .find(|w| held.iter().any(|h| h == w))
            .map(str::to_owned))
    }

    /// Refuses `record` when another key of its tenant holds one of its aliases.
    pub(crate) async fn check_aliases(&self, record: &KeyRecord) -> Result<()> {
        match self
            .alias_held(record.tenant_id.as_ref(), &[record])
            .await?
        {
            Some(a) => Err(taken(&a)),
            None => Ok(()),
        }
    }

    /// The error of a write of `record` the server refused as a duplicate key: the alias taken
    /// when it is one, else the driver's `Conflict` (id or lookup id).
    pub(crate) async fn duplicate_error(
        &self,
        doing: &'static str,
        record: &KeyRecord,
        e: mongodb::error::Error,
    ) -> Error {
        match self.alias_held(record.tenant_id.as_ref(), &[record]).await {
            Ok(Some(a)) => taken(&a).with_source(e),
            _ => error::driver(doing, e),
        }
    }
}

fn warn_duplicates(n: usize) {
    tracing::warn!(
        duplicates = n,
        "aliases shared by several keys of one tenant: the unique alias index waits until they are resolved (duplicate_aliases() lists them)"
    );
}
