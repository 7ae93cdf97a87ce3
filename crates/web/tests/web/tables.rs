//! Scoring-table templates and a group-year's table versions.

use axum::http::StatusCode;
use serde_json::json;
use thidua_core::scoring::sample_table;

use crate::support::TestApp;

/// The secretariat writes and publishes a template from the sample table.
async fn published_template(app: &TestApp) -> i64 {
    let mut sec = app.api_as("sec.cb").await;
    let r = sec
        .post_json("/api/v1/templates", json!({"authority_id": app.seed.cb, "name": "Bảng điểm khối sở, ngành 2026", "legal_basis": "Quyết định số 12/QĐ-UBND"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");
    // an empty table cannot be published
    assert_eq!(
        sec.post_json(&format!("/api/v1/templates/{id}/publish"), json!({})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = sec
        .json_req("PUT", &format!("/api/v1/templates/{id}"), serde_json::to_value(sample_table()).expect("json"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = sec.post_json(&format!("/api/v1/templates/{id}/publish"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    id
}

#[tokio::test]
async fn templates_are_written_by_the_secretariat_and_seen_once_published() {
    let app = TestApp::new().await;
    let mut officer = app.api_as("canbo.tuphap").await;
    let r = officer.post_json("/api/v1/templates", json!({"authority_id": app.seed.cb, "name": "Bảng của tôi"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut hn = app.api_as("sec.hn").await;
    let r = hn
        .post_json("/api/v1/templates", json!({"authority_id": app.seed.cb, "name": "Bảng của Hà Nội cho Cao Bằng"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let id = published_template(&app).await;
    let list = officer.get("/api/v1/templates").await.json();
    assert_eq!(list.as_array().map(|l| l.len()), Some(1));
    let got = officer.get(&format!("/api/v1/templates/{id}")).await.json();
    assert_eq!(got["table"]["lines"][0]["code"], "I");
    assert_eq!(got["problems"].as_array().map(|p| p.len()), Some(0));
    assert_eq!(hn.get(&format!("/api/v1/templates/{id}")).await.status, StatusCode::FORBIDDEN);
    let mut page = app.page_as("sec.cb").await;
    let p = page.get(&format!("/bang-diem-mau/{id}")).await;
    assert!(p.body.contains("Bảng điểm khối sở, ngành 2026"));
    assert!(p.body.contains("Tổng điểm nội dung:</strong> 950"));
    app.finish().await;
}

#[tokio::test]
async fn the_head_unit_adjusts_the_table_and_the_group_adopts_it() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let tpl = published_template(&app).await;
    let mut head = app.page_as("canbo.tuphap").await;
    let base = format!("/cum-khoi/{}/nam/2026/bang-diem", s.block);
    let page = head.get(&base).await;
    assert!(page.body.contains("Lập dự thảo"), "{}", page.body);
    let r = head.post_form(&format!("{base}/bat-dau"), &[("source", &format!("template:{tpl}"))]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let draft = r.location();
    let table_id: i64 = draft.trim_start_matches("/bang-diem/").parse().expect("id");
    // a member unit's officer may look but not edit
    let mut member = app.page_as("canbo.yte").await;
    let view = member.get(&draft).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(!view.body.contains("Sửa dòng"));
    let r = member.post_form(&format!("{draft}/sua"), &[("op", "move_down"), ("code", "I")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // the head raises I.3 by 10: the table no longer adds up, and says so
    let editor = head.get(&draft).await;
    assert!(editor.body.contains("Sửa dòng I.3"));
    let set = |max: &'static str| {
        vec![
            ("op", "set_line"),
            ("code", "I.3"),
            ("new_code", "I.3"),
            ("name", "Cải cách hành chính, chuyển đổi số"),
            ("max", max),
            ("method", "manual"),
        ]
    };
    let r = head.post_form(&format!("{draft}/sua"), &set("110")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let editor = head.get(&draft).await;
    assert!(editor.body.contains("chưa hợp lệ"), "the editor shows the problem");
    assert!(editor.body.contains("các dòng con: 510"));
    let r = head.post_form(&format!("{draft}/thong-qua"), &[("effective_from", "01/01/2026")]).await;
    let back = head.get(&r.location()).await;
    assert!(back.body.contains("flash-error"), "adoption refused while invalid");
    // bad input to a step is refused with a message, nothing stored
    let r = head
        .post_form(
            &format!("{draft}/sua"),
            &[
                ("op", "set_line"),
                ("code", "I.3"),
                ("new_code", "I.3"),
                ("name", "X"),
                ("max", "-5"),
                ("method", "manual"),
            ],
        )
        .await;
    let back = head.get(&r.location()).await;
    assert!(back.body.contains("không được âm"), "{}", back.body);
    // the review's flag thresholds are the table's own: set on the page, checked
    let flags =
        |far: &'static str| vec![("op", "set_flags"), ("flag_far", far), ("flag_outlier", "35"), ("flag_units", "4")];
    let r = head.post_form(&format!("{draft}/sua"), &flags("abc")).await;
    let back = head.get(&r.location()).await;
    assert!(back.body.contains("abc&#34; không hợp lệ: ghi một số nguyên dương"), "{}", back.body);
    let r = head.post_form(&format!("{draft}/sua"), &flags("0")).await;
    let back = head.get(&r.location()).await;
    assert!(back.body.contains("ghi một số nguyên từ 1 đến 100"), "{}", back.body);
    // every field's problem at once: what is not a number, then what is out of range
    let all = |far: &'static str, outlier: &'static str, units: &'static str| {
        vec![("op", "set_flags"), ("flag_far", far), ("flag_outlier", outlier), ("flag_units", units)]
    };
    let r = head.post_form(&format!("{draft}/sua"), &all("abc", "x", "2,5")).await;
    let back = head.get(&r.location()).await;
    for typed in ["abc", "x", "2,5"] {
        assert!(back.body.contains(&format!("{typed}&#34; không hợp lệ: ghi một số nguyên dương")), "{}", back.body);
    }
    let r = head.post_form(&format!("{draft}/sua"), &all("0", "101", "1")).await;
    let back = head.get(&r.location()).await;
    for said in
        ["đề xuất của đoàn kiểm tra chéo&#34; là 0%", "trung vị của cụm, khối&#34; là 101%", "so với trung vị là 1:"]
    {
        assert!(back.body.contains(said), "{said}: {}", back.body);
    }
    let r = head.post_form(&format!("{draft}/sua"), &flags("25")).await;
    let back = head.get(&r.location()).await;
    assert!(back.body.contains("Đã lưu ngưỡng cảnh báo khi tổng hợp."), "{}", back.body);
    assert!(
        back.body.contains(r#"name="flag_far" value="25""#) && back.body.contains(r#"name="flag_units" value="4""#)
    );
    // put it right, then adopt
    head.post_form(&format!("{draft}/sua"), &set("100")).await;
    let r = head.post_form(&format!("{draft}/thong-qua"), &[("effective_from", "15/01/2026")]).await;
    let back = head.get(&r.location()).await;
    assert!(back.body.contains("Đã ghi nhận cụm, khối thông qua phiên bản 1"), "{}", back.body);
    // an adopted table is not edited in place
    let mut api = app.api_as("canbo.tuphap").await;
    let r = api.post_json(&format!("/api/v1/tables/{table_id}/edit"), json!({"op": "move_down", "code": "I"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("phiên bản mới"));
    // a new version needs a reason
    let path = format!("/api/v1/groups/{}/years/2026/table/versions", s.block);
    assert_eq!(api.post_json(&path, json!({"reason": " "})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = api.post_json(&path, json!({"reason": "Theo kết luận Hội nghị sơ kết 6 tháng"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v2 = r.json()["id"].as_i64().expect("id");
    assert_eq!(r.json()["version"], 2);
    let r = api.post_json(&format!("/api/v1/tables/{v2}/edit"), json!({"op": "move_down", "code": "I.1"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.json()["review_flags"],
        json!({"far_above_percent": 25, "outlier_percent": 35, "outlier_min_units": 4})
    );
    let step = json!({"op": "set_flags", "far_above_percent": 30, "outlier_percent": 150, "outlier_min_units": 4});
    let r = api.post_json(&format!("/api/v1/tables/{v2}/edit"), step).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("là 150%"), "{}", r.body);
    let step = json!({"op": "set_flags", "far_above_percent": 0, "outlier_percent": 150, "outlier_min_units": 1});
    let r = api.post_json(&format!("/api/v1/tables/{v2}/edit"), step).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("là 0%") && r.body.contains("là 150%") && r.body.contains("là 1:"), "{}", r.body);
    let step = json!({"op": "set_flags", "far_above_percent": 30, "outlier_percent": 35, "outlier_min_units": 4});
    let r = api.post_json(&format!("/api/v1/tables/{v2}/edit"), step).await;
    assert_eq!(r.json()["review_flags"]["far_above_percent"], 30, "{}", r.body);
    // its date cannot precede version 1's, and it needs a reason
    let r = api
        .post_json(&format!("/api/v1/tables/{v2}/adopt"), json!({"effective_from": "01/01/2026", "reason": "Sơ kết"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = api.post_json(&format!("/api/v1/tables/{v2}/adopt"), json!({"effective_from": "01/07/2026"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = api
        .post_json(
            &format!("/api/v1/tables/{v2}/adopt"),
            json!({"effective_from": "01/07/2026", "reason": "Sơ kết 6 tháng"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let o = api.get(&format!("/api/v1/groups/{}/years/2026/table", s.block)).await.json();
    assert_eq!(o["versions"].as_array().map(|v| v.len()), Some(2));
    assert_eq!(o["versions"][0]["effective_from"], "2026-01-15");
    // every step is in the audit log
    let actions = app.audit_actions().await;
    for a in ["table.start", "table.edit", "table.adopt", "table.new_version", "denied:lead_group_year"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited");
    }
    app.finish().await;
}

#[tokio::test]
async fn a_whole_table_that_does_not_add_up_is_refused() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut head = app.api_as("canbo.tuphap").await;
    let r = head.post_json(&format!("/api/v1/groups/{}/years/2026/table", s.block), json!({"from": "blank"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");
    // starting twice is a conflict
    let again = head.post_json(&format!("/api/v1/groups/{}/years/2026/table", s.block), json!({"from": "blank"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let mut bad = sample_table();
    bad.lines[0].children[0].max = thidua_core::scoring::Points::whole(400);
    let r = head.json_req("PUT", &format!("/api/v1/tables/{id}"), serde_json::to_value(&bad).expect("json")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("I"), "{}", r.body);
    let v = head.get(&format!("/api/v1/tables/{id}")).await.json();
    assert_eq!(v["table"]["lines"].as_array().map(|l| l.len()), Some(0), "nothing stored");
    let r = head
        .json_req("PUT", &format!("/api/v1/tables/{id}"), serde_json::to_value(sample_table()).expect("json"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = head.json_req("PUT", &format!("/api/v1/tables/{id}"), json!({"lines": "không phải bảng"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    app.finish().await;
}

fn multipart(bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "XbangdiemX";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bang.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn tables_travel_as_xlsx_and_a_bad_file_stores_nothing() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut api = app.api_as("canbo.tuphap").await;
    let r = api.post_json(&format!("/api/v1/groups/{}/years/2026/table", s.block), json!({"from": "blank"})).await;
    let id = r.json()["id"].as_i64().expect("id");
    let mut head = app.page_as("canbo.tuphap").await;
    // the sample table, uploaded as the officers' xlsx layout, becomes the draft
    let file = thidua_export::table_xlsx::table_to_xlsx("BẢNG CHẤM ĐIỂM", &sample_table()).expect("xlsx");
    let (ct, body) = multipart(&file);
    let body = [crate::support::csrf_part(&ct, &head.csrf), body].concat();
    let req = axum::http::Request::post(format!("/bang-diem/{id}/nhap-excel")).header("content-type", ct);
    let r = head.send(req, axum::body::Body::from(body)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let v = api.get(&format!("/api/v1/tables/{id}")).await.json();
    assert_eq!(v["table"], serde_json::to_value(sample_table()).expect("json"));
    // and comes back out the same
    let down = head.get(&format!("/bang-diem/{id}/excel")).await;
    assert_eq!(down.status, StatusCode::OK);
    assert_eq!(
        down.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    // a file that is not xlsx: a Vietnamese report, nothing stored
    let (ct, body) = multipart(b"day khong phai la tep excel");
    let body = [crate::support::csrf_part(&ct, &head.csrf), body].concat();
    let req = axum::http::Request::post(format!("/bang-diem/{id}/nhap-excel")).header("content-type", ct);
    let r = head.send(req, axum::body::Body::from(body)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Chưa lưu được gì"), "{}", r.body);
    let after = api.get(&format!("/api/v1/tables/{id}")).await.json();
    assert_eq!(after["table"], v["table"]);
    app.finish().await;
}
