//! A PostgreSQL database of a test's own, created from `APIKEY_TEST_POSTGRES_URL`.
#![allow(clippy::print_stderr)]

use apikey_sqlx::sqlx::{self, Connection as _};

/// `url` with its database replaced by `db`.
pub(crate) fn with_database(url: &str, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with ://");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let query = tail.find('?').map_or("", |q| &tail[q..]);
    format!("{scheme}://{authority}/{db}{query}")
}

/// A fresh, uniquely named database; dropped when this guard is.
pub(crate) struct TempDb {
    admin_url: String,
    pub(crate) name: String,
    pub(crate) url: String,
}

impl TempDb {
    pub(crate) fn new(admin_url: &str, tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("apikey_cli_{tag}_{}_{nanos}", std::process::id());
        block_on(async {
            let mut c = sqlx::PgConnection::connect(admin_url).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut c)
                .await
                .unwrap();
            c.close().await.unwrap();
        });
        Self {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        block_on(async move {
            if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                if let Err(e) = sqlx::query(&sql).execute(&mut c).await {
                    eprintln!("could not drop {name}: {e}");
                }
            }
        });
    }
}

pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
