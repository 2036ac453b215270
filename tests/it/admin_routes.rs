//! The admin route table: every endpoint answers its own methods and refuses the others
//! with 405 and an `Allow` header naming them, in a fixed order. Checked twice, against
//! two expectations the server's table cannot have written: the list below (written by
//! hand from the API's contract) and the served `/__admin/openapi.yaml`. Paths outside
//! the table answer 404.

use alipay_mock::RunningGateway;

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

/// Every admin path (a sample of each pattern) and its `Allow` header, as the admin API
/// promises them; written out here, not read from the server.
const EXPECTED: &[(&str, &str)] = &[
    ("health", "GET"),
    ("ready", "GET"),
    ("openapi.yaml", "GET"),
    ("apps", "GET, POST"),
    ("apps/x", "GET, PUT, PATCH, DELETE"),
    ("apps/x/test-key", "GET"),
    ("metrics", "GET"),
    ("cases", "GET"),
    ("ui/", "GET"),
    ("ui/app.js", "GET"),
    ("identities", "GET, POST"),
    ("identities/x", "GET, PUT, PATCH, DELETE"),
    ("authorizations", "GET, POST, DELETE"),
    ("scenarios", "GET, POST, DELETE"),
    ("scenarios/x", "GET, DELETE"),
    ("faults", "GET, PUT, DELETE"),
    ("requests", "GET, DELETE"),
    ("reset", "POST"),
    ("clock", "GET, PUT, DELETE"),
    ("methods", "GET, DELETE"),
    ("methods/x", "GET, PUT, DELETE"),
    ("notifications", "GET, POST"),
    ("notifications/x", "GET, DELETE"),
    ("notifications/x/retry", "POST"),
];

#[tokio::test]
async fn every_endpoint_refuses_the_methods_it_does_not_take_with_405_and_the_promised_allow() {
    let gateway = start().await;
    let routes: Vec<(String, Vec<String>)> = EXPECTED
        .iter()
        .map(|(path, allow)| {
            let methods = allow.split(", ").map(str::to_owned).collect();
            (path.to_string(), methods)
        })
        .collect();
    check_routes(&gateway, &routes).await;
    gateway.shutdown().await;
}

#[tokio::test]
async fn every_endpoint_refuses_other_methods_with_405_and_its_documented_allow_list() {
    let gateway = start().await;
    let document = send(&gateway, "GET", "/__admin/openapi.yaml", None, Vec::new()).await;
    let routes = documented_routes(&document.text("utf-8"));
    assert!(
        routes.len() >= 18,
        "the document lists the endpoints: {routes:?}"
    );
    check_routes(&gateway, &routes).await;
    gateway.shutdown().await;
}

/// Sends every method to every path: an allowed one is not refused with 405, any other
/// is, with `Allow` naming exactly the allowed ones in the given order.
async fn check_routes(gateway: &RunningGateway, routes: &[(String, Vec<String>)]) {
    for (path, allowed) in routes {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let target = format!("/__admin/{path}");
            let answer = send(
                gateway,
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
