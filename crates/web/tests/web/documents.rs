//! Group documents: uploads by the head officer and the secretariat, versions
//! kept, downloads by members, refusals for other authorities (audited),
//! types decided by content, size limits, content-addressed storage that
//! keeps identical files once and nothing at all on refusal.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use thidua_web::WebConfig;
use tower::ServiceExt;

use crate::support::{Client, Resp, TestApp};

pub(crate) const PDF_1: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
const PDF_2: &[u8] = b"%PDF-1.7\n% quy che sua doi dieu 5\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n\
<< /Root 1 0 R >>\n%%EOF\n";
/// A 1×1 PNG.
pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde\
\0\0\0\x0cIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";

/// A data directory of its own, removed at the end of the test.
pub(crate) struct DataDir(PathBuf);

impl DataDir {
    fn new() -> DataDir {
        let mut b = [0u8; 6];
        getrandom::fill(&mut b).expect("random");
        let p = std::env::temp_dir().join(format!("thidua-docs-{}", hex::encode(b)));
        std::fs::create_dir_all(&p).expect("data dir");
        DataDir(p)
    }
    /// Every file under `files/`, as paths relative to it.
    fn stored(&self) -> Vec<String> {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            let Ok(rd) = std::fs::read_dir(dir) else { return };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, base, out);
                } else {
                    out.push(p.strip_prefix(base).unwrap_or(&p).display().to_string());
                }
            }
        }
        let root = self.0.join("files");
        let mut out = Vec::new();
        walk(&root, &root, &mut out);
        out.sort();
        out
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn app_with(cfg: WebConfig) -> (TestApp, DataDir) {
    let dir = DataDir::new();
    let app = TestApp::with_config(WebConfig { data_dir: dir.0.clone(), ..cfg }).await;
    (app, dir)
}

pub(crate) async fn app() -> (TestApp, DataDir) {
    app_with(WebConfig::default()).await
}

/// A multipart body: text fields, then the file with its name and claimed type.
pub(crate) fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----thidua-tai-lieu-51c2";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    if let Some((name, ct, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: {ct}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A page form upload: the CSRF token as the form's first field, as our pages send it.
pub(crate) async fn page_post(
    c: &mut Client<'_>,
    path: &str,
    fields: &[(&str, &str)],
    file: (&str, &str, &[u8]),
) -> Resp {
    let csrf = c.csrf.clone();
    let fields: Vec<(&str, &str)> = [("csrf", csrf.as_str())].into_iter().chain(fields.iter().copied()).collect();
    let (ct, body) = multipart(&fields, Some(file));
    c.send(Request::post(path).header(header::CONTENT_TYPE, ct), Body::from(body)).await
}

/// An API upload: the CSRF token in the header.
pub(crate) async fn api_post(
    c: &mut Client<'_>,
    uri: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, &[u8])>,
) -> Resp {
    let (ct, body) = multipart(fields, file);
    let req = Request::post(uri).header(header::CONTENT_TYPE, ct).header("x-csrf-token", c.csrf.clone());
    c.send(req, Body::from(body)).await
}

fn doc_fields<'a>(title: &'a str, kind: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("kind", kind), ("title", title), ("year", "2026"), ("note", "")]
}

/// A GET whose body is kept as bytes (a download).
pub(crate) async fn download(app: &TestApp, c: &Client<'_>, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let cookie = c.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let req = Request::get(uri).header(header::COOKIE, cookie).body(Body::empty()).expect("request");
    let resp = app.router.clone().oneshot(req).await.expect("response");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, headers, bytes)
}

