//! The calendar of a group's year through the API and the pages: the
//! authority's secretariat sets defaults and windows, the head unit moves the
//! group's dates within them, everything else is refused and audited.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{Client, TestApp};

/// A full calendar for 2026: (event, default, earliest, latest).
const SAMPLE: &[(&str, &str, &str, &str)] = &[
    ("covenant_signing", "15/03/2026", "01/03/2026", "31/03/2026"),
    ("mid_year_review", "15/07/2026", "01/07/2026", "31/07/2026"),
    ("self_assessment_deadline", "15/11/2026", "10/11/2026", "20/11/2026"),
    ("head_review", "30/11/2026", "16/11/2026", "05/12/2026"),
    ("explanation", "05/12/2026", "01/12/2026", "10/12/2026"),
    ("appraisal", "15/12/2026", "", ""),
    ("deliberation", "20/12/2026", "16/12/2026", "31/12/2026"),
    ("year_end_review", "20/12/2026", "16/12/2026", "15/01/2027"),
];

fn sample() -> Value {
    let events: Vec<Value> = SAMPLE
        .iter()
        .map(|(e, d, a, b)| json!({"event": e, "default_on": d, "earliest_on": a, "latest_on": b}))
        .collect();
    json!({"events": events, "reason": "Kế hoạch số 12/KH-HĐTĐKT"})
}

fn line<'a>(cal: &'a Value, event: &str) -> &'a Value {
    cal["events"].as_array().and_then(|v| v.iter().find(|l| l["event"] == event)).expect("event line")
}

