//! Filters built from typed values only. Every user value is compared with `$eq` (or listed in
//! a `$in` of typed values), so a string such as `{"$gt": ""}` or `$where` is data, never an
//! operator; the only operators are the ones written here (`$gte`/`$lt` on dates, `$or` for the
//! keyset cursor).

use apikey_core::{AuditFilter, Error, EventSubject, KeyFilter, KeyId, TenantId, TenantScope};
use bson::{Bson, Document, doc};

use crate::doc::{date, uuid};
use crate::error;

/// `{field: {op: value}}`, `op` being one of the operators written in this file.
fn cond(field: &str, op: &str, value: impl Into<Bson>) -> Document {
    let mut inner = Document::new();
    inner.insert(op, value.into());
    let mut d = Document::new();
    d.insert(field, inner);
    d
}

/// `{field: {$eq: value}}`.
fn eq(field: &str, value: impl Into<Bson>) -> Document {
    cond(field, "$eq", value)
}

/// The tenant condition, if the scope has one.
fn tenant(scope: &TenantScope) -> Option<Document> {
    match scope {
        TenantScope::Tenant(t) => Some(eq("tenant_id", t.as_str())),
        TenantScope::All => None,
    }
}

/// The key `id` in `scope`, not being deleted.
pub(crate) fn live_key(scope: &TenantScope, id: KeyId) -> Document {
    let mut d = doc! {
        "_id": { "$eq": uuid(*id.as_uuid()) },
        "deleting": { "$eq": false },
    };
    if let TenantScope::Tenant(t) = scope {
        d.insert("tenant_id", doc! { "$eq": t.as_str() });
    }
    d
}

/// The key `id` in `scope` whose deletion was started but not finished.
pub(crate) fn deleting_key(scope: &TenantScope, id: KeyId) -> Document {
    let mut d = live_key(scope, id);
    d.insert("deleting", doc! { "$eq": true });
    // A key a checked insert has staged is hidden too, but not being deleted.
    d.insert("staged", doc! { "$exists": false });
    d
}

fn range(
    all: &mut Vec<Document>,
    field: &str,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) {
    // A null (absent time) is below every date in BSON order but of another type, so `$gte` and
    // `$lt` on a date never match it: keys without the time never match a range, as required.
    if let Some(f) = from {
        all.push(cond(field, "$gte", date(f)));
    }
    if let Some(t) = to {
        all.push(cond(field, "$lt", date(t)));
    }
}

/// The query of [`KeyStore::query`](apikey_core::KeyStore::query): every condition of `filter`
/// and the tenancy, ANDed.
pub(crate) fn keys(scope: &TenantScope, f: &KeyFilter) -> Result<Document, Error> {
    let mut all = conditions(tenant(scope), f)?;
    if let Some(c) = f.after {
        let at = date(c.created_at);
        all.push(doc! { "$or": [
            { "created_at": { "$gt": at } },
            { "created_at": { "$eq": at }, "_id": { "$gt": uuid(*c.id.as_uuid()) } },
        ] });
    }
    Ok(doc! { "$and": all })
}

/// The query of [`KeyStore::count`](apikey_core::KeyStore::count): the keys whose tenant is
/// exactly `tenant` (`None`: the keys without one) matching every condition of `filter` but its
/// pagination.
pub(crate) fn counted(tenant: Option<&TenantId>, f: &KeyFilter) -> Result<Document, Error> {
    // Keys without a tenant store `tenant_id: null`; `$eq: null` matches that (and a missing
    // field), never a tenant's key.
    let exact = eq(
        "tenant_id",
        tenant.map_or(Bson::Null, |t| t.as_str().into()),
    );
    Ok(doc! { "$and": conditions(Some(exact), f)? })
}

/// Not being deleted, the tenant condition and every condition of `f` but its cursor.
fn conditions(tenant: Option<Document>, f: &KeyFilter) -> Result<Vec<Document>, Error> {
    let mut all = vec![eq("deleting", false)];
    all.extend(tenant);
    for (field, value) in [
        ("owner", &f.owner),
        ("group", &f.group),
        ("environment", &f.environment),
        ("aliases", &f.alias),
    ] {
        if let Some(v) = value {
            all.push(eq(field, v.as_str()));
        }
    }
    // `$eq` on an array field matches an element equal to the value: one condition per tag.
    for t in &f.tags {
        all.push(eq("tags", t.as_str()));
    }
    for s in &f.scopes {
        let s = bson::to_bson(s).map_err(|e| error::bson("encode scope", e))?;
        all.push(eq("scopes", s));
    }
    if !f.states.is_empty() {
        let states = f
            .states
            .iter()
            .map(|s| bson::to_bson(s).map_err(|e| error::bson("encode state", e)))
            .collect::<Result<Vec<_>, _>>()?;
        all.push(doc! { "state": { "$in": states } });
    }
    range(&mut all, "created_at", f.created_from, f.created_to);
    range(&mut all, "last_used_at", f.last_used_from, f.last_used_to);
    range(&mut all, "expires_at", f.expires_from, f.expires_to);
    Ok(all)
}

