//! Each feature exposes its crate under the module the facade's documentation names: this file
//! names one item of each, so a renamed module or a dropped re-export fails to build (CI builds
//! the facade with every feature; `cargo xtask check-features --each` builds each alone).

#[test]
fn every_feature_exposes_its_module() {
    let mut exposed: Vec<&str> = vec![std::any::type_name::<apikey::Verifier>()];
    #[cfg(feature = "memory")]
    exposed.push(std::any::type_name::<apikey::memory::MemoryStore>());
    #[cfg(feature = "sqlite")]
    exposed.push(std::any::type_name::<apikey::sqlx::SqlxSqliteStore>());
    #[cfg(feature = "postgres")]
    exposed.push(std::any::type_name::<apikey::sqlx::SqlxPostgresStore>());
    #[cfg(feature = "mysql")]
    exposed.push(std::any::type_name::<apikey::sqlx::SqlxMySqlStore>());
    #[cfg(feature = "diesel-postgres")]
    exposed.push(std::any::type_name::<apikey::diesel::DieselPostgresStore>());
    #[cfg(feature = "diesel-mysql")]
    exposed.push(std::any::type_name::<apikey::diesel::DieselMySqlStore>());
    #[cfg(feature = "diesel-sqlite")]
    exposed.push(std::any::type_name::<apikey::diesel::DieselSqliteStore>());
    #[cfg(feature = "mongodb")]
    exposed.push(std::any::type_name::<apikey::mongodb::MongoStore>());
    #[cfg(feature = "redis")]
    exposed.push(std::any::type_name::<apikey::redis::RedisCache>());
    #[cfg(feature = "axum")]
    exposed.push(std::any::type_name::<apikey::axum::ApiKeyLayer>());
    #[cfg(feature = "actix")]
    exposed.push(std::any::type_name::<apikey::actix::ApiKeyAuth>());
    #[cfg(feature = "tonic")]
    exposed.push(std::any::type_name::<apikey::tonic::ApiKeyLayer>());
    #[cfg(feature = "graphql")]
    exposed.push(std::any::type_name::<apikey::graphql::ScopeGuard>());
    assert!(
        exposed.iter().all(|name| name.starts_with("apikey_")),
        "{exposed:?}"
    );
}
