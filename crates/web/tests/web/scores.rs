//! A unit's self-assessment sheet through the API and the pages: the unit's
//! officer saves drafts (appended entries, one transaction per save, checked
//! against the table and against concurrent saves), the leader signs and
//! submits, the sheet locks after submission and after the deadline, other
//! member units can neither read nor write it, and the database refuses to
//! change an entry.

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use thidua_core::policy::Role;

use crate::support::{Client, PASSWORD, Resp, TestApp};

/// The sample table, adopted for the block's 2026 (effective from 15/01/2026).
async fn adopted_table(app: &TestApp) {
    // the group's own threshold for "self far above the inspection" (the usual one is 20%)
    let mut table = thidua_core::scoring::sample_table();
    table.review_flags.far_above_percent = 25;
    let content = serde_json::to_string(&table).expect("json");
    let mut tx = app.st.db.begin().await.expect("tx");
    let gy = thidua_db::org::group_year(&mut tx, app.seed.block, 2026).await.expect("gy");
    let admin = thidua_db::users::user_by_name(&mut tx, "admin").await.expect("user").expect("admin").id;
    let id = thidua_db::scoring::insert_version(&mut tx, gy, 1, &content, "blank", "", Some(admin)).await.expect("v");
    thidua_db::scoring::adopt(&mut tx, id, admin, "2026-01-15", "Hội nghị khối thông qua").await.expect("adopt");
    tx.commit().await.expect("commit");
}

/// An account with one unit role.
async fn account(app: &TestApp, username: &str, role: Role, unit: i64) {
    let hash = thidua_web::auth::hash_password(PASSWORD).expect("hash");
    let mut tx = app.st.db.begin().await.expect("tx");
    let id =
        thidua_db::users::insert_user(&mut tx, username, &format!("Người dùng {username}"), &hash).await.expect("u");
    thidua_db::users::insert_grant(&mut tx, id, role, None, Some(unit)).await.expect("grant");
    tx.commit().await.expect("commit");
}

