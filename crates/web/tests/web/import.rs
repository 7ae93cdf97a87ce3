//! Excel import and export through the pages and the API: multipart uploads
//! with the CSRF token in the query string, raw `.xlsx` bodies, reports,
//! statuses, denials, and exports that re-import unchanged.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::{Client, Resp, TestApp, csrf_part};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const UNIT_HEADERS: [&str; 6] =
    ["Tên đơn vị", "Tên viết tắt", "Loại", "Cơ quan quản lý", "Hoạt động từ", "Hoạt động đến"];
const CB: &str = "Tỉnh Cao Bằng";

fn xlsx(headers: &[&str], rows: &[&[&str]]) -> Vec<u8> {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect();
    thidua_export::write_table("Trang 1", None, headers, &rows).expect("xlsx")
}

/// A multipart form with the file and, if asked, the "only check" box.
fn multipart(file: &[u8], dry_run: bool) -> (String, Vec<u8>) {
    let boundary = "----thidua-kiem-thu-7f3a";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"don-vi.xlsx\"\r\n\
             Content-Type: {XLSX}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(b"\r\n");
    if dry_run {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"dry_run\"\r\n\r\n1\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(c: &mut Client<'_>, path: &str, file: &[u8], dry_run: bool) -> Resp {
    let (ct, body) = multipart(file, dry_run);
    let body = [csrf_part(&ct, &c.csrf), body].concat();
    c.send(Request::post(path).header(header::CONTENT_TYPE, ct), Body::from(body)).await
}

async fn api_upload(c: &mut Client<'_>, uri: &str, file: Vec<u8>) -> Resp {
    let req = Request::post(uri).header(header::CONTENT_TYPE, XLSX).header("x-csrf-token", c.csrf.clone());
    c.send(req, Body::from(file)).await
}

/// A GET whose body is kept as bytes (a download).
async fn download(app: &TestApp, c: &Client<'_>, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let cookie = c.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let req = Request::get(uri).header(header::COOKIE, cookie).body(Body::empty()).expect("request");
    let resp = app.router.clone().oneshot(req).await.expect("response");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, headers, bytes)
}

async fn unit_names(app: &TestApp) -> Vec<String> {
    let mut tx = app.st.db.read().await.expect("tx");
    let rows: Vec<(String,)> = tx.all("SELECT name FROM units ORDER BY id", vec![]).await.expect("rows");
    tx.rollback().await.expect("rollback");
    rows.into_iter().map(|r| r.0).collect()
}