async fn count(app: &TestApp, table: &'static str) -> i64 {
    let mut tx = app.st.db.read().await.expect("tx");
    let sql = match table {
        "documents" => "SELECT COUNT(*) FROM documents",
        _ => "SELECT COUNT(*) FROM document_versions",
    };
    let n = tx.scalar(sql, vec![]).await.expect("count");
    tx.rollback().await.expect("rollback");
    n
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> String {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A valid zip of stored (uncompressed) entries.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let (crc, size, n) = (crc32(data), data.len() as u32, name.len() as u16);
        for part in [&b"PK\x03\x04"[..], &20u16.to_le_bytes(), &0u16.to_le_bytes(), &0u16.to_le_bytes(), &[0; 4]] {
            out.extend_from_slice(part);
        }
        for part in [crc.to_le_bytes(), size.to_le_bytes(), size.to_le_bytes()] {
            out.extend_from_slice(&part);
        }
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        cd.extend_from_slice(b"PK\x01\x02");
        cd.extend_from_slice(&20u16.to_le_bytes());
        cd.extend_from_slice(&20u16.to_le_bytes());
        cd.extend_from_slice(&[0; 8]); // flags, method, time, date
        for part in [crc.to_le_bytes(), size.to_le_bytes(), size.to_le_bytes()] {
            cd.extend_from_slice(&part);
        }
        cd.extend_from_slice(&n.to_le_bytes());
        cd.extend_from_slice(&[0; 12]); // extra, comment, disk, internal, external
        cd.extend_from_slice(&offset.to_le_bytes());
        cd.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn docx() -> Vec<u8> {
    zip(&[
        (
            "[Content_Types].xml",
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#,
                r#"<Default Extension="xml" ContentType="application/xml"/>"#,
                r#"<Override PartName="/word/document.xml" "#,
                r#"ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>"#,
                r#"</Types>"#
            )
            .as_bytes(),
        ),
        ("_rels/.rels", br#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>"#),
        (
            "word/document.xml",
            "<w:document><w:body><w:p><w:r><w:t>Biên bản họp Khối</w:t></w:r></w:p></w:body></w:document>".as_bytes(),
        ),
    ])
}

#[tokio::test]
async fn head_officer_uploads_versions_and_members_download() {
    let (app, dir) = app().await;
    let block = app.seed.block;
    let mut head = app.page_as("canbo.tuphap").await;

    // linked from the group page; the form posts multipart with the token in the query
    let g = head.get(&format!("/cum-khoi/{block}")).await;
    assert!(g.body.contains(&format!("href=\"/cum-khoi/{block}/tai-lieu\"")), "{}", g.body);
    let list = head.get(&format!("/cum-khoi/{block}/tai-lieu")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains(&format!("action=\"/cum-khoi/{block}/tai-lieu\"")), "{}", list.body);
    assert!(list.body.contains("enctype=\"multipart/form-data\""));
    assert!(list.body.contains("Chưa có tài liệu nào của năm 2026"));

    // version 1
    let fields = [
        ("kind", "regulation"),
        ("title", "Quy chế hoạt động của Khối năm 2026"),
        ("year", "2026"),
        ("note", "Bản đã thông qua tại hội nghị ký giao ước"),
    ];
    let r = page_post(
        &mut head,
        &format!("/cum-khoi/{block}/tai-lieu"),
        &fields,
        ("Quy chế hoạt động.pdf", "application/pdf", PDF_1),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let doc_path = r.location();
    assert!(doc_path.starts_with("/tai-lieu/"), "{doc_path}");
    let doc_id: i64 = doc_path.trim_start_matches("/tai-lieu/").parse().expect("id");

    // version 2: a new file; the old one stays
    let r =
        page_post(&mut head, &doc_path, &[("note", "Sửa điều 5")], ("Quy chế (sửa đổi).pdf", "application/pdf", PDF_2))
            .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = head.get(&doc_path).await;
    assert!(page.body.contains("Sửa điều 5") && page.body.contains("Quy chế (sửa đổi).pdf"), "{}", page.body);
    assert!(page.body.contains("Quy chế hoạt động.pdf"));
    assert!(page.body.contains(&format!("/tai-lieu/{doc_id}/phien-ban/1")));
    assert!(page.body.contains(&format!("/tai-lieu/{doc_id}/phien-ban/2")));
    let list = head.get(&format!("/cum-khoi/{block}/tai-lieu")).await;
    assert!(list.body.contains("Quy chế hoạt động") && list.body.contains("(2 phiên bản)"), "{}", list.body);
    assert_eq!((count(&app, "documents").await, count(&app, "versions").await), (1, 2));
    assert_eq!(dir.stored().len(), 2);

    // a member unit's officer downloads both versions, byte for byte
    let mut member = app.page_as("canbo.yte").await;
    let (s, h, body) = download(&app, &member, &format!("/tai-lieu/{doc_id}/phien-ban/1")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, PDF_1);
    assert_eq!(header_str(&h, header::CONTENT_TYPE), "application/pdf");
    let cd = header_str(&h, header::CONTENT_DISPOSITION);
    assert!(cd.starts_with("attachment; filename=\"quy-che-hoat-dong.pdf\""), "{cd}");
    assert!(cd.contains("filename*=UTF-8''Quy%20ch%E1%BA%BF%20ho%E1%BA%A1t%20%C4%91%E1%BB%99ng.pdf"), "{cd}");
    assert_eq!(header_str(&h, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let (s, _, body) = download(&app, &member, &format!("/tai-lieu/{doc_id}/phien-ban/2")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, PDF_2);
    let (s, _, _) = download(&app, &member, &format!("/tai-lieu/{doc_id}/phien-ban/3")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // a member is not the head: no form, and a posted upload is refused and audited
    let page = member.get(&doc_path).await;
    assert!(page.body.contains("Tải về") && !page.body.contains("Tải lên phiên bản mới"), "{}", page.body);
    let r = page_post(&mut member, &doc_path, &[], ("x.pdf", "application/pdf", PNG)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.audit_actions().await.first().map(String::as_str), Some("denied:manage_documents"));
    assert_eq!(count(&app, "versions").await, 2);

    // both uploads audited with their metadata
    let mut tx = app.st.db.read().await.expect("tx");
    let rows: Vec<(String, Option<String>)> = tx
        .all("SELECT action, after_json FROM audit_log WHERE action LIKE 'document.%' ORDER BY id", vec![])
        .await
        .expect("audit");
    tx.rollback().await.expect("rollback");
    assert_eq!(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["document.create", "document.version"]);
    let after: serde_json::Value = serde_json::from_str(rows[1].1.as_deref().unwrap_or("{}")).expect("json");
    assert_eq!(after["version"]["version"], 2);
    assert_eq!(after["version"]["sha256"], sha256_hex(PDF_2));
    assert_eq!(after["version"]["file_type"], "pdf");
    assert_eq!(after["version"]["size_bytes"], PDF_2.len());
    assert_eq!(after["version"]["note"], "Sửa điều 5");
    let created: serde_json::Value = serde_json::from_str(rows[0].1.as_deref().unwrap_or("{}")).expect("json");
    assert_eq!(created["document"]["kind"], "regulation");
    assert_eq!(created["version"]["file_name"], "Quy chế hoạt động.pdf");
    app.finish().await;
}

#[tokio::test]
async fn other_authority_is_refused_and_audited() {
    let (app, dir) = app().await;
    let block = app.seed.block;
    let mut sec = app.api_as("sec.cb").await;
    let r = api_post(
        &mut sec,
        &format!("/api/v1/groups/{block}/documents"),
        &doc_fields("Giao ước thi đua 2026", "covenant"),
        Some(("giao-uoc.pdf", "application/pdf", PDF_1)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["document"]["id"].as_i64().expect("id");

    let mut other = app.api_as("sec.hn").await;
    let r = other.get(&format!("/api/v1/groups/{block}/documents")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "forbidden");
    assert_eq!(app.audit_actions().await.first().map(String::as_str), Some("denied:view_group"));
    let (s, _, body) = download(&app, &other, &format!("/api/v1/documents/{id}/versions/1/file")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(!body.starts_with(b"%PDF"));
    assert_eq!(app.audit_actions().await.first().map(String::as_str), Some("denied:view_group"));
    let r = other.get(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api_post(
        &mut other,
        &format!("/api/v1/groups/{block}/documents"),
        &doc_fields("Kế hoạch", "plan"),
        Some(("kh.pdf", "application/pdf", PDF_2)),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.audit_actions().await.first().map(String::as_str), Some("denied:manage_documents"));
    let r = api_post(
        &mut other,
        &format!("/api/v1/documents/{id}/versions"),
        &[],
        Some(("x.pdf", "application/pdf", PDF_2)),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // the refused uploads left nothing
    assert_eq!((count(&app, "documents").await, count(&app, "versions").await), (1, 1));
    assert_eq!(dir.stored(), vec![format!("{}/{}", &sha256_hex(PDF_1)[..2], sha256_hex(PDF_1))]);

    // the denial rows carry the authority of the group, for its secretariat's log
    let mut tx = app.st.db.read().await.expect("tx");
    let (auth,): (Option<i64>,) = tx
        .one(
            "SELECT authority_id FROM audit_log WHERE action = 'denied:manage_documents' ORDER BY id DESC LIMIT 1",
            vec![],
        )
        .await
        .expect("row");
    tx.rollback().await.expect("rollback");
    assert_eq!(auth, Some(app.seed.cb));

    // a viewer of the authority reads and downloads; the member list shows it
    let viewer = app.api_as("xem.cb").await;
    let (s, _, body) = download(&app, &viewer, &format!("/api/v1/documents/{id}/versions/1/file")).await;
    assert_eq!((s, body.as_slice()), (StatusCode::OK, PDF_1));
    let mut member = app.api_as("canbo.yte").await;
    let list = member.get(&format!("/api/v1/groups/{block}/documents?year=2026")).await.json();
    assert_eq!(list[0]["document"]["title"], "Giao ước thi đua 2026");
    assert_eq!(list[0]["kind_label"], "Giao ước thi đua");
    assert_eq!(list[0]["latest"]["version"], 1);
    assert_eq!(list[0]["version_count"], 1);
    assert_eq!(member.get(&format!("/api/v1/groups/{block}/documents?year=2025")).await.json(), serde_json::json!([]));
    app.finish().await;
}

#[tokio::test]
async fn types_are_decided_by_content_and_refusals_store_nothing() {
    let (app, dir) = app().await;
    let block = app.seed.block;
    let mut sec = app.api_as("sec.cb").await;
    let uri = format!("/api/v1/groups/{block}/documents");
    let fields = doc_fields("Biên bản họp Khối", "minutes");

    let html = b"<!DOCTYPE html><html><body><script>alert('x')</script></body></html>";
    let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0";
    let not_docx = zip(&[("bao-cao.txt", b"khong phai word"), ("anh.jpg", b"\xff\xd8\xff")]);
    for (name, bytes, expect) in [
        ("bien-ban.pdf", &html[..], "trang web"),
        ("bien-ban.pdf", &exe[..], "chương trình"),
        ("bien-ban.docx", &not_docx[..], "không phải Word (.docx) hay Excel (.xlsx)"),
        ("bien-ban.pdf", &b""[..], "rỗng"),
    ] {
        let r = api_post(&mut sec, &uri, &fields, Some((name, "application/pdf", bytes))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", r.body);
        let e = &r.json()["error"];
        assert_eq!(e["fields"][0]["field"], "Tệp");
        let msg = e["fields"][0]["message"].as_str().unwrap_or("");
        assert!(msg.contains(expect), "{msg}");
        if !bytes.is_empty() {
            assert!(msg.contains("PDF, Word (.docx), Excel (.xlsx), ảnh PNG, JPEG hoặc WebP"), "{msg}");
        }
    }
    // no file chosen, and every field's error at once
    let r = api_post(&mut sec, &uri, &[("kind", "bogus"), ("title", " "), ("year", "1999")], None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields_with_errors: Vec<String> = r.json()["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(fields_with_errors, ["Loại tài liệu", "Tên tài liệu", "Năm", "Tệp"]);

    // one byte over the limit
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let r = api_post(&mut sec, &uri, &fields, Some(("lon.pdf", "application/pdf", &big))).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(r.json()["error"]["message"].as_str().unwrap_or("").contains("tối đa 10 MB"), "{}", r.body);
    // a year not opened
    let r = api_post(
        &mut sec,
        &uri,
        &[("kind", "plan"), ("title", "Kế hoạch 2030"), ("year", "2030")],
        Some(("kh.pdf", "application/pdf", PDF_1)),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("chưa được mở"));

    assert_eq!((count(&app, "documents").await, count(&app, "versions").await), (0, 0));
    assert!(dir.stored().is_empty(), "{:?}", dir.stored());

    // the accepted kinds, whatever the name or claimed type
    let xlsx = thidua_export::write_table("Trang 1", None, &["Đơn vị", "Điểm"], &[vec!["Sở Y tế".into(), "95".into()]])
        .expect("xlsx");
    for (title, name, bytes, t) in [
        ("Biên bản họp Khối", "bien-ban.bin", docx(), "docx"),
        ("Bảng tổng hợp", "tong-hop", xlsx, "xlsx"),
        ("Ảnh hội nghị", "anh.pdf", PNG.to_vec(), "png"),
    ] {
        let r = api_post(&mut sec, &uri, &doc_fields(title, "other"), Some((name, "text/html", &bytes))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{title}: {}", r.body);
        let v = &r.json()["versions"][0];
        assert_eq!(v["file_type"], t);
        let id = r.json()["document"]["id"].as_i64().expect("id");
        let (s, h, body) = download(&app, &sec, &format!("/api/v1/documents/{id}/versions/1/file")).await;
        assert_eq!((s, body), (StatusCode::OK, bytes.clone()));
        let ext = if t == "png" { "png" } else { t };
        assert!(header_str(&h, header::CONTENT_DISPOSITION).contains(&format!(".{ext}\"")), "{h:?}");
    }
    app.finish().await;
}

#[tokio::test]
async fn identical_files_are_stored_once_and_versions_never_change() {
    let (app, dir) = app().await;
    let block = app.seed.block;
    let mut head = app.api_as("canbo.tuphap").await;
    let uri = format!("/api/v1/groups/{block}/documents");
    let a = api_post(
        &mut head,
        &uri,
        &doc_fields("Giao ước thi đua", "covenant"),
        Some(("giao-uoc.pdf", "application/pdf", PDF_1)),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let b = api_post(
        &mut head,
        &uri,
        &doc_fields("Bản chụp giao ước đã ký", "other"),
        Some(("scan.pdf", "application/pdf", PDF_1)),
    )
    .await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    let sha = sha256_hex(PDF_1);
    assert_eq!(dir.stored(), vec![format!("{}/{sha}", &sha[..2])]);
    assert_eq!(std::fs::read(dir.0.join("files").join(&sha[..2]).join(&sha)).expect("file"), PDF_1);
    assert_eq!(count(&app, "versions").await, 2);

    // same title and kind again: use a new version instead
    let r = api_post(
        &mut head,
        &uri,
        &doc_fields("Giao ước thi đua", "covenant"),
        Some(("g.pdf", "application/pdf", PDF_2)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("phiên bản mới"));
    // a new version identical to the latest is refused; a different one is version 2
    let id = a.json()["document"]["id"].as_i64().expect("id");
    let vuri = format!("/api/v1/documents/{id}/versions");
    let r = api_post(&mut head, &vuri, &[("note", "lại")], Some(("giao-uoc.pdf", "application/pdf", PDF_1))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r =
        api_post(&mut head, &vuri, &[("note", "Bổ sung chữ ký")], Some(("giao-uoc-2.pdf", "application/pdf", PDF_2)))
            .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["version"], 2);
    let versions = head.get(&vuri).await.json();
    assert_eq!(versions.as_array().map(Vec::len), Some(2));
    assert_eq!(versions[0]["sha256"], sha);
    assert_eq!(versions[1]["note"], "Bổ sung chữ ký");
    assert_eq!(versions[1]["uploaded_by"], "canbo.tuphap");
    assert_eq!(dir.stored().len(), 2);

    // the database itself refuses to change or remove a version
    let mut tx = app.st.db.begin().await.expect("tx");
    assert!(tx.exec("UPDATE document_versions SET note = 'x'", vec![]).await.is_err());
    tx.rollback().await.expect("rollback");
    let mut tx = app.st.db.begin().await.expect("tx");
    assert!(tx.exec("DELETE FROM document_versions", vec![]).await.is_err());
    tx.rollback().await.expect("rollback");
    app.finish().await;
}

#[tokio::test]
async fn page_shows_refusals_on_the_form() {
    let (app, dir) = app().await;
    let block = app.seed.block;
    let mut head = app.page_as("canbo.tuphap").await;
    let r = page_post(
        &mut head,
        &format!("/cum-khoi/{block}/tai-lieu"),
        &doc_fields("Kế hoạch tổ chức phong trào", "plan"),
        ("ke-hoach.pdf", "application/pdf", b"<html><body>gia mao</body></html>"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Chưa lưu được"), "{}", r.body);
    assert!(r.body.contains("trang web"), "{}", r.body);
    // what was typed is kept
    assert!(r.body.contains("value=\"Kế hoạch tổ chức phong trào\""), "{}", r.body);
    assert!(r.body.contains("<option value=\"plan\" selected>"), "{}", r.body);
    // no token: refused before anything is read; so is a token in the
    // address (logs and the Referer would keep it), a wrong one, and one
    // that is not the form's first field
    let csrf = head.csrf.clone();
    let upload = Some(("k.pdf", "application/pdf", PDF_1));
    let plain = doc_fields("Kế hoạch", "plan");
    let last: Vec<(&str, &str)> = plain.iter().copied().chain([("csrf", csrf.as_str())]).collect();
    let wrong: Vec<(&str, &str)> = [("csrf", "sai")].into_iter().chain(plain.iter().copied()).collect();
    let tries = [
        (format!("/cum-khoi/{block}/tai-lieu"), multipart(&plain, upload)),
        (format!("/cum-khoi/{block}/tai-lieu?csrf={csrf}"), multipart(&plain, upload)),
        (format!("/cum-khoi/{block}/tai-lieu"), multipart(&wrong, upload)),
        (format!("/cum-khoi/{block}/tai-lieu"), multipart(&last, upload)),
    ];
    for (n, (uri, (ct, body))) in tries.into_iter().enumerate() {
        let denials = |a: Vec<String>| a.iter().filter(|x| *x == "denied:csrf").count();
        let before = denials(app.audit_actions().await);
        let r = head.send(Request::post(&uri).header(header::CONTENT_TYPE, ct), Body::from(body)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "try {n}: {uri}");
        assert_eq!(denials(app.audit_actions().await), before + 1, "try {n} recorded");
    }
    assert_eq!(count(&app, "documents").await, 0);
    assert!(dir.stored().is_empty());
    app.finish().await;
}

#[tokio::test]
async fn a_smaller_server_limit_lowers_the_file_limit() {
    let (app, dir) = app_with(WebConfig { body_limit: 1024 * 1024, ..Default::default() }).await;
    let mut sec = app.api_as("sec.cb").await;
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.resize(800 * 1024, b' ');
    let r = api_post(
        &mut sec,
        &format!("/api/v1/groups/{}/documents", app.seed.block),
        &doc_fields("Kế hoạch", "plan"),
        Some(("k.pdf", "application/pdf", &pdf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(r.body.contains("tối đa 768 KB"), "{}", r.body);
    assert!(dir.stored().is_empty());
    app.finish().await;
}

#[tokio::test]
async fn openapi_documents_the_documents_api() {
    let (app, _dir) = app().await;
    let mut c = app.client();
    let doc = c.get("/api/v1/openapi.json").await.json();
    let paths = &doc["paths"];
    assert_eq!(paths["/api/v1/groups/{id}/documents"]["get"]["tags"][0], "Tài liệu");
    assert!(
        paths["/api/v1/groups/{id}/documents"]["post"]["requestBody"]["content"]["multipart/form-data"].is_object()
    );
    assert!(paths["/api/v1/documents/{id}/versions"]["post"].is_object());
    assert!(paths["/api/v1/documents/{id}/versions"]["get"].is_object());
    assert!(paths["/api/v1/documents/{id}"]["get"].is_object());
    assert!(paths["/api/v1/documents/{id}/versions/{version}/file"]["get"].is_object());
    assert!(doc["components"]["schemas"]["DocumentSummary"].is_object());
    // operation ids are unique across the whole API
    let mut ids: Vec<String> = paths
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
        .filter_map(|ops| ops.as_object())
        .flat_map(|ops| ops.values())
        .filter_map(|op| op["operationId"].as_str().map(str::to_string))
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    let mine = ["list_documents", "create_document", "get_document", "list_document_versions"];
    assert!(mine.iter().all(|m| ids.iter().any(|i| i == m)), "{ids:?}");
    assert_eq!(n, ids.len(), "duplicate operation ids: {ids:?}");
    assert!(doc["components"]["schemas"]["VersionRow"].is_object());
    app.finish().await;
}
