#![cfg(feature = "browser")]
//! Browser tests: Chromium on the demo database, through the pages only.
//! Run with `cargo test -p thidua-e2e --features browser` (and with
//! THIDUA_TEST_POSTGRES set for PostgreSQL).

use std::path::Path;

use fantoccini::Locator;
use thidua_app::demo::data::{GROUPS, UNITS};
use thidua_app::demo::{DEMO_PASSWORD, DEMO_YEAR, DemoAccount};
use thidua_core::policy::Role;
use thidua_db::{inspection, org, scores, scoring, users};
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

// ---------- one block's whole score chain ----------

/// The evidence file the unit's officer uploads, and its bytes (a minimal PDF).
const EVIDENCE: &str = "bao-cao-ket-qua-chi-tieu-2026.pdf";
const EVIDENCE_PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

/// The reasons written along the chain; none of them may reach the public page.
const SELF_REASON_I2: &str = "Tham mưu 24 văn bản, 22 văn bản ban hành đúng hạn";
const SELF_REASON_I3: &str = "Chỉ số cải cách hành chính xếp thứ 5 toàn tỉnh";
const SELF_REASON_IV1: &str = "Hoàn thành các nhiệm vụ chung được khối phân công";
const INSPECTION_REASON: &str = "Biên bản sơ kết 6 tháng chưa có chữ ký của thủ trưởng";
const HEAD_REASON: &str = "Theo biên bản kiểm tra chéo: chưa có biên bản sơ kết được ký";
const EXPLANATION_REASON: &str = "Đã bổ sung biên bản sơ kết có chữ ký của thủ trưởng";
const APPRAISAL_REASON: &str = "Hai văn bản tham mưu ban hành chậm so với kế hoạch";

/// A block of Cao Bằng in the demo year that nobody has scored yet, and the units the test needs.
struct Block {
    id: i64,
    name: String,
    unit_id: i64,
    unit_name: String,
    head_id: i64,
    head_name: String,
    /// The unit's target of criterion I.1 in the covenant, in hundredths.
    target: i64,
}

/// A block other than the party block (which other tests use) whose table is
/// adopted, whose covenant every member signed, and whose score chain has not
/// started (no phase change, no entry, no sheet, no evidence): the demo data
/// may give scores to some blocks, this one is left as the test expects it.
async fn untouched_block(server: &Server) -> Block {
    let party = GROUPS.iter().find(|g| g.key == "cb-khoi-dang").expect("the party block").name;
    let mut tx = server.db.read().await.expect("read");
    let cb = cao_bang_id(&mut tx).await;
    let groups = org::groups(&mut tx, Some(&[cb]), &[]).await.expect("groups");
    let mut seen = Vec::new();
    // from the last: the demo's scores, if any, come first
    for g in groups.iter().rev().filter(|g| g.kind == "block" && g.name != party) {
        let Some(gy) = org::find_group_year(&mut tx, g.id, DEMO_YEAR).await.expect("group year") else {
            continue;
        };
        let adopted = scoring::versions(&mut tx, gy).await.expect("versions").iter().any(|v| v.adopted_at.is_some());
        let Some(cv) = scoring::covenant(&mut tx, gy).await.expect("covenant") else {
            seen.push(format!("{}: no covenant", g.name));
            continue;
        };
        let members: Vec<org::MemberRow> = org::members_of_group(&mut tx, g.id)
            .await
            .expect("members")
            .into_iter()
            .filter(|m| m.year == DEMO_YEAR)
            .collect();
        let signed: Vec<i64> =
            scoring::signatures(&mut tx, cv.id).await.expect("signatures").iter().map(|s| s.unit_id).collect();
        let untouched = scores::year(&mut tx, gy).await.expect("phase").is_none()
            && scores::entries(&mut tx, gy).await.expect("entries").is_empty()
            && scores::sheets(&mut tx, gy).await.expect("sheets").is_empty()
            && scores::evidence(&mut tx, gy).await.expect("evidence").is_empty();
        let all_signed = members.iter().all(|m| signed.contains(&m.unit_id));
        let head = members.iter().find(|m| m.role == "head");
        let unit = members.iter().find(|m| m.role == "member");
        match (adopted, all_signed, untouched, head, unit) {
            (true, true, true, Some(head), Some(unit)) => {
                let target = scoring::targets(&mut tx, cv.id)
                    .await
                    .expect("targets")
                    .into_iter()
                    .find(|t| t.unit_id == unit.unit_id && t.line_code == "I.1")
                    .unwrap_or_else(|| panic!("{}: no I.1 target for {}", g.name, unit.unit_name))
                    .target;
                tx.rollback().await.expect("rollback");
                return Block {
                    id: g.id,
                    name: g.name.clone(),
                    unit_id: unit.unit_id,
                    unit_name: unit.unit_name.clone(),
                    head_id: head.unit_id,
                    head_name: head.unit_name.clone(),
                    target,
                };
            }
            _ => seen.push(format!(
                "{}: adopted {adopted}, all signed {all_signed}, untouched {untouched}, head {}, plain member {}",
                g.name,
                head.is_some(),
                unit.is_some()
            )),
        }
    }
    panic!("no Cao Bằng block is left for the score chain test in {DEMO_YEAR}: {seen:#?}")
}

