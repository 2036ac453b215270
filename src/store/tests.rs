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

/// Regression: sled runs `flush_async` on its small thread pool, where each flush waits
/// for log writes that the same pool makes; with as many flushes at once as it has
/// threads (8 notification attempts and 8 admin writes) none ended, the store never
/// wrote again and shutdown waited for ever.
#[test]
fn many_writers_flushing_at_once_all_finish() {
    // On a thread of its own, so a hang fails the test instead of holding it.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&StoreLocation::Dir(dir.path().join("data"))).unwrap());
        let tree = store.own_tree("flushes").unwrap();
        runtime.block_on(async {
            let mut writers = tokio::task::JoinSet::new();
            for writer in 0..32u32 {
                let (store, tree) = (Arc::clone(&store), tree.clone());
                writers.spawn(async move {
                    for round in 0..20u32 {
                        let key = format!("{writer}-{round}");
                        tree.get()
                            .unwrap()
                            .insert(key.as_bytes(), &[0u8; 512][..])
                            .unwrap();
                        store.flush().await.unwrap();
                    }
                });
            }
            while writers.join_next().await.transpose().unwrap().is_some() {}
        });
        let _ = done.send(tree.get().unwrap().len());
    });
    let written = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("flushes still waiting after 60 s");
    assert_eq!(written, 32 * 20);
}

/// Regression (review): a failed reopen left `version` where it was, so answers
/// remembered from the old handles (the authquery memo) kept being given while the store
/// was unavailable. Taking the handles out moves the version, whatever happens next.
#[test]
fn a_reopen_that_fails_still_moves_the_version() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let store = Store::open(&StoreLocation::Dir(dir.clone())).unwrap();
    let before = store.version();
    // The folder moves away and a plain file takes its name: opening it again fails.
    std::fs::rename(&dir, root.path().join("moved")).unwrap();
    std::fs::write(&dir, b"not a folder").unwrap();
    assert!(store.reopen().is_err());
    assert!(store.version() > before);
}

/// Review finding: a write whose own handles a flush had written out was refused when
/// another writer's reopen began before the check that followed the flush: the write was
/// on disk, but the caller was told to make it again (a notification, made twice).
#[tokio::test]
async fn a_write_flushed_before_a_reopen_began_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreLocation::Dir(dir.path().join("data"))).unwrap();
    let mut plan = Plan::default();
    Store::put_faults(&mut plan, "2088000000000001", &serde_json::json!({}));
    let opening = store.apply(plan).unwrap();
    // Another writer's failed write reopens the (healthy) store once the flush is done.
    test_hooks::after_next_flush(|store| {
        let injected = sled::Error::Io(std::io::Error::other("injected write failure"));
        store.write_failed(StoreError::Sled(injected));
    });

    let answer = store.flush_opening(opening).await;

    assert_ne!(store.opening(), opening, "the reopen did not happen");
    assert!(
        answer.is_ok(),
        "a write already on disk answered {answer:?}"
    );
    let faults: Vec<(String, serde_json::Value)> = store.faults().unwrap();
    assert!(faults.iter().any(|(scope, _)| scope == "2088000000000001"));
}

/// A temporary store keeps nothing past the process, so a flush does not write it out:
/// an acknowledged write is served from memory, and admin writes and notifications of a
/// test's in-process gateway skip a hand-off to sled's threads each.
#[tokio::test]
async fn a_temporary_store_acknowledges_a_write_without_writing_it_out() {
    let store = Store::open(&StoreLocation::Ephemeral).unwrap();
    let mut plan = Plan::default();
    Store::put_faults(&mut plan, "2088000000000001", &serde_json::json!({}));
    let opening = store.apply(plan).unwrap();
    let wrote_out = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = std::rc::Rc::clone(&wrote_out);
    test_hooks::after_next_flush(move |_| flag.set(true));

    let answer = store.flush_opening(opening).await;

    assert!(answer.is_ok(), "{answer:?}");
    assert!(!wrote_out.get(), "the temporary store was written out");
    let faults: Vec<(String, serde_json::Value)> = store.faults().unwrap();
    assert!(faults.iter().any(|(scope, _)| scope == "2088000000000001"));
}
