//! Importing from PostgreSQL in the three table shapes: Prisma's full schema, Prisma's first
//! migration and TypeORM's entity, each in a fresh database (dropped afterwards), rows written as
//! the library writes them. Needs `APIKEY_TEST_POSTGRES_URL` (`source .ci/services.sh`).

mod common;

use apikey_core::{KeyState, QuotaPeriod, TenantScope};
use apikey_nest::{NEST_ID_KEY, NestError, NestOptions, Shape, import_nest, key_id_for};
use chrono::{Duration, NaiveDateTime, Utc};
use common::{SourceKey, import_and_verify, memory_keys, source_keys, whitelist};
use sqlx::{Connection as _, PgConnection};

/// A fresh database; dropped by [`Pg::drop_db`] (called even when the test body panics).
struct Pg {
    admin: String,
    name: String,
    url: String,
}

impl Pg {
    async fn fresh() -> Self {
        let admin = common::service_url("APIKEY_TEST_POSTGRES_URL");
        let name = common::unique_name();
        let mut c = PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        let url = common::with_database(&admin, &name);
        Self { admin, name, url }
    }

    async fn exec(&self, sql: &str) {
        let mut c = PgConnection::connect(&self.url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }

    async fn drop_db(self) {
        let mut c = PgConnection::connect(&self.admin).await.unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut c)
        .await
        .unwrap();
    }

    /// Runs `body` on the database, then drops it, then re-raises any failure.
    async fn with<F: Future<Output = ()>>(self, body: impl FnOnce(String) -> F) {
        use futures_util::FutureExt as _;
        let r = std::panic::AssertUnwindSafe(body(self.url.clone()))
            .catch_unwind()
            .await;
        self.drop_db().await;
        if let Err(p) = r {
            std::panic::resume_unwind(p);
        }
    }
}

const FIRST_MIGRATION: &str = r#"
CREATE TABLE "api_keys" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "keyPrefix" TEXT NOT NULL,
    "hashedKey" TEXT NOT NULL,
    "scopes" TEXT[],
    "expiresAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "api_keys_keyPrefix_idx" ON "api_keys"("keyPrefix");
CREATE UNIQUE INDEX "api_keys_keyPrefix_hashedKey_key" ON "api_keys"("keyPrefix", "hashedKey");
"#;

const FULL_EXTRA: &str = r#"
ALTER TABLE "api_keys"
    ADD COLUMN "suspendedAt" TIMESTAMP(3),
    ADD COLUMN "approvedAt" TIMESTAMP(3),
    ADD COLUMN "quotaResetAt" TIMESTAMP(3),
    ADD COLUMN "revocationReason" TEXT,
    ADD COLUMN "state" TEXT NOT NULL DEFAULT 'active',
    ADD COLUMN "expirationGracePeriodMs" INTEGER,
    ADD COLUMN "ipWhitelist" TEXT[],
    ADD COLUMN "ipBlacklist" TEXT[],
    ADD COLUMN "rateLimitMax" INTEGER,
    ADD COLUMN "rateLimitWindowMs" INTEGER,
    ADD COLUMN "quotaMax" INTEGER,
    ADD COLUMN "quotaPeriod" TEXT,
    ADD COLUMN "quotaUsed" INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN "metadata" JSONB,
    ADD COLUMN "tags" TEXT[],
    ADD COLUMN "owner" TEXT,
    ADD COLUMN "environment" TEXT,
    ADD COLUMN "description" TEXT;
"#;

const TYPEORM: &str = r#"
CREATE TABLE "api_keys" (
    "id" uuid NOT NULL DEFAULT gen_random_uuid(),
    "name" character varying NOT NULL,
    "keyPrefix" character varying NOT NULL,
    "hashedKey" character varying NOT NULL,
    "scopes" text NOT NULL,
    "expiresAt" TIMESTAMP,
    "revokedAt" TIMESTAMP,
    "lastUsedAt" TIMESTAMP,
    "createdAt" TIMESTAMP NOT NULL DEFAULT now(),
    "updatedAt" TIMESTAMP NOT NULL DEFAULT now(),
    CONSTRAINT "PK_api_keys" PRIMARY KEY ("id")
);
"#;

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// Inserts the ten common columns; `typeorm` writes scopes as its comma list and ids as uuids.
async fn insert_base(url: &str, keys: &[SourceKey], typeorm: bool) {
    let mut c = PgConnection::connect(url).await.unwrap();
    for k in keys {
        let revoked = k.revoked.then(now);
        let q = if typeorm {
            sqlx::query(
                r#"INSERT INTO "api_keys" ("id", "name", "keyPrefix", "hashedKey", "scopes", "revokedAt", "updatedAt")
                   VALUES ($1::uuid, $2, $3, $4, $5, $6, $7)"#,
            )
            .bind(&k.id)
            .bind(&k.name)
            .bind(&k.prefix)
            .bind(&k.hashed)
            .bind(k.scopes.join(","))
        } else {
            sqlx::query(
                r#"INSERT INTO "api_keys" ("id", "name", "keyPrefix", "hashedKey", "scopes", "revokedAt", "updatedAt")
                   VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
            )
            .bind(&k.id)
            .bind(&k.name)
            .bind(&k.prefix)
            .bind(&k.hashed)
            .bind(&k.scopes)
        };
        q.bind(revoked).bind(now()).execute(&mut c).await.unwrap();
    }
    c.close().await.unwrap();
}

