//! Importing from MySQL/MariaDB: Prisma's full schema (lists as JSON, `DATETIME(3)`) and TypeORM's
//! entity (`simple-array` text), each in a fresh database dropped afterwards. Needs
//! `APIKEY_TEST_MYSQL_URL` (`source .ci/services.sh`).

mod common;

use apikey_core::{QuotaPeriod, TenantScope};
use apikey_nest::{Shape, key_id_for};
use common::{SourceKey, import_and_verify, memory_keys, source_keys, whitelist};
use futures_util::FutureExt as _;
use sqlx::{Connection as _, MySqlConnection};

async fn with_fresh_db<F: Future<Output = ()>>(ddl: &str, body: impl FnOnce(String) -> F) {
    let admin = common::service_url("APIKEY_TEST_MYSQL_URL");
    let name = common::unique_name();
    let mut c = MySqlConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql(&format!("CREATE DATABASE `{name}`"))
        .execute(&mut c)
        .await
        .unwrap();
    let url = common::with_database(&admin, &name);
    let mut db = MySqlConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(ddl).execute(&mut db).await.unwrap();
    db.close().await.unwrap();
    let r = std::panic::AssertUnwindSafe(body(url)).catch_unwind().await;
    sqlx::raw_sql(&format!("DROP DATABASE `{name}`"))
        .execute(&mut c)
        .await
        .unwrap();
    if let Err(p) = r {
        std::panic::resume_unwind(p);
    }
}

async fn insert(url: &str, keys: &[SourceKey], prisma: bool) {
    let mut c = MySqlConnection::connect(url).await.unwrap();
    let now = chrono::Utc::now().naive_utc();
    for k in keys {
        let scopes = if prisma {
            serde_json::to_string(&k.scopes).unwrap()
        } else {
            k.scopes.join(",")
        };
        sqlx::query(
            "INSERT INTO `api_keys` (`id`, `name`, `keyPrefix`, `hashedKey`, `scopes`, `revokedAt`, `createdAt`, `updatedAt`)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&k.id)
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.hashed)
        .bind(scopes)
        .bind(k.revoked.then_some(now))
        .bind(now)
        .bind(now)
        .execute(&mut c)
        .await
        .unwrap();
        if prisma {
            sqlx::query("UPDATE `api_keys` SET `ipWhitelist` = ? WHERE `id` = ?")
                .bind(serde_json::to_string(&whitelist(k)).unwrap())
                .bind(&k.id)
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
    c.close().await.unwrap();
}

const PRISMA_FULL: &str = "CREATE TABLE `api_keys` (
    `id` VARCHAR(191) NOT NULL,
    `name` VARCHAR(191) NOT NULL,
    `keyPrefix` VARCHAR(191) NOT NULL,
    `hashedKey` VARCHAR(191) NOT NULL,
    `scopes` JSON NOT NULL,
    `expiresAt` DATETIME(3) NULL,
    `revokedAt` DATETIME(3) NULL,
    `suspendedAt` DATETIME(3) NULL,
    `approvedAt` DATETIME(3) NULL,
    `lastUsedAt` DATETIME(3) NULL,
    `quotaResetAt` DATETIME(3) NULL,
    `revocationReason` VARCHAR(191) NULL,
    `state` VARCHAR(191) NOT NULL DEFAULT 'active',
    `expirationGracePeriodMs` INTEGER NULL,
    `ipWhitelist` JSON NULL,
    `ipBlacklist` JSON NULL,
    `rateLimitMax` INTEGER NULL,
    `rateLimitWindowMs` INTEGER NULL,
    `quotaMax` INTEGER NULL,
    `quotaPeriod` VARCHAR(191) NULL,
    `quotaUsed` INTEGER NOT NULL DEFAULT 0,
    `metadata` JSON NULL,
    `tags` JSON NULL,
    `owner` VARCHAR(191) NULL,
    `environment` VARCHAR(191) NULL,
    `description` VARCHAR(191) NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,
    INDEX `api_keys_keyPrefix_idx`(`keyPrefix`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;";

const TYPEORM: &str = "CREATE TABLE `api_keys` (
    `id` varchar(36) NOT NULL,
    `name` varchar(255) NOT NULL,
    `keyPrefix` varchar(255) NOT NULL,
    `hashedKey` varchar(255) NOT NULL,
    `scopes` text NOT NULL,
    `expiresAt` datetime NULL,
    `revokedAt` datetime NULL,
    `lastUsedAt` datetime NULL,
    `createdAt` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    `updatedAt` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (`id`)
) ENGINE=InnoDB;";

#[tokio::test]
async fn prisma_full_schema_with_json_lists() {
    with_fresh_db(PRISMA_FULL, |url| async move {
        let source = source_keys(true);
        insert(&url, &source, true).await;
        let mut c = MySqlConnection::connect(&url).await.unwrap();
        sqlx::query(
            "UPDATE `api_keys` SET `quotaMax` = 10, `quotaPeriod` = 'daily',
               `tags` = '[\"a\", \"b\"]', `metadata` = '{\"x\": 1}' WHERE `id` = 'ck2good'",
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
        let keys = memory_keys();
        import_and_verify(&keys, &url, Shape::PrismaFull, &source).await;
        let r = keys
            .manager()
            .get(&TenantScope::All, key_id_for("ck2good", None))
            .await
            .unwrap();
        assert_eq!(r.quota.unwrap().period, QuotaPeriod::Day);
        assert_eq!(r.tags, ["a", "b"]);
        assert_eq!(r.metadata.as_map()["x"], 1);
    })
    .await;
}

#[tokio::test]
async fn typeorm_simple_array() {
    with_fresh_db(TYPEORM, |url| async move {
        let mut source = source_keys(false);
        for k in &mut source {
            k.id = uuid::Uuid::new_v4().to_string();
        }
        insert(&url, &source, false).await;
        import_and_verify(&memory_keys(), &url, Shape::TypeOrm, &source).await;
    })
    .await;
}
