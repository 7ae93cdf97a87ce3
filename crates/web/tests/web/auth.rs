//! Accounts and sessions.

use axum::http::StatusCode;

use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_message() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let a = c.login_page("khong.co.ai", PASSWORD).await;
    let b = c.login_page("admin", "sai-mat-khau-roi-nhe").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(b.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("Tên đăng nhập hoặc mật khẩu không đúng."));
    assert!(b.body.contains("Tên đăng nhập hoặc mật khẩu không đúng."));
    let api = c.post_json("/api/v1/session", serde_json::json!({"username": "admin", "password": "x"})).await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    assert_eq!(api.json()["error"]["message"], "Tên đăng nhập hoặc mật khẩu không đúng.");
    assert!(app.audit_actions().await.iter().filter(|a| *a == "login_failed").count() >= 3);
    app.finish().await;
}

#[tokio::test]
async fn login_is_throttled_per_account() {
    let app = TestApp::new().await;
    let mut c = app.client();
    for _ in 0..5 {
        let r = c
            .post_json("/api/v1/session", serde_json::json!({"username": "sec.cb", "password": "sai-mat-khau-nhe"}))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    // even the right password is refused now
    let r = c.post_json("/api/v1/session", serde_json::json!({"username": "sec.cb", "password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.json()["error"]["message"].as_str().unwrap_or("").contains("thử lại sau"));
    // another account is not affected
    let mut d = app.client();
    let ok = d.post_json("/api/v1/session", serde_json::json!({"username": "admin", "password": PASSWORD})).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(app.audit_actions().await.contains(&"login_throttled".to_string()));
    app.finish().await;
}

/// Wrong passwords sent together get no more checks than the limit: each
/// check takes its place under the limit before the password is verified.
#[tokio::test]
async fn wrong_passwords_sent_together_get_no_more_checks_than_the_limit() {
    let app = TestApp::new().await;
    let mut cs: Vec<_> = (0..8).map(|_| app.client()).collect();
    let body = serde_json::json!({"username": "sec.cb", "password": "sai-mat-khau-nhe"});
    let [a, b, c, d, e, f, g, h] = &mut cs[..] else { unreachable!() };
    let rs = tokio::join!(
        a.post_json("/api/v1/session", body.clone()),
        b.post_json("/api/v1/session", body.clone()),
        c.post_json("/api/v1/session", body.clone()),
        d.post_json("/api/v1/session", body.clone()),
        e.post_json("/api/v1/session", body.clone()),
        f.post_json("/api/v1/session", body.clone()),
        g.post_json("/api/v1/session", body.clone()),
        h.post_json("/api/v1/session", body.clone()),
    );
    let statuses =
        [rs.0.status, rs.1.status, rs.2.status, rs.3.status, rs.4.status, rs.5.status, rs.6.status, rs.7.status];
    let checked = statuses.iter().filter(|s| **s == StatusCode::FORBIDDEN).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, refused), (5, 3), "{statuses:?}");
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "login_failed").count(), 5, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "login_throttled").count(), 3, "{actions:?}");
    // a success clears the account's failures, its own check's among them
    let mut ok = app.client();
    let r = ok.post_json("/api/v1/session", serde_json::json!({"username": "admin", "password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut tx = app.st.db.read().await.expect("read");
    let (n,): (i64,) = tx
        .one("SELECT COUNT(*) FROM login_attempts WHERE username = $1", thidua_db::args!["admin"])
        .await
        .expect("count");
    tx.rollback().await.expect("end");
    assert_eq!(n, 0, "nothing counted against admin after its success");
    app.finish().await;
}

#[tokio::test]
async fn session_id_rotates_at_login_and_logout_ends_it() {
    let app = TestApp::new().await;
    let mut c = app.api_as("admin").await;
    let first = c.cookies.get("thidua_session").cloned().expect("session cookie");
    // logging in again with the old cookie gives a new id and ends the old session
    let r = c.post_json("/api/v1/session", serde_json::json!({"username": "admin", "password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::OK);
    let second = c.cookies.get("thidua_session").cloned().expect("session cookie");
    assert_ne!(first, second);
    let mut old = app.client();
    old.cookies.insert("thidua_session".into(), first);
    assert_eq!(old.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    // the cookie is HttpOnly and SameSite=Lax
    let set = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap_or("").to_string()).collect::<Vec<_>>();
    assert!(
        set.iter().any(|s| s.starts_with("thidua_session=") && s.contains("HttpOnly") && s.contains("SameSite=Lax"))
    );
    c.csrf = r.json()["csrf_token"].as_str().unwrap_or("").to_string();
    let out = c.json_req("DELETE", "/api/v1/session", serde_json::json!({})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

#[tokio::test]
async fn idle_and_absolute_expiry() {
    let app = TestApp::new().await;
    let mut c = app.page_as("sec.cb").await;
    assert_eq!(c.get("/don-vi").await.status, StatusCode::OK);
    // 31 minutes without activity
    let old = thidua_db::stamp(chrono::Utc::now() - chrono::Duration::minutes(31));
    let mut tx = app.st.db.begin().await.expect("tx");
    tx.exec("UPDATE sessions SET last_seen_at = $1", thidua_db::args![old]).await.expect("update");
    tx.commit().await.expect("commit");
    let r = c.get("/don-vi").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/dang-nhap?next="), "{}", r.location());
    // absolute expiry, although active a moment ago
    let mut c = app.page_as("sec.cb").await;
    let past = thidua_db::stamp(chrono::Utc::now() - chrono::Duration::seconds(1));
    let mut tx = app.st.db.begin().await.expect("tx");
    tx.exec("UPDATE sessions SET expires_at = $1", thidua_db::args![past]).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

#[tokio::test]
async fn csrf_is_required_for_state_changes() {
    let app = TestApp::new().await;
    let mut c = app.page_as("sec.cb").await;
    let good = c.csrf.clone();
    c.csrf = "sai".into();
    let r = c.post_form("/nam-thi-dua", &[("year", "2027")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Mã yêu cầu"), "error page shows a request id");
    c.csrf = String::new();
    let r = c.post_form("/nam-thi-dua", &[("year", "2027"), ("csrf", "")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // API without the header
    let mut api = app.api_as("sec.cb").await;
    api.csrf = String::new();
    let r = api.post_json("/api/v1/years", serde_json::json!({"year": 2027})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["code"], "csrf");
    // nothing was stored
    let mut tx = app.st.db.read().await.expect("tx");
    assert!(!thidua_db::org::years(&mut tx).await.expect("years").contains(&2027));
    drop(tx);
    assert!(app.audit_actions().await.iter().any(|a| a == "denied:csrf"));
    // with the right token it works
    c.csrf = good;
    let r = c.post_form("/nam-thi-dua", &[("year", "2027")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.finish().await;
}

#[tokio::test]
async fn login_form_needs_its_token() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let r = c.post_form("/dang-nhap", &[("csrf", "gia-mao"), ("username", "admin"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Biểu mẫu đăng nhập đã cũ"));
    assert!(!c.cookies.contains_key("thidua_session"));
    app.finish().await;
}

#[tokio::test]
async fn changing_password_ends_other_sessions() {
    let app = TestApp::new().await;
    let mut a = app.page_as("canbo.tuphap").await;
    let mut b = app.api_as("canbo.tuphap").await;
    assert_eq!(b.get("/api/v1/me/sessions").await.json().as_array().map(|v| v.len()), Some(2));
    let r = a.post_form("/tai-khoan/mat-khau", &[("current", PASSWORD), ("new", "ngắn"), ("confirm", "ngắn")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("ít nhất 12 ký tự"));
    let new = "một câu mật khẩu mới đủ dài";
    let r = a.post_form("/tai-khoan/mat-khau", &[("current", PASSWORD), ("new", new), ("confirm", new)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.get("/tai-khoan").await.status, StatusCode::OK);
    let mut c = app.client();
    assert_eq!(c.login_page("canbo.tuphap", new).await.status, StatusCode::SEE_OTHER);
    app.finish().await;
}

#[tokio::test]
async fn a_user_sees_and_ends_their_other_sessions() {
    let app = TestApp::new().await;
    let mut a = app.page_as("xem.cb").await;
    let mut b = app.api_as("xem.cb").await;
    let page = a.get("/tai-khoan").await;
    assert!(page.body.contains("Phiên này"));
    let list = b.get("/api/v1/me/sessions").await.json();
    let other = list.as_array().expect("list").iter().find(|s| s["current"] == false).expect("other session");
    let handle = other["handle"].as_str().expect("handle").to_string();
    let r = b.json_req("DELETE", &format!("/api/v1/me/sessions/{handle}"), serde_json::json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(a.get("/tai-khoan").await.status, StatusCode::SEE_OTHER);
    app.finish().await;
}

#[tokio::test]
async fn login_redirects_only_to_local_paths() {
    let app = TestApp::new().await;
    for (next, expected) in [
        ("/don-vi?q=so", "/don-vi?q=so"),
        ("//evil.example/", "/"),
        ("/\tevil", "/"),
        ("/\t/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("", "/"),
    ] {
        let mut c = app.client();
        let form = c.get("/dang-nhap").await;
        let token = crate::support::hidden(&form.body, "csrf").expect("csrf");
        let r = c
            .post_form("/dang-nhap", &[("csrf", &token), ("username", "admin"), ("password", PASSWORD), ("next", next)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location(), expected, "next={next:?}");
    }
    app.finish().await;
}

#[tokio::test]
async fn every_unsafe_method_needs_the_token() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let mut c = app.api_as("sec.cb").await;
    let good = c.csrf.clone();
    c.csrf = String::new();
    let body = serde_json::json!({"name": "Đổi tên", "kind": "department", "authority_id": s.cb});
    assert_eq!(c.json_req("PUT", &format!("/api/v1/units/{}", s.y_te), body).await.status, StatusCode::FORBIDDEN);
    let list = {
        c.csrf = good.clone();
        c.get(&format!("/api/v1/groups/{}", s.block)).await.json()
    };
    let mid = list["years"][0]["members"][1]["membership_id"].as_i64().expect("membership");
    c.csrf = String::new();
    assert_eq!(
        c.json_req("DELETE", &format!("/api/v1/memberships/{mid}"), serde_json::json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    // a multipart upload without the token in its query
    let req = axum::http::Request::post("/nhap-xuat/don-vi").header("content-type", "multipart/form-data; boundary=X");
    let r = c.send(req, axum::body::Body::from("--X--\r\n")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // nothing changed
    c.csrf = good;
    let unit = c.get(&format!("/api/v1/units/{}", s.y_te)).await.json();
    assert_eq!(unit["unit"]["name"], "Sở Y tế");
    assert_eq!(unit["memberships"].as_array().map(|m| m.len()), Some(1));
    app.finish().await;
}

#[tokio::test]
async fn a_wrong_current_password_is_audited_and_throttled() {
    let app = TestApp::new().await;
    let mut c = app.page_as("xem.cb").await;
    for _ in 0..5 {
        let r = c
            .post_form(
                "/tai-khoan/mat-khau",
                &[
                    ("current", "doan-mo-mat-khau"),
                    ("new", "mật khẩu mới thật dài"),
                    ("confirm", "mật khẩu mới thật dài"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("Mật khẩu hiện tại không đúng."));
    }
    let r = c
        .post_form(
            "/tai-khoan/mat-khau",
            &[("current", PASSWORD), ("new", "mật khẩu mới thật dài"), ("confirm", "mật khẩu mới thật dài")],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.audit_actions().await.iter().filter(|a| *a == "password_check_failed").count(), 5);
    app.finish().await;
}

/// A server keeps the sessions it has read while nothing they hold has
/// changed; a change made through another server (a unit's name, a grant
/// given or taken back, a disabled account, a sign-out) is seen by the
/// first at its next request.
#[tokio::test]
async fn a_kept_session_follows_what_another_server_changed() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let other = app.second_server();
    let mut admin = app.api_as_on(&other, "admin").await;
    let mut c = app.api_as("canbo.tuphap").await;
    let me = c.get("/api/v1/me").await.json();
    assert_eq!(me["grants"].as_array().map(Vec::len), Some(1), "{me}");
    assert_eq!(me["grants"][0]["scope_name"], "Sở Tư pháp");
    assert!(!app.st.sessions.is_empty(), "the first server keeps the session it read");
    let (kept, read) = app.st.sessions.counts();
    assert_eq!(c.get("/api/v1/me").await.json(), me, "what it kept answers as the database did");
    assert_eq!(app.st.sessions.counts(), (kept + 1, read), "answered as kept");

    let body = serde_json::json!({"name": "Sở Tư pháp tỉnh Cao Bằng", "kind": "department", "authority_id": s.cb});
    let r = admin.json_req("PUT", &format!("/api/v1/units/{}", s.tu_phap), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(c.get("/api/v1/me").await.json()["grants"][0]["scope_name"], "Sở Tư pháp tỉnh Cao Bằng");

    let uid = me["user"]["id"].as_i64().expect("id");
    assert_eq!(c.get(&format!("/api/v1/units/{}", s.hn_tu_phap)).await.status, StatusCode::FORBIDDEN);
    let r = admin
        .post_json(
            &format!("/api/v1/users/{uid}/grants"),
            serde_json::json!({"role": "unit_officer", "unit_id": s.hn_tu_phap}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gid = r.json()["id"].as_i64().expect("grant id");
    // (a unit of another province: only the new grant lets this user see it)
    assert_eq!(c.get(&format!("/api/v1/units/{}", s.hn_tu_phap)).await.status, StatusCode::OK);
    assert_eq!(c.get("/api/v1/me").await.json()["grants"].as_array().map(Vec::len), Some(2));
    let r = admin.json_req("DELETE", &format!("/api/v1/users/{uid}/grants/{gid}"), serde_json::json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(c.get(&format!("/api/v1/units/{}", s.hn_tu_phap)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.get("/api/v1/me").await.json()["grants"].as_array().map(Vec::len), Some(1));

    let r = admin.post_json(&format!("/api/v1/users/{uid}/disabled"), serde_json::json!({"disabled": true})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);

    // signed out through the other server
    let mut d = app.api_as("canbo.yte").await;
    assert_eq!(d.get("/api/v1/me").await.status, StatusCode::OK);
    let out = d.on(&other).json_req("DELETE", "/api/v1/session", serde_json::json!({})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(d.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

/// A session another server saw later than this one is not ended for
/// idleness on what this one kept: the database is read again first.
#[tokio::test]
async fn a_kept_session_is_read_again_before_it_is_ended_for_idleness() {
    // long enough that a loaded machine logs in and asks once within it
    let idle = chrono::Duration::seconds(4);
    let app = TestApp::with_config(thidua_web::WebConfig { idle_timeout: idle, ..Default::default() }).await;
    let mut c = app.api_as("sec.cb").await;
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    // another server saw it a moment ago (a time moving forward is not a change to what is kept)
    let mut tx = app.st.db.begin().await.expect("tx");
    tx.exec("UPDATE sessions SET last_seen_at = $1", thidua_db::args![thidua_db::now()]).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::OK, "still in use on the other server");
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED, "idle everywhere");
    app.finish().await;
}
