//! The admin route table: every endpoint answers its own methods and refuses the others
//! with 405 and an `Allow` header naming them (as docs/admin-openapi.yaml lists them);
//! paths outside the table answer 404.

mod common;

use common::*;

/// Each endpoint and the methods docs/admin-openapi.yaml gives it.
const TABLE: &[(&str, &[&str])] = &[
    ("health", &["GET"]),
    ("ready", &["GET"]),
    ("openapi.yaml", &["GET"]),
    ("apps", &["GET", "POST"]),
    ("apps/2014072300007148", &["GET", "PUT", "PATCH", "DELETE"]),
    ("identities", &["GET", "POST"]),
    ("identities/zhangsan", &["GET", "PUT", "PATCH", "DELETE"]),
    ("authorizations", &["GET", "POST", "DELETE"]),
    ("scenarios", &["GET", "POST", "DELETE"]),
    ("scenarios/sc_1", &["GET", "DELETE"]),
    ("faults", &["GET", "PUT", "DELETE"]),
    ("requests", &["GET", "DELETE"]),
    ("reset", &["POST"]),
    ("clock", &["GET", "PUT", "DELETE"]),
    ("metrics", &["GET"]),
    ("cases", &["GET"]),
    ("apps/2014072300007148/test-key", &["GET"]),
    ("ui/", &["GET"]),
];

#[tokio::test]
async fn every_endpoint_refuses_other_methods_with_405_and_its_allow_list() {
    let gateway = start().await;
    for (path, allowed) in TABLE {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let target = format!("/__admin/{path}");
            let answer = send(
                &gateway,
                method,
                &target,
                Some("application/json"),
                b"{".to_vec(),
            )
            .await;
            if allowed.contains(&method) {
                assert_ne!(answer.status, 405, "{method} {target}");
            } else {
                assert_eq!(answer.status, 405, "{method} {target}");
                let allow = answer.headers.get("allow").map(|v| v.to_str().unwrap());
                assert_eq!(
                    allow,
                    Some(allowed.join(", ").as_str()),
                    "{method} {target}"
                );
            }
        }
    }
    gateway.shutdown().await;
}

#[tokio::test]
async fn paths_outside_the_table_answer_404() {
    let gateway = start().await;
    for path in [
        "",
        "nothing",
        "apps/a/b",
        "scenarios/a/b",
        "reset/now",
        "clock/now",
    ] {
        let answer = send(
            &gateway,
            "GET",
            &format!("/__admin/{path}"),
            None,
            Vec::new(),
        )
        .await;
        assert_eq!(answer.status, 404, "/__admin/{path}");
    }
    gateway.shutdown().await;
}
