//! `/__admin/ui/`: the console, a thin client of this admin API in plain HTML, CSS and
//! ES modules compiled into the binary (no build step, no CDN, works offline).
//!
//! The page and its assets are static and carry no data, so they load without the admin
//! token; the scripts send the token (typed into the page) on every admin call. The
//! Content-Security-Policy allows only this origin's scripts and styles, so data that
//! reaches the page (journal values are attacker-shaped) can never run as code.

use crate::reply::Reply;

/// Only same-origin scripts, styles and fetches; no frames, no forms posting elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every asset: name under `/__admin/ui/`, `Content-Type`, text.
const ASSETS: &[(&str, &str, &str)] = &[
    ("index.html", HTML, include_str!("ui/index.html")),
    ("style.css", CSS, include_str!("ui/style.css")),
    ("app.js", JS, include_str!("ui/app.js")),
    ("api.js", JS, include_str!("ui/api.js")),
    ("sign.js", JS, include_str!("ui/sign.js")),
    ("tryit.js", JS, include_str!("ui/tryit.js")),
    ("journal.js", JS, include_str!("ui/journal.js")),
    ("doctor.js", JS, include_str!("ui/doctor.js")),
    ("notifications.js", JS, include_str!("ui/notifications.js")),
    ("testdata.js", JS, include_str!("ui/testdata.js")),
    ("magic.js", JS, include_str!("ui/magic.js")),
];

/// The answer to `GET /__admin/ui[/{asset}]`; `None` when there is no such asset.
/// `/__admin/ui` (no slash) redirects to `/__admin/ui/`, so relative asset URLs resolve.
pub(super) fn serve(path: &str, rest: &[&str]) -> Option<Reply> {
    let name = match rest {
        [] if !path.ends_with('/') => {
            return Some(Reply::new(308, HTML, Vec::new()).with_header("location", "/__admin/ui/"))
        }
        [] => "index.html",
        [name] => name,
        _ => return None,
    };
    let (_, content_type, text) = ASSETS.iter().find(|(n, _, _)| *n == name)?;
    Some(
        Reply::new(200, *content_type, text.as_bytes().to_vec())
            .with_header("cache-control", "no-store")
            .with_header("content-security-policy", CSP)
            .with_header("x-content-type-options", "nosniff")
            .with_header("referrer-policy", "no-referrer"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_served_with_no_store_and_a_csp() {
        for (name, content_type, _) in ASSETS {
            let reply = serve("/__admin/ui/x", &[name]);
            let reply = reply.unwrap_or_else(|| Reply::text(404, "missing"));
            assert_eq!(reply.status, 200, "{name}");
            assert_eq!(reply.content_type, *content_type);
            assert!(reply
                .headers
                .iter()
                .any(|(h, v)| *h == "cache-control" && v == "no-store"));
            assert!(reply
                .headers
                .iter()
                .any(|(h, v)| *h == "content-security-policy" && v.contains("script-src 'self'")));
        }
    }

    #[test]
    fn the_bare_path_redirects_to_the_slash() {
        let reply = serve("/__admin/ui", &[]).unwrap_or_else(|| Reply::text(404, "missing"));
        assert_eq!(reply.status, 308);
        assert!(serve("/__admin/ui/", &["nope.js"]).is_none());
    }
}
