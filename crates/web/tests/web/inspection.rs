//! The cross-inspection plan of a group's year through the API and the pages:
//! the head unit generates it and adjusts it by hand under the same rules,
//! members and readers view it, everything else is refused and audited.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{Client, TestApp};

async fn add_member(app: &TestApp, group: i64, year: i32, unit: i64, role: &str) {
    let mut sec = app.api_as("sec.cb").await;
    let r = sec
        .post_json(&format!("/api/v1/groups/{group}/years/{year}/members"), json!({"unit_id": unit, "role": role}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

/// The seed's block in 2026 with a third member, Xã Hòa An.
async fn three_members(app: &TestApp) {
    add_member(app, app.seed.block, 2026, app.seed.hoa_an, "member").await;
}

fn url(group: i64, year: i32) -> String {
    format!("/api/v1/groups/{group}/years/{year}/inspection")
}

async fn plan_of(c: &mut Client<'_>, group: i64, year: i32) -> Value {
    let r = c.get(&url(group, year)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

/// The pairs (inspector, inspected) of a plan, sorted.
fn pairs(p: &Value) -> Vec<(i64, i64)> {
    let mut v: Vec<(i64, i64)> = p["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .map(|x| (x["inspector_unit_id"].as_i64().expect("id"), x["inspected_unit_id"].as_i64().expect("id")))
        .collect();
    v.sort();
    v
}

async fn adjust(c: &mut Client<'_>, group: i64, year: i32, p: &[(i64, i64)]) -> crate::support::Resp {
    let list: Vec<Value> = p.iter().map(|(a, b)| json!({"inspector_unit_id": a, "inspected_unit_id": b})).collect();
    c.json_req(
        "PUT",
        &format!("{}/pairs", url(group, year)),
        json!({"pairs": list, "reason": "Theo thống nhất của cụm"}),
    )
    .await
}

#[tokio::test]
async fn the_head_generates_a_plan_and_members_view_it() {
    let app = TestApp::new().await;
    let s = &app.seed;
    three_members(&app).await;
    let mut head = app.api_as("canbo.tuphap").await;
    assert_eq!(plan_of(&mut head, s.block, 2026).await["may_lead"], true);
    let r = head.post_json(&format!("{}/generate", url(s.block, 2026)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = r.json();
    let got = pairs(&p);
    assert_eq!(got.len(), 3, "{p}");
    for (a, b) in &got {
        assert_ne!(a, b, "no unit inspects itself");
        assert!(!got.contains(&(*b, *a)), "no reciprocal pair: {got:?}");
    }
    let mut inspected: Vec<i64> = got.iter().map(|x| x.1).collect();
    inspected.sort();
    let mut all = vec![s.tu_phap, s.y_te, s.hoa_an];
    all.sort();
    assert_eq!(inspected, all, "every member inspected once");
    assert!(p["pairs"][0]["inspector_name"].is_string());
    assert_eq!(p["created_by"], "canbo.tuphap");
    // reproducible: generating again gives the same plan
    let r = head.post_json(&format!("{}/generate", url(s.block, 2026)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(pairs(&r.json()), got);

    // a member and a reader of the authority view it, without leading
    let mut member = app.api_as("canbo.yte").await;
    let m = plan_of(&mut member, s.block, 2026).await;
    assert_eq!(pairs(&m), got);
    assert_eq!(m["may_lead"], false);
    let mut viewer = app.api_as("xem.cb").await;
    assert_eq!(pairs(&plan_of(&mut viewer, s.block, 2026).await), got);

    // audited with before and after
    let mut sec = app.api_as("sec.cb").await;
    let rows = sec.get(&format!("/api/v1/audit?action=inspection.plan&object_id={}", s.block)).await.json();
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let before: Value = serde_json::from_str(rows[1]["before_json"].as_str().expect("before")).expect("json");
    let after: Value = serde_json::from_str(rows[1]["after_json"].as_str().expect("after")).expect("json");
    assert_eq!(before, json!({"year": 2026, "pairs": []}));
    assert_eq!(after["pairs"].as_array().map(|a| a.len()), Some(3));
    assert_eq!(rows[1]["actor_name"], "canbo.tuphap");
    app.finish().await;
}

#[tokio::test]
async fn an_adjustment_breaking_the_rules_is_refused_and_nothing_stored() {
    let app = TestApp::new().await;
    let s = &app.seed;
    three_members(&app).await;
    let (t, y, h) = (s.tu_phap, s.y_te, s.hoa_an);
    let mut head = app.api_as("canbo.tuphap").await;
    let r = head.post_json(&format!("{}/generate", url(s.block, 2026)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let generated = pairs(&r.json());

    // a reciprocal pair: Sở Tư pháp and Sở Y tế inspect each other
    let r = adjust(&mut head, s.block, 2026, &[(t, y), (y, t), (t, h)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("kiểm tra lẫn nhau") && r.body.contains("Sở Tư pháp") && r.body.contains("Sở Y tế"),
        "{}",
        r.body
    );
    // a unit inspecting itself
    let r = adjust(&mut head, s.block, 2026, &[(t, t), (y, h), (h, y)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Sở Tư pháp không được tự kiểm tra chính mình"), "{}", r.body);
    // nothing stored, nothing audited
    assert_eq!(pairs(&plan_of(&mut head, s.block, 2026).await), generated);
    assert!(!app.audit_actions().await.contains(&"inspection.adjust".to_string()));

    // the other round is accepted
    let other: Vec<(i64, i64)> = generated.iter().map(|(a, b)| (*b, *a)).collect();
    let r = adjust(&mut head, s.block, 2026, &other).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut want = other.clone();
    want.sort();
    assert_eq!(pairs(&r.json()), want);
    assert_eq!(app.audit_actions().await[0], "inspection.adjust");
    app.finish().await;
}

#[tokio::test]
async fn only_the_head_unit_and_the_secretariat_lead_and_outsiders_cannot_view() {
    let app = TestApp::new().await;
    let s = &app.seed;
    three_members(&app).await;
    // a member unit's officer cannot generate: 403, audited, nothing stored
    let mut member = app.api_as("canbo.yte").await;
    let r = member.post_json(&format!("{}/generate", url(s.block, 2026)), json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(app.audit_actions().await[0], "denied:lead_group_year");
    let r = adjust(&mut member, s.block, 2026, &[(s.tu_phap, s.y_te), (s.y_te, s.hoa_an), (s.hoa_an, s.tu_phap)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(plan_of(&mut member, s.block, 2026).await["pairs"].as_array().is_some_and(|a| a.is_empty()));
    // another authority's secretariat cannot even view
    let mut hn = app.api_as("sec.hn").await;
    assert_eq!(hn.get(&url(s.block, 2026)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.audit_actions().await[0], "denied:view_group");
    let mut page = app.page_as("sec.hn").await;
    assert_eq!(page.get(&format!("/cum-khoi/{}/nam/2026/kiem-tra-cheo", s.block)).await.status, StatusCode::FORBIDDEN);
    // the authority's secretariat leads
    let mut sec = app.api_as("sec.cb").await;
    let r = sec.post_json(&format!("{}/generate", url(s.block, 2026)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["may_lead"], true);
    app.finish().await;
}

#[tokio::test]
async fn a_group_with_fewer_than_three_members_is_refused() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut head = app.api_as("canbo.tuphap").await;
    let r = head.post_json(&format!("{}/generate", url(s.block, 2026)), json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("cần ít nhất 3 thành viên để kiểm tra chéo (hiện có 2)"), "{}", r.body);
    assert!(plan_of(&mut head, s.block, 2026).await["pairs"].as_array().is_some_and(|a| a.is_empty()));
    assert!(!app.audit_actions().await.contains(&"inspection.plan".to_string()));
    // the page says so too
    let mut page = app.page_as("canbo.tuphap").await;
    let r = page.post_form(&format!("/cum-khoi/{}/nam/2026/kiem-tra-cheo/lap", s.block), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("cần ít nhất 3 thành viên"), "{}", r.body);
    app.finish().await;
}

#[tokio::test]
async fn last_years_plan_is_avoided() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let (t, y, h) = (s.tu_phap, s.y_te, s.hoa_an);
    three_members(&app).await;
    add_member(&app, s.block, 2025, t, "head").await;
    add_member(&app, s.block, 2025, y, "member").await;
    add_member(&app, s.block, 2025, h, "member").await;
    let mut sec = app.api_as("sec.cb").await;
    let last = [(t, y), (y, h), (h, t)];
    let r = adjust(&mut sec, s.block, 2025, &last).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // with three members the only plan without repeats is the other round
    let mut head = app.api_as("canbo.tuphap").await;
    let r = head.post_json(&format!("{}/generate", url(s.block, 2026)), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = r.json();
    let mut want = vec![(y, t), (h, y), (t, h)];
    want.sort();
    assert_eq!(pairs(&p), want);
    assert!(p["warnings"].as_array().is_some_and(|w| w.is_empty()), "{p}");
    assert_eq!(p["last_year"].as_array().map(|a| a.len()), Some(3));
    // adjusting back to last year's pairs is allowed, with a warning
    let r = adjust(&mut head, s.block, 2026, &last).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let w = r.json()["warnings"].clone();
    assert!(w.to_string().contains("lặp lại phân công của năm trước"), "{w}");
    app.finish().await;
}

#[tokio::test]
async fn inspection_pages_work_without_javascript() {
    let app = TestApp::new().await;
    let s = &app.seed;
    three_members(&app).await;
    let mut head = app.page_as("canbo.tuphap").await;
    let page_url = format!("/cum-khoi/{}/nam/2026/kiem-tra-cheo", s.block);
    // the group's page links to the plan
    let group = head.get(&format!("/cum-khoi/{}", s.block)).await;
    assert!(group.body.contains(&page_url), "{}", group.body);
    let page = head.get(&page_url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Chưa có kế hoạch kiểm tra chéo năm 2026"));
    assert!(page.body.contains("Lập kế hoạch"));
    let r = head.post_form(&format!("{page_url}/lap"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = head.get(&r.location()).await;
    assert!(page.body.contains("Đã lập kế hoạch kiểm tra chéo năm 2026"), "{}", page.body);
    assert!(page.body.contains("Xã Hòa An") && page.body.contains("Đơn vị được kiểm tra"));
    // a self pair in the form: refused, the choice kept
    let (t, y, h) = (s.tu_phap.to_string(), s.y_te.to_string(), s.hoa_an.to_string());
    let r = head
        .post_form(
            &page_url,
            &[(&format!("inspector_{t}"), &t), (&format!("inspector_{y}"), &h), (&format!("inspector_{h}"), &y)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("không được tự kiểm tra chính mình"), "{}", r.body);
    assert!(r.body.contains(&format!("<option value=\"{t}\" selected>")), "{}", r.body);
    // a good round: saved
    let r = head
        .post_form(
            &page_url,
            &[(&format!("inspector_{t}"), &y), (&format!("inspector_{y}"), &h), (&format!("inspector_{h}"), &t)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = head.get(&r.location()).await;
    assert!(page.body.contains("Đã lưu kế hoạch kiểm tra chéo năm 2026"), "{}", page.body);
    // a member sees the plan without the forms
    let mut member = app.page_as("canbo.yte").await;
    let page = member.get(&page_url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Xã Hòa An"));
    assert!(!page.body.contains("Điều chỉnh kế hoạch"));
    app.finish().await;
}
