//! A tiny SQL builder: text with dialect placeholders (`$n` or `?`) plus the typed values bound
//! to them. Every value that comes from a caller travels as a bound parameter, never as SQL text.

use apikey_core::KeyId;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One bound value, typed so each database can encode it natively (UUID, TIMESTAMPTZ, JSONB on
/// PostgreSQL; text and milliseconds on SQLite). `None` is SQL `NULL` of that type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(Option<String>),
    /// A 64-bit integer.
    Int(Option<i64>),
    /// An instant, already truncated to milliseconds.
    Time(Option<DateTime<Utc>>),
    /// A UUID.
    Uuid(Option<Uuid>),
    /// A JSON document.
    Json(Option<serde_json::Value>),
    /// Bytes (`BYTEA`, `VARBINARY`, `BLOB`), compared byte by byte.
    Bytes(Option<Vec<u8>>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::Text(Some(s.to_owned()))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::Text(Some(s))
    }
}

impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Self {
        Self::Text(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Self::Int(Some(i))
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(t: DateTime<Utc>) -> Self {
        Self::Time(Some(t))
    }
}

impl From<Option<DateTime<Utc>>> for Value {
    fn from(t: Option<DateTime<Utc>>) -> Self {
        Self::Time(t)
    }
}

impl From<Uuid> for Value {
    fn from(u: Uuid) -> Self {
        Self::Uuid(Some(u))
    }
}

impl From<KeyId> for Value {
    fn from(id: KeyId) -> Self {
        Self::Uuid(Some(*id.as_uuid()))
    }
}

impl From<Option<KeyId>> for Value {
    fn from(id: Option<KeyId>) -> Self {
        Self::Uuid(id.map(|i| *i.as_uuid()))
    }
}

/// How a dialect spells the placeholder of a bound value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `$1`, `$2`, … (PostgreSQL).
    Numbered,
    /// `?` (MySQL, MariaDB, SQLite).
    Question,
}

impl Placeholder {
    /// Appends the placeholder of the `n`th (1-based) bound value.
    pub fn write(self, out: &mut String, n: usize) {
        match self {
            Self::Numbered => {
                out.push('$');
                out.push_str(&n.to_string());
            }
            Self::Question => out.push('?'),
        }
    }
}

/// `t` rounded up to a whole millisecond. Stored instants are whole milliseconds, so for them
/// `t >= x` ⟺ `t >= ceil_ms(x)` and `t < x` ⟺ `t < ceil_ms(x)`: range bounds keep their exact
/// meaning on SQLite, which compares integer milliseconds.
pub fn ceil_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    let down = apikey_core::clock::truncate_ms(t);
    if down == t {
        t
    } else {
        down + chrono::TimeDelta::milliseconds(1)
    }
}

/// A statement under construction: SQL text and the values its placeholders stand for, in order.
#[derive(Debug, Clone)]
pub struct Sql {
    text: String,
    binds: Vec<Value>,
    placeholder: Placeholder,
}

impl Sql {
    /// A statement with `placeholder` style, starting with `text`.
    pub fn new(placeholder: Placeholder, text: &str) -> Self {
        Self {
            text: text.to_owned(),
            binds: Vec::new(),
            placeholder,
        }
    }

    /// Appends SQL text (never caller data).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder and binds `value` to it.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.binds.push(value.into());
        self.placeholder.write(&mut self.text, self.binds.len());
        self
    }

    /// Appends `(p1, p2, …)` binding each value: for `IN` lists and multi-row `VALUES`.
    pub fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
    }

    /// The SQL text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The bound values, in placeholder order.
    pub fn values(&self) -> &[Value] {
        &self.binds
    }

    /// The SQL text and the bound values, in placeholder order.
    pub fn into_parts(self) -> (String, Vec<Value>) {
        (self.text, self.binds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_ms_rounds_up_only_partial_milliseconds() {
        let t = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        assert_eq!(ceil_ms(t), t);
        let partial = t + chrono::TimeDelta::microseconds(1);
        assert_eq!(ceil_ms(partial), t + chrono::TimeDelta::milliseconds(1));
    }

    #[test]
    fn placeholders_number_in_bind_order() {
        let mut sql = Sql::new(Placeholder::Numbered, "");
        sql.push("a = ")
            .bind("x'; --")
            .push(" AND b IN ")
            .bind_list([1_i64, 2]);
        assert_eq!(sql.text(), "a = $1 AND b IN ($2, $3)");
        assert_eq!(sql.values()[0], Value::Text(Some("x'; --".into())));
        assert_eq!(sql.values().len(), 3);
        let mut q = Sql::new(Placeholder::Question, "x IN ");
        q.bind_list(["a", "b"]);
        assert_eq!(q.into_parts().0, "x IN (?, ?)");
    }
}