/// The block with its table, Xã Hòa An as a third member (officer canbo.hoaan)
/// and a leader for Sở Y tế (lanhdao.yte).
pub(crate) async fn setup(app: &TestApp) {
    adopted_table(app).await;
    let mut sec = app.api_as("sec.cb").await;
    let r = sec
        .post_json(
            &format!("/api/v1/groups/{}/years/2026/members", app.seed.block),
            json!({"unit_id": app.seed.hoa_an, "role": "member"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    account(app, "canbo.hoaan", Role::UnitOfficer, app.seed.hoa_an).await;
    account(app, "lanhdao.yte", Role::UnitLeader, app.seed.y_te).await;
}

fn url(app: &TestApp, unit: i64) -> String {
    format!("/api/v1/groups/{}/years/2026/sheets/{unit}", app.seed.block)
}

fn page_url(app: &TestApp, unit: i64) -> String {
    format!("/cum-khoi/{}/nam/2026/tu-cham/{unit}", app.seed.block)
}

async fn save(c: &mut Client<'_>, app: &TestApp, unit: i64, lines: Value) -> Resp {
    c.post_json(&format!("{}/save", url(app, unit)), json!({ "lines": lines, "note": "Bản nháp" })).await
}

pub(crate) async fn entries(app: &TestApp) -> i64 {
    let mut tx = app.st.db.read().await.expect("tx");
    let (n,): (i64,) = tx.one("SELECT COUNT(*) FROM score_entries", vec![]).await.expect("count");
    tx.rollback().await.expect("rollback");
    n
}

pub(crate) fn line<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["lines"].as_array().expect("lines").iter().find(|l| l["code"] == code).expect("line")
}

pub(crate) fn messages(r: &Resp) -> String {
    let v = r.json();
    let mut out = vec![v["error"]["message"].as_str().unwrap_or("").to_string()];
    for f in v["error"]["fields"].as_array().into_iter().flatten() {
        out.push(f["message"].as_str().unwrap_or("").to_string());
    }
    out.join(" | ")
}

#[tokio::test]
async fn the_officer_saves_drafts_and_sees_the_computed_total() {
    let app = TestApp::new().await;
    setup(&app).await;
    let y = app.seed.y_te;
    let mut officer = app.api_as("canbo.yte").await;
    let r = officer.get(&url(&app, y)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["may_write"], true, "{v}");
    assert_eq!(v["may_submit"], false, "only the leader submits");
    assert_eq!(v["state"], "draft");
    assert!(v["bonus"].as_array().is_some_and(|b| !b.is_empty()));
    assert!(
        v["penalties"].as_array().expect("penalties").iter().all(|p| p["code"] != "TR.1"),
        "the secretariat's own line is not on the sheet"
    );
    let r = save(
        &mut officer,
        &app,
        y,
        json!([
            {"line_code": "II.2", "value": "Đạt", "base_seq": null},
            {"line_code": "I.2", "value": "80", "reason": "Ban hành đủ văn bản đúng hạn", "base_seq": null},
            {"line_code": "II.3", "value": "2", "base_seq": null},
            {"line_code": "TH.1", "value": "1", "base_seq": null},
            {"line_code": "TR.2", "value": "", "base_seq": null}
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // the answer: the lines stored, each with its new entry (the base of its next save)
    let saved = r.json();
    assert_eq!(entries(&app).await, 4, "the unchanged line is not stored");
    let codes: Vec<&str> =
        saved["lines"].as_array().expect("lines").iter().filter_map(|l| l["code"].as_str()).collect();
    assert_eq!(codes, ["II.2", "I.2", "II.3", "TH.1"], "{saved}");
    assert_eq!(saved["state"], "draft");
    assert_eq!(line(&saved, "II.2")["value"], "Đạt");
    assert_eq!(line(&saved, "I.2")["reason"], "Ban hành đủ văn bản đúng hạn");
    assert_eq!(app.audit_actions().await[0], "score.save");
    // the sheet read right after shows what was saved, with the figures computed on it
    let v = officer.get(&url(&app, y)).await.json();
    assert_eq!(line(&v, "II.2")["value"], "Đạt");
    assert_eq!(line(&v, "II.2")["base_seq"], line(&saved, "II.2")["base_seq"]);
    assert_eq!(line(&v, "I.2")["reason"], "Ban hành đủ văn bản đúng hạn");
    assert!(v["total"].is_string(), "{v}");
    assert!(!line(&v, "II.3")["explanation"].as_array().expect("steps").is_empty());

    // the page: the group links to the sheets, the sheet shows the value, a save from the form
    let mut p = app.page_as("canbo.yte").await;
    let g = p.get(&format!("/cum-khoi/{}", app.seed.block)).await;
    assert!(g.body.contains(&format!("/cum-khoi/{}/nam/2026/tu-cham", app.seed.block)), "{}", g.body);
    let idx = p.get(&format!("/cum-khoi/{}/nam/2026/tu-cham", app.seed.block)).await;
    assert_eq!(idx.status, StatusCode::SEE_OTHER, "the officer goes straight to the unit's sheet");
    assert_eq!(idx.location(), page_url(&app, y));
    let page = p.get(&page_url(&app, y)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Phiếu tự chấm điểm năm 2026: Sở Y tế") && page.body.contains("Lưu nháp"));
    assert!(page.body.contains("<option value=\"Đạt\" selected>"), "{}", page.body);
    assert!(page.body.contains("Cách tính"));
    let base = line(&v, "II.2")["base_seq"].as_i64().expect("seq").to_string();
    let r = p.post_form(&page_url(&app, y), &[("b:II.2", &base), ("v:II.2", "Không đạt"), ("note", "Sửa lại")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = p.get(&r.location()).await;
    assert!(page.body.contains("Đã lưu nháp phiếu tự chấm năm 2026 của Sở Y tế"), "{}", page.body);
    assert!(page.body.contains("<option value=\"Không đạt\" selected>"));
    assert_eq!(entries(&app).await, 5, "a correction is a new entry");
    app.finish().await;
}

#[tokio::test]
async fn two_saves_on_the_same_base_the_second_is_refused() {
    let app = TestApp::new().await;
    setup(&app).await;
    let y = app.seed.y_te;
    let mut a = app.api_as("canbo.yte").await;
    let mut b = app.api_as("lanhdao.yte").await;
    let r = save(&mut a, &app, y, json!([{"line_code": "II.2", "value": "Đạt", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = save(
        &mut b,
        &app,
        y,
        json!([
            {"line_code": "II.4", "value": "Đạt", "base_seq": null},
            {"line_code": "II.2", "value": "Không đạt", "base_seq": null}
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("vừa được canbo.yte lưu lúc"), "{}", r.body);
    assert_eq!(entries(&app).await, 1, "nothing of the second save is stored");
    let v = a.get(&url(&app, y)).await.json();
    assert_eq!(line(&v, "II.2")["value"], "Đạt", "the first save is kept");
    // the page says so too, keeping what was typed
    let mut p = app.page_as("lanhdao.yte").await;
    let r = p.post_form(&page_url(&app, y), &[("b:II.2", ""), ("v:II.2", "Không đạt")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("hãy tải lại để xem giá trị mới"), "{}", r.body);
    assert!(r.body.contains("<option value=\"Không đạt\" selected>"));
    app.finish().await;
}

#[tokio::test]
async fn bad_values_are_refused_and_nothing_stored() {
    let app = TestApp::new().await;
    setup(&app).await;
    let y = app.seed.y_te;
    let mut officer = app.api_as("canbo.yte").await;
    let r = save(
        &mut officer,
        &app,
        y,
        json!([
            {"line_code": "II.2", "value": "Đạt", "base_seq": null},
            {"line_code": "I.1", "value": "nhiều lắm", "base_seq": null},
            {"line_code": "I.2", "value": "150", "reason": "Vượt", "base_seq": null},
            {"line_code": "II.3", "value": "-1", "base_seq": null},
            {"line_code": "TH.1", "value": "-2", "base_seq": null}
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let m = messages(&r);
    assert!(m.contains("I.1") && m.contains("I.2") && m.contains("II.3") && m.contains("TH.1"), "{m}");
    assert!(m.contains("ghi từ 0 đến"), "{m}");
    assert_eq!(entries(&app).await, 0);
    assert!(!app.audit_actions().await.contains(&"score.save".to_string()));
    // a secretariat-only line is not the unit's
    let r = save(&mut officer, &app, y, json!([{"line_code": "TR.1", "value": "1", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("do cơ quan thường trực chấm"), "{}", r.body);
    assert_eq!(entries(&app).await, 0);
    app.finish().await;
}

#[tokio::test]
async fn other_members_cannot_read_or_write_a_units_sheet() {
    let app = TestApp::new().await;
    setup(&app).await;
    let y = app.seed.y_te;
    let mut other = app.api_as("canbo.hoaan").await;
    let r = other.get(&url(&app, y)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.audit_actions().await[0], "denied:view_sheet");
    let r = save(&mut other, &app, y, json!([{"line_code": "II.2", "value": "Đạt", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.audit_actions().await[0], "denied:view_sheet");
    let mut p = app.page_as("canbo.hoaan").await;
    assert_eq!(p.get(&page_url(&app, y)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(entries(&app).await, 0);
    // its own sheet it reads
    assert_eq!(other.get(&url(&app, app.seed.hoa_an)).await.status, StatusCode::OK);
    // another authority's secretariat reads nothing
    let mut hn = app.api_as("sec.hn").await;
    assert_eq!(hn.get(&url(&app, y)).await.status, StatusCode::FORBIDDEN);
    // the head unit and the authority's viewer read, but do not write the unit's values
    let mut head = app.api_as("canbo.tuphap").await;
    assert_eq!(head.get(&url(&app, y)).await.json()["may_write"], false);
    let r = save(&mut head, &app, y, json!([{"line_code": "II.2", "value": "Đạt", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("do chính đơn vị ghi"), "{}", r.body);
    let mut viewer = app.api_as("xem.cb").await;
    assert_eq!(viewer.get(&url(&app, y)).await.status, StatusCode::OK);
    assert_eq!(entries(&app).await, 0);
    app.finish().await;
}

#[tokio::test]
async fn the_leader_submits_and_the_sheet_locks() {
    let app = TestApp::new().await;
    setup(&app).await;
    let y = app.seed.y_te;
    let mut officer = app.api_as("canbo.yte").await;
    let r = save(&mut officer, &app, y, json!([{"line_code": "II.2", "value": "Đạt", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // the officer does not sign
    let r = officer.post_json(&format!("{}/submit", url(&app, y)), json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("Chỉ lãnh đạo đơn vị ký và gửi"), "{}", r.body);
    // the leader signs from the page
    let mut leader = app.page_as("lanhdao.yte").await;
    let page = leader.get(&page_url(&app, y)).await;
    assert!(page.body.contains("Ký, gửi"), "{}", page.body);
    let r = leader.post_form(&format!("{}/ky-gui", page_url(&app, y)), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = leader.get(&r.location()).await;
    assert!(page.body.contains("Đã ký, gửi phiếu tự chấm năm 2026 của Sở Y tế"), "{}", page.body);
    assert_eq!(app.audit_actions().await[0], "score.submit");
    let v = officer.get(&url(&app, y)).await.json();
    assert_eq!(v["state"], "submitted");
    assert_eq!(v["submitted_by"], "lanhdao.yte");
    assert_eq!(v["may_write"], false);
    // after submission the officer's save is refused, nothing stored
    let base = line(&v, "II.2")["base_seq"].clone();
    let r = save(&mut officer, &app, y, json!([{"line_code": "II.2", "value": "Không đạt", "base_seq": base}])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("đã khóa"), "{}", r.body);
    assert_eq!(entries(&app).await, 1);
    // the page shows the lock
    let mut p = app.page_as("canbo.yte").await;
    let page = p.get(&page_url(&app, y)).await;
    assert!(page.body.contains("đã khóa") && !page.body.contains(">Lưu nháp<"), "{}", page.body);
    app.finish().await;
}

#[tokio::test]
async fn after_the_deadline_the_sheet_is_locked() {
    let app = TestApp::new().await;
    setup(&app).await;
    let mut tx = app.st.db.begin().await.expect("tx");
    let gy = thidua_db::org::group_year(&mut tx, app.seed.block, 2026).await.expect("gy");
    let admin = thidua_db::users::user_by_name(&mut tx, "admin").await.expect("user").expect("admin").id;
    thidua_db::calendar::set_group_date(&mut tx, gy, "self_assessment_deadline", "2026-01-20", "Kiểm thử", admin)
        .await
        .expect("date");
    tx.commit().await.expect("commit");
    let y = app.seed.y_te;
    let mut officer = app.api_as("canbo.yte").await;
    let v = officer.get(&url(&app, y)).await.json();
    assert_eq!(v["deadline"], "2026-01-20");
    assert_eq!(v["may_write"], false);
    let r = save(&mut officer, &app, y, json!([{"line_code": "II.2", "value": "Đạt", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("Đã quá hạn tự chấm (20/01/2026)"), "{}", r.body);
    // a refusal of the workflow is also a denial in the log, with its reason
    let (action, object, reason) = app.last_audit().await;
    assert_eq!(action, "denied:write_score");
    assert_eq!(object, format!("group:{}/year:2026/unit:{y}", app.seed.block));
    assert!(reason.contains("Đã quá hạn tự chấm (20/01/2026)"), "{reason}");
    let mut leader = app.api_as("lanhdao.yte").await;
    let r = leader.post_json(&format!("{}/submit", url(&app, y)), json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let (action, _, reason) = app.last_audit().await;
    assert_eq!(action, "denied:submit_sheet");
    assert!(reason.contains("20/01/2026"), "{reason}");
    // evidence cannot be added after the deadline either
    let ev = format!("/api/v1/groups/{}/years/2026/chain/{y}/evidence", app.seed.block);
    let r = crate::documents::api_post(
        &mut officer,
        &ev,
        &[("line_code", "II.2")],
        Some(("a.pdf", "application/pdf", crate::documents::PDF_1)),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("Đã quá hạn tự chấm"), "{}", r.body);
    assert_eq!(app.last_audit().await.0, "denied:write_score");
    assert_eq!(entries(&app).await, 0);
    app.finish().await;
}

#[tokio::test]
async fn entries_are_append_only() {
    let app = TestApp::new().await;
    setup(&app).await;
    let mut officer = app.api_as("canbo.yte").await;
    let r =
        save(&mut officer, &app, app.seed.y_te, json!([{"line_code": "II.2", "value": "Đạt", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut tx = app.st.db.begin().await.expect("tx");
    assert!(tx.exec("UPDATE score_entries SET value_json = '{\"level\":1}'", vec![]).await.is_err());
    tx.rollback().await.expect("rollback");
    let mut tx = app.st.db.begin().await.expect("tx");
    assert!(tx.exec("DELETE FROM score_entries", vec![]).await.is_err());
    tx.rollback().await.expect("rollback");
    assert_eq!(entries(&app).await, 1);
    app.finish().await;
}

#[tokio::test]
async fn the_preview_computes_what_is_typed_without_storing_it() {
    let app = TestApp::new().await;
    setup(&app).await;
    let y = app.seed.y_te;
    let mut officer = app.api_as("canbo.yte").await;
    let r = officer
        .post_json(
            &format!("{}/preview", url(&app, y)),
            json!({"lines": [
                {"line_code": "II.2", "value": "Đạt"},
                {"line_code": "II.4", "value": "nhiều"},
                {"line_code": "TH.1", "value": "1"}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert!(v["total"].is_string(), "{v}");
    let points: Vec<(String, String)> = serde_json::from_value(v["points"].clone()).expect("pairs");
    assert!(points.iter().any(|(c, p)| c == "II.2" && p != "0"), "{points:?}");
    assert!(points.iter().any(|(c, _)| c == "TH.1"), "{points:?}");
    assert!(
        v["problems"].as_array().expect("problems").iter().any(|m| m.as_str().unwrap_or("").contains("II.4")),
        "{v}"
    );
    assert_eq!(entries(&app).await, 0, "a preview stores nothing");
    // another member may not preview this unit's sheet
    let mut other = app.api_as("canbo.hoaan").await;
    let r = other.post_json(&format!("{}/preview", url(&app, y)), json!({"lines": []})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // the page carries what our script needs
    let mut p = app.page_as("canbo.yte").await;
    let page = p.get(&page_url(&app, y)).await;
    assert!(page.body.contains("data-preview=\"/api/v1/groups/") && page.body.contains("data-points=\"II.2\""));
    app.finish().await;
}

/// Two servers on one database, as behind a load balancer: each keeps its
/// own cache of group-years, and a page on one shows a save made on the
/// other at once (the cache is keyed by the audit log's last id).
#[tokio::test]
async fn a_second_server_shows_a_save_made_on_the_first_at_once() {
    let app = TestApp::new().await;
    setup(&app).await;
    let y = app.seed.y_te;
    let other = app.second_server();
    let mut here = app.api_as("canbo.yte").await;
    let mut there = app.api_as_on(&other, "canbo.yte").await;
    let r = there.get(&url(&app, y)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(line(&r.json(), "II.3")["value"], "");
    let r = here.get(&url(&app, y)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.st.years.len(), 1, "the first server keeps the group-year");
    let r = save(&mut here, &app, y, json!([{"line_code": "II.3", "value": "2", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let seq = line(&r.json(), "II.3")["base_seq"].as_i64().expect("seq");
    let r = there.get(&url(&app, y)).await;
    assert_eq!(line(&r.json(), "II.3")["value"], "2", "the other server does not show its cached copy");
    assert_eq!(line(&r.json(), "II.3")["base_seq"], seq);
    // a save on the other server is seen here (the kept copy brought up to date, not loaded again)
    let [_, updated, loaded] = app.st.years.counts();
    let r = save(&mut there, &app, y, json!([{"line_code": "II.3", "value": "3", "base_seq": seq}])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = here.get(&url(&app, y)).await;
    assert_eq!(line(&r.json(), "II.3")["value"], "3");
    let counts = app.st.years.counts();
    assert!(counts[1] > updated && counts[2] == loaded, "{counts:?}");
    // a stale base is still refused on either server
    let r = save(&mut here, &app, y, json!([{"line_code": "II.3", "value": "4", "base_seq": seq}])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(messages(&r).contains("vừa được canbo.yte lưu lúc"), "{}", r.body);
    // a denial changes nothing; a submission (not a save) is seen on the other server too
    let mut other_unit = app.api_as("canbo.hoaan").await;
    assert_eq!(other_unit.get(&url(&app, y)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(line(&there.get(&url(&app, y)).await.json(), "II.3")["value"], "3");
    let mut leader = app.api_as("lanhdao.yte").await;
    let r = leader.post_json(&format!("{}/submit", url(&app, y)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = there.get(&url(&app, y)).await.json();
    assert_eq!(v["state"], "submitted", "{v}");
    assert_eq!(v["may_write"], false);
    app.finish().await;
}

/// Saves arriving at once are written in one batch of writes
/// (`thidua_db::batch`): each accepted one is stored whole and acknowledged,
/// a refused one (bad value, another unit's sheet) leaves nothing but, for a
/// denial, its audit row, written as its part of the batch, and the others
/// lose nothing by sharing its commit. The log's chain holds through it.
#[tokio::test]
async fn saves_arriving_together_are_each_kept_or_refused_whole() {
    let app = TestApp::new().await;
    setup(&app).await;
    let (y, h, t) = (app.seed.y_te, app.seed.hoa_an, app.seed.tu_phap);
    let mut yte = app.api_as("canbo.yte").await;
    let mut yte_leader = app.api_as("lanhdao.yte").await;
    let mut hoaan = app.api_as("canbo.hoaan").await;
    let mut hoaan_elsewhere = app.api_as("canbo.hoaan").await;
    let mut tuphap = app.api_as("canbo.tuphap").await;
    let (before_commits, before_actions) = app.st.writes.counts();
    let (a, b, c, d, e) = tokio::join!(
        save(&mut yte, &app, y, json!([{"line_code": "II.2", "value": "Đạt", "base_seq": null}])),
        save(&mut yte_leader, &app, y, json!([{"line_code": "II.4", "value": "Đạt", "base_seq": null}])),
        save(&mut hoaan, &app, h, json!([{"line_code": "II.2", "value": "Không đạt", "base_seq": null}])),
        save(&mut hoaan_elsewhere, &app, y, json!([{"line_code": "II.3", "value": "Đạt", "base_seq": null}])),
        save(
            &mut tuphap,
            &app,
            t,
            json!([
                {"line_code": "II.2", "value": "Đạt", "base_seq": null},
                {"line_code": "I.1", "value": "nhiều lắm", "base_seq": null}
            ])
        ),
    );
    for r in [&a, &b, &c] {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert_eq!(d.status, StatusCode::FORBIDDEN, "{}", d.body);
    assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", e.body);
    assert_eq!(entries(&app).await, 3, "the three accepted saves, one line each, and nothing else");
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "score.save").count(), 3, "{actions:?}");
    assert!(actions.iter().any(|a| a == "denied:view_sheet"), "{actions:?}");
    // each answer already shows its own save
    assert_eq!(line(&a.json(), "II.2")["value"], "Đạt");
    assert_eq!(line(&b.json(), "II.4")["value"], "Đạt");
    assert_eq!(line(&c.json(), "II.2")["value"], "Không đạt");
    let v = yte.get(&url(&app, y)).await.json();
    assert_eq!((line(&v, "II.2")["value"].as_str(), line(&v, "II.4")["value"].as_str()), (Some("Đạt"), Some("Đạt")));
    assert_eq!(line(&v, "II.3")["value"], "", "the refused save wrote nothing");
    let (commits, committed) = app.st.writes.counts();
    assert!(matches!(
        thidua_db::audit::verify(&app.st.db).await.expect("verify"),
        thidua_db::audit::Verdict::Intact(_)
    ));
    if app.st.db.backend() == thidua_db::Backend::Sqlite {
        assert_eq!(committed - before_actions, 4, "the accepted saves and the denial are counted once each");
        assert!(commits > before_commits);
        let m = app.client().get("/metrics").await.body;
        assert!(m.contains(&format!("thidua_write_actions_total {committed}")), "{m}");
    }
    app.finish().await;
}

/// A committed save leaves the server's kept group-year as of its own log
/// entry, with its entries beside it: the sheets read next are those a
/// server loading everything from the database shows, for every unit, and
/// the group-year is not loaded again. Anything but a save in between (a
/// submission) is still seen.
#[tokio::test]
async fn saves_keep_the_cached_group_year_as_a_fresh_load_shows_it() {
    let app = TestApp::new().await;
    setup(&app).await;
    let (y, h) = (app.seed.y_te, app.seed.hoa_an);
    let mut yte = app.api_as("canbo.yte").await;
    let mut hoaan = app.api_as("canbo.hoaan").await;
    assert_eq!(yte.get(&url(&app, y)).await.status, StatusCode::OK);
    let [_, _, loaded] = app.st.years.counts();
    let r = save(&mut yte, &app, y, json!([{"line_code": "II.2", "value": "Đạt", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let seq = line(&r.json(), "II.2")["base_seq"].clone();
    // together: two units of the group, one of them twice over (the second on a stale base: refused)
    let (a, b, c) = tokio::join!(
        save(&mut yte, &app, y, json!([{"line_code": "II.3", "value": "2", "base_seq": null}])),
        save(
            &mut hoaan,
            &app,
            h,
            json!([{"line_code": "II.2", "value": "Không đạt", "base_seq": null},
                                         {"line_code": "I.2", "value": "70", "reason": "Thiếu một văn bản", "base_seq": null}])
        ),
        async {
            let mut again = app.api_as("canbo.yte").await;
            save(&mut again, &app, y, json!([{"line_code": "II.2", "value": "Không đạt", "base_seq": null}])).await
        },
    );
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(b.status, StatusCode::OK, "{}", b.body);
    assert_eq!(c.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", c.body);
    let fresh = app.second_server();
    for (unit, who) in [(y, "canbo.yte"), (h, "canbo.hoaan")] {
        let kept = app.api_as(who).await.get(&url(&app, unit)).await.json();
        let loaded_there = app.api_as_on(&fresh, who).await.get(&url(&app, unit)).await.json();
        assert_eq!(kept, loaded_there, "unit {unit}");
    }
    let v = yte.get(&url(&app, y)).await.json();
    assert_eq!(line(&v, "II.2")["base_seq"], seq);
    assert_eq!(line(&v, "II.3")["value"], "2");
    assert_eq!(app.st.years.counts()[2], loaded, "kept through the saves, never loaded again");
    // a submission is not a save: the next read sees it, and a save after it is refused
    let mut leader = app.api_as("lanhdao.yte").await;
    let r = leader.post_json(&format!("{}/submit", url(&app, y)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = save(&mut yte, &app, y, json!([{"line_code": "II.4", "value": "Đạt", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(yte.get(&url(&app, y)).await.json()["state"], "submitted");
    // nothing committed since: the other unit's sheet comes from the kept copy as it is,
    // after one statement without a transaction
    let [kept, _, loaded] = app.st.years.counts();
    let quick = app.st.years.quick();
    let v = hoaan.get(&url(&app, h)).await.json();
    assert_eq!(line(&v, "I.2")["value"], "70");
    assert_eq!(app.st.years.counts()[0], kept + 1);
    assert_eq!(app.st.years.counts()[2], loaded);
    assert_eq!(app.st.years.quick(), quick + 1, "answered without a transaction");
    // a submitted sheet (its signer is read) and a refused one take the transaction: the denial is recorded
    assert_eq!(yte.get(&url(&app, y)).await.json()["state"], "submitted");
    let r = hoaan.get(&url(&app, y)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.audit_actions().await[0], "denied:view_sheet");
    assert_eq!(app.st.years.quick(), quick + 1);
    app.finish().await;
}

/// A kept group-year that the log has moved beyond with more than saves (a
/// change made by another process) is loaded again for a save, on SQLite
/// outside its batch's turn (the batch's own connection does not load), and
/// the save goes on; a submission made on another server is seen by the
/// next save here, which is refused and recorded.
#[tokio::test]
async fn a_save_behind_other_changes_loads_its_group_year_again() {
    let app = TestApp::new().await;
    setup(&app).await;
    let y = app.seed.y_te;
    let mut yte = app.api_as("canbo.yte").await;
    assert_eq!(yte.get(&url(&app, y)).await.status, StatusCode::OK);
    let [_, _, loaded] = app.st.years.counts();
    let mut tx = app.st.db.begin().await.expect("tx");
    let change = thidua_db::audit::Entry {
        actor_name: "quan.tri".into(),
        action: "unit.update".into(),
        object_type: "unit".into(),
        object_id: app.seed.hoa_an.to_string(),
        ..Default::default()
    };
    thidua_db::audit::append(&mut tx, change).await.expect("append");
    tx.commit().await.expect("commit");
    let r = save(&mut yte, &app, y, json!([{"line_code": "II.2", "value": "Đạt", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.st.years.counts()[2], loaded + 1, "loaded again, once");
    let other = app.second_server();
    let mut leader = app.api_as_on(&other, "lanhdao.yte").await;
    let r = leader.post_json(&format!("{}/submit", url(&app, y)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = save(&mut yte, &app, y, json!([{"line_code": "II.4", "value": "Đạt", "base_seq": null}])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(app.audit_actions().await[0], "denied:write_score");
    assert_eq!(app.st.years.counts()[2], loaded + 2);
    let v = yte.get(&url(&app, y)).await.json();
    assert_eq!((v["state"].as_str(), line(&v, "II.2")["value"].as_str()), (Some("submitted"), Some("Đạt")));
    app.finish().await;
}

/// The page's lines are rendered once per kept group-year for the readers
/// who may write and once for those who may not: neither gets the other's,
/// what one typed is never kept for the next, and a save shows at once.
#[tokio::test]
async fn the_sheet_page_shares_its_lines_by_what_the_reader_may_do() {
    let app = TestApp::new().await;
    setup(&app).await;
    let url = page_url(&app, app.seed.y_te);
    let writable = "<select id=\"v:II.2\" name=\"v:II.2\">";
    let read_only = "<select id=\"v:II.2\" name=\"v:II.2\" disabled>";
    let lines = |body: &str| -> String {
        let from = body.find("<tbody>").expect("the lines");
        let to = body.find("<h2>Ký, gửi phiếu</h2>").expect("the end of the form");
        body[from..to].to_string()
    };
    // the secretariat reads the sheet but may not write it: the first to render it
    let mut sec = app.page_as("sec.cb").await;
    let s1 = sec.get(&url).await;
    assert_eq!(s1.status, StatusCode::OK);
    assert!(s1.body.contains(read_only) && !s1.body.contains(writable), "{}", s1.body);
    let mut officer = app.page_as("canbo.yte").await;
    let o1 = officer.get(&url).await;
    assert!(o1.body.contains(writable) && !o1.body.contains(read_only), "{}", o1.body);
    // a save shows in both renderings at once
    let r = officer.post_form(&url, &[("b:II.2", ""), ("v:II.2", "Đạt")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let chosen = "<option value=\"Đạt\" selected>";
    let s3 = sec.get(&url).await;
    assert!(s3.body.contains(read_only) && s3.body.contains(chosen), "{}", s3.body);
    let o2 = officer.get(&url).await;
    assert!(o2.body.contains(writable) && o2.body.contains(chosen), "{}", o2.body);
    // a refused save shows what was typed, for that answer only
    let r = officer.post_form(&url, &[("b:II.2", ""), ("v:II.2", "Không đạt")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<option value=\"Không đạt\" selected>") && !r.body.contains(chosen), "{}", r.body);
    let o3 = officer.get(&url).await;
    assert!(o3.body.contains(chosen) && !o3.body.contains("<option value=\"Không đạt\" selected>"), "{}", o3.body);
    assert_eq!(lines(&o2.body), lines(&o3.body));
    assert_eq!(lines(&s3.body), lines(&sec.get(&url).await.body));
    // a browser that accepts gzip gets the same page, its lines compressed,
    // the rest (the CSRF token with it) stored as it is
    for c in [&mut sec, &mut officer] {
        let plain = c.get(&url).await;
        let (gz, raw) = c.get_gzip(&url).await;
        assert_eq!(gz.status, StatusCode::OK);
        assert_eq!(gz.body, plain.body);
        assert!(raw.len() < plain.body.len() / 2, "{} bytes of {}", raw.len(), plain.body.len());
        assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
        let has = |needle: &str| raw.windows(needle.len()).any(|w| w == needle.as_bytes());
        let token = format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", c.csrf);
        assert!(plain.body.contains(&token), "{}", plain.body);
        assert!(has(&token) && has("<h1>Phiếu tự chấm điểm năm 2026: Sở Y tế</h1>"));
        assert!(!has("<td data-label=\"Mã\">II.2</td>"));
    }
    // Vary on the uncompressed answer too; with `compress_pages = false` a
    // browser that accepts gzip gets the page as it is
    let plain = officer.get(&url).await;
    assert!(plain.headers.get_all(header::VARY).iter().any(|v| v == "accept-encoding"), "{:?}", plain.headers);
    let cfg = thidua_web::WebConfig { compress_pages: false, ..app.st.cfg.as_ref().clone() };
    let off = thidua_web::router(thidua_web::AppState::new(app.st.db.clone(), cfg));
    let mut officer_off = app.api_as_on(&off, "canbo.yte").await;
    let r = officer_off
        .send(
            axum::http::Request::get(&url).header(header::ACCEPT_ENCODING, "gzip, deflate, br, zstd"),
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get(header::CONTENT_ENCODING).is_none(), "{:?}", r.headers);
    assert!(r.body.contains(chosen), "{}", r.body);
    // the first rendering after a save, made for a browser that accepts gzip
    let marker = "<input type=\"hidden\" name=\"b:II.2\" value=\"";
    let at = o3.body.find(marker).expect("the line's base") + marker.len();
    let base = &o3.body[at..at + o3.body[at..].find('"').expect("end")];
    assert!(!base.is_empty());
    let r = officer.post_form(&url, &[("b:II.2", base), ("v:II.2", "Không đạt")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (gz, _) = officer.get_gzip(&url).await;
    assert!(gz.body.contains("<option value=\"Không đạt\" selected>"), "{}", gz.body);
    // (that answer showed the save's message and cleared it, as a browser does)
    assert_eq!(lines(&gz.body), lines(&officer.get(&url).await.body));
    app.finish().await;
}

/// A save after a refused save's denial in the same batch chains its audit
/// row from the denial's, not from the save before it: the denial moved the
/// log's head that the batch's saves pass on to each other. On SQLite the
/// three queue in this order behind a turn the test holds, so they share
/// one batch; on PostgreSQL each is a transaction of its own.
#[tokio::test]
async fn a_save_after_a_denial_in_its_batch_keeps_the_logs_chain() {
    let app = TestApp::new().await;
    setup(&app).await;
    let y = app.seed.y_te;
    // a server whose batches stay open while writers wait for up to 10 s (not
    // 20 ms), so that the three share one batch on a loaded machine too: a
    // batch is still committed as soon as nobody waits to add to it
    let writes = thidua_db::batch::Batcher::with_window(app.st.db.clone(), std::time::Duration::from_secs(10));
    let st = thidua_web::AppState::with_writes(app.st.db.clone(), app.st.cfg.as_ref().clone(), writes);
    let server = thidua_web::router(st.clone());
    let mut yte = app.api_as_on(&server, "canbo.yte").await;
    let mut hoaan = app.api_as_on(&server, "canbo.hoaan").await;
    let mut yte_leader = app.api_as_on(&server, "lanhdao.yte").await;
    let sqlite = app.st.db.backend() == thidua_db::Backend::Sqlite;
    let writes = st.writes.clone();
    let queued = |n: usize| {
        let writes = writes.clone();
        async move {
            for _ in 0..10_000 {
                if !sqlite || writes.waiting() >= n {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            panic!("{n} writers never queued");
        }
    };
    // the group-year kept first: a save that must load it does so before
    // it asks for its turn, and the others may ask before it (arrival order
    // is the order of the turns asked for, which this test needs)
    assert_eq!(yte.get(&url(&app, y)).await.status, StatusCode::OK);
    let holder = if sqlite { Some(writes.begin().await.expect("a turn")) } else { None };
    let (before_commits, before_actions) = writes.counts();
    let (a, d, b, _) = tokio::join!(
        save(&mut yte, &app, y, json!([{"line_code": "II.2", "value": "Đạt", "base_seq": null}])),
        async {
            queued(1).await;
            save(&mut hoaan, &app, y, json!([{"line_code": "II.3", "value": "Đạt", "base_seq": null}])).await
        },
        async {
            queued(2).await;
            save(&mut yte_leader, &app, y, json!([{"line_code": "II.4", "value": "Đạt", "base_seq": null}])).await
        },
        async {
            queued(3).await;
            if let Some(h) = holder {
                h.rollback().await.expect("the held turn ends");
            }
        },
    );
    assert_eq!((a.status, d.status, b.status), (StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::OK), "{}", d.body);
    assert_eq!(
        thidua_db::audit::verify(&app.st.db).await.expect("verify"),
        thidua_db::audit::Verdict::Intact(app.audit_actions().await.len() as u64)
    );
    let mut actions = app.audit_actions().await[..3].to_vec();
    if !sqlite {
        // in whatever order the three transactions committed
        actions.sort_by_key(|a| a == "denied:view_sheet");
        actions.swap(1, 2);
    }
    assert_eq!(actions, ["score.save", "denied:view_sheet", "score.save"]);
    let v = yte.get(&url(&app, y)).await.json();
    assert_eq!((line(&v, "II.2")["value"].as_str(), line(&v, "II.4")["value"].as_str()), (Some("Đạt"), Some("Đạt")));
    if sqlite {
        let (commits, actions) = writes.counts();
        assert_eq!(actions - before_actions, 3);
        assert_eq!(commits - before_commits, 1, "the three in one batch");
    }
    app.finish().await;
}

/// A criterion that does not apply (here I.1, once the sheet has values: the
/// unit has no target) makes the class go by the compared total: the sheet
/// shows how it was reached and names it in the class's step; while the two
/// totals are the same it says neither.
#[tokio::test]
async fn the_sheet_explains_the_compared_total_its_class_goes_by() {
    let app = TestApp::new().await;
    setup(&app).await;
    let url = page_url(&app, app.seed.y_te);
    let mut officer = app.page_as("canbo.yte").await;
    let steps = |body: &str| -> String {
        let from = body.find("<summary>Cách tính tổng điểm và xếp loại</summary>").expect("the total's steps");
        body[from..from + body[from..].find("</details>").expect("end")].to_string()
    };
    let empty = steps(&officer.get(&url).await.body);
    assert!(!empty.contains("so sánh") && empty.contains("<li>Xếp loại Không hoàn thành: tổng 0 ≥ 0"), "{empty}");
    let r = officer.post_form(&url, &[("b:II.2", ""), ("v:II.2", "Đạt")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let scored = steps(&officer.get(&url).await.body);
    assert!(scored.contains("<li>Tiêu chí không áp dụng (I.1): điểm tối đa áp dụng 650/950;"), "{scored}");
    assert!(scored.contains("<li>Tổng dùng để so sánh: "), "{scored}");
    assert!(scored.contains("<li>Xếp loại Không hoàn thành: tổng dùng để so sánh "), "{scored}");
    // the unit's page of every step shows them too
    let chain = officer.get(&format!("/cum-khoi/{}/nam/2026/diem/{}", app.seed.block, app.seed.y_te)).await;
    assert_eq!(chain.status, StatusCode::OK);
    let from = chain.body.find("<summary>Cách tính tổng điểm, xếp loại, xếp hạng</summary>").expect("the steps");
    let chain_steps = &chain.body[from..from + chain.body[from..].find("</details>").expect("end")];
    assert!(chain_steps.contains("<li>Tiêu chí không áp dụng (I.1): điểm tối đa áp dụng 650/950;"), "{chain_steps}");
    assert!(chain_steps.contains("<li>Xếp loại Không hoàn thành: tổng dùng để so sánh "), "{chain_steps}");
    let r = officer.post_form(&url, &[("b:II.4", ""), ("v:II.4", "Không áp dụng")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let more = steps(&officer.get(&url).await.body);
    assert!(more.contains("<li>Tiêu chí không áp dụng (I.1, II.4)"), "{more}");
    app.finish().await;
}