/// An account that logs in with the demo password.
#[derive(Clone)]
struct Login {
    username: String,
    password: String,
    full_name: String,
}

/// The unit account `prefix.<slug of the unit>` with `role` on the unit: the
/// demo's account if there is one (a covenant signer, which cannot log in,
/// gets the demo password), else a new one.
async fn unit_account(server: &Server, prefix: &str, role: Role, unit_id: i64, unit_name: &str) -> Login {
    let slug = UNITS
        .iter()
        .find(|u| u.authority == "cb" && u.name == unit_name)
        .map(|u| thidua_app::demo::slug(u.key))
        .unwrap_or_else(|| format!("u{unit_id}"));
    let username = format!("{prefix}.{slug}");
    let hash = thidua_web::auth::hash_password(DEMO_PASSWORD).expect("hash the password");
    let mut tx = server.db.begin().await.expect("begin");
    let full_name = match users::user_by_name(&mut tx, &username).await.expect("user_by_name") {
        Some(u) => {
            let grants = users::grants_of(&mut tx, u.id).await.expect("grants_of");
            assert!(
                grants.iter().any(|g| g.role == role.code() && g.unit_id == Some(unit_id)),
                "{username} exists without the role {} of {unit_name}: {grants:?}",
                role.label()
            );
            users::set_password(&mut tx, u.id, &hash).await.expect("set_password");
            u.full_name
        }
        None => {
            let full_name = match role {
                Role::UnitLeader => format!("Lãnh đạo {unit_name}"),
                _ => format!("Cán bộ thi đua {unit_name}"),
            };
            let id = users::insert_user(&mut tx, &username, &full_name, &hash).await.expect("insert_user");
            users::insert_grant(&mut tx, id, role, None, Some(unit_id)).await.expect("insert_grant");
            full_name
        }
    };
    tx.commit().await.expect("commit");
    Login { username, password: DEMO_PASSWORD.to_string(), full_name }
}

impl Login {
    /// Signs in and checks the name in the header.
    async fn sign_in(&self, b: &Browser) {
        b.login(&self.username, &self.password).await;
        assert_eq!(b.text("header .who a").await, self.full_name, "{} is logged in", self.username);
    }
}

/// Points in hundredths as the pages write them (no thousands here): "120", "120,5".
fn points(hundredths: i64) -> String {
    if hundredths % 100 == 0 {
        (hundredths / 100).to_string()
    } else {
        format!("{},{:02}", hundredths / 100, hundredths % 100).trim_end_matches('0').to_string()
    }
}

/// The visible text of the first element matching `xpath`, waiting for it a little.
async fn xtext(b: &Browser, xpath: &str) -> String {
    let found = b.client.wait().at_most(std::time::Duration::from_secs(10)).for_element(Locator::XPath(xpath)).await;
    match found {
        Ok(e) => e.text().await.unwrap_or_else(|err| panic!("text of {xpath}: {err}")),
        Err(err) => panic!("no element {xpath} on {} ({err}). The page says:\n{}", b.url().await, b.body().await),
    }
}

/// The value of the fact `label` of the page's `dl.facts`.
async fn fact(b: &Browser, label: &str) -> String {
    xtext(b, &format!("//dl[contains(@class,'facts')]/dt[normalize-space()='{label}']/following-sibling::dd[1]")).await
}

/// The row of a scoring line (by its code) in the page's tables.
async fn line_row(b: &Browser, code: &str) -> String {
    xtext(b, &format!("//main//tbody/tr[td[1][normalize-space()='{code}']]")).await
}

