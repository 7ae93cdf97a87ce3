//! The layers around every request: request id, client facts, session,
//! CSRF, error rendering, security headers, metrics, body limit, panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};

use crate::auth::{self, Ctx, SESSION_COOKIE};
use crate::error::{AppError, ErrorInfo};
use crate::view::cookie;
use crate::{AppState, ReqMeta};

const REQUEST_ID: &str = "x-request-id";

pub fn layers(app: Router<AppState>, state: AppState) -> Router {
    app.layer(RequestBodyLimitLayer::new(state.cfg.body_limit))
        .layer(from_fn_with_state(state.clone(), session_and_csrf))
        .layer(from_fn(render_errors))
        .layer(from_fn_with_state(state.clone(), security_and_metrics))
        .layer(CatchPanicLayer::custom(|_| AppError::Internal("panic".into()).into_response()))
        .layer(PropagateRequestIdLayer::new(header::HeaderName::from_static(REQUEST_ID)))
        .layer(SetRequestIdLayer::new(header::HeaderName::from_static(REQUEST_ID), RequestIds::new()))
        .with_state(state)
}

/// Request ids in the form of a UUID: 64 random bits drawn when the server
/// starts, then a count. Unique across servers and restarts as random v4
/// UUIDs are, without asking the kernel for 16 random bytes per request.
#[derive(Clone)]
struct RequestIds {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).expect("the operating system's random source is available");
        RequestIds { prefix: u64::from_le_bytes(b), next: Arc::new(AtomicU64::new(0)) }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = uuid::Uuid::from_u64_pair(self.prefix, n).hyphenated().to_string();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// `/healthz`, `/metrics` and our own static assets.
pub fn ops_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/static/app.css", get(|h: HeaderMap| async move { asset(&h, &CSS) }))
        .route("/static/app.js", get(|h: HeaderMap| async move { asset(&h, &JS) }))
}

/// One of our assets, with its gzip-compressed form made the first time a
/// browser that accepts it asks.
struct Asset {
    content_type: &'static str,
    body: &'static str,
    gzip: std::sync::OnceLock<axum::body::Bytes>,
}

static CSS: Asset = Asset {
    content_type: "text/css; charset=utf-8",
    body: include_str!("../static/app.css"),
    gzip: std::sync::OnceLock::new(),
};
static JS: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    body: include_str!("../static/app.js"),
    gzip: std::sync::OnceLock::new(),
};

fn asset(headers: &HeaderMap, a: &'static Asset) -> Response {
    let cache = (header::CACHE_CONTROL, "public, max-age=3600");
    let vary = (header::VARY, "accept-encoding");
    if crate::gzip::accepts_gzip(headers) {
        let gz = a.gzip.get_or_init(|| crate::gzip::compress(a.body).into());
        return ([(header::CONTENT_TYPE, a.content_type), (header::CONTENT_ENCODING, "gzip"), cache, vary], gz.clone())
            .into_response();
    }
    ([(header::CONTENT_TYPE, a.content_type), cache, vary], a.body).into_response()
}

async fn healthz(State(st): State<AppState>) -> Response {
    match st.db.ping().await {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "database unavailable\n",
            )
                .into_response()
        }
    }
}

