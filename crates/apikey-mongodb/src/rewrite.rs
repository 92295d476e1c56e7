//! The data migration [`init`](MongoStore::init) runs once per database: key documents whose
//! rules were stored before IP rules, scope lists and endpoint names had one canonical form (an
//! IPv4-mapped or host-bits network, an unsorted scope list, `get  /x`) are rewritten in it.
//!
//! Reading already canonicalises (the core types do it while deserialising); rewriting makes the
//! stored form the one every reader sees, including queries, exports and older versions. Each
//! changed document gets a `$set` of the three fields, conditional on its `version`, leaving
//! `version`, `updated_at` and the audit log alone: under this library the key means exactly what
//! it meant. When every document is done, `<prefix>data_migrations` records it, so later starts
//! skip the scan; running it twice, or from two instances at once, is harmless.

use apikey_core::limit::EndpointLimit;
use apikey_core::{Error, IpRules, Result, ScopeSet};
use bson::{Bson, DateTime as BsonDate, Document, doc};
use futures_util::TryStreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::MongoStore;
use crate::error;

/// The name this migration is recorded under.
pub(crate) const CANONICAL_RULES: &str = "canonical_rules";

/// `raw` read as `T` and written back: the canonical BSON of whatever spelling `raw` holds.
fn canonical<T: DeserializeOwned + Serialize>(raw: &Bson) -> Result<Bson> {
    let value: T = bson::from_bson(raw.clone()).map_err(|e| error::bson("read stored rules", e))?;
    bson::to_bson(&value).map_err(|e| error::bson("write canonical rules", e))
}

type Canon = fn(&Bson) -> Result<Bson>;

const FIELDS: [(&str, Canon); 3] = [
    ("scopes", canonical::<ScopeSet>),
    ("ip_rules", canonical::<IpRules>),
    ("endpoint_limits", canonical::<Vec<EndpointLimit>>),
];

/// The `$set` that makes `key`'s rules canonical, or `None` when they are.
fn canonical_set(key: &Document) -> Result<Option<Document>> {
    let mut set = Document::new();
    let mut changed = false;
    for (field, canon) in FIELDS {
        let raw = key
            .get(field)
            .ok_or_else(|| Error::backend(format!("key document without {field}"), "missing"))?;
        let new = canon(raw)?;
        changed |= &new != raw;
        set.insert(field, new);
    }
    Ok(changed.then_some(set))
}

impl MongoStore {
    /// Rewrites every key's rules in canonical form, unless this database has recorded it done.
    pub(crate) async fn rewrite_rules(&self) -> Result<()> {
        let done = doc! { "_id": CANONICAL_RULES, "applied_at": { "$ne": Bson::Null } };
        if self
            .migrations
            .find_one(done)
            .await
            .map_err(|e| error::driver("read data migrations", e))?
            .is_some()
        {
            return Ok(());
        }
        let projection =
            doc! { "_id": 1, "version": 1, "scopes": 1, "ip_rules": 1, "endpoint_limits": 1 };
        let mut cursor = self
            .keys
            .find(doc! {})
            .projection(projection)
            .await
            .map_err(|e| error::driver("read keys to rewrite", e))?;
        while let Some(key) = cursor
            .try_next()
            .await
            .map_err(|e| error::driver("read keys to rewrite", e))?
        {
            let Some(set) = canonical_set(&key)? else {
                continue;
            };
            let (Some(id), Some(version)) = (key.get("_id"), key.get("version")) else {
                continue;
            };
            self.keys
                .update_one(
                    doc! { "_id": id.clone(), "version": version.clone() },
                    doc! { "$set": set },
                )
                .await
                .map_err(|e| error::driver("rewrite key rules", e))?;
        }
        self.migrations
            .update_one(
                doc! { "_id": CANONICAL_RULES },
                doc! { "$set": { "applied_at": BsonDate::now() } },
            )
            .upsert(true)
            .await
            .map_err(|e| error::driver("record data migration", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_canonical_documents_change() {
        let r = apikey_testkit::fixtures::full_record(None, apikey_testkit::fixtures::base_time());
        let doc = crate::doc::KeyDoc::from_record(&r).to_document().unwrap();
        assert_eq!(canonical_set(&doc).unwrap(), None);

        let mut old = doc.clone();
        old.insert(
            "ip_rules",
            doc! { "allow": [], "deny": ["::ffff:10.0.0.0/104"] },
        );
        old.insert("scopes", vec!["b:r", "a:r", "b:r"]);
        let set = canonical_set(&old).unwrap().expect("a rewrite");
        assert_eq!(
            set.get_document("ip_rules").unwrap(),
            &doc! { "allow": [], "deny": ["10.0.0.0/8"] }
        );
        assert_eq!(
            set.get_array("scopes").unwrap(),
            &vec![Bson::from("a:r"), Bson::from("b:r")]
        );
    }
}
