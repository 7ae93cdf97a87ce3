#![cfg(feature = "browser")]
//! Browser tests: Chromium on the demo database, through the pages only.
//! Run with `cargo test -p thidua-e2e --features browser` (and with
//! THIDUA_TEST_POSTGRES set for PostgreSQL).

use std::path::Path;

use fantoccini::Locator;
use thidua_app::demo::data::{GROUPS, UNITS};
use thidua_app::demo::{DEMO_YEAR, DemoAccount};
use thidua_core::policy::Role;
use thidua_db::{org, users};
use thidua_e2e::{Browser, Server};

/// Where the home page of one role is saved for people to look at.
const SCREENSHOT: &str = "/tmp/thidua-home.png";

/// A demo account as the database knows it.
struct Who {
    username: String,
    password: String,
    full_name: String,
    role: Role,
    /// The authority's name for an authority role, the unit's name for a unit role.
    scope_name: Option<String>,
    unit_id: Option<i64>,
}

/// The role a demo user name stands for, by its prefix.
fn role_of_username(username: &str) -> Option<Role> {
    let prefixes = [
        ("banthuongtruc.", Role::Secretariat),
        ("bantdkt.", Role::Secretariat),
        ("hoidong.", Role::Council),
        ("xem.", Role::Viewer),
        ("lanhdao.", Role::UnitLeader),
        ("canbo.", Role::UnitOfficer),
    ];
    if username == "admin" {
        return Some(Role::Admin);
    }
    prefixes.iter().find(|(p, _)| username.starts_with(p)).map(|(_, r)| *r)
}

async fn who(server: &Server, a: &DemoAccount) -> Who {
    let mut tx = server.db.read().await.expect("read transaction");
    let user = users::user_by_name(&mut tx, &a.username)
        .await
        .expect("user_by_name")
        .unwrap_or_else(|| panic!("demo account {} is not in the database", a.username));
    let grants = users::grants_of(&mut tx, user.id).await.expect("grants_of");
    tx.rollback().await.expect("rollback");
    assert_eq!(grants.len(), 1, "demo account {} should have exactly one role: {grants:?}", a.username);
    let g = &grants[0];
    let role = Role::parse(&g.role).unwrap_or_else(|| panic!("unknown role {:?} of {}", g.role, a.username));
    assert_eq!(
        role_of_username(&a.username),
        Some(role),
        "the user name {} does not tell its role ({})",
        a.username,
        role.label()
    );
    Who {
        username: a.username.clone(),
        password: a.password.clone(),
        full_name: user.full_name,
        role,
        scope_name: g.scope_name.clone(),
        unit_id: g.unit_id,
    }
}

fn account<'a>(server: &'a Server, prefix: &str) -> &'a DemoAccount {
    server
        .accounts
        .iter()
        .find(|a| a.username.starts_with(prefix))
        .unwrap_or_else(|| panic!("no demo account starting with {prefix:?}"))
}

/// The groups the demo data puts a unit (by name) in, in the demo year.
fn demo_groups_of_unit(unit_name: &str) -> Vec<&'static str> {
    let keys: Vec<&str> = UNITS.iter().filter(|u| u.name == unit_name).map(|u| u.key).collect();
    assert!(!keys.is_empty(), "unit {unit_name:?} is not in the demo data");
    GROUPS
        .iter()
        .filter(|g| g.years.iter().any(|y| y.year == DEMO_YEAR && y.members.iter().any(|m| keys.contains(m))))
        .map(|g| g.name)
        .collect()
}

/// The visible text of the `<section>` whose `<h2>` is `heading`, if there is one.
async fn section(b: &Browser, heading: &str) -> Option<String> {
    let xpath = format!("//main//section[h2[normalize-space()='{heading}']]");
    let found = b.client.find_all(Locator::XPath(&xpath)).await.expect("find sections");
    match found.first() {
        Some(s) => Some(s.text().await.expect("section text")),
        None => None,
    }
}

