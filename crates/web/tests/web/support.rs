//! The test app: the real router on a fresh database (a temp SQLite file, or
//! a fresh PostgreSQL database when THIDUA_TEST_POSTGRES names a server), a
//! small seeded registry, and a cookie-keeping client.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use thidua_core::policy::Role;
use thidua_db::{org, users};
use thidua_web::{AppState, WebConfig};
use tower::ServiceExt;

pub const PASSWORD: &str = "mat-khau-kiem-thu-2026";

pub struct Seed {
    pub tw: i64,
    pub cb: i64,
    pub hn: i64,
    pub tu_phap: i64,
    pub y_te: i64,
    pub hoa_an: i64,
    pub hn_tu_phap: i64,
    pub block: i64,
    pub hn_block: i64,
}

pub struct TestApp {
    pub st: AppState,
    pub router: Router,
    pub seed: Seed,
    _guard: thidua_db::testing::Guard,
}

async fn unit(tx: &mut thidua_db::Tx, name: &str, kind: &str, authority: i64) -> i64 {
    let u = org::UnitData {
        name: name.into(),
        short_name: name.into(),
        kind: kind.into(),
        authority_id: authority,
        active_from: None,
        active_to: None,
    };
    org::insert_unit(tx, &u).await.expect("unit")
}

async fn user(tx: &mut thidua_db::Tx, name: &str, role: Role, authority: Option<i64>, unit: Option<i64>) {
    let hash = thidua_web::auth::hash_password(PASSWORD).expect("hash");
    let id = users::insert_user(tx, name, &format!("Người dùng {name}"), &hash).await.expect("user");
    users::insert_grant(tx, id, role, authority, unit).await.expect("grant");
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_config(WebConfig::default()).await
    }

    pub async fn with_config(cfg: WebConfig) -> TestApp {
        let (db, guard) = thidua_db::testing::fresh("thidua_test").await;
        let mut tx = db.begin().await.expect("tx");
        let tw = org::insert_authority(&mut tx, "Hội đồng Thi đua - Khen thưởng Trung ương", "TW", "central", None)
            .await
            .expect("tw");
        let cb = org::insert_authority(&mut tx, "Tỉnh Cao Bằng", "Cao Bằng", "province", Some(tw)).await.expect("cb");
        let hn = org::insert_authority(&mut tx, "Thành phố Hà Nội", "Hà Nội", "province", Some(tw)).await.expect("hn");
        let tu_phap = unit(&mut tx, "Sở Tư pháp", "department", cb).await;
        let y_te = unit(&mut tx, "Sở Y tế", "department", cb).await;
        let hoa_an = unit(&mut tx, "Xã Hòa An", "commune", cb).await;
        let hn_tu_phap = unit(&mut tx, "Sở Tư pháp thành phố Hà Nội", "department", hn).await;
        org::insert_year(&mut tx, 2025).await.expect("year");
        org::insert_year(&mut tx, 2026).await.expect("year");
        let block = org::insert_group(&mut tx, "block", "Khối các cơ quan Nội chính", cb).await.expect("group");
        let gy = org::group_year(&mut tx, block, 2026).await.expect("gy");
        org::insert_membership(&mut tx, gy, tu_phap, "head").await.expect("m");
        org::insert_membership(&mut tx, gy, y_te, "member").await.expect("m");
        let hn_block = org::insert_group(&mut tx, "block", "Khối Nội chính Hà Nội", hn).await.expect("group");
        let gy = org::group_year(&mut tx, hn_block, 2026).await.expect("gy");
        org::insert_membership(&mut tx, gy, hn_tu_phap, "head").await.expect("m");
        user(&mut tx, "admin", Role::Admin, None, None).await;
        user(&mut tx, "sec.cb", Role::Secretariat, Some(cb), None).await;
        user(&mut tx, "sec.hn", Role::Secretariat, Some(hn), None).await;
        user(&mut tx, "xem.cb", Role::Viewer, Some(cb), None).await;
        user(&mut tx, "canbo.tuphap", Role::UnitOfficer, None, Some(tu_phap)).await;
        user(&mut tx, "canbo.yte", Role::UnitOfficer, None, Some(y_te)).await;
        tx.commit().await.expect("commit");
        let st = AppState::new(db, cfg);
        let router = thidua_web::router(st.clone());
        TestApp {
            st,
            router,
            seed: Seed { tw, cb, hn, tu_phap, y_te, hoa_an, hn_tu_phap, block, hn_block },
            _guard: guard,
        }
    }

    pub fn client(&self) -> Client<'_> {
        Client { app: self, server: None, cookies: BTreeMap::new(), csrf: String::new() }
    }

    /// Logs in through the API and returns a client holding the session.
    /// A second server on the same database, as behind a load balancer: its
    /// own router and state (its own caches).
    pub fn second_server(&self) -> Router {
        thidua_web::router(AppState::new(self.st.db.clone(), self.st.cfg.as_ref().clone()))
    }

    /// Logged in through the API on `server` (see [`TestApp::second_server`]).
    pub async fn api_as_on(&self, server: &Router, username: &str) -> Client<'_> {
        let mut c = self.client();
        c.server = Some(server.clone());
        let r = c.post_json("/api/v1/session", serde_json::json!({ "username": username, "password": PASSWORD })).await;
        assert_eq!(r.status, StatusCode::OK, "login {username}: {}", r.body);
        c.csrf = r.json()["csrf_token"].as_str().expect("csrf").to_string();
        c
    }

    pub async fn api_as(&self, username: &str) -> Client<'_> {
        let mut c = self.client();
        let r = c.post_json("/api/v1/session", serde_json::json!({ "username": username, "password": PASSWORD })).await;
        assert_eq!(r.status, StatusCode::OK, "login {username}: {}", r.body);
        c.csrf = r.json()["csrf_token"].as_str().expect("csrf").to_string();
        c
    }

    /// Logs in through the login page and returns a client holding the session.
    pub async fn page_as(&self, username: &str) -> Client<'_> {
        let mut c = self.client();
        let r = c.login_page(username, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login {username}: {}", r.body);
        let home = c.get("/").await;
        c.csrf = hidden(&home.body, "csrf").expect("csrf on home page");
        c
    }

    /// Audit rows of an action, newest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        let mut tx = self.st.db.read().await.expect("tx");
        let rows: Vec<(String,)> = tx.all("SELECT action FROM audit_log ORDER BY id DESC", vec![]).await.expect("rows");
        rows.into_iter().map(|r| r.0).collect()
    }

    /// The newest audit row: its action, its object and its reason.
    pub async fn last_audit(&self) -> (String, String, String) {
        let mut tx = self.st.db.read().await.expect("tx");
        let row: Option<(String, String, String, Option<String>)> = tx
            .opt("SELECT action, object_type, object_id, reason FROM audit_log ORDER BY id DESC LIMIT 1", vec![])
            .await
            .expect("row");
        let (action, kind, id, reason) = row.expect("an audit row");
        (action, format!("{kind}:{id}"), reason.unwrap_or_default())
    }

    /// Closes the pool; the guard then removes the database.
    pub async fn finish(self) {
        self.st.db.close().await;
    }
}

