//! The whole score chain of one group-year through the API and the pages:
//! the officer scores with evidence, the leader submits, the head unit plans
//! the cross-inspection and moves the year on, the inspector proposes, the
//! head unit reviews and proposes, the unit explains, the secretariat
//! appraises, finalises and publishes, and the public page shows the results
//! without evidence or reasons. Wrong writers, wrong stages, bad files and
//! writes after finalisation are refused, denials audited, nothing half-stored.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::documents::{PDF_1, PNG, api_post, app, download, page_post};
use crate::scores::{entries, line, messages, setup};
use crate::support::{Client, TestApp};

fn chain(app: &TestApp, unit: i64) -> String {
    format!("/api/v1/groups/{}/years/2026/chain/{unit}", app.seed.block)
}

/// Sets a date of the group's calendar for 2026 straight in the database.
async fn set_date(app: &TestApp, event: &str, date: &str) {
    let mut tx = app.st.db.begin().await.expect("tx");
    let gy = thidua_db::org::group_year(&mut tx, app.seed.block, 2026).await.expect("gy");
    let admin = thidua_db::users::user_by_name(&mut tx, "admin").await.expect("user").expect("admin").id;
    thidua_db::calendar::set_group_date(&mut tx, gy, event, date, "Kiểm thử", admin).await.expect("date");
    tx.commit().await.expect("commit");
}

fn year(app: &TestApp) -> String {
    format!("/api/v1/groups/{}/years/2026", app.seed.block)
}

async fn write(c: &mut Client<'_>, app: &TestApp, unit: i64, lines: Value) -> crate::support::Resp {
    c.post_json(&chain(app, unit), json!({ "lines": lines })).await
}

