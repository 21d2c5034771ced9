//! `oneshot` tests of the router: every documented 4xx, one JSON error shape, strict headers on
//! every kind of response, static files.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::{Reporter, TestApp};

async fn send(app: &TestApp, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let res = app.router().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

fn post_json(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

/// Asserts the one error shape and returns the code.
fn error_code(status: StatusCode, body: &[u8], expected: StatusCode) -> String {
    assert_eq!(status, expected, "body: {}", String::from_utf8_lossy(body));
    let v: Value = serde_json::from_slice(body).unwrap();
    let obj = v["error"].as_object().expect("an error object");
    assert_eq!(obj.len(), 2, "exactly code and message: {v}");
    assert!(!obj["message"].as_str().unwrap().is_empty());
    obj["code"].as_str().unwrap().to_owned()
}

fn assert_strict_headers(h: &axum::http::HeaderMap) {
    let csp = h
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "'wasm-unsafe-eval'",
    ] {
        assert!(csp.contains(part), "CSP lacks {part}: {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
        "{csp}"
    );
    assert!(!csp.contains("http"), "no other origin: {csp}");
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(
        h[header::STRICT_TRANSPORT_SECURITY]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let perms = h["permissions-policy"].to_str().unwrap();
    for feature in [
        "camera=()",
        "microphone=()",
        "geolocation=()",
        "usb=()",
        "payment=()",
    ] {
        assert!(perms.contains(feature), "{perms}");
    }
    assert!(!h.contains_key(header::SET_COOKIE));
}

#[tokio::test]
async fn every_documented_4xx_has_its_code() {
    let app = TestApp::new();
    let profile = app.profile();
    let reporter = Reporter::new(&profile);
    let good = serde_json::to_value(reporter.report(&profile.recipients.national, "x")).unwrap();

    // Malformed JSON.
    let (s, _, b) = send(&app, post_json("/api/v1/reports", "{not json")).await;
    assert_eq!(error_code(s, &b, StatusCode::BAD_REQUEST), "malformed_json");
    // Wrong types.
    let mut wrong = good.clone();
    wrong["sealed"] = json!(12);
    let (s, _, b) = send(&app, post_json("/api/v1/reports", wrong.to_string())).await;
    assert_eq!(
        error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
        "invalid_field"
    );
    // Missing field, unknown field, not an object.
    for body in [
        json!({"v": 1}),
        json!({"v": 1, "lookup_token": reporter.token_b64(), "x": 1}),
        json!([1]),
    ] {
        let (s, _, b) = send(&app, post_json("/api/v1/inquiries", body.to_string())).await;
        assert_eq!(
            error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
            "invalid_field"
        );
    }
    // Unknown protocol version, and a missing one.
    let mut v2 = good.clone();
    v2["v"] = json!(2);
    let (s, _, b) = send(&app, post_json("/api/v1/reports", v2.to_string())).await;
    assert_eq!(
        error_code(s, &b, StatusCode::BAD_REQUEST),
        "unsupported_version"
    );
    // Wrong content type.
    let req = Request::post("/api/v1/reports")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(good.to_string()))
        .unwrap();
    let (s, _, b) = send(&app, req).await;
    assert_eq!(
        error_code(s, &b, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        "unsupported_media_type"
    );
    // Oversize body.
    let huge = format!("{{\"v\":1,\"pad\":\"{}\"}}", "a".repeat(500 * 1024));
    let (s, _, b) = send(&app, post_json("/api/v1/reports", huge)).await;
    assert_eq!(
        error_code(s, &b, StatusCode::PAYLOAD_TOO_LARGE),
        "payload_too_large"
    );
    // Bad tokens: too short, not base64.
    for token in ["AAAA", "!!!!"] {
        let body = json!({"v": 1, "lookup_token": token});
        let (s, _, b) = send(&app, post_json("/api/v1/inquiries", body.to_string())).await;
        assert_eq!(
            error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
            "invalid_field"
        );
    }
    // Not an envelope; an envelope of no allowed length.
    let mut bad = good.clone();
    bad["sealed"] = json!("aGVsbG8=");
    let (s, _, b) = send(&app, post_json("/api/v1/reports", bad.to_string())).await;
    assert_eq!(
        error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
        "invalid_envelope"
    );
    let mut sealed = reporter.report(&profile.recipients.national, "x").sealed.0;
    sealed.push(0);
    let mut cut = good.clone();
    cut["sealed"] = json!(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        &sealed
    ));
    let (s, _, b) = send(&app, post_json("/api/v1/reports", cut.to_string())).await;
    assert_eq!(
        error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
        "invalid_envelope"
    );
    // Bad idempotency key.
    let mut idem = good.clone();
    idem["idempotency_key"] = json!("short");
    let (s, _, b) = send(&app, post_json("/api/v1/reports", idem.to_string())).await;
    assert_eq!(
        error_code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
        "invalid_field"
    );
    // Desk without a token, with a wrong one.
    let (s, h, b) = send(
        &app,
        Request::get("/api/v1/desk/inbox")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(error_code(s, &b, StatusCode::UNAUTHORIZED), "unauthorized");
    assert_eq!(h[header::WWW_AUTHENTICATE], "Bearer");
    let req = Request::get("/api/v1/desk/inbox")
        .header(header::AUTHORIZATION, "Bearer wrong")
        .body(Body::empty())
        .unwrap();
    let (s, _, b) = send(&app, req).await;
    assert_eq!(error_code(s, &b, StatusCode::UNAUTHORIZED), "unauthorized");
    // Unknown API path, wrong method.
    let (s, _, b) = send(
        &app,
        Request::get("/api/v1/nothing").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(error_code(s, &b, StatusCode::NOT_FOUND), "not_found");
    let (s, _, b) = send(
        &app,
        Request::get("/api/v1/reports").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        error_code(s, &b, StatusCode::METHOD_NOT_ALLOWED),
        "method_not_allowed"
    );
}

#[tokio::test]
async fn strict_headers_on_pages_files_api_answers_404s_and_errors() {
    let app = TestApp::new();
    // An API answer.
    let (s, h, _) = send(
        &app,
        Request::get("/api/v1/profile").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_strict_headers(&h);
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    // An API error.
    let (s, h, _) = send(&app, post_json("/api/v1/inquiries", "{")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_strict_headers(&h);
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    // A static file: hashed, so immutable; compressed with brotli when accepted.
    let req = Request::get("/app-0123456789abcdef.js")
        .header(header::ACCEPT_ENCODING, "gzip, deflate, br")
        .body(Body::empty())
        .unwrap();
    let (s, h, body) = send(&app, req).await;
    assert_eq!(s, StatusCode::OK);
    // A page's own script is never a document or a worker: only the headers that matter for it.
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h["cross-origin-resource-policy"], "same-origin");
    assert!(!h.contains_key(header::CONTENT_SECURITY_POLICY));
    assert_eq!(h[header::CONTENT_ENCODING], "br");
    assert!(
        h[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(body.len() < 200, "compressed: {} bytes", body.len());
    // The crypto worker's scripts keep the whole set: a worker's policy is its script's.
    let (s, h, _) = send(
        &app,
        Request::get("/cluebox-sealer_loader.js")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_strict_headers(&h);
    // gzip for a client without brotli; revalidation by ETag.
    let req = Request::get("/style.css")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let (_, h, _) = send(&app, req).await;
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    assert_eq!(h[header::CACHE_CONTROL], "no-cache");
    let etag = h[header::ETAG].clone();
    let req = Request::get("/style.css")
        .header(header::IF_NONE_MATCH, etag)
        .body(Body::empty())
        .unwrap();
    let (s, h, _) = send(&app, req).await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    // A stylesheet is never a document: only the headers that matter for it.
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h["cross-origin-resource-policy"], "same-origin");
    assert!(!h.contains_key(header::CONTENT_SECURITY_POLICY));
    assert!(!h.contains_key(header::SET_COOKIE));
    // A page 404.
    let (s, h, body) = send(
        &app,
        Request::get("/no/such/page").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_strict_headers(&h);
    assert!(String::from_utf8(body).unwrap().contains("找不到"));
    // Path traversal is a 404, not a file.
    let (s, h, _) = send(
        &app,
        Request::get("/../Cargo.toml").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_strict_headers(&h);
}

#[tokio::test]
async fn app_pages_are_compressed_and_their_policy_names_each_inline_script() {
    let app = TestApp::new();
    let get = |path: &str| {
        Request::get(path)
            .header(header::ACCEPT_ENCODING, "gzip, br")
            .body(Body::empty())
            .unwrap()
    };
    let (s, h, body) = send(&app, get("/report")).await;
    assert_eq!(s, StatusCode::OK);
    assert_strict_headers(&h);
    assert_eq!(
        h[header::CONTENT_ENCODING],
        "br",
        "the page is sent compressed"
    );
    assert_eq!(h[header::CACHE_CONTROL], "no-cache", "revalidated by ETag");
    let etag = h[header::ETAG].clone();
    let mut page = String::new();
    std::io::Read::read_to_string(
        &mut brotli::Decompressor::new(body.as_slice(), 4096),
        &mut page,
    )
    .unwrap();
    assert!(
        !page.contains("cluebox:fallback") && page.contains("tel:12337"),
        "fallback filled: {page}"
    );
    // The profile is in the page, for the form to draw without another request, and the
    // worker's configuration beside it.
    let meta = |name: &str| {
        page.split(&format!("<meta name=\"{name}\" content=\""))
            .nth(1)
            .unwrap_or_else(|| panic!("{name} is filled in"))
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    };
    let embedded = cluebox_protocol::page::PageProfile::decode(&meta("cluebox-page")).unwrap();
    let public = app.profile();
    assert_eq!(embedded.server_key, public.server_key);
    assert_eq!(embedded.sections, public.profile.sections);
    let worker = cluebox_protocol::page::WorkerConfig::decode(&meta("cluebox-worker")).unwrap();
    assert_eq!(worker, cluebox_protocol::page::WorkerConfig::new(&public));
    // Every inline script (Trunk's bootstrap, the boot check) is named by its hash, and
    // nothing else inline may run.
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    let hashes = cluebox_api::site::inline_script_hashes(&page);
    assert_eq!(hashes.len(), 2, "{page}");
    for hash in &hashes {
        assert!(csp.contains(hash.as_str()), "{csp} lacks {hash}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("nonce"));
    // The same bytes every time: a revalidation is a 304.
    let (s, _, _) = send(
        &app,
        Request::get("/report")
            .header(header::IF_NONE_MATCH, etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    // The status page prefetches the worker's files, named by the loader.
    let (_, _, body) = send(&app, Request::get("/status").body(Body::empty()).unwrap()).await;
    let status = String::from_utf8(body).unwrap();
    assert!(
        status
            .contains("<link rel=\"prefetch\" href=\"/cluebox-sealer-0123456789abcdef_bg.wasm\">"),
        "{status}"
    );
}

#[tokio::test]
async fn only_the_landing_pages_may_be_indexed() {
    let app = TestApp::new();
    for (path, indexable) in [
        ("/", true),
        ("/en/", true),
        ("/report", false),
        ("/status", false),
        ("/api/v1/profile", false),
        ("/no-such-page", false),
    ] {
        let (_, h, _) = send(&app, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(
            h.get("x-robots-tag").is_none(),
            indexable,
            "{path}: {:?}",
            h.get("x-robots-tag")
        );
    }
    let (s, h, body) = send(
        &app,
        Request::get("/robots.txt").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(String::from_utf8(body).unwrap().contains("Disallow: /api/"));
}

#[tokio::test]
async fn landing_pages_are_plain_html_in_both_languages() {
    let app = TestApp::new();
    for (path, lang, needle) in [("/", "zh-CN", "受理范围"), ("/en/", "en", "What we accept")] {
        let (s, h, body) = send(&app, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert_strict_headers(&h);
        let page = String::from_utf8(body).unwrap();
        assert!(
            page.contains(&format!("lang=\"{lang}\"")) && page.contains(needle),
            "{path}"
        );
        assert!(!page.contains("<script"), "no script on the landing page");
    }
    // Each app page at its own route.
    for (path, title) in [("/report", "举报"), ("/status", "查询")] {
        let (s, _, body) = send(&app, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(String::from_utf8(body).unwrap().contains(title), "{path}");
    }
}

#[tokio::test]
async fn openapi_document_lists_every_endpoint() {
    let app = TestApp::new();
    let (s, _, body) = send(
        &app,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/healthz",
        "/api/v1/profile",
        "/api/v1/reports",
        "/api/v1/inquiries",
        "/api/v1/inquiries/follow-ups",
        "/api/v1/desk/inbox",
        "/api/v1/desk/inbox/{seq}",
        "/api/v1/desk/acks",
        "/api/v1/desk/cases/{case_id}/events",
        "/api/v1/desk/cases/{case_id}/replies",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    assert!(doc["components"]["schemas"]["ErrorCode"].is_object());
    assert!(doc["components"]["schemas"]["SubmitReport"].is_object());
}

#[tokio::test]
async fn healthz() {
    let app = TestApp::new();
    let (s, h, body) = send(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["status"],
        "ok"
    );
}

#[tokio::test]
async fn a_demo_server_says_so_on_every_page_and_a_real_one_does_not() {
    let demo = TestApp::new();
    for path in ["/", "/en/", "/report", "/status"] {
        let (status, _, body) = send(&demo, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let page = String::from_utf8(body).unwrap();
        assert!(
            page.contains(cluebox_api::site::DEMO_BANNER),
            "{path} carries the demo banner"
        );
    }
    let real = TestApp::with_office_key();
    for path in ["/", "/report"] {
        let (_, _, body) = send(&real, Request::get(path).body(Body::empty()).unwrap()).await;
        assert!(
            !String::from_utf8(body).unwrap().contains("demo-banner"),
            "{path}"
        );
    }
}