async fn set_sample(app: &TestApp) {
    let mut sec = app.api_as("sec.cb").await;
    let r = sec.json_req("PUT", &format!("/api/v1/authorities/{}/years/2026/calendar", app.seed.cb), sample()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn group_cal(c: &mut Client<'_>, group: i64) -> Value {
    let r = c.get(&format!("/api/v1/groups/{group}/years/2026/calendar")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

async fn move_dates(c: &mut Client<'_>, group: i64, dates: &[(&str, &str)], reason: &str) -> crate::support::Resp {
    let events: Vec<Value> = dates.iter().map(|(e, d)| json!({"event": e, "date": d})).collect();
    c.json_req(
        "PUT",
        &format!("/api/v1/groups/{group}/years/2026/calendar"),
        json!({"events": events, "reason": reason}),
    )
    .await
}

#[tokio::test]
async fn the_head_moves_the_groups_dates_within_the_authoritys_window() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut sec = app.api_as("sec.cb").await;
    let r = sec.json_req("PUT", &format!("/api/v1/authorities/{}/years/2026/calendar", s.cb), sample()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cal = r.json();
    assert_eq!(line(&cal, "covenant_signing")["default_on"], "2026-03-15");
    assert_eq!(line(&cal, "covenant_signing")["earliest_on"], "2026-03-01");
    // an empty window end is the default date: the appraisal cannot move
    assert_eq!(line(&cal, "appraisal")["earliest_on"], "2026-12-15");
    assert_eq!(line(&cal, "appraisal")["latest_on"], "2026-12-15");
    assert_eq!(cal["may_manage"], true);

    // a member sees the authority's dates
    let mut member = app.api_as("canbo.yte").await;
    let g = group_cal(&mut member, s.block).await;
    assert_eq!(line(&g, "covenant_signing")["date"], "2026-03-15");
    assert_eq!(line(&g, "covenant_signing")["source"], "authority");
    assert_eq!(g["may_move"], false);

    // the head unit's officer moves the covenant signing inside the window
    let mut head = app.api_as("canbo.tuphap").await;
    assert_eq!(group_cal(&mut head, s.block).await["may_move"], true);
    let r = move_dates(&mut head, s.block, &[("covenant_signing", "25/03/2026")], "Trùng lịch họp HĐND tỉnh").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let g = r.json();
    assert_eq!(line(&g, "covenant_signing")["date"], "2026-03-25");
    assert_eq!(line(&g, "covenant_signing")["source"], "group");
    assert_eq!(line(&g, "covenant_signing")["default_on"], "2026-03-15");
    assert_eq!(line(&g, "covenant_signing")["reason"], "Trùng lịch họp HĐND tỉnh");
    assert_eq!(line(&g, "mid_year_review")["source"], "authority");

    // outside the window: refused with the window in the message, nothing stored
    let r = move_dates(&mut head, s.block, &[("covenant_signing", "05/04/2026")], "Dời sang tháng 4").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let msg = r.json()["error"]["message"].as_str().unwrap_or("").to_string();
    assert!(msg.contains("nằm ngoài khoảng") && msg.contains("01/03/2026") && msg.contains("31/03/2026"), "{msg}");
    // a date the authority fixed cannot move
    let r = move_dates(&mut head, s.block, &[("appraisal", "16/12/2026")], "Dời thẩm định").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("không cho dời"), "{}", r.body);
    // inside their windows but out of order: the head review before the self-assessment deadline
    let r = move_dates(
        &mut head,
        s.block,
        &[("self_assessment_deadline", "20/11/2026"), ("head_review", "17/11/2026")],
        "Đổi thứ tự",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = &r.json()["error"]["fields"][0];
    assert_eq!(e["field"], "Đơn vị trưởng tổng hợp, đối chiếu");
    assert!(e["message"].as_str().unwrap_or("").contains("không được trước"), "{e}");
    // a move needs a reason
    let r = move_dates(&mut head, s.block, &[("mid_year_review", "20/07/2026")], "  ").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["fields"][0]["field"], "Lý do");
    // an unknown event
    let r = move_dates(&mut head, s.block, &[("picnic", "20/07/2026")], "Đi dã ngoại").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("không có trong lịch"), "{}", r.body);
    let g = group_cal(&mut head, s.block).await;
    assert_eq!(line(&g, "covenant_signing")["date"], "2026-03-25");
    assert_eq!(line(&g, "self_assessment_deadline")["source"], "authority");
    assert_eq!(line(&g, "head_review")["source"], "authority");
    assert_eq!(line(&g, "mid_year_review")["source"], "authority");

    // a member unit's officer cannot move: 403, audited
    let r = move_dates(&mut member, s.block, &[("mid_year_review", "20/07/2026")], "Thành viên muốn dời").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["message"], "Bạn không có quyền điều hành cụm, khối trong năm này.");
    assert_eq!(app.audit_actions().await[0], "denied:lead_group_year");
    assert_eq!(line(&group_cal(&mut head, s.block).await, "mid_year_review")["source"], "authority");

    // back to the authority's date
    let r = move_dates(&mut head, s.block, &[("covenant_signing", "")], "Theo lịch chung").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(line(&r.json(), "covenant_signing")["source"], "authority");

    // every change is in the audit log with before, after and reason
    let rows = sec.get(&format!("/api/v1/audit?object_type=group&object_id={}", s.block)).await.json();
    let rows = rows.as_array().expect("rows");
    let moves: Vec<&Value> = rows.iter().filter(|r| r["action"] == "calendar.move").collect();
    assert_eq!(moves.len(), 2, "{rows:?}");
    assert_eq!(moves[1]["reason"], "Trùng lịch họp HĐND tỉnh");
    assert_eq!(moves[1]["actor_name"], "canbo.tuphap");
    let before: Value = serde_json::from_str(moves[1]["before_json"].as_str().expect("before")).expect("json");
    let after: Value = serde_json::from_str(moves[1]["after_json"].as_str().expect("after")).expect("json");
    assert_eq!(before, json!({"year": 2026, "dates": {"covenant_signing": null}}));
    assert_eq!(after, json!({"year": 2026, "dates": {"covenant_signing": "2026-03-25"}}));
    assert_eq!(moves[0]["reason"], "Theo lịch chung");
    let rows = sec.get(&format!("/api/v1/audit?action=calendar.defaults&object_id={}", s.cb)).await.json();
    let row = &rows.as_array().expect("rows")[0];
    assert_eq!(row["reason"], "Kế hoạch số 12/KH-HĐTĐKT");
    assert!(row["after_json"].as_str().unwrap_or("").contains("\"default_on\":\"2026-03-15\""), "{row}");
    app.finish().await;
}

#[tokio::test]
async fn only_the_authoritys_secretariat_sets_the_defaults() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let path = format!("/api/v1/authorities/{}/years/2026/calendar", s.cb);
    // another authority's secretariat: refused, audited, nothing stored
    let mut hn = app.api_as("sec.hn").await;
    let r = hn.json_req("PUT", &path, sample()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("đặt lịch chung"), "{}", r.body);
    assert_eq!(app.audit_actions().await[0], "denied:manage_calendar");
    assert_eq!(hn.get(&path).await.status, StatusCode::FORBIDDEN);
    assert_eq!(hn.get(&format!("/api/v1/groups/{}/years/2026/calendar", s.block)).await.status, StatusCode::FORBIDDEN);
    // the head unit's officer moves the group's dates, but does not set the authority's
    let mut head = app.api_as("canbo.tuphap").await;
    assert_eq!(head.json_req("PUT", &path, sample()).await.status, StatusCode::FORBIDDEN);
    let mut viewer = app.api_as("xem.cb").await;
    assert_eq!(viewer.json_req("PUT", &path, sample()).await.status, StatusCode::FORBIDDEN);
    let cal = viewer.get(&path).await;
    assert_eq!(cal.status, StatusCode::OK, "{}", cal.body);
    assert_eq!(cal.json()["may_manage"], false);
    assert!(line(&cal.json(), "covenant_signing")["default_on"].is_null(), "nothing stored");
    // no window yet: a group cannot choose a date
    let r = move_dates(&mut head, s.block, &[("covenant_signing", "25/03/2026")], "Chọn ngày").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("chưa đặt lịch chung"), "{}", r.body);
    // Hà Nội sets its own calendar
    let r = hn.json_req("PUT", &format!("/api/v1/authorities/{}/years/2026/calendar", s.hn), sample()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // the administrator may
    let mut admin = app.api_as("admin").await;
    assert_eq!(admin.json_req("PUT", &path, sample()).await.status, StatusCode::OK);
    app.finish().await;
}

