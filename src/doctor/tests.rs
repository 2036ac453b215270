use super::*;
use crate::keys::{parse_private_key, parse_public_key};

const APP_PRIVATE: &str = include_str!("../../fixtures/keys/app_private_key.pem");
const APP_PUBLIC: &str = include_str!("../../fixtures/keys/app_public_key.pem");

#[test]
fn the_budget_refuses_checks_and_passes_past_its_bounds_even_ones_that_would_verify() {
    let key = VerifyingKey::new(parse_public_key(APP_PUBLIC).unwrap());
    let sign = crypto::sign(
        &parse_private_key(APP_PRIVATE).unwrap(),
        SignType::Rsa2,
        b"x",
    )
    .unwrap();
    let mut budget = Budget::default();
    for _ in 0..MAX_VERIFICATIONS {
        assert!(budget.verify(&key, SignType::Rsa2, b"x", &sign));
    }
    assert!(!budget.verify(&key, SignType::Rsa2, b"x", &sign));
    for _ in 0..MAX_AES_OPERATIONS {
        assert_eq!(budget.aes(|| 1), Some(1));
    }
    assert_eq!(budget.aes(|| 1), None);
}

#[test]
fn the_stated_maximum_costs_add_the_gateways_own_checks() {
    assert_eq!(MAX_RSA_PER_FAILED_REQUEST, 27);
    assert_eq!(MAX_AES_PER_FAILED_REQUEST, 10);
}
