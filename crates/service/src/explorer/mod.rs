//! The chain explorer: a small single-page app, embedded in the binary (no CDN, no
//! build step), that talks to the JSON-RPC API of the node that serves it (HTTP for
//! reads, the WebSocket subscriptions for live updates).
//!
//! Routes (`GET` and `HEAD`; anything else answers 405):
//!
//! | Path | What |
//! |---|---|
//! | `/` | redirects to `/explorer` |
//! | `/explorer` | home: status, validators, latest blocks and trades, markets |
//! | `/explorer/block/{height\|hash\|latest\|final}` | a block |
//! | `/explorer/tx/{hash}` | a transaction |
//! | `/explorer/address/{address}` | an account |
//! | `/explorer/order/{order_id}` | an order |
//! | `/explorer/market/{symbol}` | a market (`BTC-USD`) |
//! | `/explorer/validators` | the validators |
//! | `/explorer/search?q=...` | search (height, `latest`, `final`, hash, address, symbol) |
//! | `/explorer/assets/{file}` | the app's scripts, styles and icon |
//! | `/favicon.ico` | the icon |
//!
//! Every page route serves the same shell; the app reads the path. A path under
//! `/explorer` that is no page answers 404 with the shell, which shows "page not found".
//! Every explorer response carries a strict Content-Security-Policy (scripts, styles
//! and connections to this origin only; no inline script; Trusted Types required, so
//! the app cannot write HTML strings into the page) and an `ETag`, so a reload
//! revalidates with `304 Not Modified`.

use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use jsonrpsee::server::{HttpBody, HttpResponse};
use std::sync::OnceLock;

/// The Content-Security-Policy of every explorer response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self'; connect-src 'self'; manifest-src 'self'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
require-trusted-types-for 'script'; trusted-types 'none'";

/// One embedded file.
struct Asset {
    /// File name under `/explorer/assets/`.
    name: &'static str,
    /// `Content-Type`.
    content_type: &'static str,
    /// The bytes.
    body: &'static [u8],
}

/// The app's files. `index.html` is the shell every page route serves.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("index.html"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("app.js"),
    },
    Asset {
        name: "rpc.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("rpc.js"),
    },
    Asset {
        name: "dom.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("dom.js"),
    },
    Asset {
        name: "decimal.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("decimal.js"),
    },
    Asset {
        name: "charts.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("charts.js"),
    },
    Asset {
        name: "pages.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("pages.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("favicon.svg"),
    },
    Asset {
        name: "favicon.ico",
        content_type: "image/x-icon",
        body: include_bytes!("favicon.ico"),
    },
];

/// Page kinds that take one path segment after them (`/explorer/block/12`).
const OBJECT_PAGES: &[&str] = &["block", "tx", "address", "order", "market"];
/// Page kinds without an argument.
const PLAIN_PAGES: &[&str] = &["validators", "search"];

/// Strong ETags of the assets, computed once (a content hash, so a new binary with
/// changed files never matches an old cache entry).
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", &ledger_types::Hash::digest(a.body).to_hex()[..20]))
            .collect()
    })
}

/// What an explorer path is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Route {
    /// `/`: redirect to `/explorer`.
    Root,
    /// A page of the app (the shell, 200).
    Page,
    /// Under `/explorer` but no page (the shell, 404: the app says "page not found").
    UnknownPage,
    /// An embedded file (index into the asset table).
    Asset(usize),
    /// `/explorer/assets/...` that does not exist.
    MissingAsset,
}

/// Classifies a request path; `None` if it is not the explorer's (JSON-RPC and the
/// health routes handle the rest).
pub fn route(path: &str) -> Option<Route> {
    if path == "/" {
        return Some(Route::Root);
    }
    if path == "/favicon.ico" {
        return asset_index("favicon.ico").map(Route::Asset);
    }
    let rest = match path.strip_prefix("/explorer") {
        Some("") | Some("/") => return Some(Route::Page),
        Some(r) if r.starts_with('/') => &r[1..],
        _ => return None,
    };
    if let Some(name) = rest.strip_prefix("assets/") {
        return Some(match asset_index(name) {
            Some(i) if name != "index.html" => Route::Asset(i),
            _ => Route::MissingAsset,
        });
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let mut parts = rest.split('/');
    let kind = parts.next().unwrap_or("");
    let arg = parts.next();
    let extra = parts.next();
    let ok = match (arg, extra) {
        (None, None) => PLAIN_PAGES.contains(&kind),
        (Some(a), None) => OBJECT_PAGES.contains(&kind) && !a.is_empty(),
        _ => false,
    };
    Some(if ok { Route::Page } else { Route::UnknownPage })
}

fn asset_index(name: &str) -> Option<usize> {
    ASSETS.iter().position(|a| a.name == name)
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
}

fn text(status: StatusCode, body: &'static str, head: bool) -> HttpResponse {
    let mut r = Response::new(if head {
        HttpBody::empty()
    } else {
        HttpBody::from(body)
    });
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    security_headers(h);
    r
}

fn file(index: usize, status: StatusCode, head: bool, if_none_match: Option<&str>) -> HttpResponse {
    let asset = &ASSETS[index];
    let etag = &etags()[index];
    let fresh = status == StatusCode::OK
        && if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let (status, body) = if fresh {
        (StatusCode::NOT_MODIFIED, None)
    } else {
        (status, Some(asset.body))
    };
    let mut r = Response::new(match body {
        Some(b) if !head => HttpBody::new(http_body_util::Full::from(b)),
        _ => HttpBody::empty(),
    });
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Some(b) = body {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(b.len()));
    }
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    // Revalidate every time (cheap: a 304); the files change only with the binary.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    security_headers(h);
    r
}

