//! The key programme on the manager (over the memory store, whose store contracts the testkit
//! suite checks on every backend): templates and groups fill what a caller left unset, aliases
//! resolve and stay unique, clone and transfer, and bulk work per row, all-or-none and by filter.

mod common;

use std::sync::Arc;

use apikey_core::catalog::{CatalogKind, KeyDefaults, Preset};
use apikey_core::{
    ApiKeys, AuditFilter, AuditStore, Change, Credential, ErrorKind, EventType, KeyState, NewKey,
    RequestContext, ScopeSet, TenantScope, TenantSettings,
};
use apikey_memory::MemoryStore;
use common::programme::{count, keys, t};

fn scopes(s: &[&str]) -> ScopeSet {
    ScopeSet::parse(s).expect("scopes")
}

fn preset(kind: CatalogKind, name: &str, scope: &str, env: &str) -> Preset {
    Preset {
        kind,
        name: name.to_owned(),
        description: None,
        defaults: KeyDefaults {
            scopes: scopes(&[scope]),
            environment: Some(env.to_owned()),
            tags: vec![format!("from-{name}")],
            expires_in_days: Some(30),
            ..KeyDefaults::default()
        },
        rotation: None,
        pool: None,
    }
}

async fn events(store: &MemoryStore, types: &[EventType]) -> Vec<apikey_core::AuditEvent> {
    let filter = AuditFilter {
        types: types.to_vec(),
        limit: 1000,
        ..AuditFilter::default()
    };
    AuditStore::query(store, &TenantScope::All, &filter)
        .await
        .expect("audit")
}

#[tokio::test]
async fn explicit_options_beat_the_template_which_beats_the_group() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    let acme = t("acme");
    m.save_preset(
        Some(&acme),
        preset(CatalogKind::Template, "partner", "partner:read", "tpl-env"),
        0,
        Change::by("ops"),
    )
    .await
    .expect("template");
    let mut group = preset(CatalogKind::Group, "team", "team:read", "grp-env");
    group.defaults.require_approval = true;
    group.defaults.tags = Vec::new();
    m.save_preset(Some(&acme), group, 0, Change::new())
        .await
        .expect("group");
    assert_eq!(
        events(&store, &[EventType::TemplateSaved, EventType::GroupSaved])
            .await
            .len(),
        2
    );

    let mut new = NewKey::new("k").tenant(acme.clone()).group("team");
    new.template = Some("partner".to_owned());
    new.environment = Some("explicit".to_owned());
    let k = m.create(new).await.expect("create").record;
    assert_eq!(k.scopes, scopes(&["partner:read"]), "the template's scopes");
    assert_eq!(
        k.environment.as_deref(),
        Some("explicit"),
        "the caller's own value wins"
    );
    assert_eq!(
        k.tags,
        ["from-partner"],
        "the template fills before the group"
    );
    assert_eq!(k.state, KeyState::Pending, "the group asks for approval");
    assert_eq!(k.template.as_deref(), Some("partner"));
    let expiry = k.expires_at.expect("relative expiry") - k.created_at;
    assert_eq!(expiry.num_days(), 30);

    let only_group = m
        .create(NewKey::new("g").tenant(acme.clone()).group("team"))
        .await
        .expect("group only");
    assert_eq!(only_group.record.scopes, scopes(&["team:read"]));
    assert_eq!(only_group.record.environment.as_deref(), Some("grp-env"));

    let before = count(&store).await;
    let mut unknown = NewKey::new("u").tenant(acme.clone());
    unknown.template = Some("nope".to_owned());
    let err = m.create(unknown).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("template \"nope\""), "{err}");
    let err = m
        .create(NewKey::new("u").tenant(acme.clone()).group("ghosts"))
        .await
        .unwrap_err();
    assert!(err.message().contains("group \"ghosts\""), "{err}");
    let err = m
        .create(NewKey::new("u").tenant(t("other")).group("team"))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::NotFound,
        "another tenant's group is unknown here"
    );
    assert_eq!(count(&store).await, before, "refusals write nothing");
}

