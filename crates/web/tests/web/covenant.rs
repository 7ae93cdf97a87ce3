//! The covenant of a group-year: text and table version by the head unit's
//! officer, targets (page, API, Excel), signatures by unit leaders, the
//! signature board, and the secretariat's penalty for not signing.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::{Client, Resp, TestApp};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const TEXT: &str = "Các đơn vị trong khối cam kết thi đua hoàn thành xuất sắc nhiệm vụ năm 2026.\r\n\r\nĐiều 1. Thực hiện đúng các chỉ tiêu được giao.";

/// The adopted version 1 and a draft version 2 of the block's table for 2026.
struct Tables {
    adopted: i64,
    draft: i64,
}

async fn tables(app: &TestApp) -> Tables {
    let content = serde_json::to_string(&thidua_core::scoring::sample_table()).expect("json");
    let mut tx = app.st.db.begin().await.expect("tx");
    let gy = thidua_db::org::group_year(&mut tx, app.seed.block, 2026).await.expect("gy");
    let admin = thidua_db::users::user_by_name(&mut tx, "admin").await.expect("user").expect("admin").id;
    let adopted =
        thidua_db::scoring::insert_version(&mut tx, gy, 1, &content, "blank", "", Some(admin)).await.expect("version");
    thidua_db::scoring::adopt(&mut tx, adopted, admin, "2026-01-15", "Hội nghị khối thông qua").await.expect("adopt");
    let draft = thidua_db::scoring::insert_version(&mut tx, gy, 2, &content, "version:1", "", Some(admin))
        .await
        .expect("draft");
    tx.commit().await.expect("commit");
    Tables { adopted, draft }
}

