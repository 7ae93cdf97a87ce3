//! What every page shares: the layout (user, navigation by role, flash
//! message, CSRF token), cookies, redirects, and form helpers.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use thidua_core::policy::{Action, Target, decide};

use crate::auth::Ctx;
use crate::gzip::Piece;

pub const FLASH_COOKIE: &str = "thidua_flash";

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct Flash {
    /// "ok" or "error".
    pub kind: String,
    pub text: String,
}

/// The layout's data. Templates read `l.…`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub user_name: Option<String>,
    pub roles: String,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub flash: Option<Flash>,
}

impl Layout {
    /// The layout for a signed-in user: the navigation shows what the policy allows.
    pub fn new(title: impl Into<String>, ctx: &Ctx, headers: &HeaderMap, path: &str) -> Self {
        let a = &ctx.actor;
        let any_scope = |action: Action| -> bool {
            if decide(a, action, &Target::system()).is_ok() {
                return true;
            }
            // an authority role: try its own authority as the target
            a.grants
                .iter()
                .filter_map(|g| g.authority_id)
                .any(|id| decide(a, action, &Target::authority(vec![id])).is_ok())
        };
        let mut nav = vec![NavItem { href: "/", label: "Trang chủ", current: path == "/" }];
        let mut push = |href: &'static str, label: &'static str| {
            nav.push(NavItem { href, label, current: path.starts_with(href) });
        };
        if any_scope(Action::ViewGroup) {
            push("/cum-khoi", "Cụm, khối thi đua");
        }
        if any_scope(Action::ViewUnit) {
            push("/don-vi", "Đơn vị");
        }
        if any_scope(Action::ViewDirectory) {
            push("/bang-diem-mau", "Bảng điểm mẫu");
            push("/lich", "Lịch công tác");
            push("/co-quan", "Cơ quan tổ chức");
            push("/nam-thi-dua", "Năm thi đua");
        }
        if any_scope(Action::ManageUnit) {
            push("/nhap-xuat", "Nhập, xuất Excel");
        }
        if any_scope(Action::ManageUsers) {
            push("/nguoi-dung", "Người dùng");
        }
        if any_scope(Action::ViewAudit) {
            push("/nhat-ky", "Nhật ký");
        }
        let roles = ctx
            .grants
            .iter()
            .map(|g| {
                let role = thidua_core::policy::Role::parse(&g.role).map(|r| r.label()).unwrap_or("?");
                match &g.scope_name {
                    Some(s) => format!("{role} – {s}"),
                    None => role.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        Layout {
            title: title.into(),
            user_name: Some(ctx.user.full_name.clone()),
            roles,
            nav,
            csrf: ctx.csrf.clone(),
            flash: read_flash(headers),
        }
    }

    /// The layout for a visitor who is not signed in.
    pub fn anonymous(title: impl Into<String>, headers: &HeaderMap) -> Self {
        Layout {
            title: title.into(),
            user_name: None,
            roles: String::new(),
            nav: vec![],
            csrf: String::new(),
            flash: read_flash(headers),
        }
    }
}

/// Reads a cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// A `Set-Cookie` value; `max_age` None is a session cookie, Some(0) removes it.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool, same_site: &str) -> HeaderValue {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if let Some(a) = max_age {
        s.push_str(&format!("; Max-Age={a}"));
    }
    if secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn read_flash(headers: &HeaderMap) -> Option<Flash> {
    let raw = cookie(headers, FLASH_COOKIE)?;
    let decoded = percent_decode(&raw);
    let (kind, text) = decoded.split_once(':')?;
    Some(Flash { kind: kind.to_string(), text: text.to_string() })
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len() + 1
            && let Some(h) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(h);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Redirects (303) with a flash message for the next page.
pub fn redirect_with(to: &str, kind: &str, text: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    let v = percent_encode(&format!("{kind}:{text}"));
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(FLASH_COOKIE, &v, Some(60), false, "Lax"));
    resp
}

/// Clears the flash cookie once a page has shown it.
pub fn clear_flash(resp: &mut Response, headers: &HeaderMap) {
    if cookie(headers, FLASH_COOKIE).is_some() {
        resp.headers_mut().append(header::SET_COOKIE, set_cookie(FLASH_COOKIE, "", Some(0), false, "Lax"));
    }
}

/// Renders an askama template into text (a piece of a page).
pub fn render<T: askama::Template>(t: &T) -> crate::AppResult<String> {
    t.render().map_err(template_error)
}

/// Renders `t` into `out` (a buffer sized by the caller).
pub fn render_into<T: askama::Template>(t: &T, out: &mut String) -> crate::AppResult<()> {
    t.render_into(out).map_err(template_error)
}

fn template_error(e: askama::Error) -> crate::AppError {
    crate::AppError::Internal(format!("template: {e}"))
}

/// The HTML kept in `slot`, rendered by `render` the first time it is asked
/// for (pieces of pages kept with the shared parts they show) and made a
/// piece by `make` ([`Piece::compressible`] or [`Piece::stored`]).
pub fn rendered_once(
    slot: &std::sync::OnceLock<Piece>,
    make: fn(String) -> Piece,
    render: impl FnOnce() -> crate::AppResult<String>,
) -> crate::AppResult<Piece> {
    if let Some(h) = slot.get() {
        return Ok(h.clone());
    }
    let h = make(render()?);
    Ok(slot.get_or_init(|| h).clone())
}

/// Renders an askama template into an HTML response (and clears a shown flash).
pub fn html<T: askama::Template>(t: &T, headers: &HeaderMap) -> crate::AppResult<Response> {
    html_sized(t, headers, T::SIZE_HINT)
}

/// [`html`] for a page whose size is known to be about `size` bytes (one
/// that embeds large pieces rendered before): its text is not copied as it
/// grows. Sent as it is, never compressed (see [`html_with_pieces`]).
pub fn html_sized<T: askama::Template>(t: &T, headers: &HeaderMap, size: usize) -> crate::AppResult<Response> {
    let mut body = String::with_capacity(size);
    render_into(t, &mut body)?;
    let mut resp = axum::response::Html(body).into_response();
    clear_flash(&mut resp, headers);
    Ok(resp)
}

/// [`html`] for a page that embeds large pieces rendered before, about `size`
/// bytes: its text is not copied as it grows, and when `compress` (the
/// setting `compress_pages`) it is sent gzip-compressed to a browser that
/// accepts it, its compressible pieces compressed once and the rest not at
/// all ([`crate::gzip`]).
pub fn html_with_pieces<T: askama::Template>(
    t: &T,
    headers: &HeaderMap,
    size: usize,
    compress: bool,
) -> crate::AppResult<Response> {
    let mut resp = crate::gzip::page(t, headers, size, compress)?;
    clear_flash(&mut resp, headers);
    Ok(resp)
}

/// Date text from storage (`YYYY-MM-DD`) as dd/mm/yyyy.
pub fn date_vn(s: &Option<String>) -> String {
    s.as_deref()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map(thidua_core::text::format_date)
        .unwrap_or_default()
}

/// A stored timestamp as dd/mm/yyyy hh:mm (Vietnam time, UTC+7).
pub fn stamp_vn(s: &str) -> String {
    match thidua_db::parse_stamp(s) {
        Some(t) => {
            let local = t + chrono::Duration::hours(7);
            local.format("%d/%m/%Y %H:%M").to_string()
        }
        None => s.to_string(),
    }
}

/// A browser's user-agent string in a few words: "Chrome trên Windows".
pub fn device_label(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("CocCoc") || ua.contains("coc_coc") {
        "Cốc Cốc"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.is_empty() {
        return "Không rõ".into();
    } else {
        "Ứng dụng khác"
    };
    let os = if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Mac OS X") {
        Some("macOS")
    } else if ua.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match os {
        Some(os) => format!("{browser} trên {os}"),
        None => browser.to_string(),
    }
}

/// The audit actions a user can filter by.
pub const AUDIT_ACTIONS: &[&str] = &[
    "login",
    "login_failed",
    "login_throttled",
    "password_check_failed",
    "logout",
    "session.end",
    "user.create",
    "user.grant",
    "user.revoke",
    "user.password",
    "user.password_reset",
    "user.disable",
    "user.enable",
    "authority.create",
    "authority.update",
    "authority.close",
    "year.open",
    "unit.create",
    "unit.update",
    "unit.close",
    "unit.lineage",
    "group.create",
    "group.update",
    "group.close",
    "membership.add",
    "membership.role",
    "membership.remove",
    "import.units",
    "import.memberships",
    "template.create",
    "template.edit",
    "template.publish",
    "table.start",
    "table.edit",
    "table.adopt",
    "table.new_version",
    "calendar.defaults",
    "calendar.move",
    "inspection.plan",
    "inspection.adjust",
    "score.save",
    "score.self_assessment",
    "score.submit",
    "score.inspection_proposal",
    "score.head_review",
    "score.explanation",
    "score.appraisal",
    "score.final",
    "score.phase",
    "score.finalise",
    "score.reopen_final",
    "score.publish",
    "score.unpublish",
    "score.reopen_sheet",
    "score.evidence_add",
    "score.evidence_remove",
    "document.create",
    "document.version",
    "covenant.update",
    "covenant.target",
    "covenant.sign",
    "covenant.penalty",
    "denied:csrf",
    "denied:view_unit",
    "denied:manage_unit",
    "denied:view_group",
    "denied:manage_group",
    "denied:manage_users",
    "denied:view_audit",
];

/// What an audit action code means, in Vietnamese.
pub fn action_label(code: &str) -> String {
    if let Some(action) = code.strip_prefix("denied:") {
        let what = match action {
            "csrf" => "mã chống giả mạo (CSRF) sai hoặc thiếu".to_string(),
            other => thidua_core::policy::Action::ALL
                .iter()
                .find(|a| a.code() == other)
                .map(|a| a.label().to_string())
                .unwrap_or_else(|| other.to_string()),
        };
        return format!("Từ chối: {what}");
    }
    let label = match code {
        "login" => "Đăng nhập",
        "login_failed" => "Đăng nhập sai",
        "login_throttled" => "Chặn đăng nhập (sai quá nhiều lần)",
        "password_check_failed" => "Nhập sai mật khẩu hiện tại",
        "logout" => "Đăng xuất",
        "session.end" => "Kết thúc phiên đăng nhập",
        "user.create" => "Tạo tài khoản",
        "user.grant" => "Gán vai trò",
        "user.revoke" => "Bỏ vai trò",
        "user.password" => "Đổi mật khẩu",
        "user.password_reset" => "Đặt lại mật khẩu",
        "user.disable" => "Khoá tài khoản",
        "user.enable" => "Mở khoá tài khoản",
        "authority.create" => "Thêm cơ quan tổ chức",
        "authority.update" => "Sửa cơ quan tổ chức",
        "authority.close" => "Ghi nhận cơ quan thôi hoạt động",
        "year.open" => "Mở năm thi đua",
        "unit.create" => "Thêm đơn vị",
        "unit.update" => "Sửa đơn vị",
        "unit.close" => "Ghi nhận đơn vị thôi hoạt động",
        "unit.lineage" => "Ghi nhận sáp nhập, chia tách, đổi tên",
        "group.create" => "Thêm cụm, khối",
        "group.update" => "Sửa cụm, khối",
        "group.close" => "Giải thể cụm, khối",
        "membership.add" => "Thêm thành viên cụm, khối",
        "membership.role" => "Đổi vai trò thành viên",
        "membership.remove" => "Bỏ thành viên cụm, khối",
        "import.units" => "Nhập đơn vị từ Excel",
        "template.create" => "Tạo bảng điểm mẫu",
        "template.edit" => "Sửa bảng điểm mẫu",
        "template.replace" => "Thay toàn bộ bảng điểm mẫu",
        "template.publish" => "Ban hành bảng điểm mẫu",
        "table.start" => "Lập dự thảo bảng điểm",
        "table.edit" => "Sửa dự thảo bảng điểm",
        "table.replace" => "Thay toàn bộ dự thảo bảng điểm",
        "table.adopt" => "Thông qua bảng điểm",
        "table.new_version" => "Tạo phiên bản mới của bảng điểm",
        "calendar.defaults" => "Đặt lịch chung",
        "calendar.move" => "Dời lịch của cụm, khối",
        "inspection.plan" => "Lập kế hoạch kiểm tra chéo",
        "inspection.adjust" => "Điều chỉnh kế hoạch kiểm tra chéo",
        "score.save" => "Lưu điểm tự chấm",
        "score.self_assessment" => "Ghi điểm tự chấm",
        "score.submit" => "Ký, gửi phiếu tự chấm",
        "score.inspection_proposal" => "Ghi đề xuất kiểm tra chéo",
        "score.head_review" => "Đơn vị trưởng đề xuất điều chỉnh",
        "score.explanation" => "Giải trình",
        "score.appraisal" => "Thẩm định điểm",
        "score.final" => "Sửa kết quả sau quyết định mở lại",
        "score.phase" => "Chuyển bước chấm điểm",
        "score.finalise" => "Chốt kết quả cuối cùng",
        "score.reopen_final" => "Mở lại kết quả cuối cùng",
        "score.publish" => "Công bố kết quả",
        "score.unpublish" => "Thu hồi công bố kết quả",
        "score.reopen_sheet" => "Mở lại phiếu tự chấm",
        "score.evidence_add" => "Tải lên minh chứng",
        "score.evidence_remove" => "Gỡ minh chứng",
        "document.create" => "Tải lên tài liệu",
        "document.version" => "Tải lên phiên bản mới của tài liệu",
        "covenant.update" => "Sửa giao ước thi đua",
        "covenant.target" => "Giao chỉ tiêu",
        "covenant.sign" => "Ký giao ước thi đua",
        "covenant.penalty" => "Trừ điểm đơn vị không ký giao ước",
        "import.memberships" => "Nhập thành viên từ Excel",
        other => return other.to_string(),
    };
    label.to_string()
}

/// What an audited object type is, in Vietnamese.
pub fn object_label(object_type: &str) -> &str {
    match object_type {
        "user" => "Tài khoản",
        "authority" => "Cơ quan",
        "year" => "Năm",
        "unit" => "Đơn vị",
        "group" => "Cụm, khối",
        "membership" => "Thành viên",
        "template" => "Bảng điểm mẫu",
        "table" => "Bảng điểm",
        "calendar" => "Lịch",
        "document" => "Tài liệu",
        "covenant" => "Giao ước",
        "covenant_signature" => "Chữ ký giao ước",
        "import" => "Nhập Excel",
        "request" => "Yêu cầu",
        "audit" => "Nhật ký",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices() {
        let win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(device_label(win), "Chrome trên Windows");
        assert_eq!(
            device_label("Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0"),
            "Firefox trên Android"
        );
        assert_eq!(device_label(""), "Không rõ");
    }

    #[test]
    fn flash_round_trip() {
        let v = percent_encode("ok:Đã lưu đơn vị \"Sở Tư pháp\"; xong");
        assert_eq!(percent_decode(&v), "ok:Đã lưu đơn vị \"Sở Tư pháp\"; xong");
    }
}
