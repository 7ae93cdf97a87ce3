//! The policy seen from outside: scoped roles through the pages and the API.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn unit_officer_cannot_read_or_change_another_authoritys_units() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut page = app.page_as("canbo.tuphap").await;
    let mut api = app.api_as("canbo.tuphap").await;

    // own authority: readable
    assert_eq!(page.get(&format!("/don-vi/{}", s.y_te)).await.status, StatusCode::OK);
    assert_eq!(api.get(&format!("/api/v1/units/{}", s.y_te)).await.status, StatusCode::OK);

    // another authority's unit by id: refused on both front ends
    let r = page.get(&format!("/don-vi/{}", s.hn_tu_phap)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Bạn không có quyền xem đơn vị này."));
    assert!(!r.body.contains("Sở Tư pháp thành phố Hà Nội"));
    let r = api.get(&format!("/api/v1/units/{}", s.hn_tu_phap)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["code"], "forbidden");

    // not listed either
    let list = api.get("/api/v1/units").await.json();
    let names: Vec<&str> = list.as_array().expect("list").iter().filter_map(|u| u["name"].as_str()).collect();
    assert!(names.contains(&"Sở Y tế"));
    assert!(!names.iter().any(|n| n.contains("Hà Nội")));
    let r = page.get("/don-vi?q=ha+noi").await;
    assert!(!r.body.contains("Sở Tư pháp thành phố Hà Nội"));
    let r = page.get(&format!("/cum-khoi/{}", s.hn_block)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // and cannot change it, nor its own authority's units
    let body = json!({"name": "Đổi tên", "kind": "department", "authority_id": s.hn});
    let r = api.json_req("PUT", &format!("/api/v1/units/{}", s.hn_tu_phap), body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let body = json!({"name": "Sở Y tế mới", "kind": "department", "authority_id": s.cb});
    let r = api.json_req("PUT", &format!("/api/v1/units/{}", s.y_te), body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = page
        .post_form(
            &format!("/don-vi/{}/sua", s.hn_tu_phap),
            &[("name", "Đổi tên"), ("kind", "department"), ("authority_id", &s.hn.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = page.post_form(&format!("/don-vi/{}/thoi-hoat-dong", s.hn_tu_phap), &[("date", "01/01/2026")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // nothing changed, every denial audited
    let mut tx = app.st.db.read().await.expect("tx");
    let u = thidua_db::org::unit(&mut tx, s.hn_tu_phap).await.expect("q").expect("unit");
    assert_eq!(u.name, "Sở Tư pháp thành phố Hà Nội");
    assert_eq!(u.active_to, None);
    drop(tx);
    let denials = app.audit_actions().await.into_iter().filter(|a| a.starts_with("denied:")).count();
    assert!(denials >= 6, "denials audited: {denials}");
    app.finish().await;
}

#[tokio::test]
async fn secretariat_manages_only_its_own_authority() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut hn = app.api_as("sec.hn").await;
    let r =
        hn.post_json("/api/v1/units", json!({"name": "Sở Xây dựng", "kind": "department", "authority_id": s.cb})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = hn
        .post_json("/api/v1/units", json!({"name": "Sở Xây dựng Hà Nội", "kind": "department", "authority_id": s.hn}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = hn
        .post_json(
            &format!("/api/v1/groups/{}/years/2026/members", s.block),
            json!({"unit_id": s.hoa_an, "role": "member"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.finish().await;
}

#[tokio::test]
async fn viewers_read_but_do_not_write_and_see_no_admin_pages() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut v = app.page_as("xem.cb").await;
    let home = v.get("/").await;
    assert!(home.body.contains("Tỉnh Cao Bằng"));
    assert!(!home.body.contains("href=\"/nguoi-dung\""));
    assert_eq!(v.get(&format!("/cum-khoi/{}", s.block)).await.status, StatusCode::OK);
    assert_eq!(v.get("/nguoi-dung").await.status, StatusCode::FORBIDDEN);
    assert_eq!(v.get("/nhat-ky").await.status, StatusCode::FORBIDDEN);
    assert_eq!(v.get("/don-vi/moi").await.status, StatusCode::FORBIDDEN);
    let r = v
        .post_form("/don-vi", &[("name", "Sở mới"), ("kind", "department"), ("authority_id", &s.cb.to_string())])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.finish().await;
}

#[tokio::test]
async fn unit_officer_home_shows_its_unit_and_groups() {
    let app = TestApp::new().await;
    let mut c = app.page_as("canbo.tuphap").await;
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Đơn vị của tôi"));
    assert!(home.body.contains("Sở Tư pháp"));
    assert!(home.body.contains("Khối các cơ quan Nội chính"));
    assert!(home.body.contains("Khối trưởng"));
    app.finish().await;
}

#[tokio::test]
async fn audit_log_is_scoped_for_a_secretariat() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut cb = app.api_as("sec.cb").await;
    let r =
        cb.post_json("/api/v1/units", json!({"name": "Sở Xây dựng", "kind": "department", "authority_id": s.cb})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mut hn = app.api_as("sec.hn").await;
    let r = hn
        .post_json("/api/v1/units", json!({"name": "Sở Xây dựng Hà Nội", "kind": "department", "authority_id": s.hn}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let rows = cb.get("/api/v1/audit?action=unit.create").await.json();
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["after_json"].as_str().unwrap_or("").contains("Sở Xây dựng"));
    let mut admin = app.page_as("admin").await;
    let page = admin.get("/nhat-ky?action=unit.create").await;
    assert!(page.body.contains("Sở Xây dựng Hà Nội"));
    app.finish().await;
}

#[tokio::test]
async fn a_central_units_officer_does_not_read_the_provinces_below() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut admin = app.api_as("admin").await;
    let r = admin
        .post_json("/api/v1/units", json!({"name": "Tỉnh Cao Bằng", "kind": "province", "authority_id": s.tw}))
        .await;
    let province = r.json()["id"].as_i64().expect("id");
    let r = admin
        .post_json(
            "/api/v1/users",
            json!({"username": "lanhdao.tinh", "full_name": "Lãnh đạo tỉnh", "password": crate::support::PASSWORD}),
        )
        .await;
    let uid = r.json()["id"].as_i64().expect("id");
    let r = admin
        .post_json(&format!("/api/v1/users/{uid}/grants"), json!({"role": "unit_leader", "unit_id": province}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mut c = app.api_as("lanhdao.tinh").await;
    assert_eq!(c.get(&format!("/api/v1/units/{province}")).await.status, StatusCode::OK);
    assert_eq!(c.get(&format!("/api/v1/units/{}", s.tu_phap)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.get(&format!("/api/v1/groups/{}", s.block)).await.status, StatusCode::FORBIDDEN);
    let list = c.get("/api/v1/units").await.json();
    let names: Vec<&str> = list.as_array().expect("list").iter().filter_map(|u| u["name"].as_str()).collect();
    assert_eq!(names, vec!["Tỉnh Cao Bằng"]);
    app.finish().await;
}

#[tokio::test]
async fn a_secretariat_sees_the_denials_on_its_authority() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut officer = app.api_as("canbo.tuphap").await;
    let r = officer
        .json_req(
            "PUT",
            &format!("/api/v1/units/{}", s.y_te),
            json!({"name": "X y", "kind": "department", "authority_id": s.cb}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut sec = app.api_as("sec.cb").await;
    let rows = sec.get("/api/v1/audit?action=denied:manage_unit").await.json();
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["actor_name"], "canbo.tuphap");
    let mut other = app.api_as("sec.hn").await;
    let rows = other.get("/api/v1/audit?action=denied:manage_unit").await.json();
    assert_eq!(rows.as_array().map(|r| r.len()), Some(0));
    app.finish().await;
}

/// Each card of the home page counts its authority's groups and the units
/// active today, as the linked lists show them; a closed unit is not counted.
#[tokio::test]
async fn home_cards_count_each_authoritys_groups_and_active_units() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut tx = app.st.db.begin().await.expect("tx");
    tx.exec("UPDATE units SET active_to = '2000-01-01' WHERE id = $1", thidua_db::args![s.hoa_an])
        .await
        .expect("closed");
    tx.exec("UPDATE units SET active_to = '2099-12-31' WHERE id = $1", thidua_db::args![s.y_te]).await.expect("open");
    tx.commit().await.expect("commit");
    let card = |body: &str, name: &str| -> String {
        let at = body.find(&format!("<strong>{name}</strong>")).unwrap_or_else(|| panic!("no card {name}: {body}"));
        let rest = &body[at..];
        let span = rest.find("<span>").expect("the counts") + "<span>".len();
        rest[span..span + rest[span..].find("</span>").expect("end")].to_string()
    };
    let mut admin = app.page_as("admin").await;
    let home = admin.get("/").await;
    assert_eq!(card(&home.body, "Tỉnh Cao Bằng"), "1 cụm, khối · 2 đơn vị đang hoạt động");
    assert_eq!(card(&home.body, "Thành phố Hà Nội"), "1 cụm, khối · 1 đơn vị đang hoạt động");
    assert_eq!(card(&home.body, "Hội đồng Thi đua - Khen thưởng Trung ương"), "0 cụm, khối · 0 đơn vị đang hoạt động");
    let mut sec = app.page_as("sec.cb").await;
    let home = sec.get("/").await;
    assert_eq!(card(&home.body, "Tỉnh Cao Bằng"), "1 cụm, khối · 2 đơn vị đang hoạt động");
    assert!(!home.body.contains("Thành phố Hà Nội"), "another province's card");
    app.finish().await;
}