#[tokio::test]
async fn page_imports_checks_and_exports_units() {
    let app = TestApp::new().await;
    let mut c = app.page_as("sec.cb").await;

    let page = c.get("/nhap-xuat").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("action=\"/nhap-xuat/don-vi\""), "{}", page.body);
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    assert!(page.body.contains("Chỉ kiểm tra, không lưu"));
    assert!(page.body.contains("/nhap-xuat/mau/don-vi.xlsx"));

    let file = xlsx(&UNIT_HEADERS, &[&["Sở Nội vụ", "SNV", "Sở, ban, ngành", CB, "01/03/2025", ""]]);
    let before = unit_names(&app).await;

    // only check
    let r = upload(&mut c, "/nhap-xuat/don-vi", &file, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Chưa có dữ liệu nào được lưu"), "{}", r.body);
    assert_eq!(unit_names(&app).await, before);

    // for real
    let r = upload(&mut c, "/nhap-xuat/don-vi", &file, false).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Đã nhập xong 1 dòng: 1 thêm mới"), "{}", r.body);
    assert!(unit_names(&app).await.contains(&"Sở Nội vụ".to_string()));

    // one bad row: nothing stored, the row named
    let bad = xlsx(
        &UNIT_HEADERS,
        &[
            &["Sở Xây dựng", "", "Sở, ban, ngành", CB, "", ""],
            &["Sở Công Thương", "", "Sở, ban, ngành", "Tỉnh Không Có", "", ""],
        ],
    );
    let r = upload(&mut c, "/nhap-xuat/don-vi", &bad, false).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Không có dữ liệu nào được lưu."), "{}", r.body);
    assert!(r.body.contains("<td data-label=\"Dòng\" class=\"num\">3</td>"), "{}", r.body);
    assert!(r.body.contains("Không tìm thấy cơ quan quản lý &#34;Tỉnh Không Có&#34;"), "{}", r.body);
    assert!(!unit_names(&app).await.contains(&"Sở Xây dựng".to_string()));

    // not an xlsx
    let r = upload(&mut c, "/nhap-xuat/don-vi", b"Ten don vi;Loai\n", false).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("không phải bảng tính Excel"), "{}", r.body);

    // no CSRF token in the query: refused
    let (ct, body) = multipart(&file, true);
    let r = c.send(Request::post("/nhap-xuat/don-vi").header(header::CONTENT_TYPE, ct), Body::from(body)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // the export re-imports without a change
    let (status, headers, bytes) = download(&app, &c, "/xuat/don-vi.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some(XLSX));
    let r = upload(&mut c, "/nhap-xuat/don-vi", &bytes, false).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("0 thêm mới, 0 cập nhật, 4 không đổi"), "{}", r.body);

    // empty templates
    let (status, _, bytes) = download(&app, &c, "/nhap-xuat/mau/thanh-vien.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(b"PK"));
    app.finish().await;
}

#[tokio::test]
async fn unit_officer_may_not_import() {
    let app = TestApp::new().await;
    let mut c = app.page_as("canbo.tuphap").await;
    assert_eq!(c.get("/nhap-xuat").await.status, StatusCode::FORBIDDEN);
    let file = xlsx(&UNIT_HEADERS, &[&["Sở Nội vụ", "", "Sở, ban, ngành", CB, "", ""]]);
    let r = upload(&mut c, "/nhap-xuat/don-vi", &file, false).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!unit_names(&app).await.contains(&"Sở Nội vụ".to_string()));
    assert!(app.audit_actions().await.iter().any(|a| a == "denied:manage_unit"));
    app.finish().await;
}

