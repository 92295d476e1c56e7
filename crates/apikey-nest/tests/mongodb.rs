//! Importing Mongoose's `api_keys` collection from a fresh database on the MongoDB test server
//! (dropped afterwards). Needs `APIKEY_TEST_MONGODB_URL` (`source .ci/mongodb.sh`).

mod common;

use bson::{Bson, DateTime, doc, oid::ObjectId};
use common::{import_and_verify, memory_keys, source_keys};
use futures_util::FutureExt as _;
use mongodb::Client;

#[tokio::test]
async fn mongoose_collection() {
    let base = common::service_url("APIKEY_TEST_MONGODB_URL");
    let name = common::unique_name();
    let url = common::with_database(&base, &name);
    let client = Client::with_uri_str(&url).await.unwrap();
    let db = client.database(&name);

    let mut source = source_keys(false);
    let now = DateTime::now();
    let mut docs = Vec::new();
    for k in &mut source {
        let id = ObjectId::new();
        k.id = id.to_hex();
        docs.push(doc! {
            "_id": id,
            "name": &k.name,
            "keyPrefix": &k.prefix,
            "hashedKey": &k.hashed,
            "scopes": &k.scopes,
            "expiresAt": Bson::Null,
            "revokedAt": if k.revoked { Bson::DateTime(now) } else { Bson::Null },
            "createdAt": now,
            "updatedAt": now,
            "__v": 0,
        });
    }
    db.collection("api_keys").insert_many(docs).await.unwrap();

    let r = std::panic::AssertUnwindSafe(async {
        import_and_verify(&memory_keys(), &url, apikey_nest::Shape::Mongoose, &source).await;
    })
    .catch_unwind()
    .await;
    db.drop().await.unwrap();
    if let Err(p) = r {
        std::panic::resume_unwind(p);
    }
}

#[tokio::test]
async fn a_url_without_a_database_or_a_server_is_a_clear_error() {
    // Needs no server: both fail before or at the first exchange.
    let keys = memory_keys();
    let options = apikey_nest::NestOptions::new();
    let err = apikey_nest::import_nest(keys.manager(), "mongodb://127.0.0.1:1", &options)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("names no database"), "{err}");
    let err = apikey_nest::import_nest(keys.manager(), "mongodb://u:pw@127.0.0.1:1/app", &options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, apikey_nest::NestError::Unreachable { .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("pw@"), "{err}");
}