/// A leader account of a unit, made by the administrator through the API.
async fn leader(app: &TestApp, username: &str, unit: i64) {
    let mut admin = app.api_as("admin").await;
    let r = admin
        .post_json(
            "/api/v1/users",
            json!({"username": username, "full_name": format!("Lãnh đạo {username}"), "password": crate::support::PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let uid = r.json()["id"].as_i64().expect("id");
    let r =
        admin.post_json(&format!("/api/v1/users/{uid}/grants"), json!({"role": "unit_leader", "unit_id": unit})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

fn api(app: &TestApp) -> String {
    format!("/api/v1/groups/{}/years/2026/covenant", app.seed.block)
}

fn page(app: &TestApp) -> String {
    format!("/cum-khoi/{}/nam/2026/giao-uoc", app.seed.block)
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    let mut tx = app.st.db.read().await.expect("tx");
    let (n,): (i64,) = tx.one(sql, vec![]).await.expect("count");
    tx.rollback().await.expect("rollback");
    n
}

/// The messages of a refusal: the message and every field's message.
fn messages(r: &Resp) -> String {
    let v = r.json();
    let mut out = vec![v["error"]["message"].as_str().unwrap_or("").to_string()];
    for f in v["error"]["fields"].as_array().into_iter().flatten() {
        out.push(format!("{}: {}", f["field"].as_str().unwrap_or(""), f["message"].as_str().unwrap_or("")));
    }
    out.join(" | ")
}

fn member(view: &Value, unit: i64) -> &Value {
    view["members"].as_array().expect("members").iter().find(|m| m["unit_id"] == unit).expect("member")
}

async fn put(c: &mut Client<'_>, uri: &str, body: Value) -> Resp {
    c.json_req("PUT", uri, body).await
}

#[tokio::test]
async fn the_head_officer_prepares_and_leaders_sign_once_for_their_own_unit() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let t = tables(&app).await;
    leader(&app, "lanhdao.tuphap", s.tu_phap).await;
    leader(&app, "lanhdao.yte", s.y_te).await;
    let mut head = app.api_as("canbo.tuphap").await;

    // nothing yet: the board shows both members unsigned and why they cannot sign
    let v = head.get(&api(&app)).await.json();
    assert_eq!(v["members"].as_array().map(|m| m.len()), Some(2));
    assert_eq!(member(&v, s.y_te)["status_label"], "Chưa ký");
    assert_eq!(v["unsigned"], 2);
    assert!(v["not_ready"].as_array().is_some_and(|n| !n.is_empty()));
    assert_eq!(v["may_lead"], true);

    // a draft cannot be adopted by the covenant
    let r = put(&mut head, &api(&app), json!({"text": TEXT, "table_id": t.draft})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(messages(&r).contains("dự thảo"), "{}", messages(&r));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM covenants").await, 0);

    // a member's officer (not head nor deputy) may not write it
    let mut yte = app.api_as("canbo.yte").await;
    let r = put(&mut yte, &api(&app), json!({"text": "Của tôi", "table_id": t.adopted})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(app.audit_actions().await.contains(&"denied:lead_group_year".to_string()));

    let r = put(&mut head, &api(&app), json!({"text": TEXT, "table_id": t.adopted})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["text"], TEXT.replace("\r\n", "\n"));
    assert_eq!(v["table_version"], 1);
    assert_eq!(v["target_lines"][0]["code"], "I.1");
    assert_eq!(v["penalty_default"], 800);
    assert_eq!(app.audit_actions().await[0], "covenant.update");

    // a formula criterion without targets: signing is refused, naming what is missing
    let mut lead_tp = app.api_as("lanhdao.tuphap").await;
    let r = lead_tp.post_json(&format!("{}/signatures", api(&app)), json!({"unit_id": s.tu_phap})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = messages(&r);
    assert!(m.contains("Sở Tư pháp chưa có chỉ tiêu cho tiêu chí I.1"), "{m}");
    assert!(m.contains("Sở Y tế chưa có chỉ tiêu cho tiêu chí I.1"), "{m}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM covenant_signatures").await, 0);

    // bad targets: every problem at once, nothing stored
    let targets = format!("{}/targets", api(&app));
    let r = put(
        &mut head,
        &targets,
        json!({"targets": [
            {"unit_id": s.tu_phap, "line_code": "I.1", "target": "1.250,5"},
            {"unit_id": s.y_te, "line_code": "I.1", "target": "0"},
            {"unit_id": s.y_te, "line_code": "I.2", "target": "5"},
            {"unit_id": s.hoa_an, "line_code": "I.1", "target": "5"},
            {"unit_id": s.tu_phap, "line_code": "I.1", "target": "12,345"}
        ]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = messages(&r);
    assert!(m.contains("phải lớn hơn 0"), "{m}");
    assert!(m.contains("\"I.2\" không phải tiêu chí tính theo chỉ tiêu"), "{m}");
    assert!(m.contains("không phải thành viên"), "{m}");
    assert!(m.contains("ghi hai lần"), "{m}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM covenant_targets").await, 0);

    // an officer of a member unit may not set targets
    let r = put(&mut yte, &targets, json!({"targets": [{"unit_id": s.y_te, "line_code": "I.1", "target": "1"}]})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = put(
        &mut head,
        &targets,
        json!({"targets": [
            {"unit_id": s.tu_phap, "line_code": "I.1", "target": "1.250,5"},
            {"unit_id": s.y_te, "line_code": "I.1", "target": "900"}
        ]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(member(&v, s.tu_phap)["targets"][0]["target"], 125050);
    assert_eq!(member(&v, s.tu_phap)["targets"][0]["text"], "1.250,5");
    assert_eq!(v["not_ready"].as_array().map(|n| n.len()), Some(0));
    assert_eq!(app.audit_actions().await[0], "covenant.target");

    // signing for another unit, or as an officer: refused and audited
    let mut lead_yt = app.api_as("lanhdao.yte").await;
    let sign = format!("{}/signatures", api(&app));
    let r = lead_yt.post_json(&sign, json!({"unit_id": s.tu_phap})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(messages(&r).contains("ký giao ước"), "{}", messages(&r));
    assert_eq!(app.audit_actions().await[0], "denied:sign_covenant");
    let r = head.post_json(&sign, json!({"unit_id": s.tu_phap})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut admin = app.api_as("admin").await;
    assert_eq!(admin.post_json(&sign, json!({"unit_id": s.tu_phap})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM covenant_signatures").await, 0);
    let v = lead_yt.get(&api(&app)).await.json();
    assert_eq!(v["may_sign"], json!([s.y_te]));

    // the leader signs for its own unit
    let r = lead_tp.post_json(&sign, json!({"unit_id": s.tu_phap})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let signed = r.json();
    let hash = signed["content_hash"].as_str().expect("hash").to_string();
    assert_eq!(hash.len(), 64);
    assert_eq!(signed["signer_name"], "Lãnh đạo lanhdao.tuphap");
    assert_eq!(signed["document_matches"], true);
    assert_eq!(signed["changed_since"], false);
    assert_eq!(signed["document"]["text"], TEXT.replace("\r\n", "\n"));
    assert_eq!(signed["document"]["table_id"], t.adopted);
    assert_eq!(
        signed["targets"],
        json!([{"line_code": "I.1", "line_name": "Kết quả thực hiện các chỉ tiêu được giao", "target": 125050, "text": "1.250,5"}])
    );
    assert_eq!(app.audit_actions().await[0], "covenant.sign");

    // signing twice: a clear message, nothing stored
    let r = lead_tp.post_json(&sign, json!({"unit_id": s.tu_phap})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(messages(&r).contains("Sở Tư pháp đã ký giao ước năm 2026"), "{}", messages(&r));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM covenant_signatures").await, 1);

    // after the first signature the text and the version are frozen, and the signer's targets
    let r = put(&mut head, &api(&app), json!({"text": "Nội dung khác", "table_id": t.adopted})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(messages(&r).contains("không sửa được nữa"), "{}", messages(&r));
    let r =
        put(&mut head, &targets, json!({"targets": [{"unit_id": s.tu_phap, "line_code": "I.1", "target": "2.000"}]}))
            .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(messages(&r).contains("đã ký giao ước"), "{}", messages(&r));
    // the unit that has not signed can still be given another target
    let r =
        put(&mut head, &targets, json!({"targets": [{"unit_id": s.y_te, "line_code": "I.1", "target": "950"}]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // the board, and what each unit signed
    let v = yte.get(&api(&app)).await.json();
    assert_eq!(v["locked"], true);
    assert_eq!((v["signed"].as_i64(), v["unsigned"].as_i64()), (Some(1), Some(1)));
    assert_eq!(member(&v, s.tu_phap)["status_label"], "Đã ký");
    assert_eq!(member(&v, s.tu_phap)["signature"]["content_hash"], hash.as_str());
    assert_eq!(member(&v, s.tu_phap)["signature"]["current"], true);
    assert_eq!(member(&v, s.y_te)["status_label"], "Chưa ký");
    let r = yte.get(&format!("{}/signatures/{}", api(&app), s.tu_phap)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["content_hash"], hash.as_str());
    assert_eq!(yte.get(&format!("{}/signatures/{}", api(&app), s.y_te)).await.status, StatusCode::NOT_FOUND);

    // the penalty: not by another authority's secretariat, a reason required, once, never for a signer
    let pen = format!("{}/penalties", api(&app));
    let mut hn = app.api_as("sec.hn").await;
    let r = hn.post_json(&pen, json!({"unit_id": s.y_te, "reason": "Quá hạn ký"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.audit_actions().await[0], "denied:penalize_unsigned");
    let r = head.post_json(&pen, json!({"unit_id": s.y_te, "reason": "Quá hạn ký"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the head unit does not penalise");
    let mut sec = app.api_as("sec.cb").await;
    let r = sec.post_json(&pen, json!({"unit_id": s.y_te})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(messages(&r).contains("lý do"), "{}", messages(&r));
    let r = sec.post_json(&pen, json!({"unit_id": s.tu_phap, "reason": "Nhầm"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(messages(&r).contains("đã ký giao ước"), "{}", messages(&r));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM covenant_penalties").await, 0);
    let r = sec.post_json(&pen, json!({"unit_id": s.y_te, "reason": "Quá hạn ký giao ước ngày 31/01/2026"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["points"], 800);
    assert_eq!(r.json()["points_text"], "8");
    assert_eq!(app.audit_actions().await[0], "covenant.penalty");
    let r = sec.post_json(&pen, json!({"unit_id": s.y_te, "points": "10", "reason": "Lần nữa"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(messages(&r).contains("chỉ bị trừ một lần"), "{}", messages(&r));
    let v = sec.get(&api(&app)).await.json();
    assert_eq!(member(&v, s.y_te)["status_label"], "Chưa ký – đã trừ 8 điểm");
    assert_eq!(member(&v, s.y_te)["penalty"]["reason"], "Quá hạn ký giao ước ngày 31/01/2026");

    // a late signature is still a signature; the penalty stays
    let r = lead_yt.post_json(&sign, json!({"unit_id": s.y_te})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["targets"][0]["target"], 95000);
    let v = sec.get(&api(&app)).await.json();
    assert_eq!(v["unsigned"], 0);
    assert!(member(&v, s.y_te)["penalty"].is_object());

    // another authority's secretariat does not even read it
    assert_eq!(hn.get(&api(&app)).await.status, StatusCode::FORBIDDEN);
    app.finish().await;
}

#[tokio::test]
async fn the_pages_show_the_board_the_sign_button_and_what_was_signed() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let t = tables(&app).await;
    leader(&app, "lanhdao.tuphap", s.tu_phap).await;
    let url = page(&app);

    let mut head = app.page_as("canbo.tuphap").await;
    let group = head.get(&format!("/cum-khoi/{}", s.block)).await;
    assert!(group.body.contains(&format!("href=\"{url}\"")), "{}", group.body);
    let p = head.get(&url).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("Chưa ký"), "{}", p.body);
    assert!(p.body.contains("<textarea id=\"text\" name=\"text\""), "{}", p.body);
    assert!(p.body.contains(&format!("<option value=\"{}\"", t.adopted)));
    assert!(!p.body.contains(&format!("<option value=\"{}\"", t.draft)), "a draft is not offered");

    let r = head.post_form(&url, &[("text", TEXT), ("table_id", &t.adopted.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let tp = format!("t:{}:I.1", s.tu_phap);
    let yt = format!("t:{}:I.1", s.y_te);
    let grid = head.get(&url).await;
    assert!(grid.body.contains(&format!("name=\"{tp}\"")), "{}", grid.body);

    // a bad value: the page says what to fix, shows what was typed, stores nothing
    let r = head.post_form(&format!("{url}/chi-tieu"), &[(&tp, "1.250,5"), (&yt, "9x")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("không phải là số"), "{}", r.body);
    assert!(r.body.contains("value=\"9x\""), "{}", r.body);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM covenant_targets").await, 0);
    let r = head.post_form(&format!("{url}/chi-tieu"), &[(&tp, "1.250,5"), (&yt, "900")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM covenant_targets").await, 2);

    // the officer sees no sign button; the leader sees one, for its own unit only
    let p = head.get(&url).await;
    assert!(!p.body.contains(">Ký giao ước</button>"));
    let mut lead = app.page_as("lanhdao.tuphap").await;
    let p = lead.get(&url).await;
    assert!(p.body.contains(">Ký giao ước</button>"), "{}", p.body);
    assert!(p.body.contains(&format!("name=\"unit_id\" value=\"{}\"", s.tu_phap)));
    assert!(!p.body.contains(&format!("name=\"unit_id\" value=\"{}\"", s.y_te)));

    let r = lead.post_form(&format!("{url}/ky"), &[("unit_id", &s.tu_phap.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("{url}/da-ky/{}", s.tu_phap));
    let d = lead.get(&r.location()).await;
    assert_eq!(d.status, StatusCode::OK);
    assert!(d.body.contains("Điều 1. Thực hiện đúng các chỉ tiêu được giao."), "{}", d.body);
    assert!(d.body.contains("1.250,5"));
    assert!(d.body.contains("trùng khớp"), "{}", d.body);
    let r = lead.post_form(&format!("{url}/ky"), &[("unit_id", &s.tu_phap.to_string())]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Mỗi đơn vị chỉ ký một lần"), "{}", r.body);

    // editing after a signature is refused with a message
    let r = head.post_form(&url, &[("text", "Sửa lại"), ("table_id", &t.adopted.to_string())]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("không sửa được nữa"), "{}", r.body);

    // the secretariat sees the board and records the penalty of the unit that has not signed
    let mut sec = app.page_as("sec.cb").await;
    let p = sec.get(&url).await;
    assert!(p.body.contains("Chưa ký"));
    assert!(p.body.contains("Trừ điểm không ký giao ước"), "{}", p.body);
    assert!(p.body.contains("name=\"points\" value=\"8\""), "{}", p.body);
    let r = sec
        .post_form(
            &format!("{url}/tru-diem"),
            &[("unit_id", &s.y_te.to_string()), ("points", "8"), ("reason", "Quá hạn ký giao ước")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = sec.get(&url).await;
    assert!(p.body.contains("Chưa ký – đã trừ 8 điểm"), "{}", p.body);
    assert!(!p.body.contains("Trừ điểm không ký giao ước"), "once per unit");

    let mut hn = app.page_as("sec.hn").await;
    let r = hn.post_form(&format!("{url}/tru-diem"), &[("unit_id", &s.y_te.to_string()), ("reason", "Thử")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.finish().await;
}

fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect();
    thidua_export::write_table("Chỉ tiêu", None, &["Đơn vị", "I.1"], &rows).expect("xlsx")
}

async fn upload(c: &mut Client<'_>, uri: &str, file: Vec<u8>) -> Resp {
    let req = Request::post(uri).header(header::CONTENT_TYPE, XLSX).header("x-csrf-token", c.csrf.clone());
    c.send(req, Body::from(file)).await
}

async fn download(app: &TestApp, c: &Client<'_>, uri: &str) -> (StatusCode, Vec<u8>) {
    let cookie = c.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let req = Request::get(uri).header(header::COOKIE, cookie).body(Body::empty()).expect("request");
    let resp = app.router.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    (status, resp.into_body().collect().await.expect("body").to_bytes().to_vec())
}

fn cells(file: &[u8]) -> Vec<Vec<String>> {
    let limits = thidua_export::Limits::default();
    let t = thidua_export::read_table(file, &limits, &["Đơn vị", "I.1"]).expect("table");
    t.rows.into_iter().map(|r| r.1).collect()
}

#[tokio::test]
async fn targets_round_trip_through_excel_and_a_bad_row_stores_nothing() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let t = tables(&app).await;
    let mut head = app.api_as("canbo.tuphap").await;
    let file_uri = format!("{}/targets.xlsx", api(&app));
    // no table version chosen yet
    let (status, _) = download(&app, &head, &file_uri).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = put(&mut head, &api(&app), json!({"text": TEXT, "table_id": t.adopted})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let (status, empty) = download(&app, &head, &file_uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        cells(&empty),
        vec![vec!["Sở Tư pháp".to_string(), String::new()], vec!["Sở Y tế".into(), String::new()]]
    );

    // names are matched without diacritics and case
    let r = upload(&mut head, &file_uri, xlsx(&[&["Sở Tư pháp", "1.250,5"], &["so y te", "900"]])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rep = r.json();
    assert_eq!((rep["created"].as_i64(), rep["committed"].as_bool()), (Some(2), Some(true)));
    assert_eq!(app.audit_actions().await[0], "covenant.target");

    let (_, filled) = download(&app, &head, &file_uri).await;
    assert_eq!(
        cells(&filled),
        vec![vec!["Sở Tư pháp".to_string(), "1.250,5".into()], vec!["Sở Y tế".into(), "900".into()]]
    );
    let audits = app.audit_actions().await.len();
    let r = upload(&mut head, &file_uri, filled.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.json()["unchanged"].as_i64(), r.json()["updated"].as_i64()), (Some(2), Some(0)));
    assert_eq!(app.audit_actions().await.len(), audits, "an unchanged file writes nothing");

    // a bad row: every problem reported with its row, nothing stored
    let bad = xlsx(&[&["Sở Tư pháp", "2.000"], &["Sở Không Có", "5"], &["Sở Y tế", "-3"], &["Sở Tư pháp", "1"]]);
    let r = upload(&mut head, &file_uri, bad.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let rep = r.json();
    assert_eq!(rep["committed"], false);
    let errs: Vec<(i64, String)> = rep["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["row"].as_i64().unwrap_or(0), e["message"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(errs.iter().any(|(r, m)| *r == 3 && m.contains("không phải thành viên")), "{errs:?}");
    assert!(errs.iter().any(|(r, m)| *r == 4 && m.contains("phải lớn hơn 0")), "{errs:?}");
    assert!(errs.iter().any(|(r, m)| *r == 5 && m.contains("đã có ở dòng 2")), "{errs:?}");
    let v = head.get(&api(&app)).await.json();
    assert_eq!(member(&v, s.tu_phap)["targets"][0]["text"], "1.250,5");

    // the same through the page: the report names the rows, nothing is stored
    let mut page_head = app.page_as("canbo.tuphap").await;
    let boundary = "----thidua-giao-uoc";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"chi-tieu.xlsx\"\r\nContent-Type: {XLSX}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bad);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    let body = [crate::support::csrf_part(&ct, &page_head.csrf), body].concat();
    let req = Request::post(format!("{}/nhap-chi-tieu", page(&app))).header(header::CONTENT_TYPE, ct);
    let r = page_head.send(req, Body::from(body)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Không có chỉ tiêu nào được lưu"), "{}", r.body);
    assert!(r.body.contains("Sở Không Có"), "{}", r.body);
    let v = head.get(&api(&app)).await.json();
    assert_eq!(member(&v, s.tu_phap)["targets"][0]["text"], "1.250,5");

    // only the head (or deputy) and the secretariat import
    let mut yte = app.api_as("canbo.yte").await;
    assert_eq!(upload(&mut yte, &file_uri, filled).await.status, StatusCode::FORBIDDEN);
    app.finish().await;
}

#[tokio::test]
async fn the_openapi_document_lists_the_covenant() {
    let app = TestApp::new().await;
    let mut c = app.api_as("admin").await;
    let doc = c.get("/api/v1/openapi.json").await.json();
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/groups/{id}/years/{year}/covenant",
        "/api/v1/groups/{id}/years/{year}/covenant/targets",
        "/api/v1/groups/{id}/years/{year}/covenant/targets.xlsx",
        "/api/v1/groups/{id}/years/{year}/covenant/signatures",
        "/api/v1/groups/{id}/years/{year}/covenant/signatures/{unit_id}",
        "/api/v1/groups/{id}/years/{year}/covenant/penalties",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
    assert_eq!(doc["paths"]["/api/v1/groups/{id}/years/{year}/covenant"]["get"]["tags"][0], "Giao ước");
    assert!(doc["components"]["schemas"]["CovenantView"].is_object());
    app.finish().await;
}