async fn nav(b: &Browser) -> Vec<String> {
    b.texts("nav.main a").await
}

/// Checks the home page of one account, by its role.
async fn check_home(b: &Browser, w: &Who) {
    let h1 = b.text("main h1").await;
    assert_eq!(h1, format!("Xin chào, {}", w.full_name), "{}: the home page's title", w.username);
    assert!(h1.starts_with("Xin chào"));
    let header = b.text("header .who a").await;
    assert_eq!(header, w.full_name, "{}: the name in the header", w.username);
    let nav = nav(b).await;
    let has = |label: &str| nav.iter().any(|n| n == label);
    let ctx = format!("{} ({}) on {}; nav: {nav:?}", w.username, w.role.label(), b.url().await);
    assert!(has("Trang chủ"), "{ctx}: no 'Trang chủ' link");

    match w.role {
        Role::Admin => {
            assert!(has("Người dùng"), "{ctx}: the administrator should see 'Người dùng'");
            assert!(has("Nhật ký"), "{ctx}: the administrator should see 'Nhật ký'");
            let admin = section(b, "Quản trị hệ thống").await;
            assert!(admin.is_some_and(|s| s.contains("Quản lý người dùng")), "{ctx}: no 'Quản trị hệ thống' section");
            assert!(section(b, "Phạm vi quản lý").await.is_some(), "{ctx}: no 'Phạm vi quản lý' section");
        }
        Role::Secretariat | Role::Council | Role::Viewer => {
            let scope = w.scope_name.clone().unwrap_or_else(|| panic!("{ctx}: an authority role without authority"));
            if w.username == "banthuongtruc.caobang" {
                assert_eq!(scope, "Tỉnh Cao Bằng");
            }
            let s = section(b, "Phạm vi quản lý").await.unwrap_or_else(|| panic!("{ctx}: no 'Phạm vi quản lý'"));
            assert!(s.contains(&scope), "{ctx}: 'Phạm vi quản lý' does not name {scope:?}: {s}");
            assert!(!has("Người dùng"), "{ctx}: only the administrator may see 'Người dùng'");
            if w.role == Role::Secretariat {
                assert!(has("Nhập, xuất Excel"), "{ctx}: a secretariat should see 'Nhập, xuất Excel'");
                assert!(has("Nhật ký"), "{ctx}: a secretariat should see 'Nhật ký' of its authority");
            } else {
                assert!(!has("Nhập, xuất Excel"), "{ctx}: a reader may not import or export");
            }
            assert!(section(b, "Đơn vị của tôi").await.is_none(), "{ctx}: an authority role has no unit");
        }
        Role::UnitLeader | Role::UnitOfficer => {
            let unit = w.scope_name.clone().unwrap_or_else(|| panic!("{ctx}: a unit role without unit"));
            let mine = section(b, "Đơn vị của tôi").await.unwrap_or_else(|| panic!("{ctx}: no 'Đơn vị của tôi'"));
            assert!(mine.contains(&unit), "{ctx}: 'Đơn vị của tôi' does not name {unit:?}: {mine}");
            let groups = demo_groups_of_unit(&unit);
            assert!(!groups.is_empty(), "{ctx}: the demo data puts {unit:?} in no group in {DEMO_YEAR}");
            let table = section(b, "Cụm, khối thi đua của đơn vị")
                .await
                .unwrap_or_else(|| panic!("{ctx}: no 'Cụm, khối thi đua của đơn vị'"));
            for g in groups {
                assert!(table.contains(g), "{ctx}: the unit's groups do not show {g:?}: {table}");
            }
            assert!(!has("Người dùng"), "{ctx}: only the administrator may see 'Người dùng'");
            assert!(!has("Nhập, xuất Excel"), "{ctx}: a unit may not import or export");
            assert!(section(b, "Phạm vi quản lý").await.is_none(), "{ctx}: a unit role manages no authority");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_in_as_each_demo_role_and_checks_what_its_home_page_shows() {
    let server = Server::start().await;
    let b = Browser::start(&server.base).await;

    // the login page lists the demo accounts
    b.goto("/dang-nhap").await;
    assert_eq!(b.text("main h1").await, "Đăng nhập");
    let listed = b.text("section.demo table").await;
    for a in &server.accounts {
        assert!(listed.contains(&a.username), "the login page does not list {}: {listed}", a.username);
    }

    let mut roles_seen = Vec::new();
    for a in &server.accounts {
        let w = who(&server, a).await;
        b.login(&w.username, &w.password).await;
        assert_eq!(b.path().await, "/", "{}: after login", w.username);
        let flash = b.text(".flash").await;
        assert!(flash.contains("Đăng nhập thành công"), "{}: flash after login: {flash}", w.username);
        check_home(&b, &w).await;
        if w.username == "banthuongtruc.caobang" {
            b.screenshot(Path::new(SCREENSHOT)).await;
        }
        roles_seen.push(w.role);

        b.logout().await;
        assert_eq!(b.text("main h1").await, "Đăng nhập", "{}: after logout", w.username);
        let flash = b.text(".flash").await;
        assert!(flash.contains("Bạn đã đăng xuất"), "{}: flash after logout: {flash}", w.username);
        assert!(b.exists("#username").await && b.exists("#password").await);
        // the session is gone: the home page sends back to the login page
        b.goto("/").await;
        b.wait_for_path("/dang-nhap").await;
    }
    for role in [Role::Admin, Role::Secretariat, Role::Council, Role::Viewer, Role::UnitLeader, Role::UnitOfficer] {
        assert!(roles_seen.contains(&role), "no demo account has the role {}", role.label());
    }

    b.close().await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secretariat_creates_a_unit_and_finds_it_without_diacritics_and_a_unit_officer_is_refused_the_centre() {
    let server = Server::start().await;
    let b = Browser::start(&server.base).await;

    // --- a secretariat adds a unit through the pages
    let sec = who(&server, account(&server, "banthuongtruc.")).await;
    b.login(&sec.username, &sec.password).await;
    b.click_link("Đơn vị").await;
    b.wait_for_path("/don-vi").await;
    assert_eq!(b.text("main h1").await, "Đơn vị");
    b.click_link("Thêm đơn vị").await;
    b.wait_for_path("/don-vi/moi").await;
    assert_eq!(b.text("main h1").await, "Thêm đơn vị");

    let name = "Trung tâm Đăng kiểm Phương tiện Thủy bộ Thử nghiệm";
    b.fill("#name", name).await;
    b.fill("#short_name", "TTĐK Thử nghiệm").await;
    let kind = b.find("#kind").await;
    kind.select_by_value("other").await.expect("choose the kind");
    let authority = b.find("#authority_id").await;
    authority.select_by_label("Tỉnh Cao Bằng").await.expect("choose the authority");
    b.fill("#active_from", "01/07/2025").await;
    b.click("main form button[type=submit]").await;

    let started = std::time::Instant::now();
    while b.path().await == "/don-vi/moi" || b.path().await == "/don-vi" {
        if started.elapsed() > std::time::Duration::from_secs(10) {
            panic!("saving the unit did not lead to its page. The page says:\n{}", b.body().await);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let unit_path = b.path().await;
    assert!(unit_path.starts_with("/don-vi/"), "after saving: {unit_path}");
    assert_eq!(b.text("main h1").await, name, "the new unit's page");
    let flash = b.text(".flash").await;
    assert!(flash.contains("Đã thêm đơn vị"), "flash after adding: {flash}");
    let facts = b.text("dl.facts").await;
    assert!(facts.contains("Tỉnh Cao Bằng") && facts.contains("01/07/2025"), "the unit's facts: {facts}");

    // --- and finds it by typing without diacritics
    b.click_link("Đơn vị").await;
    b.wait_for_path("/don-vi").await;
    b.fill("form[role=search] input[name=q]", "dang kiem thuy bo thu nghiem").await;
    b.click("form[role=search] button[type=submit]").await;
    let started = std::time::Instant::now();
    while !b.path().await.contains("q=") {
        if started.elapsed() > std::time::Duration::from_secs(10) {
            panic!("the search did not run. The page says:\n{}", b.body().await);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let rows = b.texts("#bang-don-vi tbody tr").await;
    assert_eq!(rows.len(), 1, "searching without diacritics should find exactly the new unit: {rows:?}");
    assert!(rows[0].contains(name), "the row found: {}", rows[0]);
    b.click_link(name).await;
    b.wait_for_path(&unit_path).await;
    b.logout().await;

    // --- a unit officer of Cao Bằng opens a unit of the central authority by its URL
    let officer = who(&server, account(&server, "canbo.")).await;
    let own_unit = officer.unit_id.expect("an officer has a unit");
    let central_unit = {
        let mut tx = server.db.read().await.expect("read");
        let all = org::authorities(&mut tx).await.expect("authorities");
        let root = all.iter().find(|a| a.parent_id.is_none()).expect("a central authority").id;
        let q = org::UnitQuery {
            authorities: Some(vec![root]),
            today: "2026-01-01".into(),
            limit: 10,
            ..Default::default()
        };
        let units = org::search_units(&mut tx, &q).await.expect("units of the centre");
        tx.rollback().await.expect("rollback");
        units.into_iter().find(|u| u.id != own_unit).expect("a unit of the central authority")
    };
    b.login(&officer.username, &officer.password).await;
    b.goto(&format!("/don-vi/{own_unit}")).await;
    assert_eq!(
        b.text("main h1").await,
        officer.scope_name.clone().unwrap_or_default(),
        "the officer opens the page of their own unit"
    );
    b.goto(&format!("/don-vi/{}", central_unit.id)).await;
    let h1 = b.text("main h1").await;
    let body = b.body().await;
    assert_eq!(
        h1, "Không có quyền truy cập",
        "{} opened /don-vi/{} ({}, of {}); the page says:\n{body}",
        officer.username, central_unit.id, central_unit.name, central_unit.authority_name
    );
    assert!(body.contains("Mã lỗi 403"), "the 403 page: {body}");
    assert!(!body.contains(&central_unit.name), "the refused page shows the unit's name: {body}");
    // "Quay lại" (history.back() by /static/app.js) returns to the unit's page
    b.click_link("Quay lại").await;
    b.wait_for_path(&format!("/don-vi/{own_unit}")).await;
    // the error page has no header (it uses the anonymous layout): sign out from the unit's page
    b.logout().await;

    b.close().await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_script_runs_under_the_csp_and_filters_a_table() {
    let server = Server::start().await;
    let b = Browser::start(&server.base).await;
    let admin = who(&server, account(&server, "admin")).await;
    b.login(&admin.username, &admin.password).await;
    b.click_link("Người dùng").await;
    b.wait_for_path("/nguoi-dung").await;

    // /static/app.js un-hides the filter: it ran, so the CSP let our own script in
    let filter = b.find("input[data-filter=bang-nguoi-dung]").await;
    assert!(
        filter.is_displayed().await.expect("is_displayed"),
        "the table filter is still hidden: /static/app.js did not run (blocked by the CSP?)"
    );

    // every user: the demo accounts, and the demo's covenant signers (who cannot log in)
    let all_users: Vec<String> = {
        let mut tx = server.db.read().await.expect("read");
        let all = users::users(&mut tx).await.expect("users");
        tx.rollback().await.expect("rollback");
        all.into_iter().map(|u| u.username).collect()
    };
    assert!(server.accounts.iter().all(|a| all_users.contains(&a.username)));
    let rows = b.find_all("#bang-nguoi-dung tbody tr").await;
    assert_eq!(rows.len(), all_users.len(), "every user is listed");

    async fn visible(b: &Browser) -> Vec<String> {
        let mut out = Vec::new();
        for tr in b.find_all("#bang-nguoi-dung tbody tr").await {
            if tr.is_displayed().await.expect("is_displayed") {
                let first = tr.find(Locator::Css("td code")).await.expect("user name cell");
                out.push(first.text().await.expect("text"));
            }
        }
        out.sort();
        out
    }
    let expect = |prefix: &str| {
        let mut v: Vec<String> = all_users.iter().filter(|u| u.starts_with(prefix)).cloned().collect();
        v.sort();
        v
    };

    filter.send_keys("canbo").await.expect("type");
    assert_eq!(visible(&b).await, expect("canbo."), "filtering by \"canbo\"");

    // without diacritics: "lanh dao" finds the "Lãnh đạo …" accounts
    filter.clear().await.expect("clear");
    filter.send_keys("lanh dao").await.expect("type");
    // clear() does not fire "input": the words typed after it do
    assert_eq!(visible(&b).await, expect("lanhdao."), "filtering by \"lanh dao\"");

    filter.send_keys(" khong-co-ai-ten-nay").await.expect("type");
    assert!(visible(&b).await.is_empty(), "a filter that matches nothing hides every row");

    // emptying the filter shows every row again
    filter.clear().await.expect("clear");
    filter.send_keys(" ").await.expect("type");
    assert_eq!(visible(&b).await.len(), all_users.len(), "an empty filter shows every row");

    b.close().await;
    server.finish().await;
}

/// Lets the page's `data-confirm` dialogs through (the next submit is confirmed).
async fn accept_confirms(b: &Browser) {
    b.client.execute("window.confirm = function () { return true; };", vec![]).await.expect("replace confirm");
}

/// Waits until the page's main heading contains `text`, or panics.
async fn wait_for_h1(b: &Browser, text: &str) {
    let started = std::time::Instant::now();
    loop {
        let h1 = b.text("main h1").await;
        if h1.contains(text) {
            return;
        }
        if started.elapsed() > std::time::Duration::from_secs(10) {
            panic!(
                "expected a heading with {text:?} on {}, got {h1:?}. The page says:\n{}",
                b.url().await,
                b.body().await
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_head_officer_adjusts_the_table_the_block_adopts_it_and_a_leader_signs_the_covenant() {
    let server = Server::start().await;
    let b = Browser::start(&server.base).await;

    // the party block, headed in the demo year by the unit of the demo officer and leader
    let (group_key, head_key) = thidua_app::demo::covenant::UNSIGNED[0];
    let group_name = GROUPS.iter().find(|g| g.key == group_key).expect("the party block").name;
    let unit = UNITS.iter().find(|u| u.key == head_key).expect("the head unit").name;
    let slug = thidua_app::demo::slug(head_key);
    let gid = {
        let mut tx = server.db.read().await.expect("read");
        let groups = org::groups(&mut tx, None, &[]).await.expect("groups");
        tx.rollback().await.expect("rollback");
        groups.into_iter().find(|g| g.name == group_name).expect("the party block in the database").id
    };
    let table_page = format!("/cum-khoi/{gid}/nam/{DEMO_YEAR}/bang-diem");

    // --- the head unit's officer makes a new version of the adopted table
    let officer = who(&server, account(&server, &format!("canbo.{slug}"))).await;
    assert_eq!(officer.scope_name.as_deref(), Some(unit));
    b.login(&officer.username, &officer.password).await;
    b.goto(&table_page).await;
    assert_eq!(b.text("main h1").await, format!("Bảng điểm năm {DEMO_YEAR}"));
    b.click("main details summary").await;
    b.fill("#reason", "Điều chỉnh theo sơ kết").await;
    b.click("form[action$=\"/bang-diem/phien-ban-moi\"] button[type=submit]").await;
    wait_for_h1(&b, "Dự thảo").await;
    let version_path = b.path().await;
    assert!(version_path.starts_with("/bang-diem/"), "the new version's page: {version_path}");
    let h1 = b.text("main h1").await;
    assert!(h1.contains("phiên bản 3"), "the new version: {h1}");

    // --- edits a line's guidance through the editor
    let guidance = "Từ quý IV: chỉ tính kết quả đã được cơ quan cấp trên xác nhận bằng văn bản.";
    let summary = b
        .client
        .find(Locator::XPath("//details/summary[normalize-space()='Sửa dòng I.1']"))
        .await
        .unwrap_or_else(|e| panic!("no 'Sửa dòng I.1' ({e})"));
    summary.click().await.expect("open the line's form");
    b.fill("textarea[id='hd-I.1']", guidance).await;
    b.click("textarea[id='hd-I.1'] ~ button[type=submit]").await;
    let started = std::time::Instant::now();
    while !b.body().await.contains(guidance) {
        if started.elapsed() > std::time::Duration::from_secs(10) {
            panic!("the guidance was not saved. The page says:\n{}", b.body().await);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(b.path().await.starts_with(&version_path), "after editing: {}", b.path().await);

    // --- and records the block's adoption, effective after the version in force (15/07/2026)
    let adopt = b
        .client
        .find(Locator::XPath("//details/summary[normalize-space()='Ghi nhận cụm, khối thông qua phiên bản này']"))
        .await
        .unwrap_or_else(|e| panic!("no adoption form ({e})"));
    adopt.click().await.expect("open the adoption form");
    b.fill("#effective_from", "01/09/2026").await;
    b.fill("#reason", "Điều chỉnh theo sơ kết").await;
    accept_confirms(&b).await;
    b.click("form[action$=\"/thong-qua\"] button[type=submit]").await;
    wait_for_h1(&b, "Đã thông qua").await;
    let body = b.body().await;
    assert!(body.contains("01/09/2026"), "the adopted version's date: {body}");
    b.goto(&table_page).await;
    let rows = b.texts("main table tbody tr").await;
    let v3 = rows.iter().find(|r| r.contains("Phiên bản 3")).unwrap_or_else(|| panic!("no version 3: {rows:?}"));
    assert!(v3.contains("Điều chỉnh theo sơ kết"), "version 3's row: {v3}");
    b.logout().await;

    // --- the head unit's leader signs the block's covenant
    let leader = who(&server, account(&server, &format!("lanhdao.{slug}"))).await;
    b.login(&leader.username, &leader.password).await;
    b.goto(&format!("/cum-khoi/{gid}/nam/{DEMO_YEAR}/giao-uoc")).await;
    let row_of_unit = |rows: Vec<String>| {
        rows.into_iter().find(|r| r.contains(unit)).unwrap_or_else(|| panic!("no row of {unit} on the board"))
    };
    let before = row_of_unit(b.texts("#bang-ky tbody tr").await);
    assert!(before.contains("Chưa ký"), "before signing: {before}");
    accept_confirms(&b).await;
    b.click("form[action$=\"/giao-uoc/ky\"] button[type=submit]").await;
    let started = std::time::Instant::now();
    loop {
        if b.path().await.ends_with("/giao-uoc") || b.path().await.contains("/giao-uoc/da-ky/") {
            let body = b.body().await;
            if body.contains(&leader.full_name) {
                break;
            }
        }
        if started.elapsed() > std::time::Duration::from_secs(10) {
            panic!("signing did not finish on {}. The page says:\n{}", b.url().await, b.body().await);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    b.goto(&format!("/cum-khoi/{gid}/nam/{DEMO_YEAR}/giao-uoc")).await;
    let after = row_of_unit(b.texts("#bang-ky tbody tr").await);
    assert!(after.contains("Đã ký") && after.contains(&leader.full_name), "after signing: {after}");
    assert!(!b.exists("form[action$=\"/giao-uoc/ky\"]").await, "no unit left for this leader to sign");
    b.logout().await;

    b.close().await;
    server.finish().await;
}
