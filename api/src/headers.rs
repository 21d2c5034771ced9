//! The same strict headers on every response: pages, scripts, API answers, 404s and errors
//! (WebAssembly and stylesheets, which are never documents, carry only the ones that matter
//! for them).
//!
//! No third-party origin is allowed anywhere; scripts run only from this origin (plus a page's
//! own inline scripts, named by their hashes, see [`crate::site`]); `wasm-unsafe-eval` lets
//! WebAssembly compile. API answers are never cached. No cookie is ever set. Only the landing
//! pages may be indexed by search engines (people find a hotline by searching its number).

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The Content-Security-Policy, allowing the inline scripts of `script_hashes`
/// (`'sha256-...'` sources) besides this origin's files.
pub fn csp(script_hashes: &[String]) -> String {
    let script = ["script-src 'self' 'wasm-unsafe-eval'"]
        .into_iter()
        .chain(script_hashes.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "default-src 'none'; {script}; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; \
         connect-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'"
    )
}

/// Every powerful feature denied. Only names Chromium recognises: an unknown name is a console
/// warning there (`bluetooth` and `web-share` were, so they are not listed; the browser test
/// `the_console_stays_clean` reads the console). `clipboard-write` stays allowed (the
/// receipt's copy button).
const PERMISSIONS: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
    encrypted-media=(), fullscreen=(), gamepad=(), geolocation=(), gyroscope=(), hid=(), \
    idle-detection=(), magnetometer=(), microphone=(), midi=(), payment=(), \
    picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), serial=(), usb=(), \
    xr-spatial-tracking=()";

/// Paths search engines may index: the landing pages (and `robots.txt`, which says so).
const INDEXABLE: [&str; 5] = ["/", "/en/", "/en", "/index.html", "/en/index.html"];

/// Adds the headers to whatever the inner service answered.
pub async fn security_headers(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/") || req.uri().path() == "/healthz";
    let indexable = INDEXABLE.contains(&req.uri().path());
    let worker_script = req.uri().path().starts_with(crate::site::WORKER_PREFIX);
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    // WebAssembly, stylesheets and the pages' own scripts are never documents or workers, so
    // the document policies (CSP, Permissions-Policy, framing, opener) mean nothing on them;
    // leaving them off saves about 800 bytes per file on a slow phone's critical path. The
    // crypto worker's scripts keep them: a worker's policy comes from its script's response.
    let subresource = h.get(header::CONTENT_TYPE).is_some_and(|t| {
        let t = t.as_bytes();
        t.starts_with(b"application/wasm")
            || t.starts_with(b"text/css")
            || (t.starts_with(b"text/javascript") && !worker_script)
    });
    if subresource {
        for (name, value) in [
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                "same-origin",
            ),
        ] {
            h.insert(name, HeaderValue::from_static(value));
        }
        h.remove(header::SET_COOKIE);
        return response;
    }
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp(&[])).expect("static CSP is a valid header"),
        );
    }
    let fixed: [(HeaderName, &str); 6] = [
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (HeaderName::from_static("permissions-policy"), PERMISSIONS),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !indexable {
        h.insert(
            HeaderName::from_static("x-robots-tag"),
            HeaderValue::from_static("noindex, nofollow"),
        );
    }
    if app.hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    if is_api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.remove(header::SET_COOKIE);
    response
}

/// Routes whose requests are never logged one by one: a report, a follow-up or a lookup with a
/// timestamp next to it is what a seized server would match against an ISP's flow records.
pub const UNLOGGED_ROUTES: [&str; 3] = [
    "/api/v1/reports",
    "/api/v1/inquiries",
    "/api/v1/inquiries/follow-ups",
];

/// Logs one line per request: method, route template, status, milliseconds. Never the URI
/// (it may hold a case id), an address, a user agent, a referrer or any header, and nothing at
/// all for the reporters' own requests ([`UNLOGGED_ROUTES`]) unless the server failed them.
pub async fn access_log(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "static".to_owned(), |p| p.as_str().to_owned());
    if UNLOGGED_ROUTES.contains(&route.as_str()) {
        return next.run(req).await;
    }
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    tracing::info!(
        target: "cluebox_api::access",
        %method,
        route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
    );
    response
}