/// The lines of `/metrics` about grouped commits (`thidua_db::batch`).
fn write_metrics(st: &AppState) -> String {
    let (commits, actions) = st.writes.counts();
    let (hot, handed_back) = st.db.hot_counts();
    let kept = st.db.hot_kept_count();
    let (open, idle, max) = st.db.pool_state();
    let in_use = (open as usize).saturating_sub(idle);
    format!(
        "# HELP thidua_write_commits_total Commits of grouped writes (self-assessment saves); on PostgreSQL each write commits alone and is not counted.\n\
         # TYPE thidua_write_commits_total counter\n\
         thidua_write_commits_total {commits}\n\
         # HELP thidua_write_actions_total User actions in those commits.\n\
         # TYPE thidua_write_actions_total counter\n\
         thidua_write_actions_total {actions}\n\
         # HELP thidua_hot_reads_total Reads answered on the request's own thread (SQLite: the session, the log's head).\n\
         # TYPE thidua_hot_reads_total counter\n\
         thidua_hot_reads_total {hot}\n\
         # HELP thidua_hot_reads_handed_back_total Such reads run on the pool instead (every reader in use, or the file busy).\n\
         # TYPE thidua_hot_reads_handed_back_total counter\n\
         thidua_hot_reads_handed_back_total {handed_back}\n\
         # HELP thidua_hot_reads_kept_total Such reads answered as read before, without running: nothing committed since (SQLite, ADR 0006).\n\
         # TYPE thidua_hot_reads_kept_total counter\n\
         thidua_hot_reads_kept_total {kept}\n\
         # HELP thidua_database_connections The pool's connections to the database: in use, idle, and at most (`database_max_connections`).\n\
         # TYPE thidua_database_connections gauge\n\
         thidua_database_connections{{state=\"in_use\"}} {in_use}\n\
         thidua_database_connections{{state=\"idle\"}} {idle}\n\
         thidua_database_connections{{state=\"max\"}} {max}\n"
    )
}

async fn metrics(State(st): State<AppState>) -> Response {
    let up = st.db.ping().await.is_ok();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        st.metrics.render(up) + &st.years.metrics() + &st.sessions.metrics() + &write_metrics(&st),
    )
        .into_response()
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// Builds [`ReqMeta`], loads the session, and checks the CSRF token of
/// every state-changing request made with a session cookie.
async fn session_and_csrf(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let request_id = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let peer = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        // the rightmost entry is the one our trusted proxy appended
        .and_then(|v| v.rsplit(',').next())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let ip = if st.cfg.trust_forwarded { forwarded.or(peer) } else { peer }.unwrap_or_else(|| "unknown".into());
    let meta = ReqMeta {
        request_id,
        ip,
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string(),
        path: req.uri().path().to_string(),
    };
    // our own assets and the probes answer the same to anyone: the browser
    // sends the session cookie with them too, but there is nothing to check
    let anyone = meta.path.starts_with("/static/") || meta.path == "/healthz" || meta.path == "/metrics";
    let raw = if anyone { None } else { cookie(headers, SESSION_COOKIE) };
    let mut ctx: Option<Ctx> = None;
    let safe_method = matches!(*req.method(), Method::GET | Method::HEAD);
    if let Some(raw) = raw.as_deref().filter(|r| r.len() == 64) {
        match auth::load_session(&st, raw, &meta, safe_method).await {
            Ok(Some(c)) => ctx = Some(c),
            Ok(None) => {
                req.extensions_mut().insert(auth::SessionExpired);
            }
            Err(e) => return e.into_response(),
        }
    }
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && let Some(c) = &ctx {
        let (parts, body) = req.into_parts();
        // the header (our script, API clients), else the form's `csrf` field;
        // never the query string, where logs and the Referer would keep it
        let mut token = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string);
        let content_type =
            parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let body = if token.is_some() {
            body
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            match axum::body::to_bytes(body, st.cfg.body_limit).await {
                Ok(bytes) => {
                    token = form_field(&String::from_utf8_lossy(&bytes), "csrf");
                    Body::from(bytes)
                }
                Err(_) => {
                    return AppError::TooLarge("Dữ liệu gửi lên quá lớn.".into()).into_response();
                }
            }
        } else if let Some(boundary) = multipart_boundary(&content_type) {
            match multipart_token(body, &boundary).await {
                Ok((t, body)) => {
                    token = t;
                    body
                }
                Err(_) => {
                    return AppError::BadRequest("Không đọc được dữ liệu gửi lên. Hãy gửi lại.".into()).into_response();
                }
            }
        } else {
            body
        };
        req = Request::from_parts(parts, body);
        let ok = token.is_some_and(|t| constant_eq(t.as_bytes(), c.csrf.as_bytes()));
        if !ok {
            let object = format!("request:{}", meta.path);
            auth::record_denial(&st.db, &meta, Some(c), "csrf", &object, "Thiếu hoặc sai mã CSRF").await;
            return AppError::Csrf.into_response();
        }
    }
    req.extensions_mut().insert(meta);
    if let Some(c) = &ctx {
        req.extensions_mut().insert(c.clone());
    }
    let mut resp = next.run(req).await;
    // the error renderer (an outer layer) shows the user's navigation on error pages
    if let Some(c) = ctx {
        resp.extensions_mut().insert(c);
    }
    resp
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The boundary of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    if !params.next()?.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