/// A cell (by its `data-label`) of a scoring line's row, its first line only
/// (the points, without the folded explanation).
async fn line_cell(b: &Browser, code: &str, label: &str) -> String {
    let t = xtext(b, &format!("//main//tbody/tr[td[1][normalize-space()='{code}']]/td[@data-label='{label}']")).await;
    t.lines().next().unwrap_or("").trim().to_string()
}

/// Checks the success message of the page the last action led to.
async fn expect_flash(b: &Browser, text: &str) {
    if b.exists(".flash-error").await {
        panic!(
            "expected {text:?} on {}, got an error: {}\nThe page says:\n{}",
            b.url().await,
            b.text(".flash-error").await,
            b.body().await
        );
    }
    let ok = b.text(".flash-ok").await;
    assert!(ok.contains(text), "expected {text:?} on {}, the message is {ok:?}", b.url().await);
}

/// The id of Cao Bằng's authority in the demo data.
async fn cao_bang_id(tx: &mut thidua_db::Tx) -> i64 {
    org::authorities(tx)
        .await
        .expect("authorities")
        .into_iter()
        .find(|a| a.name == "Tỉnh Cao Bằng")
        .expect("Cao Bằng in the demo data")
        .id
}

/// Cao Bằng's self-assessment and explanation deadlines of the demo year, as
/// the demo stored them (they follow the day the demo was loaded, see
/// `thidua_app::demo::calendar`), `YYYY-MM-DD`.
async fn demo_deadlines(server: &Server) -> (String, String) {
    let mut tx = server.db.read().await.expect("read");
    let cb = cao_bang_id(&mut tx).await;
    let defaults = thidua_db::calendar::defaults(&mut tx, cb, DEMO_YEAR).await.expect("the calendar");
    tx.rollback().await.expect("rollback");
    let of = |event: &str| {
        defaults
            .iter()
            .find(|d| d.event == event)
            .map(|d| d.default_on.clone())
            .unwrap_or_else(|| panic!("no {event} in the demo's {DEMO_YEAR} calendar: {defaults:#?}"))
    };
    (of("self_assessment_deadline"), of("explanation"))
}

