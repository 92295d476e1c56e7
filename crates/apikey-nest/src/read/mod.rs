//! Reading a nest-api-key-auth source: the URL's scheme picks the reader.

#[cfg(feature = "mongodb")]
mod mongo;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

use crate::error::{NestError, redact};
use crate::report::RowFailure;
use crate::row::{NestRow, Unreadable};
use crate::shape::Shape;

/// Each row read, or why it could not be.
pub(crate) type Rows = Vec<Result<NestRow, Unreadable>>;

/// What a source holds: its shape, the rows read, and the rows that could not be decoded.
#[derive(Debug, Clone)]
pub struct NestRead {
    /// The table's (or collection's) shape.
    pub shape: Shape,
    /// The rows decoded.
    pub rows: Vec<NestRow>,
    /// Rows with a column that could not be decoded.
    pub unreadable: Vec<RowFailure>,
}

/// A nest-api-key-auth key store: `postgres://…`, `mysql://…` (or `mariadb://…`), `sqlite:…`, or
/// `mongodb://…/<database>`. Only ever read; SQLite files are opened read-only.
#[derive(Clone)]
pub struct NestSource {
    url: String,
}

impl std::fmt::Debug for NestSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("NestSource")
            .field(&redact(&self.url))
            .finish()
    }
}

impl NestSource {
    /// A source at `url`; fails when this build cannot read that kind of URL. Connects only in
    /// [`read`](Self::read).
    pub fn new(url: &str) -> Result<Self, NestError> {
        let scheme = url.split(':').next().unwrap_or_default();
        // With every feature on each arm is `true`; which are is the point.
        #[allow(clippy::match_like_matches_macro)]
        let supported = match scheme {
            "postgres" | "postgresql" => cfg!(feature = "postgres"),
            "mysql" | "mariadb" => cfg!(feature = "mysql"),
            "sqlite" => cfg!(feature = "sqlite"),
            "mongodb" => cfg!(feature = "mongodb"),
            _ => false,
        };
        if !supported {
            return Err(NestError::Unsupported(redact(url)));
        }
        Ok(Self {
            url: url.to_owned(),
        })
    }

    /// Every row, with the table's shape. Fails as a whole only when the source cannot be
    /// reached or is not the library's table; a row that cannot be decoded is listed instead.
    pub async fn read(&self) -> Result<NestRead, NestError> {
        let (shape, rows) = self.read_rows().await?;
        let mut read = NestRead {
            shape,
            rows: Vec::with_capacity(rows.len()),
            unreadable: Vec::new(),
        };
        for row in rows {
            match row {
                Ok(r) => read.rows.push(r),
                Err(u) => read.unreadable.push(RowFailure {
                    source_id: u.id,
                    reason: u.reason,
                }),
            }
        }
        Ok(read)
    }

    async fn read_rows(&self) -> Result<(Shape, Rows), NestError> {
        let url = self.url.as_str();
        // `mariadb://` is a spelling sqlx does not know.
        #[cfg(feature = "mysql")]
        if let Some(rest) = url.strip_prefix("mariadb:") {
            return mysql::read(&format!("mysql:{rest}")).await;
        }
        match url.split(':').next().unwrap_or_default() {
            #[cfg(feature = "postgres")]
            "postgres" | "postgresql" => postgres::read(url).await,
            #[cfg(feature = "mysql")]
            "mysql" => mysql::read(url).await,
            #[cfg(feature = "sqlite")]
            "sqlite" => sqlite::read(url).await,
            #[cfg(feature = "mongodb")]
            "mongodb" => mongo::read(url).await,
            _ => Err(NestError::Unsupported(redact(url))),
        }
    }
}