#[tokio::test]
async fn prisma_first_migration() {
    let pg = Pg::fresh().await;
    pg.exec(FIRST_MIGRATION).await;
    pg.with(|url| async move {
        let source = source_keys(false);
        insert_base(&url, &source, false).await;
        let keys = memory_keys();
        import_and_verify(&keys, &url, Shape::PrismaFirstMigration, &source).await;
        let revoked = keys
            .manager()
            .get(&TenantScope::All, key_id_for("ck3revoked", None))
            .await
            .unwrap();
        assert_eq!(revoked.state, KeyState::Revoked);
    })
    .await;
}

#[tokio::test]
async fn typeorm_simple_array() {
    let pg = Pg::fresh().await;
    pg.exec(TYPEORM).await;
    pg.with(|url| async move {
        let mut source = source_keys(false);
        for k in &mut source {
            k.id = uuid::Uuid::new_v4().to_string();
        }
        insert_base(&url, &source, true).await;
        let keys = memory_keys();
        import_and_verify(&keys, &url, Shape::TypeOrm, &source).await;
        let first = keys
            .manager()
            .get(&TenantScope::All, key_id_for(&source[0].id, None))
            .await
            .unwrap();
        assert_eq!(first.scopes.len(), 2, "the comma list is split");
    })
    .await;
}

#[tokio::test]
async fn prisma_full_schema() {
    let pg = Pg::fresh().await;
    pg.exec(FIRST_MIGRATION).await;
    pg.exec(FULL_EXTRA).await;
    pg.with(|url| async move {
        let source = source_keys(true);
        insert_base(&url, &source, false).await;
        let mut c = PgConnection::connect(&url).await.unwrap();
        for k in &source {
            sqlx::query(r#"UPDATE "api_keys" SET "ipWhitelist" = $1 WHERE "id" = $2"#)
                .bind(whitelist(k))
                .bind(&k.id)
                .execute(&mut c)
                .await
                .unwrap();
        }
        // Whole milliseconds: TIMESTAMP(3) rounds finer values, which would flake the comparison.
        let in_30_days = (Utc::now() + Duration::days(30)).timestamp_millis();
        let expires = chrono::DateTime::from_timestamp_millis(in_30_days)
            .unwrap()
            .naive_utc();
        sqlx::query(
            r#"UPDATE "api_keys" SET "state" = 'active', "expiresAt" = $1,
                 "expirationGracePeriodMs" = 3600000, "ipBlacklist" = ARRAY['192.0.2.0/24'],
                 "rateLimitMax" = 100, "rateLimitWindowMs" = 60000, "quotaMax" = 5000,
                 "quotaPeriod" = 'monthly', "quotaUsed" = 12, "metadata" = '{"team": "billing"}',
                 "tags" = ARRAY['payments', 'internal'], "owner" = 'team-billing',
                 "environment" = 'production', "description" = 'billing service'
               WHERE "id" = 'ck1good'"#,
        )
        .bind(expires)
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query(
            r#"UPDATE "api_keys" SET "state" = 'revoked', "revocationReason" = 'leaked'
               WHERE "id" = 'ck3revoked'"#,
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();

        let keys = memory_keys();
        import_and_verify(&keys, &url, Shape::PrismaFull, &source).await;

        let r = keys
            .manager()
            .get(&TenantScope::All, key_id_for("ck1good", None))
            .await
            .unwrap();
        assert_eq!(r.name, "billing");
        assert_eq!(r.state, KeyState::Active);
        assert_eq!(
            r.expires_at.unwrap().timestamp_millis(),
            expires.and_utc().timestamp_millis()
        );
        assert_eq!(r.ip_rules.deny().len(), 1);
        assert_eq!(
            common::guarded_status_from(&keys, &source[0].token, [192, 0, 2, 7]).await,
            http::StatusCode::FORBIDDEN,
            "the deny list came along"
        );
        let rate = r.rate_limit.unwrap();
        assert_eq!((rate.requests, rate.per_ms), (100, 60_000));
        let quota = r.quota.unwrap();
        assert_eq!((quota.limit, quota.period), (5000, QuotaPeriod::Month));
        assert_eq!(r.tags, ["internal", "payments"]);
        assert_eq!(r.owner.as_deref(), Some("team-billing"));
        assert_eq!(r.environment.as_deref(), Some("production"));
        assert_eq!(r.description.as_deref(), Some("billing service"));
        let meta = r.metadata.as_map();
        assert_eq!(meta["team"], "billing");
        assert_eq!(meta[NEST_ID_KEY], "ck1good");
        let revoked = keys
            .manager()
            .get(&TenantScope::All, key_id_for("ck3revoked", None))
            .await
            .unwrap();
        assert_eq!(revoked.state, KeyState::Revoked);
        assert_eq!(revoked.state_reason.as_deref(), Some("leaked"));
    })
    .await;
}

#[tokio::test]
async fn a_table_of_another_shape_is_refused_naming_the_missing_columns() {
    let pg = Pg::fresh().await;
    pg.exec(r#"CREATE TABLE "api_keys" ("id" TEXT PRIMARY KEY, "name" TEXT, "token" TEXT)"#)
        .await;
    pg.with(|url| async move {
        let err = import_nest(memory_keys().manager(), &url, &NestOptions::new())
            .await
            .unwrap_err();
        let NestError::UnknownShape { missing } = &err else {
            panic!("{err}");
        };
        assert!(missing.iter().any(|c| c == "keyPrefix"), "{err}");
        assert!(err.to_string().contains("hashedKey"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_source_is_a_clear_error_without_its_password() {
    let err = import_nest(
        memory_keys().manager(),
        "postgres://app:hunter2@127.0.0.1:1/none",
        &NestOptions::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, NestError::Unreachable { .. }), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
