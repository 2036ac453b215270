//! `biz_content` and identity parsing of `zhima.auth.info.authquery`, through the public
//! `methods` entry points against a store seeded from the embedded fixtures: no input
//! panics, and every success node is JSON.
#![no_main]

use std::sync::OnceLock;

use alipay_mock::fixtures::{FixtureSource, Fixtures};
use alipay_mock::methods::{self, Call, Method};
use alipay_mock::store::{Store, StoreLocation};
use libfuzzer_sys::fuzz_target;

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let store = Store::open(&StoreLocation::Ephemeral).expect("a temporary store opens");
        let fixtures = Fixtures::load(&FixtureSource::Embedded).expect("embedded fixtures load");
        store.seed_if_empty(&fixtures).expect("the store seeds");
        store
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(biz_content) = std::str::from_utf8(data) else {
        return;
    };
    let method = Method::ZhimaAuthInfoAuthquery;
    let call = Call {
        app_id: "2014072300007148",
        biz_content: Some(biz_content),
    };
    if let Ok(node) = methods::dispatch(method, store(), call) {
        assert!(
            serde_json::from_str::<serde_json::Value>(&node).is_ok(),
            "{node}"
        );
    }
    let _ = methods::identity_of(method, store(), call);
    for authorized in [true, false] {
        if let Ok(node) = methods::forced_answer(method, store(), call, authorized, None) {
            assert!(
                serde_json::from_str::<serde_json::Value>(&node).is_ok(),
                "{node}"
            );
        }
    }
});