/// A multipart form's `csrf` field, to put first in a body of content type `ct`
/// (as our pages send it: the token is never in the address).
pub fn csrf_part(ct: &str, token: &str) -> Vec<u8> {
    let boundary = ct.split("boundary=").nth(1).expect("a multipart content type");
    format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n").into_bytes()
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle)? + needle.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn location(&self) -> String {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
    }
}

pub struct Client<'a> {
    app: &'a TestApp,
    /// Another server on the same database (none: the app's own router).
    server: Option<Router>,
    pub cookies: BTreeMap<String, String>,
    pub csrf: String,
}

impl<'a> Client<'a> {
    /// The same browser's session, sent to `server` (see [`TestApp::second_server`]).
    pub fn on(&self, server: &Router) -> Client<'a> {
        Client { app: self.app, server: Some(server.clone()), cookies: self.cookies.clone(), csrf: self.csrf.clone() }
    }

    pub async fn send(&mut self, req: axum::http::request::Builder, body: Body) -> Resp {
        let (status, headers, bytes) = self.send_raw(req, body).await;
        Resp { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// [`Client::send`] with the body's bytes as they came.
    async fn send_raw(
        &mut self,
        req: axum::http::request::Builder,
        body: Body,
    ) -> (StatusCode, axum::http::HeaderMap, axum::body::Bytes) {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut req = req;
        if !cookie.is_empty() {
            req = req.header(header::COOKIE, cookie);
        }
        let router = self.server.clone().unwrap_or_else(|| self.app.router.clone());
        let resp = router.oneshot(req.body(body).expect("request")).await.expect("response");
        let status = resp.status();
        let headers = resp.headers().clone();
        for v in headers.get_all(header::SET_COOKIE) {
            let s = v.to_str().unwrap_or("");
            let first = s.split(';').next().unwrap_or("");
            if let Some((k, val)) = first.split_once('=') {
                if s.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), val.to_string());
                }
            }
        }
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, headers, bytes)
    }

    pub async fn get(&mut self, uri: &str) -> Resp {
        self.send(Request::get(uri), Body::empty()).await
    }

    /// A GET as a browser asks it (`Accept-Encoding: gzip, deflate, br, zstd`);
    /// the answer must be gzip-compressed, and its body is given decompressed,
    /// with the bytes as they came.
    pub async fn get_gzip(&mut self, uri: &str) -> (Resp, axum::body::Bytes) {
        let req = Request::get(uri).header(header::ACCEPT_ENCODING, "gzip, deflate, br, zstd");
        let (status, headers, bytes) = self.send_raw(req, Body::empty()).await;
        assert_eq!(
            headers.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()),
            Some(&b"gzip"[..]),
            "{uri}: {headers:?}"
        );
        assert!(headers.get_all(header::VARY).iter().any(|v| v == "accept-encoding"), "{uri}: {headers:?}");
        let mut body = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut body).expect("gzip");
        (Resp { status, headers, body }, bytes)
    }

    /// A form post; the session's CSRF token is added unless the form has one.
    pub async fn post_form(&mut self, uri: &str, fields: &[(&str, &str)]) -> Resp {
        let mut f: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone();
        if !f.iter().any(|(k, _)| *k == "csrf") {
            f.push(("csrf", &csrf));
        }
        let body = serde_urlencoded::to_string(&f).expect("form");
        let req = Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.send(req, Body::from(body)).await
    }

    pub async fn json_req(&mut self, method: &str, uri: &str, body: serde_json::Value) -> Resp {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-csrf-token", self.csrf.clone());
        self.send(req, Body::from(body.to_string())).await
    }

    pub async fn post_json(&mut self, uri: &str, body: serde_json::Value) -> Resp {
        self.json_req("POST", uri, body).await
    }

    pub async fn login_page(&mut self, username: &str, password: &str) -> Resp {
        let form = self.get("/dang-nhap").await;
        let token = hidden(&form.body, "csrf").expect("csrf in login form");
        self.post_form("/dang-nhap", &[("csrf", &token), ("username", username), ("password", password), ("next", "/")])
            .await
    }
}
