//! One way to get peppers: `APIKEY_PEPPER`, the pepper file formats (text and the early quick
//! start's 32 raw bytes), private file modes, and never a new pepper over existing keys.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;

use apikey_core::hash::{
    PepperConfig, PepperSource, RAW_FILE_PEPPER_ID, pepper_file_beside, read_pepper_file,
};
use apikey_core::{ApiKeys, Credential, ErrorKind, KeyStore, NewKey, Peppers, RequestContext};
use apikey_memory::MemoryStore;

const SPEC: &str = "v1=dGVzdC1wZXBwZXItMzItYnl0ZXMtbG9uZy1lbm91Z2g=";

fn write_private(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A key made under `made_with` verifies under `read_back`.
async fn same_peppers(made_with: Peppers, read_back: Peppers) -> bool {
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let maker = ApiKeys::builder(store.clone())
        .peppers(made_with)
        .build()
        .unwrap();
    let created = maker.manager().create(NewKey::new("k")).await.unwrap();
    let reader = ApiKeys::builder(store).peppers(read_back).build().unwrap();
    reader
        .verifier()
        .verify(
            Credential::new(created.token.expose()),
            &RequestContext::new(),
        )
        .await
        .is_ok()
}

#[tokio::test]
async fn raw_quick_start_files_keep_working_as_qs1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("quickstart.db.pepper");
    // Bytes chosen to include non-text ones, as random bytes do.
    let raw: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(37).wrapping_add(200))
        .collect();
    write_private(&file, &raw);
    let read = read_pepper_file(&file).unwrap();
    assert_eq!(read.current_id().as_str(), RAW_FILE_PEPPER_ID);
    let original = Peppers::single(RAW_FILE_PEPPER_ID, raw).unwrap();
    assert!(same_peppers(original, read).await);
}

#[tokio::test]
async fn text_files_hold_what_apikey_pepper_holds() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k.db.pepper");
    write_private(
        &file,
        format!("# current first\n{SPEC}\nv0=b2xkLXBlcHBlci1zdGlsbC12ZXJpZmllcw==\n").as_bytes(),
    );
    let read = read_pepper_file(&file).unwrap();
    assert_eq!(read.current_id().as_str(), "v1");
    assert!(same_peppers(Peppers::from_spec(SPEC).unwrap(), read).await);
}

#[test]
fn a_pepper_file_open_to_group_or_others_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k.db.pepper");
    write_private(&file, SPEC.as_bytes());
    for mode in [0o640, 0o604, 0o644, 0o660] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = read_pepper_file(&file).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message()
                .contains(&format!("chmod 600 {}", file.display())),
            "{}",
            err.message()
        );
        // Through the loader too: no fallback to anything else.
        let loaded = PepperConfig::with_spec(None)
            .beside_sqlite(&dir.path().join("k.db"))
            .allow_ephemeral(true)
            .load();
        assert!(loaded.is_err());
    }
}

#[test]
fn invalid_peppers_are_errors_that_never_echo_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k.db.pepper");
    write_private(&file, b"v1=c2hvcnQtb25l \n");
    let err = read_pepper_file(&file).unwrap_err();
    assert!(!err.message().contains("c2hvcnQ"), "{}", err.message());
    let err = PepperConfig::with_spec(Some("v1=c2hvcnQtb25l".into()))
        .load()
        .unwrap_err();
    assert!(err.message().contains("APIKEY_PEPPER is not valid"));
    assert!(!err.message().contains("c2hvcnQ"), "{}", err.message());
    assert!(!format!("{err:?}").contains("c2hvcnQ"));
    let config = PepperConfig::with_spec(Some(SPEC.into()));
    assert!(!format!("{config:?}").contains("dGVzd"));
}

#[test]
fn the_environment_wins_and_nothing_means_an_error_unless_ephemeral_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    write_private(
        &pepper_file_beside(&db),
        b"f1=ZmlsZS1wZXBwZXItZmlsZS1wZXBwZXI=\n",
    );
    let env = PepperConfig::with_spec(Some(SPEC.into()))
        .beside_sqlite(&db)
        .load()
        .unwrap();
    assert_eq!(env.source, PepperSource::Env);
    assert_eq!(env.peppers.current_id().as_str(), "v1");
    let file = PepperConfig::with_spec(None)
        .beside_sqlite(&db)
        .load()
        .unwrap();
    assert_eq!(file.source, PepperSource::File(pepper_file_beside(&db)));

    let none = PepperConfig::with_spec(None).load().unwrap_err();
    assert_eq!(none.kind(), ErrorKind::Config);
    assert!(
        none.message().contains("APIKEY_PEPPER"),
        "{}",
        none.message()
    );
    let missing = PepperConfig::with_spec(Some("  ".into()))
        .beside_sqlite(&dir.path().join("other.db"))
        .load()
        .unwrap_err();
    assert!(missing.message().contains("other.db.pepper"));
    assert!(!dir.path().join("other.db.pepper").exists());
    let demo = PepperConfig::with_spec(None)
        .allow_ephemeral(true)
        .load()
        .unwrap();
    assert_eq!(demo.source, PepperSource::Ephemeral);
}

#[tokio::test]
async fn a_new_pepper_file_only_while_the_store_holds_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let file = pepper_file_beside(&db);
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let config = PepperConfig::with_spec(None)
        .beside_sqlite(&db)
        .create_file_if_no_keys(true);
    // `load` alone never creates one.
    assert!(config.load().is_err());
    assert!(!file.exists());

    let created = config.load_or_create(store.as_ref()).await.unwrap();
    assert_eq!(created.source, PepperSource::CreatedFile(file.clone()));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("v1=") && text.ends_with('\n'));
    let again = config.load_or_create(store.as_ref()).await.unwrap();
    assert_eq!(again.source, PepperSource::File(file.clone()));
    assert!(same_peppers(created.peppers.clone(), again.peppers).await);

    // Keys exist and the file is gone: refuse, name the file, make nothing.
    ApiKeys::builder(store.clone())
        .peppers(created.peppers)
        .build()
        .unwrap()
        .manager()
        .create(NewKey::new("k"))
        .await
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    let err = config.load_or_create(store.as_ref()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains(&file.display().to_string()));
    assert!(err.message().contains("restore"), "{}", err.message());
    assert!(!file.exists());
}
