//! The store names before 0.2 still compile, as deprecated aliases of the new ones, for one
//! release: a user upgrading gets warnings that name the replacement, not errors.
#![allow(deprecated)]

use std::any::TypeId;

#[test]
fn old_store_names_are_the_new_types() {
    #[cfg(feature = "postgres")]
    assert_eq!(
        TypeId::of::<apikey::sqlx::PgKeyStore>(),
        TypeId::of::<apikey::sqlx::SqlxPostgresStore>()
    );
    #[cfg(feature = "mysql")]
    assert_eq!(
        TypeId::of::<apikey::sqlx::MySqlKeyStore>(),
        TypeId::of::<apikey::sqlx::SqlxMySqlStore>()
    );
    #[cfg(feature = "sqlite")]
    {
        assert_eq!(
            TypeId::of::<apikey::sqlx::SqliteKeyStore>(),
            TypeId::of::<apikey::sqlx::SqlxSqliteStore>()
        );
        assert_eq!(
            TypeId::of::<apikey::sqlx::SqlKeyStore<apikey::sqlx::sqlx::Sqlite>>(),
            TypeId::of::<apikey::sqlx::SqlxSqliteStore>()
        );
    }
    #[cfg(feature = "diesel-postgres")]
    assert_eq!(
        TypeId::of::<apikey::diesel::DieselPgStore>(),
        TypeId::of::<apikey::diesel::DieselPostgresStore>()
    );
    #[cfg(feature = "diesel-mysql")]
    assert_eq!(
        TypeId::of::<apikey::diesel::DieselMysqlStore>(),
        TypeId::of::<apikey::diesel::DieselMySqlStore>()
    );
    #[cfg(feature = "mongodb")]
    assert_eq!(
        TypeId::of::<apikey::mongodb::MongoKeyStore>(),
        TypeId::of::<apikey::mongodb::MongoStore>()
    );
}

#[test]
fn the_audit_action_type_is_the_event_type() {
    assert_eq!(
        TypeId::of::<apikey::AuditAction>(),
        TypeId::of::<apikey::EventType>()
    );
    assert_eq!(apikey::AuditAction::Created.as_str(), "key.created");
}