/// `YYYY-MM-DD` as the pages write it: `DD/MM/YYYY`.
fn vn_date(iso: &str) -> String {
    let p: Vec<&str> = iso.split('-').collect();
    assert_eq!(p.len(), 3, "a date: {iso}");
    format!("{}/{}/{}", p[2], p[1], p[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_block_year_from_self_assessment_with_evidence_to_the_public_page() {
    let server = Server::start().await;
    // The demo's calendar puts the self-assessment deadline at least three
    // weeks after the day it is loaded, and the explanations' after it: the
    // unit writes both today, before the deadlines, which the pages name.
    let (deadline, explanation) = demo_deadlines(&server).await;
    let today = thidua_web::ops::today().to_string();
    assert!(
        today < deadline && deadline <= explanation,
        "this test plays the demo's {DEMO_YEAR} self-assessment, whose deadline ({deadline}) should be ahead of \
         today ({today}): see thidua_app::demo::calendar"
    );
    let (deadline, explanation) = (vn_date(&deadline), vn_date(&explanation));
    let blk = untouched_block(&server).await;
    let (g, u, year) = (blk.id, blk.unit_id, DEMO_YEAR);
    let unit = blk.unit_name.as_str();
    eprintln!("e2e: the chain of {} ({}), head {}", unit, blk.name, blk.head_name);
    let sheet = format!("/cum-khoi/{g}/nam/{year}/tu-cham/{u}");
    let chain = format!("/cum-khoi/{g}/nam/{year}/diem/{u}");
    let review = format!("/cum-khoi/{g}/nam/{year}/tong-hop");
    let public = format!("/cong-khai/{g}/{year}");
    let chain_form = format!("form[action='{chain}']");
    let chain_button = format!("{chain_form} button[type=submit]");
    let advance_button = "form[action$='/tong-hop/chuyen-buoc'] button[type=submit]";

    let officer = unit_account(&server, "canbo", Role::UnitOfficer, u, unit).await;
    let leader = unit_account(&server, "lanhdao", Role::UnitLeader, u, unit).await;
    let head = unit_account(&server, "canbo", Role::UnitOfficer, blk.head_id, &blk.head_name).await;
    let sec = who(&server, account(&server, "banthuongtruc.caobang")).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let pdf = dir.path().join(EVIDENCE);
    std::fs::write(&pdf, EVIDENCE_PDF).expect("write the evidence file");

    let b = Browser::start(&server.base).await;

    // nothing is public before publication
    b.goto(&public).await;
    let body = b.body().await;
    assert!(body.contains("Mã lỗi 404") && !body.contains(unit), "the public page before publication:\n{body}");

    // --- the unit's officer scores every line, with the reasons of the manual criteria
    officer.sign_in(&b).await;
    b.goto(&sheet).await;
    assert_eq!(b.text("main h1").await, format!("Phiếu tự chấm điểm năm {year}: {unit}"));
    assert_eq!(fact(&b, "Cụm, khối").await, blk.name);
    assert_eq!(fact(&b, "Bảng điểm áp dụng").await, "Phiên bản 1");
    assert_eq!(fact(&b, "Hạn tự chấm").await, deadline);
    assert_eq!(fact(&b, "Trạng thái").await, "Bản nháp");
    let target = points(blk.target);
    let i1 = line_row(&b, "I.1").await;
    assert!(i1.contains(&format!("chỉ tiêu được giao: {target}")), "the I.1 line shows the covenant's target: {i1}");
    assert!(!b.exists("form[action$='/ky-gui']").await, "an officer may not sign the sheet");
    let body = b.body().await;
    assert!(body.contains("Chỉ lãnh đạo đơn vị ký và gửi phiếu tự chấm"), "why the officer cannot sign:\n{body}");

    // above its target, alone in the block: the unit leads I.1 and gets its 300 points
    let actual = points(blk.target + 1000);
    let form = format!("form[action='{sheet}']");
    let field = |code: &str| format!("{form} [name='{code}']");
    b.fill(&field("v:I.1"), &actual).await;
    b.fill(&field("v:I.2"), "90").await;
    b.fill(&field("r:I.2"), SELF_REASON_I2).await;
    b.fill(&field("v:I.3"), "85").await;
    b.fill(&field("r:I.3"), SELF_REASON_I3).await;
    for code in ["II.1", "II.2", "II.4", "III.1", "III.2", "III.3", "IV.2"] {
        b.select(&field(&format!("v:{code}")), "Đạt").await;
    }
    b.fill(&field("v:II.3"), "3").await;
    b.fill(&field("v:II.5"), "4").await;
    b.fill(&field("v:IV.1"), "55").await;
    b.fill(&field("r:IV.1"), SELF_REASON_IV1).await;
    b.fill(&field("v:TH.2"), "1").await;
    b.fill("#note", "Số liệu đến hết tháng 11/2026").await;
    b.submit(&format!("{form} button[type=submit]")).await;
    b.wait_for_path(&sheet).await;
    expect_flash(&b, &format!("Đã lưu nháp phiếu tự chấm năm {year} của {unit}.")).await;
    // 300 + 90 + 85 + (40 + 30 + 3×10 + 40 + 4×10) + 3×50 + (55 + 40) + a bonus of 10
    assert_eq!(fact(&b, "Tổng điểm tự chấm").await, "910");
    assert_eq!(fact(&b, "Xếp loại").await, "Xuất sắc");
    assert_eq!(line_cell(&b, "I.1", "Điểm").await, "300");
    assert_eq!(line_cell(&b, "II.3", "Điểm").await, "30");
    assert_eq!(b.value(&field("v:I.1")).await, actual);
    assert_eq!(b.value(&field("r:I.2")).await, SELF_REASON_I2);
    assert_eq!(b.value(&field("v:II.2")).await, "Đạt");
    let i2 = line_row(&b, "I.2").await;
    assert!(i2.contains(&format!("Lưu bởi {}", officer.username)), "who saved I.2: {i2}");

    // --- and attaches a PDF to I.1
    b.select("#evidence-form select[name=line_code]", "I.1").await;
    b.upload("#evidence-form input[name=file]", &pdf).await;
    b.submit("#evidence-form button[type=submit]").await;
    b.wait_for_path(&sheet).await;
    expect_flash(&b, &format!("Đã gắn tệp minh chứng \"{EVIDENCE}\" vào dòng I.1.")).await;
    assert_eq!(line_cell(&b, "I.1", "Minh chứng").await, EVIDENCE, "the I.1 line links to its file");
    let link = b.find("main a[href^='/minh-chung/']").await;
    assert_eq!(link.text().await.expect("link text"), EVIDENCE);
    assert!(line_row(&b, "II.1").await.contains("Cần minh chứng"), "II.1 still needs its evidence");
    b.logout().await;

    // --- the unit's leader signs and sends the sheet, which locks it
    leader.sign_in(&b).await;
    b.goto(&sheet).await;
    assert_eq!(fact(&b, "Tổng điểm tự chấm").await, "910");
    let asked = b.submit_confirmed(&format!("form[action='{sheet}/ky-gui'] button[type=submit]")).await;
    assert_eq!(asked, format!("Ký, gửi phiếu tự chấm năm {year} của {unit}? Sau khi gửi, phiếu bị khóa."));
    b.wait_for_path(&sheet).await;
    expect_flash(&b, &format!("Đã ký, gửi phiếu tự chấm năm {year} của {unit}. Phiếu đã khóa.")).await;
    let state = fact(&b, "Trạng thái").await;
    assert!(
        state.starts_with("Đã ký, gửi") && state.contains(&leader.username) && state.ends_with("phiếu đã khóa"),
        "the sheet after signing: {state}"
    );
    let input = b.find(&field("v:I.2")).await;
    assert!(input.attr("disabled").await.expect("disabled").is_some(), "a signed sheet's inputs are disabled");
    assert!(!b.exists(&format!("{form} button[type=submit]")).await, "no draft save after signing");
    b.logout().await;

    // --- the head unit plans the cross-inspection; before the deadline it cannot move the year on
    head.sign_in(&b).await;
    b.goto(&review).await;
    assert_eq!(b.text("main h1").await, format!("Bảng tổng hợp điểm năm {year}: {}", blk.name));
    assert_eq!(fact(&b, "Bước hiện tại").await, "tự chấm");
    assert!(!b.exists(advance_button).await, "the head unit moved the year before the self-assessment deadline");
    let body = b.body().await;
    assert!(
        body.contains(&format!("Hạn tự chấm là hết ngày {deadline}: chỉ chuyển sang kiểm tra chéo sau hạn này")),
        "why the head unit cannot move the year:\n{body}"
    );
    b.goto(&format!("/cum-khoi/{g}/nam/{year}/kiem-tra-cheo")).await;
    b.submit("form[action$='/kiem-tra-cheo/lap'] button[type=submit]").await;
    expect_flash(&b, &format!("Đã lập kế hoạch kiểm tra chéo năm {year} của {}.", blk.name)).await;
    let inspector_name =
        xtext(&b, &format!("//main//table/tbody/tr[td[2][normalize-space()='{unit}']]/td[1]")).await.trim().to_string();
    let (inspector_id, stored_name) = {
        let mut tx = server.db.read().await.expect("read");
        let gy = org::find_group_year(&mut tx, g, year).await.expect("group year").expect("the block's year");
        let pairs = inspection::pairs(&mut tx, gy).await.expect("pairs");
        tx.rollback().await.expect("rollback");
        let p = pairs.into_iter().find(|p| p.inspected_unit_id == u).expect("an inspector of the unit");
        (p.inspector_unit_id, p.inspector_name)
    };
    assert_eq!(inspector_name, stored_name, "the plan's page and the database");
    assert_ne!(inspector_id, u, "a unit does not inspect itself");
    eprintln!("e2e: {inspector_name} inspects {unit}");
    b.logout().await;

    // --- the secretariat moves the block to the cross-inspection before the deadline
    b.login(&sec.username, &sec.password).await;
    b.goto(&review).await;
    let row = xtext(&b, &format!("//table[@id='review-units']/tbody/tr[td[1]//a[normalize-space()='{unit}']]")).await;
    assert!(row.contains("Đã ký gửi") && row.contains(&inspector_name) && row.contains("910"), "{row}");
    assert!(
        b.text("#unsent").await.contains("đơn vị chưa ký gửi phiếu tự chấm"),
        "the secretariat is told who has not sent"
    );
    let asked = b.submit_confirmed(advance_button).await;
    assert!(
        asked.starts_with("Chuyển sang bước kiểm tra chéo? ")
            && asked.ends_with("phiếu nháp của các đơn vị này sẽ bị khóa."),
        "{asked}"
    );
    b.wait_for_path(&review).await;
    expect_flash(&b, "Cụm, khối đã chuyển sang bước kiểm tra chéo.").await;
    assert_eq!(fact(&b, "Bước hiện tại").await, "kiểm tra chéo");
    b.logout().await;

    // --- the inspecting unit proposes a lower value; a proposal without its reason is refused
    let inspector = if inspector_id == blk.head_id {
        head.clone()
    } else {
        unit_account(&server, "canbo", Role::UnitOfficer, inspector_id, &inspector_name).await
    };
    inspector.sign_in(&b).await;
    b.goto(&chain).await;
    assert_eq!(b.text("main h1").await, format!("Điểm thi đua năm {year}: {unit}"));
    assert_eq!(fact(&b, "Đơn vị kiểm tra chéo").await, inspector_name);
    let writing = b.text("p.flash").await;
    assert!(writing.contains("Bạn đang ghi: Đề xuất của đoàn kiểm tra chéo"), "{writing}");
    assert_eq!(line_cell(&b, "II.2", "Tự chấm").await, "Đạt (30)");
    b.select(&format!("{chain_form} [name='v:II.2']"), "Không đạt").await;
    b.submit(&chain_button).await;
    let error = b.text(".flash-error").await;
    assert!(
        error.contains(&format!("{unit}: II.2 ở bước \"Đề xuất của đoàn kiểm tra chéo\" cần ghi lý do")),
        "a proposal without a reason: {error}"
    );
    assert_eq!(b.value(&format!("{chain_form} [name='v:II.2']")).await, "Không đạt", "what was typed is kept");
    b.fill(&format!("{chain_form} [name='m:II.2']"), INSPECTION_REASON).await;
    b.submit(&chain_button).await;
    b.wait_for_path(&chain).await;
    expect_flash(&b, &format!("Đã ghi \"Đề xuất của đoàn kiểm tra chéo\" cho {unit}.")).await;
    let proposal = line_cell(&b, "II.2", "Kiểm tra chéo").await;
    assert_eq!(proposal, "Không đạt");
    assert!(line_row(&b, "II.2").await.contains(INSPECTION_REASON));
    assert_eq!(b.text("#chain-total").await, "910", "a proposal does not change the unit's points");
    b.logout().await;

    // --- the head unit moves to its review, sees the table with its flags and proposes an adjustment
    head.sign_in(&b).await;
    b.goto(&review).await;
    let asked = b.submit_confirmed(advance_button).await;
    assert_eq!(asked, "Chuyển sang bước đơn vị trưởng tổng hợp, đề xuất điều chỉnh?");
    expect_flash(&b, "Cụm, khối đã chuyển sang bước đơn vị trưởng tổng hợp, đề xuất điều chỉnh.").await;
    let unit_row = format!("//table[@id='review-units']/tbody/tr[td[1]//a[normalize-space()='{unit}']]");
    let cell = |label: &str| format!("{unit_row}/td[@data-label='{label}']");
    assert_eq!(xtext(&b, &cell("Tự chấm")).await, "910");
    assert_eq!(xtext(&b, &cell("Theo kiểm tra chéo")).await, "880");
    assert_eq!(xtext(&b, &cell("Đang có hiệu lực")).await, "910");
    assert_eq!(xtext(&b, &cell("Xếp loại")).await, "Xuất sắc");
    assert_eq!(xtext(&b, &cell("Hạng")).await, "1");
    let look = xtext(&b, &cell("Cần xem")).await;
    assert!(look.contains("2 cờ") && look.contains("3 dòng thiếu minh chứng"), "what the head should look at: {look}");
    let flags = b.texts("#review-flags li").await;
    for expected in [
        format!(
            "{unit}: II.1 tự chấm đủ điểm tối đa (40) nhưng chưa có tài liệu minh chứng, trong khi tiêu chí này yêu \
             cầu minh chứng."
        ),
        format!(
            "{unit}: II.2 tự chấm 30 điểm, cao hơn đề xuất của đoàn kiểm tra chéo (0 điểm) 30 điểm, vượt ngưỡng 6 \
             điểm (20% điểm tối đa)."
        ),
    ] {
        assert!(flags.contains(&expected), "no flag {expected:?} in {flags:#?}");
    }
    let flagged = b.texts("table.matrix td.flagged").await;
    assert_eq!(flagged.len(), 2, "the flagged cells: {flagged:?}");
    assert!(
        flagged.iter().any(|c| c.starts_with("⚑ Đạt (30)") && c.contains("KT: Không đạt")),
        "the II.2 cell: {flagged:?}"
    );
    assert!(line_row(&b, "I.1").await.contains("📎 1"), "the I.1 row counts the unit's file");
    b.click_link(unit).await;
    b.wait_for_path(&chain).await;
    let writing = b.text("p.flash").await;
    assert!(writing.contains("Bạn đang ghi: Đơn vị trưởng đề xuất điều chỉnh"), "{writing}");
    b.select(&format!("{chain_form} [name='v:II.2']"), "Không đạt").await;
    b.fill(&format!("{chain_form} [name='m:II.2']"), HEAD_REASON).await;
    b.submit(&chain_button).await;
    expect_flash(&b, &format!("Đã ghi \"Đơn vị trưởng đề xuất điều chỉnh\" cho {unit}.")).await;
    let proposal = xtext(&b, "//tr[@id='line-II.2']/td[@data-label='Đơn vị trưởng đề xuất']").await;
    assert!(
        proposal.starts_with("Không đạt") && proposal.contains("chờ giải trình") && proposal.contains(HEAD_REASON),
        "the head's proposal: {proposal}"
    );

    // --- and opens the explanations
    b.goto(&review).await;
    let asked = b.submit_confirmed(advance_button).await;
    assert_eq!(asked, "Chuyển sang bước giải trình?");
    expect_flash(&b, "Cụm, khối đã chuyển sang bước giải trình.").await;
    assert!(xtext(&b, &cell("Cần xem")).await.contains("1 đề xuất chờ giải trình"));
    b.logout().await;

    // --- the unit sees the proposal and keeps its value, with its explanation
    officer.sign_in(&b).await;
    b.goto(&review).await;
    // a member has no review table: it is sent to its own unit's scores
    b.wait_for_path(&chain).await;
    let writing = b.text("p.flash").await;
    assert!(writing.contains("Bạn đang ghi: Giải trình"), "{writing}");
    let proposal = xtext(&b, "//tr[@id='line-II.2']/td[@data-label='Đơn vị trưởng đề xuất']").await;
    assert!(proposal.contains(HEAD_REASON) && proposal.contains("chờ giải trình"), "{proposal}");
    assert_eq!(b.value(&format!("{chain_form} [name='v:II.2']")).await, "", "the proposal is not answered yet");
    let choices = b.texts(&format!("{chain_form} select[name='v:II.2'] option")).await;
    assert_eq!(choices, ["— Chưa trả lời —", "Đồng ý đề xuất: Không đạt", "Giữ giá trị tự chấm: Đạt"], "{choices:?}");
    b.select(&format!("{chain_form} [name='v:II.2']"), "Đạt").await;
    b.fill(&format!("{chain_form} [name='m:II.2']"), EXPLANATION_REASON).await;
    b.submit(&chain_button).await;
    expect_flash(&b, &format!("Đã ghi \"Giải trình\" cho {unit}.")).await;
    let explained = xtext(&b, "//tr[@id='line-II.2']/td[@data-label='Giải trình']").await;
    assert!(explained.starts_with("Đạt") && explained.contains(EXPLANATION_REASON), "{explained}");
    let proposal = xtext(&b, "//tr[@id='line-II.2']/td[@data-label='Đơn vị trưởng đề xuất']").await;
    assert!(!proposal.contains("chờ giải trình"), "the proposal is answered: {proposal}");
    assert_eq!(b.text("#chain-total").await, "910");
    b.logout().await;

    // --- before the explanation date only the secretariat hands the block to the appraisal
    head.sign_in(&b).await;
    b.goto(&review).await;
    assert!(!b.exists(advance_button).await, "the head unit cut the explanation days short");
    let body = b.body().await;
    assert!(
        body.contains(&format!("Hạn giải trình là hết ngày {explanation}: chỉ chuyển sang thẩm định sau hạn này")),
        "{body}"
    );
    b.logout().await;
    b.login(&sec.username, &sec.password).await;
    b.goto(&review).await;
    let asked = b.submit_confirmed(advance_button).await;
    assert_eq!(asked, "Chuyển sang bước thẩm định?");
    expect_flash(&b, "Cụm, khối đã chuyển sang bước thẩm định.").await;
    assert!(!b.exists(advance_button).await);
    let body = b.body().await;
    assert!(
        body.contains("Cụm, khối đang ở bước thẩm định: bước tiếp theo là cơ quan thường trực chốt kết quả cuối cùng."),
        "{body}"
    );
    b.logout().await;

    // --- the secretariat appraises one line with its reason
    b.login(&sec.username, &sec.password).await;
    b.goto(&review).await;
    b.click_link(unit).await;
    b.wait_for_path(&chain).await;
    let writing = b.text("p.flash").await;
    assert!(writing.contains("Bạn đang ghi: Thẩm định"), "{writing}");
    b.fill(&format!("{chain_form} [name='v:I.2']"), "70").await;
    b.fill(&format!("{chain_form} [name='m:I.2']"), APPRAISAL_REASON).await;
    b.submit(&chain_button).await;
    expect_flash(&b, &format!("Đã ghi \"Thẩm định\" cho {unit}.")).await;
    let appraised = xtext(&b, "//tr[@id='line-I.2']/td[@data-label='Thẩm định / cuối cùng']").await;
    assert!(appraised.starts_with("70") && appraised.contains(APPRAISAL_REASON), "{appraised}");
    assert_eq!(line_cell(&b, "I.2", "Điểm").await, "70");
    assert_eq!(b.text("#chain-total").await, "890");
    assert!(fact(&b, "Tổng điểm đang có hiệu lực").await.contains("Tốt"), "890 points: no longer Xuất sắc");

    // --- finalises
    b.goto(&review).await;
    let asked = b.submit_confirmed("form[action$='/tong-hop/chot'] button[type=submit]").await;
    assert_eq!(asked, "Chốt kết quả cuối cùng của cụm, khối?");
    expect_flash(&b, "Đã chốt kết quả cuối cùng. Kết quả đã khóa; có thể công bố.").await;
    assert_eq!(fact(&b, "Bước hiện tại").await, "đã chốt kết quả cuối cùng");
    b.click_link("Bảng tổng hợp kết quả chấm điểm").await;
    b.wait_for_path(&format!("/cum-khoi/{g}/nam/{year}/ket-qua")).await;
    let results_row =
        format!("//table[@id='results']/tbody/tr[td[@data-label='Đơn vị']//a[normalize-space()='{unit}']]");
    let rcell = |label: &str| format!("{results_row}/td[@data-label='{label}']");
    assert_eq!(xtext(&b, &rcell("Tự chấm")).await, "910");
    assert_eq!(xtext(&b, &rcell("Tổng điểm")).await, "890");
    assert_eq!(xtext(&b, &rcell("Chênh lệch")).await, "-20");
    assert_eq!(xtext(&b, &rcell("Xếp loại")).await, "Tốt");
    assert!(b.body().await.contains("Kết quả cuối cùng"));

    // --- and publishes, without the reasons
    b.goto(&review).await;
    b.set_checked("form[action$='/tong-hop/cong-bo'] input[name=reasons]", false).await;
    b.submit("form[action$='/tong-hop/cong-bo'] button[type=submit]").await;
    expect_flash(&b, &format!("Đã công bố kết quả. Trang công khai: {public}")).await;
    assert!(fact(&b, "Công bố").await.starts_with("Đã công bố"));
    b.logout().await;

    // --- anyone, without logging in, finds the results on the public pages
    b.goto("/cong-khai").await;
    b.click_link(&format!("{} – năm {year}", blk.name)).await;
    b.wait_for_path(&public).await;
    assert_eq!(b.text("main h1").await, format!("Bảng tổng hợp kết quả chấm điểm thi đua năm {year}"));
    let body = b.body().await;
    assert!(body.contains(&blk.name) && body.contains("Kết quả cuối cùng"), "{body}");
    assert!(!body.contains("Đăng xuất"), "nobody is logged in");
    let public_row = format!("//table[@id='results']/tbody/tr[td[@data-label='Đơn vị'][contains(., '{unit}')]]");
    let pcell = |label: &str| format!("{public_row}/td[@data-label='{label}']");
    assert_eq!(xtext(&b, &pcell("Tổng điểm")).await, "890");
    assert_eq!(xtext(&b, &pcell("Xếp loại")).await, "Tốt");
    assert_eq!(xtext(&b, &pcell("Hạng")).await, "1");
    assert_eq!(xtext(&b, &pcell("Điểm thưởng")).await, "10");
    assert!(!b.exists("#results a").await, "the public page links to no unit's scores");
    let source = b.client.source().await.expect("page source");
    for hidden in [
        EVIDENCE,
        "/minh-chung/",
        SELF_REASON_I2,
        SELF_REASON_I3,
        SELF_REASON_IV1,
        INSPECTION_REASON,
        HEAD_REASON,
        EXPLANATION_REASON,
        APPRAISAL_REASON,
    ] {
        assert!(!source.contains(hidden), "the public page shows {hidden:?}:\n{body}");
    }

    b.close().await;
    server.finish().await;
}