async fn advance(c: &mut Client<'_>, app: &TestApp, phase: &str) {
    let r = c.post_json(&format!("{}/advance", year(app)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"]["phase"], phase, "{}", r.body);
}

fn base(v: &Value, code: &str) -> Value {
    line(v, code)["base_seq"].clone()
}

/// The unit that inspects `unit` in the plan.
async fn inspector_of(c: &mut Client<'_>, app: &TestApp, unit: i64) -> i64 {
    let plan = c.get(&format!("{}/inspection", year(app))).await.json();
    plan["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .find(|p| p["inspected_unit_id"] == unit)
        .and_then(|p| p["inspector_unit_id"].as_i64())
        .unwrap_or_else(|| panic!("no inspector in {plan}"))
}

#[tokio::test]
async fn one_group_year_from_self_assessment_to_published_results() {
    let (app, _dir) = app().await;
    setup(&app).await;
    let (y, head) = (app.seed.y_te, app.seed.tu_phap);

    // the officer scores with evidence; the evidence needs a value first; a file of the wrong type is refused
    let mut officer = app.api_as("canbo.yte").await;
    let ev = format!("{}/evidence", chain(&app, y));
    let r =
        api_post(&mut officer, &ev, &[("line_code", "II.2")], Some(("bien-ban.pdf", "application/pdf", PDF_1))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("ghi và lưu giá trị tự chấm"), "{}", r.body);
    let r = officer
        .post_json(
            &format!("/api/v1/groups/{}/years/2026/sheets/{y}/save", app.seed.block),
            json!({"lines": [
                {"line_code": "II.2", "value": "Đạt", "base_seq": null},
                {"line_code": "II.4", "value": "Đạt", "base_seq": null},
                {"line_code": "I.2", "value": "80", "reason": "Ban hành đủ văn bản", "base_seq": null}
            ], "note": ""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r =
        api_post(&mut officer, &ev, &[("line_code", "II.2")], Some(("bien-ban.pdf", "application/pdf", PDF_1))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let files = line(&v, "II.2")["evidence"].as_array().expect("evidence").clone();
    assert_eq!(files.len(), 1, "{v}");
    assert_eq!(files[0]["file_name"], "bien-ban.pdf");
    let r =
        api_post(&mut officer, &ev, &[("line_code", "II.2")], Some(("gia.pdf", "application/pdf", b"not a pdf"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // the evidence is the unit's: another member may neither add nor read it
    let mut other = app.api_as("canbo.hoaan").await;
    let r = api_post(&mut other, &ev, &[("line_code", "II.2")], Some(("x.png", "image/png", PNG))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let file_url = format!("/api/v1/evidence/{}", files[0]["id"]);
    let (status, _, _) = download(&app, &other, &file_url).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, bytes) = download(&app, &officer, &file_url).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, PDF_1));

    // the leader submits; the sheet is locked
    let mut leader = app.api_as("lanhdao.yte").await;
    let r =
        leader.post_json(&format!("/api/v1/groups/{}/years/2026/sheets/{y}/submit", app.seed.block), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // the head unit plans the inspection and moves the year on; a member may not
    let mut head_officer = app.api_as("canbo.tuphap").await;
    let r = head_officer.post_json(&format!("{}/inspection/generate", year(&app)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = officer.post_json(&format!("{}/advance", year(&app)), json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    advance(&mut head_officer, &app, "inspection").await;

    // the inspector proposes with a remark; a proposal needs a reason; the unit itself may not propose
    let inspector = inspector_of(&mut head_officer, &app, y).await;
    let mut insp = if inspector == head { app.api_as("canbo.tuphap").await } else { app.api_as("canbo.hoaan").await };
    let v = insp.get(&chain(&app, y)).await.json();
    assert_eq!(v["write_stage"], "inspection_proposal", "{v}");
    let r = write(
        &mut insp,
        &app,
        y,
        json!([{"line_code": "II.2", "value": "Không đạt", "remark": "", "base_seq": base(&v, "II.2")}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let before = entries(&app).await;
    let r = write(
        &mut insp,
        &app,
        y,
        json!([{"line_code": "II.2", "value": "Không đạt", "remark": "Biên bản chưa có chữ ký", "base_seq": base(&v, "II.2")}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(entries(&app).await, before + 1);
    let v = r.json();
    assert_eq!(line(&v, "II.2")["inspection"]["value"], "Không đạt");
    assert_eq!(line(&v, "II.2")["value"], "Đạt", "a proposal does not replace the unit's value");
    let r = write(
        &mut officer,
        &app,
        y,
        json!([{"line_code": "II.4", "value": "Không đạt", "remark": "x", "base_seq": base(&v, "II.4")}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the unit has no stage open now: {}", r.body);

    // head review: the table side by side with the flags; a member cannot see it (audited)
    advance(&mut head_officer, &app, "head_review").await;
    let r = officer.get(&format!("{}/review", year(&app))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        app.audit_actions().await.iter().any(|a| a.contains("review_group_year")),
        "{:?}",
        app.audit_actions().await
    );
    let review = head_officer.get(&format!("{}/review", year(&app))).await.json();
    let unit_row = review["units"].as_array().expect("units").iter().find(|u| u["unit_id"] == y).expect("y_te").clone();
    assert_eq!(unit_row["sheet_state"], "submitted");
    assert!(unit_row["self_total"].is_string() && unit_row["inspection_total"].is_string(), "{unit_row}");
    assert_ne!(unit_row["self_total"], unit_row["inspection_total"]);
    let cell = review["rows"].as_array().expect("rows").iter().find(|r| r["code"] == "II.2").expect("II.2")["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["unit_id"] == y)
        .expect("cell")
        .clone();
    assert_eq!(
        (cell["self_value"].as_str(), cell["inspection"].as_str(), cell["evidence"].as_i64()),
        (Some("Đạt"), Some("Không đạt"), Some(1))
    );
    // flagged by the threshold the group's table sets (25%, not the usual 20%)
    let far = review["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["unit_id"] == y && f["kind"] == "far_above_inspection")
        .expect("II.2 self far above the inspection")
        .clone();
    assert!(far["message"].as_str().is_some_and(|m| m.contains("(25% điểm tối đa)")), "{far}");
    let v = head_officer.get(&chain(&app, y)).await.json();
    let r = write(
        &mut head_officer,
        &app,
        y,
        json!([{"line_code": "II.2", "value": "Không đạt", "remark": "Theo biên bản kiểm tra chéo", "base_seq": base(&v, "II.2")}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(line(&r.json(), "II.2")["open_proposal"], true);

    // explanation: the unit sees the proposal and keeps its value with a reason, adding evidence
    advance(&mut head_officer, &app, "explanation").await;
    let v = officer.get(&chain(&app, y)).await.json();
    assert_eq!(v["write_stage"], "explanation", "{v}");
    assert_eq!(line(&v, "II.2")["head_review"]["reason"], "Theo biên bản kiểm tra chéo");
    let r = api_post(&mut officer, &ev, &[("line_code", "II.2")], Some(("bien-ban-ky.png", "image/png", PNG))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(line(&v, "II.2")["evidence"].as_array().map(Vec::len), Some(2));
    // an explanation answers a proposal: accept it or keep the unit's own value, nothing else
    let r = write(
        &mut officer,
        &app,
        y,
        json!([{"line_code": "II.4", "value": "Không đạt", "remark": "x", "base_seq": base(&v, "II.4")}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("không có đề xuất điều chỉnh nào"), "{}", r.body);
    let r = write(
        &mut officer,
        &app,
        y,
        json!([{"line_code": "I.2", "value": "100", "remark": "Tăng thêm", "base_seq": base(&v, "I.2")}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a line without a proposal cannot be raised: {}", r.body);
    // after the explanation's date the unit's answer is refused, and the refusal is in the log
    set_date(&app, "explanation", "2026-01-20").await;
    let answer = json!([{"line_code": "II.2", "value": "Đạt", "remark": "Đã bổ sung biên bản có chữ ký", "base_seq": base(&v, "II.2")}]);
    let r = write(&mut officer, &app, y, answer.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("Đã quá hạn giải trình (20/01/2026)"), "{}", r.body);
    let (action, _, reason) = app.last_audit().await;
    assert_eq!((action.as_str(), reason.contains("Đã quá hạn giải trình")), ("denied:write_score", true), "{reason}");
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).format("%Y-%m-%d").to_string();
    set_date(&app, "explanation", &tomorrow).await;
    let r = write(
        &mut officer,
        &app,
        y,
        json!([{"line_code": "II.2", "value": "Đạt", "remark": "Đã bổ sung biên bản có chữ ký", "base_seq": base(&v, "II.2")}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(line(&v, "II.2")["open_proposal"], false);
    assert_eq!(line(&v, "II.2")["value"], "Đạt");

    // appraisal: the head hands over (after the explanation's date); only the secretariat appraises and scores its own lines
    set_date(&app, "explanation", "2026-01-21").await;
    advance(&mut head_officer, &app, "appraisal").await;
    let r = head_officer.post_json(&format!("{}/finalise", year(&app)), json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let mut sec = app.api_as("sec.cb").await;
    let v = sec.get(&chain(&app, y)).await.json();
    assert_eq!(v["write_stage"], "appraisal", "{v}");
    let r = write(
        &mut sec,
        &app,
        y,
        json!([
            {"line_code": "I.2", "value": "70", "remark": "Một văn bản ban hành chậm", "base_seq": base(&v, "I.2")},
            {"line_code": "TR.1", "value": "1", "remark": "Không ký giao ước đúng hạn", "base_seq": base(&v, "TR.1")}
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(line(&v, "I.2")["value"], "70");
    assert!(line(&v, "TR.1")["points"].is_string(), "{v}");
    let total_before_final = v["total"].clone();

    // finalise: values in force become final entries and the year is locked
    let r = sec.post_json(&format!("{}/finalise", year(&app)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"]["phase"], "final");
    let v = sec.get(&chain(&app, y)).await.json();
    assert_eq!(v["total"], total_before_final);
    assert_eq!(line(&v, "I.2")["final_value"]["value"], "70");
    let n = entries(&app).await;
    let r = write(
        &mut sec,
        &app,
        y,
        json!([{"line_code": "I.2", "value": "60", "remark": "x", "base_seq": base(&v, "I.2")}]),
    )
    .await;
    assert!(r.status == StatusCode::FORBIDDEN || r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("đã chốt"), "{}", r.body);
    assert_eq!(entries(&app).await, n, "nothing stored after finalisation");
    assert_eq!(app.last_audit().await.0, "denied:write_score");

    // results: self total beside the final total, and the xlsx files
    let res = sec.get(&format!("{}/results", year(&app))).await.json();
    assert_eq!(res["is_final"], true);
    let mine = res["lines"].as_array().expect("lines").iter().find(|l| l["unit_id"] == y).expect("y").clone();
    assert_eq!(mine["total"], total_before_final);
    assert!(mine["difference"].as_str().is_some_and(|d| d.starts_with('-')), "{mine}");
    assert!(
        mine["adjustments"]
            .as_array()
            .expect("adj")
            .iter()
            .any(|a| a.as_str().unwrap_or("").contains("Một văn bản ban hành chậm"))
    );
    let (status, headers, bytes) = download(&app, &sec, &format!("{}/results/xlsx", year(&app))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[axum::http::header::CONTENT_TYPE].to_str().unwrap_or("").contains("spreadsheetml"));
    let sheet = thidua_export::xlsx_in::read_sheet(&bytes, &Default::default(), None).expect("xlsx");
    let text: String = sheet.rows.iter().flatten().map(|c| c.as_text().to_string()).collect::<Vec<_>>().join("|");
    assert!(text.contains("Sở Y tế") && text.contains("BẢNG TỔNG HỢP KẾT QUẢ CHẤM ĐIỂM"), "{text}");
    let (status, _, bytes) = download(&app, &officer, &format!("{}/xlsx", chain(&app, y))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(b"PK"));

    // publication: the public page without login, no evidence, no reasons unless chosen
    let public = format!("/cong-khai/{}/2026", app.seed.block);
    let mut anon = app.client();
    assert_eq!(anon.get(&public).await.status, StatusCode::NOT_FOUND, "not before publication");
    let r = sec.post_json(&format!("{}/publication", year(&app)), json!({"reasons": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let page = anon.get(&public).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Sở Y tế") && page.body.contains(total_before_final.as_str().unwrap_or("?")),
        "{}",
        page.body
    );
    assert!(!page.body.contains("minh-chung") && !page.body.contains("Một văn bản ban hành chậm"), "{}", page.body);
    let list = anon.get("/cong-khai").await;
    assert!(list.body.contains(&public), "{}", list.body);
    let api = anon.get(&format!("/api/v1/public/results/{}/2026", app.seed.block)).await;
    assert_eq!(api.status, StatusCode::OK);
    assert!(
        api.json()["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .all(|l| l["adjustments"].as_array().is_some_and(Vec::is_empty))
    );
    let lines = api.json()["lines"].clone();
    assert!(lines.as_array().expect("lines").iter().all(|l| l["self_total"].is_null() && l["difference"].is_null()));

    // reopening final results needs a decision; the public page goes away until final again
    let r = sec.post_json(&format!("{}/reopen", year(&app)), json!({"reason": " "})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = sec.post_json(&format!("{}/reopen", year(&app)), json!({"reason": "12/QĐ-BTĐKT ngày 20/01/2027"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(anon.get(&public).await.status, StatusCode::NOT_FOUND);
    assert!(app.audit_actions().await.iter().any(|x| x == "score.reopen_final"));
    let v = sec.get(&chain(&app, y)).await.json();
    assert_eq!(v["write_stage"], "final", "{v}");
    let r = write(&mut sec, &app, y, json!([{"line_code": "I.2", "value": "75", "remark": "Theo quyết định 12/QĐ-BTĐKT", "base_seq": base(&v, "I.2")}])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = sec.post_json(&format!("{}/finalise", year(&app)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(line(&sec.get(&chain(&app, y)).await.json(), "I.2")["value"], "75");
    assert_eq!(anon.get(&public).await.status, StatusCode::NOT_FOUND, "reopening withdrew the publication");

    let actions = app.audit_actions().await;
    for a in [
        "score.evidence_add",
        "score.phase",
        "score.inspection_proposal",
        "score.head_review",
        "score.explanation",
        "score.appraisal",
        "score.finalise",
        "score.publish",
        "score.reopen_final",
        "score.final",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} missing from {actions:?}");
    }
    app.finish().await;
}

#[tokio::test]
async fn pages_of_the_chain_work_without_javascript() {
    let (app, _dir) = app().await;
    setup(&app).await;
    let y = app.seed.y_te;
    let block = app.seed.block;
    let mut p = app.page_as("canbo.yte").await;
    // the officer saves a value, then attaches evidence from the sheet page
    let sheet = format!("/cum-khoi/{block}/nam/2026/tu-cham/{y}");
    let r = p.post_form(&sheet, &[("b:II.2", ""), ("v:II.2", "Đạt")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = p.get(&sheet).await;
    assert!(page.body.contains("Tải lên minh chứng"), "{}", page.body);
    let r = page_post(
        &mut p,
        &format!("/cum-khoi/{block}/nam/2026/diem/{y}/minh-chung"),
        &[("line_code", "II.2"), ("back", "tu-cham")],
        ("bien-ban.pdf", "application/pdf", PDF_1),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), sheet);
    let page = p.get(&sheet).await;
    assert!(page.body.contains("Đã gắn tệp minh chứng") && page.body.contains("bien-ban.pdf"), "{}", page.body);
    // a member is sent from the review table to its own unit's page
    let r = p.get(&format!("/cum-khoi/{block}/nam/2026/tong-hop")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), format!("/cum-khoi/{block}/nam/2026/diem/{y}"));
    let page = p.get(&r.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Điểm thi đua năm 2026: Sở Y tế") && page.body.contains("bien-ban.pdf"),
        "{}",
        page.body
    );

    // the head unit moves the year on from the review page; the secretariat reopens a sheet with a reason
    let mut head = app.page_as("canbo.tuphap").await;
    let review = format!("/cum-khoi/{block}/nam/2026/tong-hop");
    let page = head.get(&review).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Chuyển sang bước kiểm tra chéo") && page.body.contains("Sở Y tế"), "{}", page.body);
    let r = head.post_form(&format!("{review}/chuyen-buoc"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(head.get(&review).await.body.contains("Cụm, khối đã chuyển sang bước kiểm tra chéo"));
    let mut sec = app.page_as("sec.cb").await;
    let unit_page = format!("/cum-khoi/{block}/nam/2026/diem/{y}");
    let r = sec.post_form(&format!("{unit_page}/mo-phieu"), &[("reason", "")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Ghi lý do mở lại phiếu"), "{}", r.body);
    let r = sec.post_form(&format!("{unit_page}/mo-phieu"), &[("reason", "Bổ sung minh chứng theo đề nghị")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // the reopened sheet is writable again by the unit in the inspection phase
    let page = p.get(&sheet).await;
    assert!(page.body.contains("Lưu nháp") && page.body.contains("Được mở lại"), "{}", page.body);
    let r = p.post_form(&sheet, &[("b:II.4", ""), ("v:II.4", "Đạt")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // results page for the secretariat, with the comparison column
    let page = sec.get(&format!("/cum-khoi/{block}/nam/2026/ket-qua")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Chênh lệch so với tự chấm") && page.body.contains("Tạm tính"), "{}", page.body);
    app.finish().await;
}

/// Finalising while the secretariat's colleague writes an appraisal: the two
/// are serialised on the group-year; either the appraisal lands first and is
/// in the final results, or it comes after and is refused. Never half of each.
#[tokio::test]
async fn finalising_while_someone_is_writing() {
    let (app, _dir) = app().await;
    setup(&app).await;
    let y = app.seed.y_te;
    let mut officer = app.api_as("canbo.yte").await;
    let r = officer
        .post_json(
            &format!("/api/v1/groups/{}/years/2026/sheets/{y}/save", app.seed.block),
            json!({"lines": [{"line_code": "I.2", "value": "80", "reason": "Đủ văn bản", "base_seq": null}], "note": ""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut sec = app.api_as("sec.cb").await;
    for phase in ["inspection", "head_review", "explanation", "appraisal"] {
        advance(&mut sec, &app, phase).await;
    }
    let v = sec.get(&chain(&app, y)).await.json();
    let mut writer = app.api_as("sec.cb").await;
    let body = json!({"lines": [{"line_code": "I.2", "value": "60", "remark": "Chậm một văn bản", "base_seq": base(&v, "I.2")}]});
    let uri = chain(&app, y);
    let fin = format!("{}/finalise", year(&app));
    let (w, f) = tokio::join!(writer.post_json(&uri, body), sec.post_json(&fin, json!({})));
    assert_eq!(f.status, StatusCode::OK, "{}", f.body);
    let after = sec.get(&chain(&app, y)).await.json();
    if w.status == StatusCode::OK {
        assert_eq!(line(&after, "I.2")["final_value"]["value"], "60", "the appraisal made before is final");
    } else {
        assert!(messages(&w).contains("đã chốt"), "{}", w.body);
        assert_eq!(line(&after, "I.2")["final_value"]["value"], "80");
        assert!(line(&after, "I.2")["appraisal"].is_null(), "nothing of the refused write is stored");
    }
    app.finish().await;
}

/// The review table's rows, units and flags are built once per kept
/// group-year (and day) and shown to each reader with what that reader may
/// do; a save makes the next table show it.
#[tokio::test]
async fn the_review_table_is_built_once_for_every_reader_and_follows_saves() {
    let (app, _dir) = app().await;
    setup(&app).await;
    let review = format!("{}/review", year(&app));
    let mut head = app.api_as("canbo.tuphap").await;
    let mut sec = app.api_as("sec.cb").await;
    let first = head.get(&review).await.json();
    let quick = app.st.years.quick();
    let again = head.get(&review).await.json();
    let by_sec = sec.get(&review).await.json();
    assert_eq!(app.st.years.quick(), quick + 2, "both answered from the kept group-year");
    let built = || app.st.years.parts_built(app.seed.block, 2026);
    assert_eq!(built(), Some(1), "the table was built once for the three reads");
    // each unit's sheet too: built on its first reading, then shared
    let sheet = format!("/api/v1/groups/{}/years/2026/sheets/{}", app.seed.block, app.seed.y_te);
    let (a, b) = (head.get(&sheet).await.json(), sec.get(&sheet).await.json());
    assert_eq!(built(), Some(2));
    assert_eq!(a["lines"], b["lines"]);
    assert_ne!(a["may_write"], Value::Null);
    assert_eq!(first, again);
    for part in ["units", "rows", "flags", "compute_errors", "unsent"] {
        assert_eq!(first[part], by_sec[part], "{part}");
    }
    assert_eq!((first["is_secretariat"].as_bool(), by_sec["is_secretariat"].as_bool()), (Some(false), Some(true)));
    // a member may not see it, and the denial is recorded
    let mut member = app.api_as("canbo.yte").await;
    assert_eq!(member.get(&review).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.audit_actions().await[0], "denied:review_group_year");
    // a save shows in the next table
    let cell = |v: &Value| {
        v["rows"].as_array().expect("rows").iter().find(|r| r["code"] == "II.2").expect("II.2")["cells"]
            .as_array()
            .expect("cells")
            .iter()
            .find(|c| c["unit_id"] == app.seed.y_te)
            .expect("cell")["self_value"]
            .clone()
    };
    assert_eq!(cell(&first), "");
    // the page's rendering of the table, kept with it, before the save
    let tables = |b: &str| -> String {
        let from = b.find("<h2>Các thành viên</h2>").expect("the members");
        let to = b.find("<h2>Chuyển bước</h2>").expect("the steps");
        b[from..to].to_string()
    };
    let mut page = app.page_as("canbo.tuphap").await;
    let review_page = format!("/cum-khoi/{}/nam/2026/tong-hop", app.seed.block);
    let before = page.get(&review_page).await;
    assert!(!tables(&before.body).contains("Đạt"), "{}", before.body);
    let r = member
        .post_json(
            &format!("/api/v1/groups/{}/years/2026/sheets/{}/save", app.seed.block, app.seed.y_te),
            json!({"lines": [{"line_code": "II.2", "value": "Đạt", "base_seq": null}], "note": ""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(cell(&head.get(&review).await.json()), "Đạt");
    assert_eq!(cell(&sec.get(&review).await.json()), "Đạt");
    // the page shows the same
    let p = page.get(&review_page).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(tables(&p.body).contains("Đạt"), "{}", p.body);
    // the members, flags and rows are the same for the secretariat, whose
    // page goes on with what only it may do
    let mut sec_page = app.page_as("sec.cb").await;
    let q = sec_page.get(&review_page).await;
    assert_eq!(q.status, StatusCode::OK);
    assert_eq!(tables(&p.body), tables(&q.body));
    assert!(tables(&q.body).contains("Đạt"));
    // members write explanations into the table and may not read it: never
    // compressed, not even for a browser that accepts gzip
    let r = sec_page
        .send(
            axum::http::Request::get(&review_page)
                .header(axum::http::header::ACCEPT_ENCODING, "gzip, deflate, br, zstd"),
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get(axum::http::header::CONTENT_ENCODING).is_none(), "{:?}", r.headers);
    assert_eq!(tables(&r.body), tables(&q.body));
    app.finish().await;
}