#[tokio::test]
async fn api_imports_and_exports() {
    let app = TestApp::new().await;
    let mut c = app.api_as("sec.cb").await;
    let file = xlsx(&UNIT_HEADERS, &[&["Sở Nội vụ", "", "Sở, ban, ngành", CB, "", ""]]);

    let r = api_upload(&mut c, "/api/v1/import/units?dry_run=true", file.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert_eq!(
        (j["created"].as_u64(), j["committed"].as_bool(), j["dry_run"].as_bool()),
        (Some(1), Some(false), Some(true))
    );

    let r = api_upload(&mut c, "/api/v1/import/units", file).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["committed"], true);

    let bad = xlsx(&UNIT_HEADERS, &[&["Sở Tài chính", "", "Không rõ", CB, "", ""]]);
    let r = api_upload(&mut c, "/api/v1/import/units", bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let j = r.json();
    assert_eq!((j["errors"][0]["row"].as_u64(), j["errors"][0]["column"].as_str()), (Some(2), Some("Loại")));
    assert_eq!(j["committed"], false);

    let r = api_upload(&mut c, "/api/v1/import/units", vec![b'x'; 5 * 1024 * 1024 + 1]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "too_large");
    let r = api_upload(&mut c, "/api/v1/import/units", b"%PDF-1.7".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"].as_str().unwrap_or("").contains("PDF"));

    // memberships: the export of 2026 re-imports unchanged
    let (status, _, bytes) = download(&app, &c, "/api/v1/export/memberships.xlsx?year=2026").await;
    assert_eq!(status, StatusCode::OK);
    let r = api_upload(&mut c, "/api/v1/import/memberships", bytes).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert_eq!((j["created"].as_u64(), j["updated"].as_u64(), j["unchanged"].as_u64()), (Some(0), Some(0), Some(2)));

    let (status, _, bytes) = download(&app, &c, "/api/v1/export/units.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    let r = api_upload(&mut c, "/api/v1/import/units", bytes).await;
    assert_eq!((r.json()["created"].as_u64(), r.json()["updated"].as_u64()), (Some(0), Some(0)), "{}", r.body);

    // another authority's secretariat: refused as a whole, audited
    let mut hn = app.api_as("sec.hn").await;
    let file = xlsx(&UNIT_HEADERS, &[&["Sở Ngoại vụ", "", "Sở, ban, ngành", CB, "", ""]]);
    let r = api_upload(&mut hn, "/api/v1/import/units", file).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.json()["error"]["message"].as_str().unwrap_or("").contains("Tỉnh Cao Bằng (dòng 2)"));
    assert!(!unit_names(&app).await.contains(&"Sở Ngoại vụ".to_string()));
    assert!(app.audit_actions().await.iter().any(|a| a == "denied:manage_unit"));

    let doc = c.get("/api/v1/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/import/units"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/export/memberships.xlsx"]["get"].is_object());
    app.finish().await;
}

#[tokio::test]
async fn api_memberships_rules_and_head_change() {
    let app = TestApp::new().await;
    let mut c = app.api_as("sec.cb").await;
    let headers = ["Năm", "Cụm, khối", "Loại cụm, khối", "Cơ quan tổ chức", "Đơn vị", "Vai trò"];
    let block = "Khối các cơ quan Nội chính";

    // two heads in the file: refused, nothing stored
    let two_heads = xlsx(
        &headers,
        &[
            &["2026", "Cụm thi đua số 1", "Cụm thi đua", CB, "Xã Hòa An", "Trưởng"],
            &["2025", "Cụm thi đua số 1", "Cụm thi đua", CB, "Xã Hòa An", "Trưởng"],
            &["2025", "Cụm thi đua số 1", "Cụm thi đua", CB, "Sở Y tế", "Cụm trưởng"],
        ],
    );
    let r = api_upload(&mut c, "/api/v1/import/memberships", two_heads).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let j = r.json();
    assert_eq!(j["errors"].as_array().map(Vec::len), Some(1), "{}", r.body);
    assert_eq!((j["errors"][0]["row"].as_u64(), j["errors"][0]["column"].as_str()), (Some(4), Some("Vai trò")));
    assert_eq!(j["groups_created"], 1);
    let mut tx = app.st.db.read().await.expect("tx");
    let groups: Vec<(String,)> = tx.all("SELECT name FROM emulation_groups", vec![]).await.expect("groups");
    tx.rollback().await.expect("rollback");
    assert!(!groups.iter().any(|g| g.0 == "Cụm thi đua số 1"));

    // the head passes from one unit to another in one file (no moment with two heads)
    let swap = xlsx(
        &headers,
        &[&["2026", block, "", CB, "Sở Tư pháp", "Thành viên"], &["2026", block, "", CB, "Sở Y tế", "Khối trưởng"]],
    );
    let r = api_upload(&mut c, "/api/v1/import/memberships", swap).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.json()["updated"].as_u64(), r.json()["committed"].as_bool()), (Some(2), Some(true)));
    let mut tx = app.st.db.read().await.expect("tx");
    let head: Vec<(String,)> = tx
        .all(
            "SELECT u.name FROM memberships m JOIN units u ON u.id = m.unit_id WHERE m.role = 'head' AND u.authority_id = $1",
            thidua_db::args![app.seed.cb],
        )
        .await
        .expect("head");
    tx.rollback().await.expect("rollback");
    assert_eq!(head, vec![("Sở Y tế".to_string(),)]);
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "membership.role").count(), 2);
    assert!(actions.contains(&"import.memberships".to_string()));

    // a year not opened
    let later = xlsx(&headers, &[&["2027", block, "", CB, "Sở Y tế", "Trưởng"]]);
    let r = api_upload(&mut c, "/api/v1/import/memberships?dry_run=true", later).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["errors"][0]["message"].as_str().unwrap_or("").starts_with("Năm 2027 chưa được mở"));
    app.finish().await;
}