/// How far into a multipart body its CSRF field may be: our forms put it
/// first, and a browser sends the fields in the order of the page.
const MULTIPART_TOKEN_WITHIN: usize = 4096;

/// What the start of a multipart body says of its first field.
#[derive(Debug, PartialEq, Eq)]
enum FirstField {
    /// The first field is `csrf`, with this value.
    Token(String),
    /// The first field is another, or the body is not as expected.
    None,
    /// Not enough of the body yet.
    More,
}

/// Reads the first field of a multipart body if it is `csrf`.
fn first_field(buf: &[u8], boundary: &str) -> FirstField {
    let open = format!("--{boundary}\r\n");
    if buf.len() < open.len() {
        return if open.as_bytes().starts_with(buf) { FirstField::More } else { FirstField::None };
    }
    if !buf.starts_with(open.as_bytes()) {
        return FirstField::None;
    }
    let rest = &buf[open.len()..];
    let Some(end) = find(rest, b"\r\n\r\n") else { return FirstField::More };
    let headers = String::from_utf8_lossy(&rest[..end]);
    let named_csrf = headers.split("\r\n").any(|h| {
        h.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("content-disposition")
                && v.split(';').any(|p| p.trim() == "name=\"csrf\"")
                && !v.contains("filename")
        })
    });
    if !named_csrf {
        return FirstField::None;
    }
    let value = &rest[end + 4..];
    match find(value, format!("\r\n--{boundary}").as_bytes()) {
        Some(n) => FirstField::Token(String::from_utf8_lossy(&value[..n]).into_owned()),
        None => FirstField::More,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The CSRF token of a multipart body (its first field, if named `csrf`),
/// reading no further than that field, and the body to hand on: what was
/// read, then the rest as it comes (an upload is not held here).
async fn multipart_token(mut body: Body, boundary: &str) -> Result<(Option<String>, Body), axum::Error> {
    use axum::body::HttpBody;
    let mut head: Vec<u8> = Vec::new();
    let mut token = None;
    let mut ended = false;
    // a frame that is not data (trailers) ends the looking, and is handed on
    let mut other: Option<http_body::Frame<axum::body::Bytes>> = None;
    loop {
        match first_field(&head, boundary) {
            FirstField::Token(t) => {
                token = Some(t);
                break;
            }
            FirstField::None => break,
            FirstField::More if head.len() >= MULTIPART_TOKEN_WITHIN => break,
            FirstField::More => {}
        }
        match std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => head.extend_from_slice(&data),
                Err(frame) => {
                    other = Some(frame);
                    break;
                }
            },
            Some(Err(e)) => return Err(e),
            None => {
                ended = true;
                break;
            }
        }
    }
    let head = axum::body::Bytes::from(head);
    let body = if ended { Body::from(head) } else { Body::new(Prefixed { head: Some(head), other, rest: body }) };
    Ok((token, body))
}

/// A body whose first frames were already read: those, then the rest.
struct Prefixed {
    head: Option<axum::body::Bytes>,
    other: Option<http_body::Frame<axum::body::Bytes>>,
    rest: Body,
}

