//! The organisation registry through the pages and the API.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn units_are_created_searched_and_edited_through_the_api() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut c = app.api_as("sec.cb").await;
    let r = c
        .post_json(
            "/api/v1/units",
            json!({"name": "  Sở  Văn hóa, Thể thao và Du lịch ", "short_name": "Sở VHTTDL", "kind": "Sở, ban, ngành", "authority_id": s.cb, "active_from": "01/03/2025"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let u = r.json();
    assert_eq!(u["name"], "Sở Văn hóa, Thể thao và Du lịch");
    assert_eq!(u["active_from"], "2025-03-01");
    let id = u["id"].as_i64().expect("id");
    // found without diacritics
    let found = c.get("/api/v1/units?q=van%20hoa%20the%20thao").await.json();
    assert_eq!(found.as_array().map(|a| a.len()), Some(1));
    // the same name twice is a conflict
    let r = c
        .post_json(
            "/api/v1/units",
            json!({"name": "Sở Văn hóa, Thể thao và Du lịch", "kind": "department", "authority_id": s.cb}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["error"]["message"].as_str().unwrap_or("").contains("Đã có đơn vị"));
    // bad input: every field's message at once, nothing stored
    let r = c
        .post_json("/api/v1/units", json!({"name": " ", "kind": "công ty ma", "authority_id": s.cb, "active_from": "31/02/2025", "active_to": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = r.json()["error"]["fields"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = fields.iter().filter_map(|f| f["field"].as_str()).collect();
    assert!(names.contains(&"Tên đơn vị") && names.contains(&"Loại") && names.contains(&"Hoạt động từ"), "{names:?}");
    // an end before the start
    let r = c
        .json_req("PUT", &format!("/api/v1/units/{id}"), json!({"name": "Sở VHTTDL", "kind": "department", "authority_id": s.cb, "active_from": "01/03/2025", "active_to": "01/01/2025"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("phải sau ngày bắt đầu"));
    // a real edit is audited with before and after
    let r = c
        .json_req("PUT", &format!("/api/v1/units/{id}"), json!({"name": "Sở Văn hóa, Thể thao và Du lịch tỉnh Cao Bằng", "kind": "department", "authority_id": s.cb}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rows = c.get(&format!("/api/v1/audit?object_type=unit&object_id={id}")).await.json();
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows[0]["action"], "unit.update");
    assert!(rows[0]["before_json"].as_str().unwrap_or("").contains("\"Sở Văn hóa, Thể thao và Du lịch\""));
    app.finish().await;
}

#[tokio::test]
async fn unit_pages_create_show_errors_and_keep_input() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut c = app.page_as("sec.cb").await;
    let form = c.get("/don-vi/moi").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("Thêm đơn vị"));
    let r = c
        .post_form(
            "/don-vi",
            &[
                ("name", "Sở Công Thương"),
                ("kind", "department"),
                ("authority_id", &s.cb.to_string()),
                ("active_from", "1/13/2025"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("không đúng dạng ngày"));
    assert!(r.body.contains("value=\"Sở Công Thương\""), "the typed name is kept");
    let r = c
        .post_form(
            "/don-vi",
            &[("name", "Sở Công Thương"), ("kind", "department"), ("authority_id", &s.cb.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get(&r.location()).await;
    assert!(page.body.contains("Đã thêm đơn vị"));
    let list = c.get("/don-vi?q=cong+thuong").await;
    assert!(list.body.contains("Sở Công Thương"));
    app.finish().await;
}

#[tokio::test]
async fn lineage_keeps_history_on_both_sides() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut c = app.api_as("sec.cb").await;
    let r =
        c.post_json("/api/v1/units", json!({"name": "Sở Nội vụ", "kind": "department", "authority_id": s.cb})).await;
    let succ = r.json()["id"].as_i64().expect("id");
    let r = c
        .post_json(
            &format!("/api/v1/units/{}/lineage", s.y_te),
            json!({"successor_id": succ, "kind": "merged", "effective_on": "01/03/2025", "note": "Nghị quyết sắp xếp", "close_predecessor": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let old = c.get(&format!("/api/v1/units/{}", s.y_te)).await.json();
    assert_eq!(old["unit"]["active_to"], "2025-02-28");
    assert_eq!(old["lineage"][0]["successor_name"], "Sở Nội vụ");
    // the old unit still shows its memberships
    assert_eq!(old["memberships"][0]["group_name"], "Khối các cơ quan Nội chính");
    let mut p = app.page_as("sec.cb").await;
    let page = p.get(&format!("/don-vi/{succ}")).await;
    assert!(page.body.contains("Tiếp nhận (sáp nhập) từ"));
    assert!(page.body.contains("Sở Y tế"));
    assert!(page.body.contains("01/03/2025"));
    // twice is refused, and itself as successor is refused
    let again = c
        .post_json(
            &format!("/api/v1/units/{}/lineage", s.y_te),
            json!({"successor_id": succ, "kind": "merged", "effective_on": "01/03/2025"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let me = c
        .post_json(
            &format!("/api/v1/units/{succ}/lineage"),
            json!({"successor_id": succ, "kind": "renamed", "effective_on": "01/03/2025"}),
        )
        .await;
    assert_eq!(me.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.finish().await;
}

#[tokio::test]
async fn memberships_follow_the_rules() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut c = app.api_as("sec.cb").await;
    let path = format!("/api/v1/groups/{}/years/2026/members", s.block);
    // a second head is refused with the holder's name
    let r = c.post_json(&path, json!({"unit_id": s.hoa_an, "role": "head"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Sở Tư pháp"), "{}", r.body);
    // a deputy is fine
    let r = c.post_json(&path, json!({"unit_id": s.hoa_an, "role": "deputy"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mid = r.json()["membership_id"].as_i64().expect("id");
    // twice in the same group-year
    assert_eq!(c.post_json(&path, json!({"unit_id": s.hoa_an, "role": "member"})).await.status, StatusCode::CONFLICT);
    // a unit of another authority: not even visible to this secretariat, so refused without naming it
    let r = c.post_json(&path, json!({"unit_id": s.hn_tu_phap, "role": "member"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.body.contains("Hà Nội"), "{}", r.body);
    // a unit registered higher up (a central unit) cannot join a provincial group
    let mut admin = app.api_as("admin").await;
    let r = admin
        .post_json("/api/v1/units", json!({"name": "Tỉnh Cao Bằng", "kind": "province", "authority_id": s.tw}))
        .await;
    let province = r.json()["id"].as_i64().expect("id");
    let r = admin.post_json(&path, json!({"unit_id": province, "role": "member"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("không thuộc"), "{}", r.body);
    // a year that is not open
    let r = c
        .post_json(
            &format!("/api/v1/groups/{}/years/2030/members", s.block),
            json!({"unit_id": s.hoa_an, "role": "member"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("chưa được mở"));
    // one group per authority per year
    let r = c
        .post_json(
            "/api/v1/groups",
            json!({"kind": "cluster", "name": "Cụm thi đua các xã số 1", "authority_id": s.cb}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let other = r.json()["id"].as_i64().expect("id");
    let r = c
        .post_json(&format!("/api/v1/groups/{other}/years/2026/members"), json!({"unit_id": s.y_te, "role": "member"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("đã là thành viên của"));
    // role changes and removal
    let r = c.json_req("PUT", &format!("/api/v1/memberships/{mid}"), json!({"role": "head"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c.json_req("PUT", &format!("/api/v1/memberships/{mid}"), json!({"role": "member"})).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = c.json_req("DELETE", &format!("/api/v1/memberships/{mid}"), json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // the group's page shows heads over the years
    let mut p = app.page_as("sec.cb").await;
    let page = p.get(&format!("/cum-khoi/{}", s.block)).await;
    assert!(page.body.contains("Khối trưởng"));
    assert!(page.body.contains("Sở Tư pháp"));
    let detail = c.get(&format!("/api/v1/groups/{}", s.block)).await.json();
    assert_eq!(detail["years"][0]["year"], 2026);
    assert_eq!(detail["years"][0]["head"], "Sở Tư pháp");
    // the groups list and the home page show the same head and member count
    // of the year, read for the whole list at once (a member of 2025 only is not counted)
    let r = c
        .post_json(
            &format!("/api/v1/groups/{}/years/2025/members", s.block),
            json!({"unit_id": s.hoa_an, "role": "member"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let n = detail["years"][0]["members"].as_array().expect("members").len();
    assert!(n >= 2, "{detail}");
    let row = format!(
        "<a href=\"/cum-khoi/{}\">Khối các cơ quan Nội chính</a></td><td data-label=\"Loại\">Khối thi đua</td>",
        s.block
    );
    let list = p.get("/cum-khoi").await;
    let at = list.body.find(&row).unwrap_or_else(|| panic!("{row} in {}", list.body));
    let rest = &list.body[at..];
    let rest = &rest[..rest.find("</tr>").expect("row end")];
    assert!(rest.contains("<td data-label=\"Trưởng\">Sở Tư pháp</td>"), "{rest}");
    assert!(rest.contains(&format!("<td data-label=\"Thành viên\" class=\"num\">{n}</td>")), "{rest}");
    let home = p.get("/").await;
    let row = format!("<a href=\"/cum-khoi/{}\">Khối các cơ quan Nội chính</a>", s.block);
    let at = home.body.find(&row).unwrap_or_else(|| panic!("{row} in {}", home.body));
    let rest = &home.body[at..];
    let rest = &rest[..rest.find("</tr>").expect("row end")];
    assert!(rest.contains("<td data-label=\"Trưởng\">Sở Tư pháp</td>"), "{rest}");
    assert!(rest.contains(&format!("<td data-label=\"Thành viên\" class=\"num\">{n}</td>")), "{rest}");
    assert!(home.body.contains("<h3>Cụm, khối của Tỉnh Cao Bằng năm 2026</h3>"), "{}", home.body);
    // an authority above or beside others lists its own groups only: the
    // others have their card and its links (an administrator: cards only)
    let mut a = app.page_as("admin").await;
    let home = a.get("/").await;
    for name in ["Hội đồng Thi đua - Khen thưởng Trung ương", "Tỉnh Cao Bằng", "Thành phố Hà Nội"]
    {
        assert!(home.body.contains(&format!("<li class=\"card\"><strong>{name}</strong>")), "{name}: {}", home.body);
    }
    assert!(home.body.contains(&format!("<a href=\"/cum-khoi?authority_id={}\">Xem cụm, khối</a>", s.cb)));
    assert!(!home.body.contains("<h3>Cụm, khối của"), "{}", home.body);
    assert!(!home.body.contains("Khối các cơ quan Nội chính"), "{}", home.body);
    app.finish().await;
}

#[tokio::test]
async fn group_pages_manage_members_by_year() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut c = app.page_as("sec.cb").await;
    let page = c.get(&format!("/cum-khoi/{}/nam/2025", s.block)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Chưa có thành viên"));
    let r = c
        .post_form(
            &format!("/cum-khoi/{}/nam/2025", s.block),
            &[("unit_id", &s.tu_phap.to_string()), ("role", "deputy")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/cum-khoi/{}", s.block)).await;
    assert!(page.body.contains("2025"));
    let list = c.get("/cum-khoi?q=noi+chinh").await;
    assert!(list.body.contains("Khối các cơ quan Nội chính"));
    assert!(!list.body.contains("Khối Nội chính Hà Nội"));
    app.finish().await;
}

#[tokio::test]
async fn admin_manages_authorities_years_and_users() {
    let app = TestApp::new().await;
    let mut c = app.api_as("admin").await;
    let r = c
        .post_json(
            "/api/v1/authorities",
            json!({"name": "Bộ Tài chính", "level": "ministry", "parent_id": app.seed.tw}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = c.post_json("/api/v1/years", json!({"year": 2026})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = c
        .post_json(
            "/api/v1/users",
            json!({"username": "Nguyen.Van.A", "full_name": "Nguyễn Văn A", "password": "ngan"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c
        .post_json(
            "/api/v1/users",
            json!({"username": "Nguyen.Van.A", "full_name": "Nguyễn Văn A", "password": "mật khẩu đủ dài rồi"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");
    assert_eq!(r.json()["username"], "nguyen.van.a");
    assert!(r.json().get("password_hash").is_none());
    let r = c
        .post_json(&format!("/api/v1/users/{id}/grants"), json!({"role": "unit_officer", "unit_id": app.seed.hoa_an}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = c.post_json(&format!("/api/v1/users/{id}/grants"), json!({"role": "secretariat"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut u = app.client();
    assert_eq!(u.login_page("nguyen.van.a", "mật khẩu đủ dài rồi").await.status, StatusCode::SEE_OTHER);
    let r = c.post_json(&format!("/api/v1/users/{id}/disabled"), json!({"disabled": true})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(u.get("/").await.status, StatusCode::SEE_OTHER, "a disabled user's session ends");
    let mut v = app.client();
    assert_eq!(v.login_page("nguyen.van.a", "mật khẩu đủ dài rồi").await.status, StatusCode::UNAUTHORIZED);
    let mut p = app.page_as("admin").await;
    let users = p.get("/nguoi-dung").await;
    assert!(users.body.contains("nguyen.van.a"));
    assert!(users.body.contains("Đã khoá"));
    app.finish().await;
}