#[tokio::test]
async fn presets_validate_and_compare_and_set_through_the_manager() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    let mut bad = Preset::new(CatalogKind::Template, "x");
    bad.defaults.expires_in_days = Some(0);
    let err = m
        .save_preset(None, bad, 0, Change::new())
        .await
        .unwrap_err();
    assert!(err.message().contains("expires_in_days"), "{err}");
    let err = m
        .save_preset(None, Preset::new(CatalogKind::Group, " "), 0, Change::new())
        .await
        .unwrap_err();
    assert!(err.message().contains("group"), "{err}");
    let saved = m
        .save_preset(
            None,
            Preset::new(CatalogKind::Template, "x"),
            0,
            Change::new(),
        )
        .await
        .expect("save");
    assert_eq!(saved.version, 1);
    let err = m
        .save_preset(
            None,
            Preset::new(CatalogKind::Template, "x"),
            0,
            Change::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        m.presets(None, CatalogKind::Template)
            .await
            .expect("list")
            .len(),
        1
    );
    m.remove_preset(None, CatalogKind::Template, "x", Change::by("ops"))
        .await
        .expect("remove");
    let err = m
        .remove_preset(None, CatalogKind::Template, "x", Change::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = m
        .preset(None, CatalogKind::Template, "x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn without_a_catalog_groups_are_free_labels_and_templates_are_refused() {
    let store = MemoryStore::new();
    let keys = ApiKeys::builder(Arc::new(store.clone()))
        .random_peppers_keys_die_at_exit()
        .build()
        .expect("build");
    let m = keys.manager();
    m.create(NewKey::new("k").group("anything"))
        .await
        .expect("a free label");
    let mut new = NewKey::new("t");
    new.template = Some("x".to_owned());
    assert_eq!(m.create(new).await.unwrap_err().kind(), ErrorKind::Config);
}

#[tokio::test]
async fn aliases_resolve_stay_unique_and_never_look_like_ids() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    let acme = t("acme");
    let scope = TenantScope::Tenant(acme.clone());
    let a = m
        .create(NewKey::new("a").tenant(acme.clone()).aliases(["billing"]))
        .await
        .expect("a")
        .record;
    let b = m
        .create(NewKey::new("b").tenant(acme.clone()))
        .await
        .expect("b")
        .record;
    assert_eq!(m.resolve(&scope, "billing").await.expect("alias").id, a.id);
    assert_eq!(
        m.resolve(&scope, &b.id.to_string()).await.expect("id").id,
        b.id
    );
    let err = m.resolve(&scope, "nobody").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("nobody"), "{err}");
    let err = m
        .resolve(&TenantScope::Tenant(t("other")), "billing")
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::NotFound,
        "another tenant's alias is invisible"
    );

    let err = m
        .add_alias(&scope, b.id, "billing", Change::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(
        m.get(&scope, b.id).await.expect("b").aliases.is_empty(),
        "nothing written"
    );
    let err = m
        .create(NewKey::new("c").tenant(acme.clone()).aliases(["billing"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let err = m
        .add_alias(&scope, b.id, &a.id.to_string(), Change::new())
        .await
        .unwrap_err();
    assert!(err.message().contains("key id"), "{err}");

    m.remove_alias(&scope, a.id, "billing", Change::new())
        .await
        .expect("remove");
    assert_eq!(
        m.remove_alias(&scope, a.id, "billing", Change::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    m.add_alias(&scope, b.id, "billing", Change::new())
        .await
        .expect("free again");
    assert_eq!(m.resolve(&scope, "billing").await.expect("moved").id, b.id);
    m.create(NewKey::new("d").tenant(t("globex")).aliases(["billing"]))
        .await
        .expect("another tenant");
    let err = m.resolve(&TenantScope::All, "billing").await.unwrap_err();
    assert!(
        err.message().contains("several tenants"),
        "ambiguous across tenants: {err}"
    );
}

#[tokio::test]
async fn clone_copies_settings_with_a_new_secret_and_lineage() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    let scope = TenantScope::All;
    let from = m
        .create(
            NewKey::new("orig")
                .owner("ann")
                .aliases(["orig"])
                .scopes(["a:read", "b:*"])
                .expect("scopes"),
        )
        .await
        .expect("orig");
    let copy = m
        .clone_key(
            &scope,
            from.record.id,
            Some("copy".to_owned()),
            Change::by("ops"),
        )
        .await
        .expect("clone");
    let (a, c) = (&from.record, &copy.record);
    assert_ne!(c.id, a.id);
    assert_eq!(c.lineage_id, c.id, "a lineage of its own");
    assert_ne!(c.lookup_id, a.lookup_id);
    assert_eq!(
        (c.name.as_str(), &c.scopes, &c.owner),
        ("copy", &a.scopes, &a.owner)
    );
    assert!(c.aliases.is_empty(), "aliases name one key");
    let verified = keys
        .verifier()
        .verify(Credential::new(copy.token.expose()), &RequestContext::new())
        .await;
    assert_eq!(verified.expect("the clone's token works").key_id(), c.id);
    let created = events(&store, &[EventType::Created]).await;
    let ev = created
        .iter()
        .find(|e| e.key_id() == Some(c.id))
        .expect("creation event");
    assert_eq!(
        ev.data.as_ref().expect("data")["cloned_from"],
        a.id.to_string()
    );

    m.revoke(&scope, a.id, Change::new()).await.expect("revoke");
    let err = m
        .clone_key(&scope, a.id, None, Change::new())
        .await
        .unwrap_err();
    assert!(err.message().contains("revoked"), "{err}");
}

#[tokio::test]
async fn transfer_moves_the_owner_and_names_both_in_its_event() {
    let store = MemoryStore::new();
    let keys = keys(&store);
    let m = keys.manager();
    let scope = TenantScope::All;
    let k = m
        .create(NewKey::new("k").owner("ann"))
        .await
        .expect("k")
        .record;
    let err = m
        .transfer(&scope, k.id, "ann", Change::new())
        .await
        .unwrap_err();
    assert!(err.message().contains("already belongs"), "{err}");
    let moved = m
        .transfer(&scope, k.id, "bob", Change::by("ops"))
        .await
        .expect("transfer");
    assert_eq!((moved.owner.as_deref(), moved.version), (Some("bob"), 2));
    let ev = events(&store, &[EventType::Transferred]).await;
    assert_eq!(ev.len(), 1);
    let data = ev[0].data.as_ref().expect("data");
    assert_eq!(
        (data["from_owner"].as_str(), data["to_owner"].as_str()),
        (Some("ann"), Some("bob"))
    );

    m.set_settings(
        None,
        TenantSettings {
            max_keys_per_owner: Some(1),
            ..TenantSettings::default()
        },
        0,
        Change::new(),
    )
    .await
    .expect("settings");
    let other = m
        .create(NewKey::new("o").owner("cat"))
        .await
        .expect("o")
        .record;
    let err = m
        .transfer(&scope, other.id, "bob", Change::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitReached, "bob already has one");
}