impl axum::body::HttpBody for Prefixed {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Some(head) = self.head.take().filter(|h| !h.is_empty()) {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(head))));
        }
        if let Some(frame) = self.other.take() {
            return std::task::Poll::Ready(Some(Ok(frame)));
        }
        std::pin::Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.head.as_ref().is_none_or(|h| h.is_empty()) && self.other.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let rest = self.rest.size_hint();
        let n = self.head.as_ref().map_or(0, |h| h.len() as u64);
        let mut hint = http_body::SizeHint::new();
        hint.set_lower(rest.lower() + n);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + n);
        }
        hint
    }
}

/// One field of an urlencoded body or query.
pub fn form_field(s: &str, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(s).ok()?.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: String,
    status: u16,
    message: String,
    fields: Vec<thidua_core::Invalid>,
    request_id: String,
    l: crate::view::Layout,
    back: String,
}

/// Where "Quay lại" goes without JavaScript: the referring page of this site, else home.
fn back_link(headers: &axum::http::HeaderMap) -> String {
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let path = referer.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..])).unwrap_or("/");
    crate::pages::safe_next(path)
}

/// Renders errors: JSON under `/api/`, a Vietnamese page elsewhere; an
/// unauthenticated page request is sent to the login page instead.
async fn render_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let request_id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let expired = req.extensions().get::<auth::SessionExpired>().is_some();
    let is_api = path.starts_with("/api/");
    let req_headers = req.headers().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    let info = match resp.extensions().get::<ErrorInfo>() {
        Some(i) => i.clone(),
        None if status.is_client_error() || status.is_server_error() => {
            // our own pages and JSON bodies pass; framework rejections (plain text) are rendered
            let ours = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("text/html") || ct.starts_with("application/json"));
            if ours && status != StatusCode::INTERNAL_SERVER_ERROR {
                return resp;
            }
            generic_info(status)
        }
        None => return resp,
    };
    if is_api {
        let body = serde_json::json!({ "error": { "code": info.code, "message": info.message, "fields": info.fields, "request_id": request_id } });
        let mut r = (status, axum::Json(body)).into_response();
        copy_cookies(&resp, &mut r);
        return r;
    }
    if info.code == "unauthenticated" {
        let next_url = format!("{path}{query}");
        let msg = if expired {
            "Phiên làm việc đã hết hạn, hãy đăng nhập lại."
        } else {
            "Hãy đăng nhập để tiếp tục."
        };
        let to = format!("/dang-nhap?next={}", urlencode(&next_url));
        let mut r = crate::view::redirect_with(&to, "error", msg);
        if expired {
            r.headers_mut()
                .append(header::SET_COOKIE, crate::view::set_cookie(SESSION_COOKIE, "", Some(0), false, "Lax"));
        }
        return r;
    }
    let title = match status.as_u16() {
        403 => "Không có quyền truy cập",
        404 => "Không tìm thấy",
        409 => "Xung đột dữ liệu",
        413 => "Dữ liệu quá lớn",
        422 => "Dữ liệu chưa hợp lệ",
        429 => "Quá nhiều yêu cầu",
        s if s >= 500 => "Lỗi hệ thống",
        _ => "Yêu cầu không hợp lệ",
    };
    let page = ErrorPage {
        title: title.into(),
        status: status.as_u16(),
        message: info.message,
        fields: info.fields,
        request_id,
        l: match resp.extensions().get::<Ctx>() {
            Some(c) => crate::view::Layout::new(title, c, &req_headers, &path),
            None => crate::view::Layout::anonymous(title, &req_headers),
        },
        back: back_link(&req_headers),
    };
    match page.render() {
        Ok(html) => {
            let mut r = (status, axum::response::Html(html)).into_response();
            copy_cookies(&resp, &mut r);
            r
        }
        Err(_) => (status, "Lỗi hệ thống").into_response(),
    }
}

