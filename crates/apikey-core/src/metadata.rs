//! Free-form JSON metadata on a key, capped in size so a record stays a cheap row.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;

/// Largest serialized metadata accepted, in bytes.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// A JSON object of at most [`MAX_METADATA_BYTES`] serialized.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Metadata(Map<String, Value>);

impl Metadata {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates a JSON value: it must be an object within the size cap.
    pub fn from_value(v: Value) -> Result<Self, Error> {
        let Value::Object(map) = v else {
            return Err(Error::invalid("metadata", "must be a JSON object"));
        };
        let size = serde_json::to_vec(&map)
            .map_err(|e| Error::invalid("metadata", e))?
            .len();
        if size > MAX_METADATA_BYTES {
            return Err(Error::invalid(
                "metadata",
                format_args!("{size} bytes serialized; at most {MAX_METADATA_BYTES} allowed"),
            ));
        }
        Ok(Self(map))
    }

    /// Parses metadata from JSON text.
    pub fn from_json(s: &str) -> Result<Self, Error> {
        let v: Value = serde_json::from_str(s).map_err(|e| Error::invalid("metadata", e))?;
        Self::from_value(v)
    }

    /// The object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Serialized JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("a JSON map always serializes")
    }

    /// Whether the object has no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_size_and_requires_an_object() {
        assert!(Metadata::from_json("[1,2]").is_err());
        assert!(Metadata::from_json(r#"{"region":"eu"}"#).is_ok());
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(MAX_METADATA_BYTES));
        assert_eq!(
            Metadata::from_json(&big).unwrap_err().kind(),
            crate::ErrorKind::InvalidInput
        );
    }
}
