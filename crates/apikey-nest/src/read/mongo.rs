//! The Mongoose collection `api_keys` in the database the `mongodb://` URL names.

use std::time::Duration;

use bson::{Bson, Document};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use mongodb::Client;
use mongodb::options::ClientOptions;
use serde_json::Value;

use super::Rows;
use crate::error::{NestError, redact};
use crate::row::{Columns, NestRow, list_from_text, time_from_number, time_from_text};
use crate::shape::Shape;

/// How long to look for a server before calling the source unreachable: the driver's default
/// (30 s) is long for a command someone is watching.
const SELECT_TIMEOUT: Duration = Duration::from_secs(5);

struct Doc<'a>(&'a Document);

impl Doc<'_> {
    fn get(&self, col: &str) -> Option<&Bson> {
        // Mongoose keeps the id in `_id`; `id` only where a user copied it.
        let v = if col == "id" {
            self.0.get("_id").or_else(|| self.0.get("id"))
        } else {
            self.0.get(col)
        };
        v.filter(|b| !matches!(b, Bson::Null | Bson::Undefined))
    }
}

fn unsupported(b: &Bson) -> String {
    format!("unsupported BSON type {:?}", b.element_type())
}

impl Columns for Doc<'_> {
    fn text(&self, col: &str) -> Result<Option<String>, String> {
        match self.get(col) {
            None => Ok(None),
            Some(Bson::String(s)) => Ok(Some(s.clone())),
            Some(Bson::ObjectId(id)) => Ok(Some(id.to_hex())),
            Some(Bson::Int32(n)) => Ok(Some(n.to_string())),
            Some(Bson::Int64(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(unsupported(other)),
        }
    }

    fn list(&self, col: &str) -> Result<Option<Vec<String>>, String> {
        match self.get(col) {
            None => Ok(None),
            Some(Bson::Array(items)) => items
                .iter()
                .map(|b| match b {
                    Bson::String(s) => Ok(s.clone()),
                    other => Err(format!(
                        "an item is not a string ({:?})",
                        other.element_type()
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(Bson::String(s)) => list_from_text(s).map(Some),
            Some(other) => Err(unsupported(other)),
        }
    }

    fn time(&self, col: &str) -> Result<Option<DateTime<Utc>>, String> {
        match self.get(col) {
            None => Ok(None),
            Some(Bson::DateTime(t)) => Ok(Some(t.to_chrono())),
            Some(Bson::String(s)) => time_from_text(s).map(Some),
            Some(Bson::Int64(n)) => time_from_number(*n).map(Some),
            Some(other) => Err(unsupported(other)),
        }
    }

    fn int(&self, col: &str) -> Result<Option<i64>, String> {
        match self.get(col) {
            None => Ok(None),
            Some(Bson::Int32(n)) => Ok(Some(i64::from(*n))),
            Some(Bson::Int64(n)) => Ok(Some(*n)),
            #[allow(clippy::cast_possible_truncation)] // checked integral and in range first
            Some(Bson::Double(d)) if d.fract() == 0.0 && d.abs() < 9e15 => Ok(Some(*d as i64)),
            Some(other) => Err(unsupported(other)),
        }
    }

    fn json(&self, col: &str) -> Result<Option<Value>, String> {
        match self.get(col) {
            None => Ok(None),
            Some(Bson::String(s)) => serde_json::from_str(s)
                .map(Some)
                .map_err(|_| "not JSON".to_owned()),
            Some(b) => Ok(Some(b.clone().into_relaxed_extjson())),
        }
    }
}

pub(crate) async fn read(url: &str) -> Result<(Shape, Rows), NestError> {
    let source = redact(url);
    let unreachable = |e: mongodb::error::Error| NestError::Unreachable {
        url: source.clone(),
        reason: e.to_string(),
    };
    let mut options = ClientOptions::parse(url).await.map_err(unreachable)?;
    options.server_selection_timeout = Some(SELECT_TIMEOUT);
    options.connect_timeout = Some(SELECT_TIMEOUT);
    let Some(db) = options.default_database.clone() else {
        return Err(NestError::Unreachable {
            url: source,
            reason: "the URL names no database (mongodb://host/<database>)".into(),
        });
    };
    let client = Client::with_options(options).map_err(unreachable)?;
    let db = client.database(&db);
    let names = db.list_collection_names().await.map_err(unreachable)?;
    if !names.iter().any(|n| n == "api_keys") {
        return Err(NestError::NoTable { url: source });
    }
    let docs: Vec<Document> = db
        .collection::<Document>("api_keys")
        .find(Document::new())
        .sort(bson::doc! { "createdAt": 1, "_id": 1 })
        .await
        .map_err(|e| NestError::Read {
            url: source.clone(),
            reason: e.to_string(),
        })?
        .try_collect()
        .await
        .map_err(|e| NestError::Read {
            url: source.clone(),
            reason: e.to_string(),
        })?;
    Ok((
        Shape::Mongoose,
        docs.iter().map(|d| NestRow::read(&Doc(d))).collect(),
    ))
}