/// The query of [`AuditStore::query`](apikey_core::AuditStore::query).
pub(crate) fn events(scope: &TenantScope, f: &AuditFilter) -> Result<Document, Error> {
    let mut all: Vec<Document> = tenant(scope).into_iter().collect();
    match &f.subject {
        // `key_id` is set exactly when the subject is a key, and its index serves the history.
        Some(EventSubject::Key(k)) => all.push(eq("key_id", uuid(*k.as_uuid()))),
        Some(s) => {
            all.push(eq("subject_kind", s.kind()));
            all.push(eq("subject_id", s.id()));
        }
        None => {}
    }
    if let Some(actor) = &f.actor {
        all.push(eq("actor", actor.as_str()));
    }
    if !f.types.is_empty() {
        let types: Vec<&str> = f.types.iter().map(|t| t.as_str()).collect();
        all.push(doc! { "event_type": { "$in": types } });
    }
    range(&mut all, "at", f.from, f.to);
    if let Some((at, id)) = f.after {
        let at = date(at);
        all.push(doc! { "$or": [
            { "at": { "$gt": at } },
            { "at": { "$eq": at }, "_id": { "$gt": uuid(id) } },
        ] });
    }
    Ok(if all.is_empty() {
        Document::new()
    } else {
        doc! { "$and": all }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_strings_only_appear_as_eq_operands() {
        let f = KeyFilter {
            owner: Some("{\"$gt\": \"\"}".into()),
            tags: vec!["$where".into()],
            ..KeyFilter::default()
        };
        let q = keys(&TenantScope::All, &f).unwrap();
        let and = q.get_array("$and").unwrap();
        assert_eq!(
            and[1].as_document().unwrap(),
            &doc! { "owner": { "$eq": "{\"$gt\": \"\"}" } }
        );
        assert_eq!(
            and[2].as_document().unwrap(),
            &doc! { "tags": { "$eq": "$where" } }
        );
    }

    #[test]
    fn a_count_names_the_exact_tenant_and_ignores_the_cursor() {
        let f = KeyFilter {
            owner: Some("alice".into()),
            after: Some(apikey_core::Cursor {
                created_at: chrono::DateTime::UNIX_EPOCH,
                id: KeyId::new(),
            }),
            ..KeyFilter::default()
        };
        let acme = TenantId::new("acme").unwrap();
        assert_eq!(
            counted(Some(&acme), &f).unwrap(),
            doc! { "$and": [
                { "deleting": { "$eq": false } },
                { "tenant_id": { "$eq": "acme" } },
                { "owner": { "$eq": "alice" } },
            ] }
        );
        assert_eq!(
            counted(None, &KeyFilter::default()).unwrap(),
            doc! { "$and": [
                { "deleting": { "$eq": false } },
                { "tenant_id": { "$eq": null } },
            ] }
        );
    }

    #[test]
    fn event_subjects_and_types_are_eq_and_in_operands() {
        let owner = AuditFilter {
            subject: Some(EventSubject::Owner("{\"$gt\": \"\"}".into())),
            types: vec![apikey_core::EventType::QuotaThreshold],
            ..AuditFilter::default()
        };
        assert_eq!(
            events(&TenantScope::All, &owner).unwrap(),
            doc! { "$and": [
                { "subject_kind": { "$eq": "owner" } },
                { "subject_id": { "$eq": "{\"$gt\": \"\"}" } },
                { "event_type": { "$in": ["quota.threshold"] } },
            ] }
        );
        let key = KeyId::new();
        assert_eq!(
            events(&TenantScope::All, &AuditFilter::key(key)).unwrap(),
            doc! { "$and": [{ "key_id": { "$eq": uuid(*key.as_uuid()) } }] }
        );
    }
}
