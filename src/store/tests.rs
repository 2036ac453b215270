//! The store's own tests: indexes, seeding once, reset.
use super::*;
use crate::fixtures::FixtureSource;
use crate::fixtures::Fixtures;
use crate::model::AuthCategory;

fn seeded() -> (Store, Fixtures) {
    let store = Store::open(&StoreLocation::Ephemeral).unwrap();
    let fixtures = Fixtures::load(&FixtureSource::Embedded).unwrap();
    assert!(store.seed_if_empty(&fixtures).unwrap());
    (store, fixtures)
}

#[test]
fn seeding_indexes_identities_by_cert_and_user_id() {
    let (store, _) = seeded();
    let by_cert = store
        .identity_by_cert("IDENTITY_CARD", "33021199003132432")
        .unwrap()
        .unwrap();
    assert_eq!(by_cert.name.as_deref(), Some("张三"));
    let by_user = store
        .identity_by_user_id("2088102000000001")
        .unwrap()
        .unwrap();
    assert_eq!(by_user, by_cert);
    assert!(store
        .identity_by_user_id("2088999999999999")
        .unwrap()
        .is_none());
}

#[test]
fn a_seeded_store_is_not_seeded_twice() {
    let (store, fixtures) = seeded();
    assert!(!store.seed_if_empty(&fixtures).unwrap());
    assert_eq!(store.seeded_from().unwrap(), Some(fixtures.digest));
}

#[test]
fn authorizations_are_per_app_identity_and_category() {
    let (store, _) = seeded();
    let auth = store
        .authorization("2014072300007148", "zhangsan", AuthCategory::C2B)
        .unwrap()
        .unwrap();
    assert_eq!(auth.open_id, "2088202844499224");
    assert!(store
        .authorization("2014072300007148", "zhangsan", AuthCategory::B2B)
        .unwrap()
        .is_none());
}

#[test]
fn changing_a_certificate_number_moves_the_index_entry() {
    let (store, _) = seeded();
    let mut lisi = store.identity("lisi").unwrap().unwrap();
    lisi.cert_no = Some("110101199001010000".into());
    store
        .apply(store.put_identity_plan(&lisi).unwrap())
        .unwrap();
    assert!(store
        .identity_by_cert("IDENTITY_CARD", "110101199001011001")
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .identity_by_cert("IDENTITY_CARD", "110101199001010000")
            .unwrap()
            .unwrap()
            .id,
        "lisi"
    );
}

#[test]
fn a_certificate_number_cannot_belong_to_two_identities() {
    let (store, _) = seeded();
    let mut lisi = store.identity("lisi").unwrap().unwrap();
    lisi.cert_no = Some("33021199003132432".into());
    assert!(matches!(
        store.put_identity_plan(&lisi),
        Err(StoreError::Conflict(_))
    ));
}

#[test]
fn deleting_an_identity_revokes_its_authorizations() {
    let (store, _) = seeded();
    let zhangsan = store.identity("zhangsan").unwrap().unwrap();
    store
        .apply(store.delete_identity_plan(&zhangsan).unwrap())
        .unwrap();
    assert!(store
        .authorizations(None, Some("zhangsan"))
        .unwrap()
        .is_empty());
    assert!(store
        .identity_by_user_id("2088102000000001")
        .unwrap()
        .is_none());
}

#[test]
fn reset_restores_the_fixtures_exactly() {
    let (store, fixtures) = seeded();
    let before = (
        store.apps().unwrap(),
        store.identities().unwrap(),
        store.authorizations(None, None).unwrap(),
    );
    let zhangsan = store.identity("zhangsan").unwrap().unwrap();
    store
        .apply(store.delete_identity_plan(&zhangsan).unwrap())
        .unwrap();
    store
        .apply(store.delete_app_plan("2021000000000002").unwrap())
        .unwrap();
    store.apply(store.reset_plan(&fixtures).unwrap()).unwrap();
    let after = (
        store.apps().unwrap(),
        store.identities().unwrap(),
        store.authorizations(None, None).unwrap(),
    );
    assert_eq!(before, after);
    assert!(store
        .identity_by_cert("IDENTITY_CARD", "33021199003132432")
        .unwrap()
        .is_some());
}