fn copy_cookies(from: &Response, to: &mut Response) {
    for v in from.headers().get_all(header::SET_COOKIE) {
        to.headers_mut().append(header::SET_COOKIE, v.clone());
    }
}

fn generic_info(status: StatusCode) -> ErrorInfo {
    let (code, message) = match status.as_u16() {
        404 => ("not_found", "Không tìm thấy trang hoặc đối tượng bạn yêu cầu."),
        405 => ("method_not_allowed", "Thao tác này không được hỗ trợ tại địa chỉ này."),
        413 => ("too_large", "Dữ liệu hoặc tệp gửi lên quá lớn. Hãy giảm kích thước rồi thử lại."),
        415 => ("unsupported_media_type", "Định dạng dữ liệu gửi lên không được hỗ trợ."),
        422 | 400 => ("bad_request", "Dữ liệu gửi lên không đúng định dạng. Hãy kiểm tra lại biểu mẫu."),
        s if s >= 500 => (
            "internal",
            "Đã có lỗi trong hệ thống. Thao tác chưa được thực hiện; hãy thử lại sau hoặc báo cho quản trị viên kèm mã yêu cầu.",
        ),
        _ => ("bad_request", "Yêu cầu không hợp lệ."),
    };
    ErrorInfo { code, message: message.into(), fields: vec![] }
}

pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).map(|v| v.trim_start_matches('=').to_string()).unwrap_or_default()
}

/// Behind TLS every cookie is sent only over it: the cookies set where the
/// configuration is not at hand (the flash message of a redirect) are marked
/// `Secure` here.
fn secure_cookies(h: &mut axum::http::HeaderMap) {
    let cookies: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
    if cookies.iter().all(|c| c.to_str().is_ok_and(|v| v.contains("; Secure"))) {
        return;
    }
    h.remove(header::SET_COOKIE);
    for c in cookies {
        let marked = match c.to_str() {
            Ok(v) if !v.contains("; Secure") => HeaderValue::from_str(&format!("{v}; Secure")).unwrap_or(c),
            _ => c,
        };
        h.append(header::SET_COOKIE, marked);
    }
}