#[tokio::test]
async fn bad_defaults_are_refused_with_what_to_fix() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let path = format!("/api/v1/authorities/{}/years/2026/calendar", s.cb);
    let mut sec = app.api_as("sec.cb").await;
    // the mid-year review before the covenant signing
    let body = json!({"events": [
        {"event": "covenant_signing", "default_on": "15/03/2026"},
        {"event": "mid_year_review", "default_on": "10/03/2026"}
    ]});
    let r = sec.json_req("PUT", &path, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = &r.json()["error"]["fields"][0];
    assert_eq!(e["field"], "Sơ kết 6 tháng");
    assert!(e["message"].as_str().unwrap_or("").contains("phải sau ngày \"Ký kết giao ước thi đua\""), "{e}");
    // a window that does not hold its default, a date outside the year, a bad date: all at once
    let body = json!({"events": [
        {"event": "covenant_signing", "default_on": "15/03/2026", "earliest_on": "20/03/2026"},
        {"event": "mid_year_review", "default_on": "15/07/2027"},
        {"event": "Tổng kết", "default_on": "32/12/2026"}
    ]});
    let r = sec.json_req("PUT", &path, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = r.json()["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["message"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(fields.len(), 3, "{fields:?}");
    assert!(fields.iter().any(|m| m.contains("không đúng dạng ngày")), "{fields:?}");
    assert!(fields.iter().any(|m| m.contains("ngày sớm nhất")), "{fields:?}");
    assert!(fields.iter().any(|m| m.contains("không thuộc năm thi đua 2026")), "{fields:?}");
    // a year not open
    let body = json!({"events": [{"event": "covenant_signing", "default_on": "15/03/2030"}]});
    let r = sec.json_req("PUT", &format!("/api/v1/authorities/{}/years/2030/calendar", s.cb), body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("chưa được mở"));
    assert!(!app.audit_actions().await.contains(&"calendar.defaults".to_string()), "nothing stored");

    // once a group has moved a date, the window cannot leave it out, nor can the event be dropped
    let r = sec.json_req("PUT", &path, sample()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut head = app.api_as("canbo.tuphap").await;
    let r = move_dates(&mut head, s.block, &[("covenant_signing", "28/03/2026")], "Trùng lịch").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let narrow = json!({"events": [{"event": "covenant_signing", "default_on": "15/03/2026", "earliest_on": "10/03/2026", "latest_on": "20/03/2026"}]});
    let r = sec.json_req("PUT", &path, narrow).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = &r.json()["error"]["fields"][0];
    assert_eq!(e["field"], "Khối các cơ quan Nội chính");
    assert!(e["message"].as_str().unwrap_or("").contains("28/03/2026"), "{e}");
    let drop = json!({"events": [{"event": "covenant_signing", "default_on": ""}]});
    let r = sec.json_req("PUT", &path, drop).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Không thể bỏ"), "{}", r.body);
    // a new default that puts the group's own date out of order
    let later = json!({"events": [{"event": "mid_year_review", "default_on": "20/03/2026", "earliest_on": "01/03/2026", "latest_on": "31/07/2026"}]});
    let r = sec.json_req("PUT", &path, later).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Lịch riêng của"), "{}", r.body);
    // the calendar is as it was
    let cal = sec.get(&path).await.json();
    assert_eq!(line(&cal, "covenant_signing")["latest_on"], "2026-03-31");
    assert_eq!(line(&cal, "covenant_signing")["groups_moved"], 1);
    assert_eq!(line(&cal, "mid_year_review")["default_on"], "2026-07-15");
    // a wider window is fine, and dropping an event no group moved
    let wide = json!({"events": [
        {"event": "covenant_signing", "default_on": "15/03/2026", "earliest_on": "20/12/2025", "latest_on": "15/04/2026"},
        {"event": "explanation", "default_on": ""}
    ], "reason": "Nới thời hạn ký kết"});
    let r = sec.json_req("PUT", &path, wide).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(line(&r.json(), "explanation")["default_on"].is_null());
    assert_eq!(line(&r.json(), "covenant_signing")["earliest_on"], "2025-12-20");
    app.finish().await;
}

#[tokio::test]
async fn calendar_pages_work_without_javascript() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut sec = app.page_as("sec.cb").await;
    let url = format!("/lich/{}/2026", s.cb);
    let page = sec.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sửa lịch chung"));
    assert!(page.body.contains("Chưa đặt lịch"));
    let mut form: Vec<(String, String)> = Vec::new();
    for (e, d, a, b) in SAMPLE {
        form.push((format!("default_{e}"), d.to_string()));
        form.push((format!("earliest_{e}"), a.to_string()));
        form.push((format!("latest_{e}"), b.to_string()));
    }
    // a bad window first: the page says what to fix and keeps what was typed
    let mut bad = form.clone();
    bad[1].1 = "20/03/2026".into();
    let fields: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = sec.post_form(&url, &fields).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("ngày sớm nhất (20/03/2026) phải trước hoặc bằng ngày mặc định (15/03/2026)"),
        "{}",
        r.body
    );
    assert!(r.body.contains("value=\"20/03/2026\""));
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = sec.post_form(&url, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = sec.get(&r.location()).await;
    assert!(page.body.contains("Đã lưu lịch chung năm 2026"));
    assert!(page.body.contains("15/03/2026"));
    assert!(page.body.contains(&format!("/cum-khoi/{}/nam/2026/lich", s.block)));

    // the group's page links to its calendar
    let mut head = app.page_as("canbo.tuphap").await;
    let group = head.get(&format!("/cum-khoi/{}", s.block)).await;
    let cal_url = format!("/cum-khoi/{}/nam/2026/lich", s.block);
    assert!(group.body.contains(&cal_url), "{}", group.body);
    let page = head.get(&cal_url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Dời lịch của cụm, khối"));
    assert!(page.body.contains("01/03/2026 – 31/03/2026"));
    assert!(page.body.contains("Không được dời"));
    // outside the window: refused, typed value kept
    let r = head.post_form(&cal_url, &[("date_covenant_signing", "05/04/2026"), ("reason", "Trùng lịch")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("nằm ngoài khoảng"), "{}", r.body);
    assert!(r.body.contains("value=\"05/04/2026\""));
    // without a reason
    let r = head.post_form(&cal_url, &[("date_covenant_signing", "25/03/2026"), ("reason", "")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Hãy ghi lý do"), "{}", r.body);
    // within the window, with the other (empty) fields of the form: only the moved date is stored
    let r = head
        .post_form(
            &cal_url,
            &[
                ("date_covenant_signing", "25/03/2026"),
                ("date_mid_year_review", ""),
                ("date_year_end_review", ""),
                ("reason", "Trùng lịch họp HĐND tỉnh"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = head.get(&r.location()).await;
    assert!(page.body.contains("Đã lưu lịch năm 2026"));
    assert!(page.body.contains("Lịch riêng của cụm, khối"));
    assert!(page.body.contains("25/03/2026"));
    assert!(page.body.contains("Trùng lịch họp HĐND tỉnh"));
    assert!(page.body.contains("value=\"25/03/2026\""), "the form shows the group's own date");
    let mut api = app.api_as("canbo.tuphap").await;
    let g = group_cal(&mut api, s.block).await;
    let own: Vec<&Value> = g["events"].as_array().expect("events").iter().filter(|l| l["source"] == "group").collect();
    assert_eq!(own.len(), 1);

    // a member reads the calendar but has no form, and a post is refused
    let mut member = app.page_as("canbo.yte").await;
    let page = member.get(&cal_url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("25/03/2026"));
    assert!(!page.body.contains("Dời lịch của cụm, khối"));
    let r = member.post_form(&cal_url, &[("date_mid_year_review", "20/07/2026"), ("reason", "Thử")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Bạn không có quyền điều hành cụm, khối trong năm này."));
    // and cannot change the authority's calendar
    let r = member.post_form(&url, &[("default_covenant_signing", "16/03/2026")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let page = member.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Sửa lịch chung"));
    // the index lists the calendars the user may read
    let index = sec.get("/lich").await;
    assert!(index.body.contains(&url), "{}", index.body);
    app.finish().await;
}

#[tokio::test]
async fn the_calendar_is_in_the_openapi_document() {
    let app = TestApp::new().await;
    set_sample(&app).await;
    let mut c = app.api_as("canbo.yte").await;
    let doc = c.get("/api/v1/openapi.json").await.json();
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/calendar/rules",
        "/api/v1/authorities/{id}/years/{year}/calendar",
        "/api/v1/groups/{id}/years/{year}/calendar",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert_eq!(doc["paths"]["/api/v1/groups/{id}/years/{year}/calendar"]["put"]["tags"][0], "Lịch");
    assert!(doc["components"]["schemas"]["GroupCalendar"].is_object());
    let rules = c.get("/api/v1/calendar/rules").await.json();
    assert_eq!(rules["events"].as_array().map(|v| v.len()), Some(8));
    assert_eq!(rules["events"][1]["label"], "Sơ kết 6 tháng");
    app.finish().await;
}