/// The explorer's answer to a request for `path`, or `None` if the path is not the
/// explorer's or (for `/`) the request is not a plain `GET`/`HEAD`, so that JSON-RPC
/// handles it.
pub fn respond(method: &Method, path: &str, headers: &HeaderMap) -> Option<HttpResponse> {
    let route = route(path)?;
    let head = method == Method::HEAD;
    if method != Method::GET && !head {
        if route == Route::Root {
            return None; // JSON-RPC over HTTP POST
        }
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: the explorer answers GET and HEAD\n",
            false,
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(r);
    }
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let shell = asset_index("index.html").unwrap_or(0);
    Some(match route {
        Route::Root => {
            let mut r = text(StatusCode::FOUND, "see /explorer\n", head);
            r.headers_mut()
                .insert(header::LOCATION, HeaderValue::from_static("/explorer"));
            r
        }
        Route::Page => file(shell, StatusCode::OK, head, if_none_match),
        Route::UnknownPage => file(shell, StatusCode::NOT_FOUND, head, None),
        Route::Asset(i) => file(i, StatusCode::OK, head, if_none_match),
        Route::MissingAsset => text(StatusCode::NOT_FOUND, "no such explorer file\n", head),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(r: HttpResponse) -> Vec<u8> {
        r.into_body().collect().await.unwrap().to_bytes().to_vec()
    }

    #[test]
    fn routes_are_classified() {
        assert_eq!(route("/"), Some(Route::Root));
        for p in [
            "/explorer",
            "/explorer/",
            "/explorer/block/12",
            "/explorer/block/latest",
            "/explorer/tx/ab",
            "/explorer/address/ab",
            "/explorer/order/ab",
            "/explorer/market/BTC-USD",
            "/explorer/market/BTC-USD/",
            "/explorer/validators",
            "/explorer/search",
        ] {
            assert_eq!(route(p), Some(Route::Page), "{p}");
        }
        for p in [
            "/explorer/nope",
            "/explorer/block",
            "/explorer/block/",
            "/explorer/block/1/2",
            "/explorer/validators/3",
        ] {
            assert_eq!(route(p), Some(Route::UnknownPage), "{p}");
        }
        assert!(matches!(
            route("/explorer/assets/app.js"),
            Some(Route::Asset(_))
        ));
        assert!(matches!(route("/favicon.ico"), Some(Route::Asset(_))));
        assert_eq!(
            route("/explorer/assets/index.html"),
            Some(Route::MissingAsset)
        );
        assert_eq!(route("/explorer/assets/x.js"), Some(Route::MissingAsset));
        assert_eq!(route("/explorers"), None);
        assert_eq!(route("/health"), None);
    }

    #[tokio::test]
    async fn get_head_redirect_etag_and_policy() {
        let none = HeaderMap::new();
        let r = respond(&Method::GET, "/explorer/block/1", &none).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"));
        let etag = r.headers()[header::ETAG].clone();
        let len: usize = r.headers()[header::CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let html = body(r).await;
        assert_eq!(html.len(), len);
        assert!(String::from_utf8(html)
            .unwrap()
            .contains("/explorer/assets/app.js"));

        let r = respond(&Method::HEAD, "/explorer/block/1", &none).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CONTENT_LENGTH].to_str().unwrap(),
            len.to_string()
        );
        assert!(body(r).await.is_empty());

        let mut cached = HeaderMap::new();
        cached.insert(header::IF_NONE_MATCH, etag);
        let r = respond(&Method::GET, "/explorer/market/BTC-USD", &cached).unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert!(body(r).await.is_empty());

        let r = respond(&Method::GET, "/", &none).unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(r.headers()[header::LOCATION], "/explorer");
        assert!(respond(&Method::POST, "/", &none).is_none());

        let r = respond(&Method::POST, "/explorer/block/1", &none).unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()[header::ALLOW], "GET, HEAD");

        let r = respond(&Method::GET, "/explorer/nope", &none).unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(String::from_utf8(body(r).await).unwrap().contains("<html"));

        let r = respond(&Method::GET, "/favicon.ico", &none).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "image/x-icon");
        assert_eq!(&body(r).await[..4], &[0, 0, 1, 0]);

        let r = respond(&Method::GET, "/explorer/assets/app.js", &none).unwrap();
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        let r = respond(&Method::GET, "/explorer/assets/missing.js", &none).unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    /// The app never writes HTML strings: no `innerHTML`, `outerHTML`,
    /// `insertAdjacentHTML`, `document.write` or `eval` in any script (the CSP's Trusted
    /// Types requirement would make them throw in the browser anyway).
    #[test]
    fn scripts_use_no_html_sinks() {
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let src = std::str::from_utf8(a.body).unwrap();
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
                "setTimeout(\"",
            ] {
                assert!(!src.contains(sink), "{} uses {sink}", a.name);
            }
        }
    }
}