/// Security headers on every response; metrics of every request.
async fn security_and_metrics(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let is_static = req.uri().path().starts_with("/static/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !is_static && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if st.cfg.tls {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
        secure_cookies(h);
    }
    st.metrics.observe(&method, resp.status().as_u16(), started.elapsed().as_micros() as u64);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::HttpBody;

    const B: &str = "----thidua-b";

    fn part(name: &str, value: &str) -> String {
        format!("--{B}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
    }

    /// A body that arrives in these chunks.
    fn chunked(chunks: &[&[u8]]) -> Body {
        chunks.iter().rev().fold(Body::empty(), |rest, c| {
            Body::new(Prefixed { head: Some(axum::body::Bytes::copy_from_slice(c)), other: None, rest })
        })
    }

    #[test]
    fn the_boundary_is_read_from_the_content_type() {
        assert_eq!(multipart_boundary(&format!("multipart/form-data; boundary={B}")).as_deref(), Some(B));
        assert_eq!(multipart_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\"").as_deref(), Some("a b"));
        assert_eq!(multipart_boundary("multipart/mixed; boundary=x"), None);
        assert_eq!(multipart_boundary("multipart/form-data"), None);
        assert_eq!(multipart_boundary("application/json"), None);
    }

    #[test]
    fn only_a_first_field_named_csrf_is_the_token() {
        let body = format!("{}{}--{B}--\r\n", part("csrf", "abc"), part("title", "x"));
        assert_eq!(first_field(body.as_bytes(), B), FirstField::Token("abc".into()));
        let later = format!("{}{}--{B}--\r\n", part("title", "x"), part("csrf", "abc"));
        assert_eq!(first_field(later.as_bytes(), B), FirstField::None);
        let file =
            format!("--{B}\r\nContent-Disposition: form-data; name=\"csrf\"; filename=\"a\"\r\n\r\nabc\r\n--{B}--");
        assert_eq!(first_field(file.as_bytes(), B), FirstField::None);
        let similar = format!("{}--{B}--\r\n", part("csrf2", "abc"));
        assert_eq!(first_field(similar.as_bytes(), B), FirstField::None);
        // not all there yet
        for n in [0, 3, 20, body.find("abc").unwrap_or(0) + 2] {
            assert_eq!(first_field(&body.as_bytes()[..n], B), FirstField::More, "{n}");
        }
        assert_eq!(first_field(b"garbage", B), FirstField::None);
    }

    #[tokio::test]
    async fn the_token_is_found_across_chunks_and_the_body_is_handed_on_whole() {
        let file = vec![7u8; 100_000];
        let mut whole = part("csrf", "tok3n").into_bytes();
        whole.extend_from_slice(part("title", "Kế hoạch").as_bytes());
        whole.extend_from_slice(&file);
        let cut = whole.len() - file.len();
        let (a, rest) = whole.split_at(30);
        let (b, c) = rest.split_at(cut - 30);
        let (token, body) = multipart_token(chunked(&[a, b, c]), B).await.expect("read");
        assert_eq!(token.as_deref(), Some("tok3n"));
        let back = axum::body::to_bytes(body, usize::MAX).await.expect("body");
        assert_eq!(back.as_ref(), whole.as_slice());
        // all in one chunk, larger than the part of a body looked at
        let (token, body) = multipart_token(chunked(&[&whole]), B).await.expect("read");
        assert_eq!(token.as_deref(), Some("tok3n"));
        assert_eq!(axum::body::to_bytes(body, usize::MAX).await.expect("body").as_ref(), whole.as_slice());
        // the token as a later field: none, and the body is whole too
        let later = format!("{}{}", part("title", "x"), part("csrf", "tok3n"));
        let (token, body) = multipart_token(chunked(&[later.as_bytes()]), B).await.expect("read");
        assert_eq!(token, None);
        assert_eq!(axum::body::to_bytes(body, usize::MAX).await.expect("body").as_ref(), later.as_bytes());
        // a first field that never ends is not read past the limit
        let start = format!("--{B}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n");
        let endless = Body::new(Prefixed { head: Some(start.into()), other: None, rest: Body::new(Endless(0)) });
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), multipart_token(endless, B));
        let (token, body) = read.await.expect("it stops looking").expect("read");
        assert_eq!(token, None);
        assert!(body.size_hint().lower() < (MULTIPART_TOKEN_WITHIN + 2 * 1024) as u64, "{:?}", body.size_hint());
    }

    /// A body that never ends: 1 KiB at a time.
    struct Endless(usize);

    impl axum::body::HttpBody for Endless {
        type Data = axum::body::Bytes;
        type Error = axum::Error;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            // every other poll is not ready yet, so a timeout around the reader can fire
            self.0 += 1;
            if self.0.is_multiple_of(2) {
                cx.waker().wake_by_ref();
                return std::task::Poll::Pending;
            }
            std::task::Poll::Ready(Some(Ok(http_body::Frame::data(vec![b'x'; 1024].into()))))
        }
    }

    #[tokio::test]
    async fn trailers_read_while_looking_are_handed_on() {
        let trailers = http_body::Frame::trailers(axum::http::HeaderMap::new());
        let body = Body::new(Prefixed {
            head: Some(format!("--{B}\r\nContent-Disposition: form-data; name=\"csrf\"").into()),
            other: Some(trailers),
            rest: Body::empty(),
        });
        let (token, mut body) = multipart_token(body, B).await.expect("read");
        assert_eq!(token, None);
        let mut frames = vec![];
        while let Some(f) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
            frames.push(f.expect("frame"));
        }
        assert_eq!(frames.len(), 2);
        assert!(frames[0].is_data() && frames[1].is_trailers());
    }
}
