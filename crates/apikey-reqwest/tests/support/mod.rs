//! A real axum server on 127.0.0.1 behind `ApiKeyLayer` with a `SignatureCheck`: `POST /echo`
//! answers the body it received, `GET /whoami` the key's name.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;

use apikey_axum::{ApiKeyLayer, Verified};
use apikey_core::signing::{MemoryNonces, Signer, SigningMode, SigningSecret};
use apikey_core::{ApiKeys, Keks, NewKey, SecretBox};
use apikey_memory::MemoryStore;
use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};

pub struct Server {
    pub keys: ApiKeys,
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct Key {
    pub token: String,
    pub lookup: String,
    pub secret: SigningSecret,
}

impl Key {
    pub fn signer(&self) -> Signer {
        Signer::new(self.lookup.clone(), self.secret.clone())
    }
}

impl Server {
    pub async fn start() -> Self {
        let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
            .random_peppers_keys_die_at_exit()
            .secret_box(SecretBox::new(
                Keks::from_spec("k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap(),
            ))
            .build()
            .unwrap();
        let check = keys
            .signature_check(Arc::new(MemoryNonces::default()))
            .unwrap();
        let layer = ApiKeyLayer::new(keys.verifier().clone()).with_check(check);
        let app = Router::new()
            .route(
                "/echo",
                post(|_: Verified, body: Bytes| async move { body }),
            )
            .route(
                "/whoami",
                get(|key: Verified| async move { key.record().name.clone() }),
            )
            .layer(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self { keys, addr, task }
    }

    pub async fn key(&self, name: &str, mode: SigningMode) -> Key {
        let created = self
            .keys
            .manager()
            .create(NewKey::new(name).signing(mode))
            .await
            .unwrap();
        Key {
            token: created.token.expose().to_owned(),
            lookup: created.record.lookup_id.to_string(),
            secret: created.signing_secret.unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}
