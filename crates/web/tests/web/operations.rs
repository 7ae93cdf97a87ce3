//! Health, metrics, headers, error pages, the OpenAPI document.

use axum::http::StatusCode;

use crate::support::TestApp;

#[tokio::test]
async fn health_metrics_and_openapi() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let h = c.get("/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    let m = c.get("/metrics").await;
    assert!(m.body.contains("thidua_database_up 1"));
    assert!(m.body.contains("thidua_http_requests_total{method=\"GET\",status=\"200\"}"));
    // a session read, then answered as kept
    let mut signed_in = app.api_as("sec.cb").await;
    signed_in.get("/api/v1/me").await;
    signed_in.get("/api/v1/me").await;
    let m = c.get("/metrics").await;
    assert!(m.body.contains("thidua_session_reads_total{outcome=\"kept\"} 1\n"), "{}", m.body);
    assert!(m.body.contains("thidua_session_reads_total{outcome=\"read\"} 1\n"), "{}", m.body);
    assert!(m.body.contains("thidua_sessions_kept 1\n"), "{}", m.body);
    let doc = c.get("/api/v1/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/units"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/session"]["post"].is_object());
    assert!(doc["components"]["schemas"]["UnitInput"].is_object());
    app.finish().await;
}

#[tokio::test]
async fn our_assets_go_compressed_to_browsers_that_accept_it() {
    let app = TestApp::new().await;
    let mut c = app.client();
    for path in ["/static/app.css", "/static/app.js"] {
        let plain = c.get(path).await;
        assert_eq!(plain.status, StatusCode::OK);
        assert!(plain.headers.get(axum::http::header::CONTENT_ENCODING).is_none());
        assert!(plain.body.len() > 1000, "{path}");
        let (gz, raw) = c.get_gzip(path).await;
        assert_eq!(gz.body, plain.body, "{path}");
        assert!(raw.len() < plain.body.len() / 2, "{path}: {} of {}", raw.len(), plain.body.len());
    }
    app.finish().await;
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = TestApp::new().await;
    let mut c = app.client();
    for path in ["/dang-nhap", "/khong-co-trang-nay", "/api/v1/me"] {
        let r = c.get(path).await;
        let csp = r.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(r.headers.get("x-content-type-options").map(|v| v.to_str().unwrap_or("")), Some("nosniff"));
        assert_eq!(r.headers.get("referrer-policy").map(|v| v.to_str().unwrap_or("")), Some("same-origin"));
        assert!(r.headers.get("x-request-id").is_some());
        assert!(r.headers.get("strict-transport-security").is_none());
    }
    let tls = TestApp::with_config(thidua_web::WebConfig { tls: true, ..Default::default() }).await;
    let mut c = tls.client();
    assert!(c.get("/dang-nhap").await.headers.get("strict-transport-security").is_some());
    let r = c
        .post_json("/api/v1/session", serde_json::json!({"username": "admin", "password": crate::support::PASSWORD}))
        .await;
    let cookie =
        r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap_or("").to_string()).collect::<Vec<_>>();
    assert!(cookie.iter().any(|c| c.starts_with("thidua_session=") && c.contains("Secure")));
    // every cookie behind TLS, the flash message of a redirect among them
    let r = tls.client().login_page("admin", crate::support::PASSWORD).await;
    let cookies =
        r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap_or("").to_string()).collect::<Vec<_>>();
    assert!(cookies.iter().any(|c| c.starts_with("thidua_flash=")), "{cookies:?}");
    assert!(cookies.iter().all(|c| c.matches("; Secure").count() == 1), "{cookies:?}");
    tls.finish().await;
    app.finish().await;
}

#[tokio::test]
async fn error_pages_are_vietnamese_with_a_request_id() {
    let app = TestApp::new().await;
    let mut c = app.page_as("xem.cb").await;
    let r = c.get("/khong-co-trang-nay").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("Không tìm thấy"));
    let id = r.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(!id.is_empty() && r.body.contains(&id), "the page shows the request id");
    let r = c.get("/don-vi/999999").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.get("/don-vi/khong-phai-so").await;
    assert!(r.status.is_client_error());
    assert!(r.body.contains("<html"), "a Vietnamese page, not a bare text");
    let r = c.get("/api/v1/khong-co").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");
    // not signed in: a page sends to the login page, the API says 401
    let mut anon = app.client();
    let r = anon.get("/don-vi").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/dang-nhap"));
    assert_eq!(anon.get("/api/v1/units").await.status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let app = TestApp::with_config(thidua_web::WebConfig { body_limit: 1024, ..Default::default() }).await;
    let mut c = app.api_as("admin").await;
    let big = "x".repeat(4096);
    let r = c.post_json("/api/v1/authorities", serde_json::json!({"name": big, "level": "province"})).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    app.finish().await;
}
