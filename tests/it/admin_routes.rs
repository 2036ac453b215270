//! The admin route table: every endpoint answers its own methods and refuses the others
//! with 405 and an `Allow` header naming them, exactly as the served
//! `/__admin/openapi.yaml` lists them (the document is the contract, not a copy of the
//! table here); paths outside the table answer 404.

use crate::support::*;

/// Each path of an OpenAPI document and the methods it lists, in the document's order,
/// with every path parameter (`{app_id}`, `{id}`) filled by a sample value. Reads only the
/// shape this document uses: paths at two spaces of indent, methods at four.
fn documented_routes(document: &str) -> Vec<(String, Vec<String>)> {
    let mut routes: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_paths = false;
    for line in document.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(path) = line
            .strip_prefix("  /__admin/")
            .and_then(|p| p.strip_suffix(':'))
        {
            let sample: Vec<&str> = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "x"
                    } else {
                        segment
                    }
                })
                .collect();
            routes.push((sample.join("/"), Vec::new()));
        } else if let Some(method) = line.strip_prefix("    ").and_then(|m| m.strip_suffix(':')) {
            if ["get", "put", "post", "patch", "delete"].contains(&method) {
                let (_, methods) = routes.last_mut().expect("a method under a path");
                methods.push(method.to_ascii_uppercase());
            }
        }
    }
    routes
}

#[tokio::test]
async fn every_endpoint_refuses_other_methods_with_405_and_its_allow_list() {
    let gateway = start().await;
    let document = send(&gateway, "GET", "/__admin/openapi.yaml", None, Vec::new()).await;
    let routes = documented_routes(&document.text("utf-8"));
    assert!(
        routes.len() >= 18,
        "the document lists the endpoints: {routes:?}"
    );
    for (path, allowed) in &routes {
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
            if allowed.iter().any(|m| m == method) {
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
