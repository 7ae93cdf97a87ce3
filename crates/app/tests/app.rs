//! The binary end to end: the demo loader, and `thidua` run as a subprocess
//! (migrate, user, audit verify with a tampered row, backup, table export and import). Every test runs
//! on SQLite; with THIDUA_TEST_POSTGRES=postgres://user@host:port set, the
//! same tests also run on a fresh PostgreSQL database (and fail, never skip,
//! when that server cannot be reached).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::NaiveDate;
use thidua_app::demo::{self, DEMO_ACTOR, DEMO_PASSWORD, calendar, data};
use thidua_core::calendar::Event;
use thidua_core::scoring::ScoringTable;
use thidua_db::audit::{self, Verdict};
use thidua_db::sqlx::{self, AssertSqlSafe, Connection};
use thidua_db::testing::PgDatabase;
use thidua_db::{Backend, Db, org, users};
use thidua_web::ops::tables::{self, NewVersionInput};
use thidua_web::{AppState, WebConfig};

/// A fresh database in a fresh working directory; a PostgreSQL database is dropped at the end.
struct TestDb {
    url: String,
    dir: tempfile::TempDir,
    /// Dropped (with its database) at the end.
    _pg: Option<PgDatabase>,
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("thidua.db").display());
        TestDb { url, dir, _pg: None }
    }

    /// A fresh PostgreSQL database, when THIDUA_TEST_POSTGRES names a server.
    async fn postgres() -> Option<TestDb> {
        let pg = PgDatabase::create("thidua_test").await?;
        let dir = tempfile::tempdir().expect("temp dir");
        Some(TestDb { url: pg.url(), dir, _pg: Some(pg) })
    }

    async fn db(&self) -> Db {
        let db = Db::connect(&self.url).await.expect("connect");
        db.migrate().await.expect("migrate");
        db
    }

    /// Runs `thidua ARGS` in the working directory with this database; `stdin` is piped in.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_env(args, stdin, &[("THIDUA_DATABASE_URL", self.url.as_str())])
    }

    fn run_env(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_thidua"));
        cmd.args(args).current_dir(self.dir.path()).env("RUST_LOG", "warn");
        for (k, _) in std::env::vars() {
            if k.starts_with("THIDUA_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn thidua");
        if let Some(input) = stdin {
            use std::io::Write;
            let mut w = child.stdin.take().expect("stdin");
            w.write_all(input.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("wait thidua")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts the exit code, showing both streams when it differs.
#[track_caller]
fn expect(out: &Output, code: i32) -> (String, String) {
    let (o, e) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(code), "exit code\n--- stdout:\n{o}\n--- stderr:\n{e}");
    assert!(!e.contains("panicked") && !o.contains("panicked"), "a panic:\n{o}\n{e}");
    (o, e)
}

// ---------------------------------------------------------------------------------------------
// (a) the demo loader
// ---------------------------------------------------------------------------------------------

async fn check_demo(t: &TestDb) {
    let db = t.db().await;
    let started = std::time::Instant::now();
    let day = thidua_web::ops::today();
    let accounts = demo::load(&db).await.expect("demo loads");
    eprintln!("demo loaded in {:?} on {:?}", started.elapsed(), db.backend());
    // the calendar of today in Vietnam (or of tomorrow, if midnight passed during the load)
    let cal = check_demo_calendar(&db, &[day, thidua_web::ops::today()]).await;
    if day <= ymd(2027, 3, 10) {
        let ahead = (cal.deadline() - day).num_days();
        assert!(ahead >= calendar::LEAD_DAYS, "the 2026 self-assessment closes in {ahead} days: {cal:#?}");
    }

    let mut tx = db.read().await.unwrap();
    let auths = org::authorities(&mut tx).await.unwrap();
    assert_eq!(auths.len(), data::AUTHORITIES.len());
    let cb = auths.iter().find(|a| a.name == "Tỉnh Cao Bằng" && a.level == "province").expect("Cao Bằng").id;

    // Cao Bằng: 17 groups, 137 distinct member units in 2026.
    let groups = org::groups(&mut tx, Some(&[cb]), &[]).await.unwrap();
    assert_eq!(groups.len(), 17);
    let m2026 = org::memberships(&mut tx, Some(&[cb]), Some(2026)).await.unwrap();
    let units: BTreeSet<i64> = m2026.iter().map(|m| m.unit_id).collect();
    let groups_2026: BTreeSet<i64> = m2026.iter().map(|m| m.group_id).collect();
    assert_eq!(groups_2026.len(), 17);
    assert_eq!(units.len(), 137);
    assert_eq!(m2026.iter().filter(|m| m.role == "head").count(), 17);

    let n_units = tx.scalar("SELECT COUNT(*) FROM units", vec![]).await.unwrap();
    assert_eq!(n_units, data::UNITS.len() as i64);
    let n_lineage = tx.scalar("SELECT COUNT(*) FROM unit_lineage", vec![]).await.unwrap();
    assert!(n_lineage > 0);
    assert_eq!(n_lineage, data::LINEAGE.len() as i64);
    let years = org::years(&mut tx).await.unwrap();
    assert!(years.contains(&2026) && years.contains(&2015), "{years:?}");

    // Calendar: Cao Bằng's eight 2026 dates (checked above); the party block moved one.
    assert_eq!(thidua_db::calendar::defaults(&mut tx, cb, 2026).await.unwrap().len(), 8);
    assert_eq!(tx.scalar("SELECT COUNT(*) FROM group_calendar", vec![]).await.unwrap(), 1);

    // Scoring: the published 2025 and 2026 templates; the six blocks' 2026 tables adopted, valid, one with a
    // second version; the 2025 tables of the groups with results.
    let templates = thidua_db::scoring::templates(&mut tx, Some(&[cb])).await.unwrap();
    assert_eq!(templates.len(), 2);
    assert!(templates.iter().all(|t| t.published_on.is_some()));
    let adopted_in = |year: i32| {
        format!(
            "SELECT COUNT(*) FROM scoring_tables t JOIN group_years gy ON gy.id = t.group_year_id \
             WHERE t.adopted_at IS NOT NULL AND t.version = 1 AND gy.year = {year}"
        )
    };
    assert_eq!(count_of(&mut tx, adopted_in(2026)).await, 6);
    assert_eq!(count_of(&mut tx, adopted_in(2025)).await, demo::scores::FINAL_GROUPS.len() as i64);
    assert_eq!(tx.scalar("SELECT COUNT(*) FROM scoring_tables WHERE version = 2", vec![]).await.unwrap(), 1);
    let contents: Vec<(String,)> = tx.all("SELECT content FROM scoring_tables", vec![]).await.unwrap();
    for (c,) in contents {
        let t: thidua_core::scoring::ScoringTable = serde_json::from_str(&c).expect("a table");
        assert!(t.validate().is_ok());
    }

    // Covenants: the six blocks in 2026, each on its in-force adopted version, every member signed but a few.
    let covenants: Vec<(i64, Option<i64>, String)> = tx
        .all(
            "SELECT c.id, c.table_id, c.text FROM covenants c JOIN group_years gy ON gy.id = c.group_year_id \
             WHERE gy.year = 2026",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(covenants.len(), 6);
    for (_, table_id, text) in &covenants {
        assert!(table_id.is_some() && text.contains("Khối thi đua") && text.contains("2026"), "{text}");
    }
    let blocks: Vec<_> = data::GROUPS.iter().filter(|g| g.authority == "cb" && g.kind == "block").collect();
    let block_members: usize =
        blocks.iter().filter_map(|g| g.years.iter().find(|y| y.year == 2026)).map(|y| y.members.len()).sum();
    let unsigned = demo::covenant::UNSIGNED.len();
    assert!((2..=3).contains(&unsigned));
    let in_2026 = "JOIN covenants c ON c.id = x.covenant_id JOIN group_years gy ON gy.id = c.group_year_id \
                   WHERE gy.year = 2026";
    let signatures = count_of(&mut tx, format!("SELECT COUNT(*) FROM covenant_signatures x {in_2026}")).await;
    assert_eq!(signatures, (block_members - unsigned) as i64);
    let targets =
        count_of(&mut tx, format!("SELECT COUNT(*) FROM covenant_targets x {in_2026} AND x.line_code = 'I.1'")).await;
    assert_eq!(targets, block_members as i64);
    let penalties: Vec<(i64, i64)> =
        tx.all_dyn(format!("SELECT x.unit_id, x.points FROM covenant_penalties x {in_2026}"), vec![]).await.unwrap();
    assert_eq!(penalties.len(), 1);
    assert_eq!(penalties[0].1, 800);
    // the party block's head has not signed: its demo leader signs in the browser test
    let head = users::user_by_name(&mut tx, &format!("lanhdao.{}", demo::slug(demo::covenant::UNSIGNED[0].1)))
        .await
        .unwrap()
        .expect("the party block head's demo leader");
    let head_unit = users::grants_of(&mut tx, head.id).await.unwrap()[0].unit_id.unwrap();
    let signed_units: Vec<(i64,)> = tx.all("SELECT unit_id FROM covenant_signatures", vec![]).await.unwrap();
    assert!(!signed_units.iter().any(|(u,)| *u == head_unit));
    assert_ne!(penalties[0].0, head_unit);
    // the other signers, and the officers who wrote the demo's score entries, cannot log in
    let silent: Vec<(String,)> = tx.all("SELECT username FROM users WHERE password_hash = '!'", vec![]).await.unwrap();
    assert!(!silent.is_empty() && silent.iter().all(|(u,)| u.starts_with("lanhdao.") || u.starts_with("canbo.")));
    assert!(silent.iter().all(|(u,)| !accounts.iter().any(|a| &a.username == u)));
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "demo load too slow: {:?}", started.elapsed());

    // The accounts: one role each, the shared password works.
    assert_eq!(accounts.len(), 9);
    for a in &accounts {
        assert_eq!(a.password, DEMO_PASSWORD);
        let u = users::user_by_name(&mut tx, &a.username).await.unwrap().unwrap_or_else(|| panic!("{}", a.username));
        assert!(!u.disabled);
        assert_eq!(users::grants_of(&mut tx, u.id).await.unwrap().len(), 1, "{}", a.username);
        assert!(!a.role.is_empty());
    }
    for name in
        ["admin", "banthuongtruc.caobang", "hoidong.caobang", "xem.caobang", "bantdkt.tw", "lanhdao.tinhcaobang"]
    {
        assert!(accounts.iter().any(|a| a.username == name), "{name}");
    }
    let admin = users::user_by_name(&mut tx, "admin").await.unwrap().unwrap();
    assert!(thidua_web::auth::verify_password(DEMO_PASSWORD, &admin.password_hash));

    // The block head's leader and officer; a plain commune member's officer.
    let leader = accounts.iter().find(|a| a.username.starts_with("lanhdao.") && a.username != "lanhdao.tinhcaobang");
    let leader = users::user_by_name(&mut tx, &leader.expect("a block head leader").username).await.unwrap().unwrap();
    let unit = users::grants_of(&mut tx, leader.id).await.unwrap()[0].unit_id.expect("unit role");
    assert!(m2026.iter().any(|m| m.unit_id == unit && m.role == "head" && m.group_kind == "block"));
    let officers: Vec<_> = accounts.iter().filter(|a| a.username.starts_with("canbo.")).collect();
    assert_eq!(officers.len(), 2);
    let mut commune_member = false;
    for o in officers {
        let u = users::user_by_name(&mut tx, &o.username).await.unwrap().unwrap();
        let unit = users::grants_of(&mut tx, u.id).await.unwrap()[0].unit_id.unwrap();
        commune_member |= m2026.iter().any(|m| m.unit_id == unit && m.role == "member" && m.group_kind == "cluster");
    }
    assert!(commune_member);
    let province = users::user_by_name(&mut tx, "lanhdao.tinhcaobang").await.unwrap().unwrap();
    let g = &users::grants_of(&mut tx, province.id).await.unwrap()[0];
    assert_eq!(g.scope_name.as_deref(), Some("Tỉnh Cao Bằng"));
    assert_ne!(g.unit_authority_id, Some(cb));

    // Everything is in the audit log, which checks.
    let created = tx
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE actor_name = $1 AND action = $2",
            thidua_db::args![DEMO_ACTOR, "unit.create"],
        )
        .await
        .unwrap();
    assert_eq!(created, data::UNITS.len() as i64);
    tx.rollback().await.unwrap();
    check_demo_scores(t, &db).await;
    match audit::verify(&db).await.unwrap() {
        Verdict::Intact(n) => assert!(n as usize > data::UNITS.len() + data::LINEAGE.len()),
        other => panic!("{other:?}"),
    }
    db.close().await;
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// Cao Bằng's 2026 calendar as stored, and as the groups' calendar pages show
/// it, is [`calendar::calendar_for`] one of `days` (the load day); returns it.
async fn check_demo_calendar(db: &Db, days: &[NaiveDate]) -> calendar::DemoCalendar {
    let mut tx = db.read().await.unwrap();
    let auths = org::authorities(&mut tx).await.unwrap();
    let cb = auths.iter().find(|a| a.name == "Tỉnh Cao Bằng").expect("Cao Bằng").id;
    let stored: BTreeSet<(String, String, String, String)> =
        thidua_db::calendar::defaults(&mut tx, cb, demo::DEMO_YEAR)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.event, r.default_on, r.earliest_on, r.latest_on))
            .collect();
    let groups = org::groups(&mut tx, Some(&[cb]), &[]).await.unwrap();
    tx.rollback().await.unwrap();
    let planned = |c: &calendar::DemoCalendar| -> BTreeSet<(String, String, String, String)> {
        c.events
            .iter()
            .map(|e| (e.event.code().into(), e.default_on.to_string(), e.earliest.to_string(), e.latest.to_string()))
            .collect()
    };
    let cal = days
        .iter()
        .map(|d| calendar::calendar_for(*d))
        .find(|c| planned(c) == stored)
        .unwrap_or_else(|| panic!("the stored calendar {stored:#?} is the demo's of none of {days:?}"));

    // what the groups' pages show: the party block's own deadline, the authority's for the others
    let st = AppState::new(db.clone(), WebConfig::default());
    let sec = thidua_app::users::cli_ctx(db, "banthuongtruc.caobang").await.unwrap();
    let gid = |key: &str| {
        let name = data::GROUPS.iter().find(|g| g.key == key).unwrap_or_else(|| panic!("group {key}")).name;
        groups.iter().find(|g| g.name == name).unwrap_or_else(|| panic!("{name}")).id
    };
    for (key, source, deadline) in
        [(calendar::MOVED_GROUP, "group", cal.moved_deadline), ("cb-khoi-noi-chinh", "authority", cal.deadline())]
    {
        let gc = thidua_web::ops::calendar::group_calendar(&st, &sec, gid(key), demo::DEMO_YEAR).await.unwrap();
        let date = |e: Event| gc.events.iter().find(|x| x.event == e.code()).and_then(|x| x.date.clone());
        let line = gc.events.iter().find(|x| x.event == Event::SelfAssessmentDeadline.code()).unwrap();
        assert_eq!((line.date.clone(), line.source.as_str()), (Some(deadline.to_string()), source), "{key}");
        assert_eq!(date(Event::Explanation), Some(cal.explanation().to_string()), "{key}");
    }
    cal
}

/// The demo loaded on other days: the dates from the self-assessment deadline
/// on move with the load day, into 2027 and up to 31/03/2027, and the
/// operations that check the calendar accept them.
#[tokio::test]
async fn demo_calendar_follows_the_load_day() {
    let t = TestDb::sqlite();
    let db = t.db().await;
    let day = ymd(2027, 2, 15);
    demo::load_on(&db, None, day).await.expect("demo loads");
    let cal = check_demo_calendar(&db, &[day]).await;
    assert_eq!(cal.deadline(), ymd(2027, 3, 13), "{cal:#?}");
    assert_eq!(cal.moved_deadline, ymd(2027, 3, 16));
    assert_eq!(cal.explanation(), ymd(2027, 3, 30));
    assert_eq!(cal.default_of(Event::YearEndReview), ymd(2027, 3, 31), "held on the year's last day");
    assert_eq!(cal.default_of(Event::MidYearReview), ymd(2026, 7, 15));
    db.close().await;
}

/// A count by a query built at run time.
async fn count_of(tx: &mut thidua_db::Tx, sql: String) -> i64 {
    let row: Option<(i64,)> = tx.opt_dyn(sql.clone(), vec![]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.map_or(0, |r| r.0)
}

/// The demo's scoring years, read through the same operations as the pages: 2025 final and published for
/// the groups with results, with entries at every stage and a total and rank for every member; 2026 in
/// self-assessment with drafts and two submitted sheets; the party block's 2026 untouched; evidence files
/// served (SQLite: the loader stores them beside the database file; PostgreSQL: none).
async fn check_demo_scores(t: &TestDb, db: &Db) {
    use thidua_web::ops::{chain, covenant as cov, scores as sheets};
    let cfg = WebConfig { data_dir: t.dir.path().to_path_buf(), ..WebConfig::default() };
    let st = AppState::new(db.clone(), cfg);
    let sec = thidua_app::users::cli_ctx(db, "banthuongtruc.caobang").await.unwrap();
    let mut tx = db.read().await.unwrap();
    let all_groups = org::groups(&mut tx, None, &[]).await.unwrap();
    let def = |key: &str| data::GROUPS.iter().find(|g| g.key == key).unwrap_or_else(|| panic!("group {key}"));
    let gid = |key: &str| all_groups.iter().find(|g| g.name == def(key).name).unwrap_or_else(|| panic!("{key}")).id;
    let members = |key: &str, year: i32| def(key).years.iter().find(|y| y.year == year).unwrap().members;
    let units: Vec<(i64, String)> = tx.all("SELECT id, name FROM units", vec![]).await.unwrap();
    let unit_id = |key: &str| {
        let name = data::UNITS.iter().find(|u| u.key == key).unwrap_or_else(|| panic!("unit {key}")).name;
        units.iter().find(|u| u.1 == name).unwrap_or_else(|| panic!("{name}")).0
    };
    let gy_of =
        |key: &str, year: i32| format!("(SELECT id FROM group_years WHERE group_id = {} AND year = {year})", gid(key));

    // 2025: final and published, every stage written, computed
    let (scores_2025, _) = (demo::scores::FINAL_GROUPS, demo::scores::RESULT_YEAR);
    assert!(scores_2025.iter().filter(|(k, _)| def(k).kind == "block").count() >= 2);
    for &(key, reasons) in scores_2025 {
        let gy = gy_of(key, 2025);
        for stage in ["self_assessment", "inspection_proposal", "head_review", "explanation", "appraisal", "final"] {
            let sql = format!("SELECT COUNT(*) FROM score_entries WHERE group_year_id = {gy} AND stage = '{stage}'");
            assert!(count_of(&mut tx, sql).await > 0, "{key}: no entry at the stage {stage}");
        }
        let n = members(key, 2025).len() as i64;
        let sql = format!("SELECT COUNT(*) FROM sheets WHERE group_year_id = {gy} AND state = 'submitted'");
        assert_eq!(count_of(&mut tx, sql).await, n, "{key}: every sheet submitted");
        let sql =
            format!("SELECT COUNT(DISTINCT unit_id) FROM score_entries WHERE group_year_id = {gy} AND stage = 'final'");
        assert_eq!(count_of(&mut tx, sql).await, n, "{key}: final values for every member");
        let sql = format!("SELECT COUNT(*) FROM inspection_pairs WHERE group_year_id = {gy}");
        assert_eq!(count_of(&mut tx, sql).await, n, "{key}: one inspector per member");

        let r = chain::results(&st, &sec, gid(key), 2025).await.unwrap();
        assert_eq!(r.status.phase, "final", "{key}");
        assert!(r.is_final && r.status.published_at.is_some(), "{key}: published");
        assert_eq!(r.status.publish_reasons, reasons, "{key}");
        assert!(r.compute_errors.is_empty(), "{key}: {:?}", r.compute_errors);
        assert_eq!(r.lines.len() as i64, n);
        for l in &r.lines {
            assert!(l.total.is_some() && l.rank.is_some() && l.class.is_some(), "{key}: {l:?}");
        }
        assert!(r.lines.iter().any(|l| !l.adjustments.is_empty()), "{key}: adjusted lines with their reasons");
        let totals: BTreeSet<&String> = r.lines.iter().filter_map(|l| l.total.as_ref()).collect();
        assert!(totals.len() > 1, "{key}: the totals vary: {totals:?}");
        let review = chain::review(&st, &sec, gid(key), 2025).await.unwrap();
        assert!(review.compute_errors.is_empty() && review.may_publish, "{key}");

        // the covenant: every signature still matches what the covenant says; the unsigned unit penalised
        let c = cov::get(&st, &sec, gid(key), 2025).await.unwrap();
        assert!(c.members.iter().filter_map(|m| m.signature.as_ref()).all(|s| s.current), "{key}");
        assert!(
            c.members
                .iter()
                .all(|m| m.signature.as_ref().is_some_and(|s| s.signed_at.starts_with("2025-")) || m.penalty.is_some())
        );
    }
    let (group, late) = demo::scores::LATE_2025;
    let review = chain::review(&st, &sec, gid(group), 2025).await.unwrap();
    let late_id = unit_id(late);
    assert!(review.flags.iter().any(|f| f.unit_id == late_id && f.kind == "late_submission"), "{:?}", review.flags);
    let (group, unsigned) = demo::scores::UNSIGNED_2025;
    let unsigned_id = unit_id(unsigned);
    let sql = format!(
        "SELECT COUNT(*) FROM score_entries WHERE group_year_id = {} AND unit_id = {unsigned_id} AND line_code = 'TR.1' \
         AND stage IN ('appraisal', 'final')",
        gy_of(group, 2025)
    );
    assert_eq!(count_of(&mut tx, sql).await, 2, "the secretariat's penalty for the unsigned covenant, then final");
    let published = chain::public_list(&st).await.unwrap();
    assert_eq!(published.iter().filter(|p| p.year == 2025).count(), scores_2025.len());

    // 2026: self-assessment only, a few drafts and two submitted sheets, one inspection plan
    let in_2026 = "JOIN group_years gy ON gy.id = x.group_year_id WHERE gy.year = 2026";
    let entries_2026 = count_of(&mut tx, format!("SELECT COUNT(*) FROM score_entries x {in_2026}")).await;
    assert!(entries_2026 > 0);
    let other = format!("SELECT COUNT(*) FROM score_entries x {in_2026} AND x.stage <> 'self_assessment'");
    assert_eq!(count_of(&mut tx, other).await, 0);
    assert_eq!(count_of(&mut tx, format!("SELECT COUNT(*) FROM score_years x {in_2026}")).await, 0);
    let submitted = format!("SELECT COUNT(*) FROM sheets x {in_2026} AND x.state = 'submitted'");
    assert_eq!(count_of(&mut tx, submitted).await, demo::scores::SUBMITTED_2026.len() as i64);
    let plan = format!("SELECT COUNT(*) FROM inspection_pairs x {in_2026}");
    assert_eq!(count_of(&mut tx, plan).await, members(demo::scores::PLAN_2026, 2026).len() as i64);
    for &(key, units) in demo::scores::DRAFTS_2026 {
        let r = chain::results(&st, &sec, gid(key), 2026).await.unwrap();
        assert_eq!(r.status.phase, "self_assessment", "{key}");
        assert!(r.compute_errors.is_empty(), "{key}: {:?}", r.compute_errors);
        for u in units {
            let v = sheets::sheet(&st, &sec, gid(key), 2026, unit_id(u)).await.unwrap();
            let want = if demo::scores::SUBMITTED_2026.contains(u) { "submitted" } else { "draft" };
            assert_eq!(v.state, want, "{u}");
            assert!(v.compute_errors.is_empty(), "{u}: {:?}", v.compute_errors);
            assert!(v.lines.iter().any(|l| !l.value.is_empty()), "{u}: some lines filled");
        }
    }
    // the party block, whose 2026 the browser tests play, has no entry, sheet or plan
    let party = gy_of("cb-khoi-dang", 2026);
    for table in ["score_entries", "sheets", "evidence_files", "inspection_pairs", "score_years"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE group_year_id = {party}");
        assert_eq!(count_of(&mut tx, sql).await, 0, "{table} of the party block in 2026");
    }

    // evidence files: stored beside a SQLite database and served; none without a file store
    let files: Vec<(i64, String)> =
        tx.all("SELECT id, file_type FROM evidence_files ORDER BY id", vec![]).await.unwrap();
    tx.rollback().await.unwrap();
    match db.backend() {
        Backend::Sqlite => {
            assert!(files.len() >= 10, "{} evidence files", files.len());
            for (id, file_type) in &files {
                let d = chain::evidence_file(&st, &sec, *id).await.unwrap();
                let sniffed = thidua_core::documents::sniff(&d.bytes, &Default::default());
                assert_eq!(sniffed.map(|t| t.code()), Ok(file_type.as_str()), "evidence file {id}");
            }
            assert!(files.iter().any(|f| f.1 == "pdf") && files.iter().any(|f| f.1 == "png"));
        }
        Backend::Postgres => assert!(files.is_empty()),
    }
}

#[tokio::test]
async fn demo_loader_sqlite() {
    check_demo(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn demo_loader_postgres() {
    if let Some(t) = TestDb::postgres().await {
        check_demo(&t).await;
    }
}

#[test]
fn demo_command_prepares_a_fresh_database() {
    let t = TestDb::sqlite();
    for _ in 0..2 {
        // the second run replaces the first database instead of failing on duplicates
        let (o, _) = expect(&t.run(&["demo", "--dir", "mau", "--prepare-only"], None), 0);
        assert!(o.contains("banthuongtruc.caobang") && o.contains(DEMO_PASSWORD), "{o}");
        assert!(o.contains("Quản trị hệ thống"), "{o}");
        // and the dates of the demo year as loaded today (they move with the load day)
        let dates = calendar::calendar_for(thidua_web::ops::today());
        assert!(o.contains(&dates.text()), "{o}");
        assert!(o.contains(&thidua_core::text::format_date(dates.deadline())), "{o}");
    }
    let file = t.dir.path().join("mau").join(thidua_app::commands::DEMO_FILE);
    assert!(file.is_file());

    // export and import as a named user, through the same operations as the web
    let url = format!("sqlite://{}", file.display());
    let run = |args: &[&str]| t.run_env(args, None, &[("THIDUA_DATABASE_URL", url.as_str())]);
    let (o, _) = expect(&run(&["export", "units", "--out", "don-vi.xlsx", "--as", "banthuongtruc.caobang"]), 0);
    assert!(o.contains("Đã xuất ra"), "{o}");
    let m = ["export", "memberships", "--out", "thanh-vien.xlsx", "--year", "2026", "--as", "banthuongtruc.caobang"];
    expect(&run(&m), 0);
    let (o, _) = expect(&run(&["import", "units", "--file", "don-vi.xlsx", "--as", "banthuongtruc.caobang"]), 0);
    assert!(o.contains("Thêm mới: 0; cập nhật: 0") && o.contains("Không có thay đổi nào"), "{o}");
    let dry = ["import", "memberships", "--file", "thanh-vien.xlsx", "--as", "banthuongtruc.caobang", "--dry-run"];
    let (o, _) = expect(&run(&dry), 0);
    assert!(o.contains("Đã đọc 137 dòng") && o.contains("Chỉ kiểm tra"), "{o}");
    let (_, e) = expect(&run(&["import", "units", "--file", "don-vi.xlsx", "--as", "xem.caobang"]), 1);
    assert!(e.contains("không có quyền"), "{e}");
    let (_, e) = expect(&run(&["export", "units", "--out", "don-vi.xlsx", "--as", "admin"]), 1);
    assert!(e.contains("đã có"), "{e}");
    let (o, _) = expect(&run(&["audit", "verify"]), 0);
    assert!(o.contains("Nhật ký toàn vẹn"), "{o}");
}

// ---------------------------------------------------------------------------------------------
// `thidua table export|import`: a block's scoring table out to Excel and back into its draft
// ---------------------------------------------------------------------------------------------

/// A stored version's table.
async fn stored(db: &Db, table_id: i64) -> ScoringTable {
    let mut tx = db.read().await.unwrap();
    let row = thidua_db::scoring::table(&mut tx, table_id).await.unwrap().expect("version");
    tx.rollback().await.unwrap();
    serde_json::from_str(&row.content).expect("a table")
}

fn read_xlsx(path: &Path) -> ScoringTable {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    thidua_export::table_from_xlsx(&bytes, &thidua_export::Limits::default()).expect("the file reads back")
}

async fn check_table(t: &TestDb) {
    let db = t.db().await;
    let accounts = demo::load(&db).await.expect("demo loads");
    let st = AppState::new(db.clone(), WebConfig::default());

    // the demo's block head officer and its block; the block that adopted a second version
    let officer = accounts
        .iter()
        .find(|a| a.username.starts_with("canbo.") && a.role.contains("khối trưởng"))
        .expect("a block head officer")
        .username
        .clone();
    let mut tx = db.read().await.unwrap();
    let u = users::user_by_name(&mut tx, &officer).await.unwrap().unwrap();
    let unit = users::grants_of(&mut tx, u.id).await.unwrap()[0].unit_id.unwrap();
    let m2026 = org::memberships(&mut tx, None, Some(2026)).await.unwrap();
    let block =
        m2026.iter().find(|m| m.unit_id == unit && m.role == "head" && m.group_kind == "block").unwrap().group_id;
    let (revised,): (i64,) = tx
        .one(
            "SELECT gy.group_id FROM scoring_tables t JOIN group_years gy ON gy.id = t.group_year_id \
             WHERE gy.year = 2026 AND t.version = 2",
            vec![],
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let (g, r) = (block.to_string(), revised.to_string());
    let secretariat = "banthuongtruc.caobang";

    // export: by default the version in force (else the latest); it reads back as the stored table
    let sec = thidua_app::users::cli_ctx(&db, secretariat).await.unwrap();
    let ov = tables::overview(&st, &sec, revised, 2026).await.unwrap();
    let default = ov.in_force.clone().or_else(|| ov.versions.last().cloned()).unwrap();
    let export = |group: &str, out: &str, extra: &[&str], who: &str| {
        let mut args = vec!["table", "export", "--group-id", group, "--year", "2026", "--out", out, "--as", who];
        args.extend_from_slice(extra);
        t.run(&args, None)
    };
    let (o, _) = expect(&export(&r, "ban-hanh.xlsx", &[], secretariat), 0);
    assert!(
        o.contains("Đã xuất bảng chấm điểm năm 2026") && o.contains(&format!("phiên bản {}", default.version)),
        "{o}"
    );
    assert_eq!(read_xlsx(&t.dir.path().join("ban-hanh.xlsx")), stored(&db, default.id).await);
    let v1 = ov.versions.iter().find(|v| v.version == 1).unwrap();
    expect(&export(&r, "phien-ban-1.xlsx", &["--version", "1"], secretariat), 0);
    let first = read_xlsx(&t.dir.path().join("phien-ban-1.xlsx"));
    assert_eq!(first, stored(&db, v1.id).await);
    assert_ne!(first, stored(&db, ov.versions.last().unwrap().id).await);
    let (_, e) = expect(&export(&r, "khong-co.xlsx", &["--version", "7"], secretariat), 1);
    assert!(e.contains("không có phiên bản 7") && e.contains("1, 2"), "{e}");
    let (_, e) = expect(&export(&r, "ban-hanh.xlsx", &[], secretariat), 1);
    assert!(e.contains("đã có"), "{e}");
    let (_, e) = expect(&export("999999", "khong-co.xlsx", &[], secretariat), 1);
    assert!(e.contains("Không có cụm, khối"), "{e}");
    assert!(!t.dir.path().join("khong-co.xlsx").exists());

    // the head officer's block, as the officer
    let (o, _) = expect(&export(&g, "bang-diem.xlsx", &[], &officer), 0);
    assert!(o.contains("đang có hiệu lực") || o.contains("đã thông qua") || o.contains("dự thảo"), "{o}");
    let exported = read_xlsx(&t.dir.path().join("bang-diem.xlsx"));
    let ov = tables::overview(&st, &sec, block, 2026).await.unwrap();
    let in_force = ov.in_force.clone().or_else(|| ov.versions.last().cloned()).unwrap();
    assert_eq!(exported, stored(&db, in_force.id).await);

    // import: only into a draft
    let import = |file: &str, who: &str| {
        t.run(&["table", "import", "--group-id", &g, "--year", "2026", "--file", file, "--as", who], None)
    };
    let (_, e) = expect(&import("bang-diem.xlsx", &officer), 1);
    assert!(e.contains("không có phiên bản dự thảo") && e.contains("tạo phiên bản mới"), "{e}");
    let head = thidua_app::users::cli_ctx(&db, &officer).await.unwrap();
    let reason = NewVersionInput { reason: "Theo kết luận hội nghị sơ kết.".into() };
    let draft = tables::new_version(&st, &head, block, 2026, &reason).await.expect("a draft").id;
    assert_eq!(stored(&db, draft).await, exported);

    // a changed file replaces the draft, through the operation (audited, as the officer)
    let mut changed = exported.clone();
    changed.lines[0].name = "Công tác lãnh đạo, chỉ đạo (sửa theo sơ kết)".into();
    changed.lines[0].children[0].guidance = "Chấm theo báo cáo sơ kết 6 tháng.".into();
    std::fs::write(t.dir.path().join("sua.xlsx"), thidua_export::table_to_xlsx("Bảng sửa", &changed).unwrap()).unwrap();
    let (o, _) = expect(&import("sua.xlsx", &officer), 0);
    assert!(o.contains("Đã nhập") && o.contains("phiên bản dự thảo"), "{o}");
    assert_eq!(stored(&db, draft).await, changed);
    let replaced = |db: Db| async move {
        let mut tx = db.read().await.unwrap();
        let n = tx
            .scalar(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'table.replace' AND object_id = $1 AND request_id = 'cli'",
                thidua_db::args![draft.to_string()],
            )
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        n
    };
    assert_eq!(replaced(db.clone()).await, 1);
    // the same file again changes nothing
    let (o, _) = expect(&import("sua.xlsx", &officer), 0);
    assert!(o.contains("không có thay đổi"), "{o}");
    assert_eq!(replaced(db.clone()).await, 1);

    // a broken file: every problem in Vietnamese, nothing stored
    std::fs::write(t.dir.path().join("hong.xlsx"), "đây không phải tệp Excel").unwrap();
    let (_, e) = expect(&import("hong.xlsx", &officer), 1);
    assert!(e.contains("Không nhập được bảng chấm điểm; chưa lưu gì"), "{e}");
    let headers = ["TT", "Nội dung, tiêu chí", "Điểm tối đa", "Cách chấm", "Tham số"];
    let rows: Vec<Vec<String>> = [
        ["I", "Phần một", "10", "", ""],
        ["I.1", "Tiêu chí", "mười", "Đạt/không đạt", "Đạt: 10; Không đạt: 0"],
        ["", "Dòng không có mã", "5", "Chấm trực tiếp", ""],
    ]
    .iter()
    .map(|r| r.iter().map(|c| c.to_string()).collect())
    .collect();
    let bad = thidua_export::write_table("Bảng chấm điểm", None, &headers, &rows).unwrap();
    std::fs::write(t.dir.path().join("sai-dong.xlsx"), bad).unwrap();
    let (_, e) = expect(&import("sai-dong.xlsx", &officer), 1);
    assert!(e.contains("Không nhập được bảng chấm điểm; chưa lưu gì") && e.contains("Dòng 3:"), "{e}");
    assert!(e.contains("Dòng 4:"), "{e}");
    let (_, e) = expect(&import("khong-co-tep.xlsx", &officer), 1);
    assert!(e.contains("Không mở được tệp"), "{e}");
    assert_eq!(stored(&db, draft).await, changed);

    // an unknown user, a viewer, a unit outside the block: refused, nothing stored
    let (_, e) = expect(&import("bang-diem.xlsx", "khongco"), 1);
    assert!(e.contains("Không có tài khoản \"khongco\""), "{e}");
    let (_, e) = expect(&import("bang-diem.xlsx", "xem.caobang"), 1);
    assert!(e.contains("không có quyền"), "{e}");
    let commune = accounts.iter().find(|a| a.username.starts_with("canbo.") && a.username != officer).unwrap();
    let (_, e) = expect(&import("bang-diem.xlsx", &commune.username), 1);
    assert!(e.contains("không có quyền"), "{e}");
    let (_, e) = expect(&export(&g, "khong-co.xlsx", &[], "khongco"), 1);
    assert!(e.contains("Không có tài khoản"), "{e}");
    assert_eq!(stored(&db, draft).await, changed);

    // a draft whose codes do not tell its tree is not exported
    let mut crooked = changed.clone();
    crooked.lines[1].code = "I.9".into();
    {
        let mut tx = db.begin().await.unwrap();
        thidua_db::scoring::update_draft(&mut tx, draft, &serde_json::to_string(&crooked).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
    }
    let version = stored_version(&db, draft).await.to_string();
    let (_, e) = expect(&export(&g, "lech.xlsx", &["--version", &version], &officer), 1);
    assert!(e.contains("Không xuất được") && e.contains("I.9"), "{e}");
    assert!(!t.dir.path().join("lech.xlsx").exists());

    let (o, _) = expect(&t.run(&["audit", "verify"], None), 0);
    assert!(o.contains("Nhật ký toàn vẹn"), "{o}");
    db.close().await;
}

async fn stored_version(db: &Db, table_id: i64) -> i32 {
    let mut tx = db.read().await.unwrap();
    let row = thidua_db::scoring::table(&mut tx, table_id).await.unwrap().expect("version");
    tx.rollback().await.unwrap();
    row.version
}

#[tokio::test]
async fn table_export_import_sqlite() {
    check_table(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn table_export_import_postgres() {
    if let Some(t) = TestDb::postgres().await {
        check_table(&t).await;
    }
}

// ---------------------------------------------------------------------------------------------
// (b) and (c): the command line
// ---------------------------------------------------------------------------------------------

async fn tamper(t: &TestDb, id: i64) {
    let update = format!("UPDATE audit_log SET reason = 'sửa lén' WHERE id = {id}");
    match Backend::of_url(&t.url) {
        Some(Backend::Sqlite) => {
            let mut c = sqlx::SqliteConnection::connect(&t.url).await.unwrap();
            sqlx::raw_sql("DROP TRIGGER audit_log_no_update").execute(&mut c).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(update)).execute(&mut c).await.unwrap();
            c.close().await.unwrap();
        }
        Some(Backend::Postgres) => {
            let mut c = sqlx::PgConnection::connect(&t.url).await.unwrap();
            sqlx::raw_sql("DROP TRIGGER audit_log_no_update ON audit_log").execute(&mut c).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(update)).execute(&mut c).await.unwrap();
            c.close().await.unwrap();
        }
        None => unreachable!(),
    }
}

fn intact_count(stdout: &str) -> u64 {
    let rest = stdout.split("Nhật ký toàn vẹn: ").nth(1).unwrap_or_else(|| panic!("{stdout}"));
    rest.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{stdout}"))
}

async fn check_cli(t: &TestDb) {
    let (o, _) = expect(&t.run(&["migrate"], None), 0);
    assert!(o.contains("Đã cập nhật cấu trúc cơ sở dữ liệu"), "{o}");

    // user add: from stdin (flag), from a non-terminal stdin (no flag), with a role
    let pw = "một cụm từ đủ dài 2026\n";
    let add = ["user", "add", "--username", "CanBo.Test", "--full-name", "Nguyễn Thị Hoa", "--password-stdin"];
    let (o, _) = expect(&t.run(&add, Some(pw)), 0);
    assert!(o.contains("Đã tạo tài khoản \"canbo.test\""), "{o}");
    let admin = ["user", "add", "--username", "quantri", "--full-name", "Trần Văn Quản", "--role", "admin"];
    let (o, _) = expect(&t.run(&admin, Some(pw)), 0);
    assert!(o.contains("Vai trò: Quản trị hệ thống"), "{o}");

    // errors: Vietnamese, exit 1, no panic, no Debug dump
    let (_, e) = expect(&t.run(&add, Some(pw)), 1);
    assert!(e.contains("đã có người dùng"), "{e}");
    let bad = ["user", "add", "--username", "có dấu", "--full-name", "Người Dùng", "--password-stdin"];
    let (_, e) = expect(&t.run(&bad, Some(pw)), 1);
    assert!(e.contains("Tên đăng nhập dài 3 đến 64 ký tự"), "{e}");
    let short = ["user", "add", "--username", "ngan", "--full-name", "Người Dùng", "--password-stdin"];
    let (_, e) = expect(&t.run(&short, Some("ngắn\n")), 1);
    assert!(e.contains("ít nhất 12 ký tự"), "{e}");
    let (_, e) = expect(&t.run(&short, Some("")), 1);
    assert!(e.contains("Chưa có mật khẩu"), "{e}");
    // a role that needs an authority: nothing is created (one transaction)
    let no_scope = ["user", "add", "--username", "thuongtruc", "--full-name", "Lê Văn Bình", "--role", "secretariat"];
    let (_, e) = expect(&t.run(&no_scope, Some(pw)), 1);
    assert!(e.contains("cần chọn cơ quan"), "{e}");
    let unknown_role = ["user", "add", "--username", "thuongtruc", "--full-name", "Lê Văn Bình", "--role", "vua"];
    let (_, e) = expect(&t.run(&unknown_role, Some(pw)), 1);
    assert!(e.contains("Vai trò không có trong danh mục"), "{e}");
    for (_, e) in [expect(&t.run(&bad, Some(pw)), 1), expect(&t.run(&no_scope, Some(pw)), 1)] {
        assert!(!e.contains("Invalid") && !e.contains("AppError") && !e.contains("{"), "{e}");
    }

    let (o, _) = expect(&t.run(&["user", "list"], None), 0);
    assert!(o.contains("canbo.test") && o.contains("Nguyễn Thị Hoa") && o.contains("quantri"), "{o}");
    assert!(o.contains("Quản trị hệ thống") && o.contains("Tổng cộng: 2 tài khoản"), "{o}");
    assert!(!o.contains("thuongtruc"), "{o}");

    let (o, _) = expect(&t.run(&["user", "disable", "--username", "canbo.test"], None), 0);
    assert!(o.contains("Đã khoá"), "{o}");
    let (o, _) = expect(&t.run(&["user", "list"], None), 0);
    assert!(o.contains("Đã khoá"), "{o}");
    expect(&t.run(&["user", "enable", "--username", "canbo.test"], None), 0);
    let (o, _) = expect(&t.run(&["user", "passwd", "--username", "canbo.test", "--password-stdin"], Some(pw)), 0);
    assert!(o.contains("Đã đặt mật khẩu mới"), "{o}");
    let (_, e) = expect(&t.run(&["user", "disable", "--username", "khongco"], None), 1);
    assert!(e.contains("Không có tài khoản \"khongco\""), "{e}");
    // a wrong command line: Vietnamese, exit 2
    let (_, e) = expect(&t.run(&["user", "add", "--username", "x"], None), 2);
    assert!(e.contains("thiếu tham số bắt buộc"), "{e}");

    // the audit log checks, with an entry per change by "(dòng lệnh)"
    let (o, _) = expect(&t.run(&["audit", "verify"], None), 0);
    let n = intact_count(&o);
    assert!(n >= 6, "{o}");
    {
        let db = Db::connect(&t.url).await.unwrap();
        let mut tx = db.read().await.unwrap();
        let by_cli = tx
            .scalar(
                "SELECT COUNT(*) FROM audit_log WHERE actor_name = $1 AND request_id = $2",
                thidua_db::args![thidua_app::CLI_ACTOR, "cli"],
            )
            .await
            .unwrap();
        // create ×2, grant, disable, enable, password reset
        assert_eq!(by_cli, 6);
        tx.rollback().await.unwrap();
        db.close().await;
    }

    // (c) backup
    match Backend::of_url(&t.url) {
        Some(Backend::Sqlite) => {
            let (o, _) = expect(&t.run(&["backup", "--out", "sao-luu.db"], None), 0);
            assert!(o.contains("Đã sao lưu"), "{o}");
            let copy = t.dir.path().join("sao-luu.db");
            assert!(copy.is_file());
            let original = Db::connect(&t.url).await.unwrap();
            let backup = Db::connect(&format!("sqlite://{}", copy.display())).await.unwrap();
            let tables = |s: Vec<(String, String, bool)>| s.into_iter().map(|(t, _, _)| t).collect::<BTreeSet<_>>();
            let (a, b) = (original.schema().await.unwrap(), backup.schema().await.unwrap());
            assert!(tables(a.clone()).contains("audit_log"));
            assert_eq!(tables(a.clone()), tables(b.clone()));
            assert_eq!(a, b);
            let mut tx = backup.read().await.unwrap();
            assert_eq!(users::users(&mut tx).await.unwrap().len(), 2);
            tx.rollback().await.unwrap();
            backup.close().await;
            original.close().await;
            let (_, e) = expect(&t.run(&["backup", "--out", "sao-luu.db"], None), 1);
            assert!(e.contains("đã có"), "{e}");
        }
        _ => {
            let (_, e) = expect(&t.run(&["backup", "--out", "sao-luu.db"], None), 2);
            assert!(e.contains("pg_dump"), "{e}");
            assert!(!t.dir.path().join("sao-luu.db").exists());
        }
    }

    // tampering with one row is found and named
    tamper(t, 2).await;
    let (o, _) = expect(&t.run(&["audit", "verify"], None), 1);
    assert!(o.contains("Nhật ký bị sửa đổi tại bản ghi số 2:"), "{o}");
}

#[tokio::test]
async fn cli_sqlite() {
    check_cli(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn cli_postgres() {
    if let Some(t) = TestDb::postgres().await {
        check_cli(&t).await;
    }
}

#[test]
fn configuration_layers() {
    let t = TestDb::sqlite();
    let dir = t.dir.path();
    std::fs::write(dir.join("thidua.toml"), "database_url = \"sqlite://tu-tep/thidua.db\"\n").unwrap();
    // the file is read from the working directory; the SQLite directory is created
    expect(&t.run_env(&["migrate"], None, &[]), 0);
    assert!(dir.join("tu-tep/thidua.db").is_file());
    // THIDUA_* overrides the file
    expect(&t.run_env(&["migrate"], None, &[("THIDUA_DATABASE_URL", "sqlite://tu-bien/thidua.db")]), 0);
    assert!(dir.join("tu-bien/thidua.db").is_file());
    // --config names another file, which must exist
    std::fs::write(dir.join("khac.toml"), "database_url = \"sqlite://khac/thidua.db\"\n").unwrap();
    expect(&t.run_env(&["--config", "khac.toml", "migrate"], None, &[]), 0);
    assert!(dir.join("khac/thidua.db").is_file());
    let (_, e) = expect(&t.run_env(&["migrate"], None, &[("THIDUA_CONFIG", "khong-co.toml")]), 1);
    assert!(e.contains("Không tìm thấy tệp cấu hình"), "{e}");
    // bad values are refused in Vietnamese
    let (_, e) = expect(&t.run_env(&["migrate"], None, &[("THIDUA_DATABASE_URL", "mysql://x/y")]), 1);
    assert!(e.contains("Cấu hình không hợp lệ") && e.contains("database_url"), "{e}");
    let (_, e) = expect(&t.run_env(&["migrate"], None, &[("THIDUA_LOG_FORMAT", "xml")]), 1);
    assert!(e.contains("Cấu hình không hợp lệ"), "{e}");
    // a missing SQLite file is not silently created by read-only commands
    let (_, e) = expect(&t.run_env(&["audit", "verify"], None, &[("THIDUA_DATABASE_URL", "sqlite://khong/co.db")]), 1);
    assert!(e.contains("Không tìm thấy tệp cơ sở dữ liệu"), "{e}");
    assert!(!Path::new(&dir.join("khong/co.db")).exists());
}

/// `thidua demo` serves the demo (its accounts on the login page) and stops cleanly on SIGTERM.
#[cfg(unix)]
#[test]
fn demo_serves_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};

    let t = TestDb::sqlite();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_thidua"));
    cmd.args(["demo", "--dir", "mau", "--listen", "127.0.0.1:0"]).current_dir(t.dir.path()).env("RUST_LOG", "warn");
    for (k, _) in std::env::vars() {
        if k.starts_with("THIDUA_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (send, recv) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.split("đang chạy tại ").nth(1) {
                let _ = send.send(url.trim().to_string());
            }
        }
    });
    let url = match recv.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!("the demo did not start:\n{}", text(&out.stderr));
        }
    };
    let addr = url.trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
    s.write_all(b"GET /dang-nhap HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("lanhdao.tinhcaobang") && page.contains("banthuongtruc.caobang"), "{page}");

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

// ---------------------------------------------------------------------------------------------
// Durability: `thidua serve` killed with SIGKILL during a burst of saves loses no acknowledged save
// ---------------------------------------------------------------------------------------------

/// A response of [`http`]: status, headers (names in lower case) and body.
#[cfg(unix)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

#[cfg(unix)]
impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The `thidua_session=…` pair a sign-in set, to send back as `Cookie`.
    fn session_cookie(&self) -> String {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, c)| c.split(';').next())
            .find(|c| c.starts_with("thidua_session="))
            .expect("the session cookie")
            .to_string()
    }
}

/// One HTTP/1.1 request on its own connection. An error when the connection
/// fails or the response is cut short (a server killed mid-response).
#[cfg(unix)]
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> std::io::Result<Reply> {
    use std::io::{Error, Read, Write};
    let sock: std::net::SocketAddr = addr.parse().map_err(Error::other)?;
    let mut s = std::net::TcpStream::connect_timeout(&sock, std::time::Duration::from_secs(10))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let cut = || Error::other(format!("a cut response: {}", String::from_utf8_lossy(&raw)));
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(cut)?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).ok_or_else(cut)?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let find = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let rest = &raw[end + 4..];
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let (mut out, mut at) = (Vec::new(), 0);
        loop {
            let eol = rest[at..].windows(2).position(|w| w == b"\r\n").ok_or_else(cut)? + at;
            let size = String::from_utf8_lossy(&rest[at..eol]);
            let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).map_err(|_| cut())?;
            if size == 0 {
                break out;
            }
            let chunk = rest.get(eol + 2..eol + 2 + size).ok_or_else(cut)?;
            out.extend_from_slice(chunk);
            at = eol + 2 + size + 2;
        }
    } else if let Some(n) = find("content-length").and_then(|n| n.parse::<usize>().ok()) {
        rest.get(..n).ok_or_else(cut)?.to_vec()
    } else {
        rest.to_vec()
    };
    let body = String::from_utf8(body).map_err(|_| cut())?;
    Ok(Reply { status, headers, body })
}

/// `thidua serve` as a subprocess on 127.0.0.1:0, with its log kept.
#[cfg(unix)]
struct Server {
    child: std::process::Child,
    addr: String,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

#[cfg(unix)]
impl Server {
    fn start(dir: &Path, url: &str) -> Server {
        Server::start_env(dir, url, &[])
    }

    /// [`Server::start`] with more `THIDUA_*` settings.
    fn start_env(dir: &Path, url: &str, env: &[(&str, &str)]) -> Server {
        use std::io::{BufRead, BufReader};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_thidua"));
        cmd.arg("serve").current_dir(dir).env("RUST_LOG", "info,sqlx=warn");
        for (k, _) in std::env::vars() {
            if k.starts_with("THIDUA_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("THIDUA_DATABASE_URL", url).env("THIDUA_LISTEN", "127.0.0.1:0").env("THIDUA_LOG_FORMAT", "text");
        cmd.envs(env.iter().copied());
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
        let stderr = child.stderr.take().expect("stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (send, recv) = std::sync::mpsc::channel();
        let keep = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("url=http://").nth(1) {
                    let _ = send.send(url.split_whitespace().next().unwrap_or("").to_string());
                }
                keep.lock().unwrap().push(line);
            }
        });
        match recv.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(addr) => Server { child, addr, log },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("thidua serve did not start:\n{}", log.lock().unwrap().join("\n"));
            }
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

/// A server left running by a failed test is killed.
#[cfg(unix)]
impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A value for the k-th save of a sheet line (consecutive values differ), with its reason.
#[cfg(unix)]
fn burst_value(line: &serde_json::Value, k: usize) -> (String, String) {
    match line["method"].as_str() {
        Some("qualitative") => {
            let levels = line["levels"].as_array().expect("levels");
            (levels[k % levels.len()].as_str().expect("a label").to_string(), String::new())
        }
        Some("target") => ((100 + k % 50).to_string(), String::new()),
        Some("count") => ((1 + k % 4).to_string(), String::new()),
        Some("manual") => ((1 + k % 9).to_string(), format!("Tự đánh giá lần {k}")),
        other => panic!("a method: {other:?} in {line}"),
    }
}

/// A save: its line, what was sent, and (when acknowledged with 200) the entry's sequence number.
#[cfg(unix)]
#[derive(Debug, Clone)]
struct Attempt {
    line: String,
    value: String,
    reason: String,
    seq: Option<i64>,
}

/// Prepares the demo on `t` (SQLite: `thidua demo --prepare-only`; PostgreSQL:
/// the loader), adds an officer of a block member that signed its 2026
/// covenant, serves it, saves from 8 threads at once, kills the server with
/// SIGKILL once at least 50 saves were acknowledged, restarts it on the same
/// database, and checks that every acknowledged save is stored with its
/// value, the API serves them, and the audit log is intact.
#[cfg(unix)]
async fn check_sigkill(t: &TestDb) {
    use std::os::unix::process::ExitStatusExt;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use thidua_core::scoring::RawValue;

    const THREADS: usize = 8;
    const ACKED_BEFORE_KILL: usize = 50;
    let url = match Backend::of_url(&t.url) {
        Some(Backend::Sqlite) => {
            expect(&t.run(&["demo", "--dir", "mau", "--prepare-only"], None), 0);
            format!("sqlite://{}", t.dir.path().join("mau").join(thidua_app::commands::DEMO_FILE).display())
        }
        _ => {
            let db = t.db().await;
            demo::load(&db).await.expect("demo loads");
            db.close().await;
            t.url.clone()
        }
    };
    let run = |args: &[&str], stdin: Option<&str>| t.run_env(args, stdin, &[("THIDUA_DATABASE_URL", url.as_str())]);

    // a plain member of a block with an adopted table, that signed its 2026 covenant
    let db = Db::connect(&url).await.expect("connect");
    let mut tx = db.read().await.unwrap();
    let (group_id, unit_id): (i64, i64) = tx
        .one(
            "SELECT gy.group_id, s.unit_id FROM covenant_signatures s \
             JOIN covenants c ON c.id = s.covenant_id \
             JOIN group_years gy ON gy.id = c.group_year_id \
             JOIN memberships m ON m.group_year_id = gy.id AND m.unit_id = s.unit_id \
             WHERE gy.year = 2026 AND m.role = 'member' AND c.table_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM score_entries e WHERE e.group_year_id = gy.id AND e.unit_id = s.unit_id) \
             AND NOT EXISTS (SELECT 1 FROM sheets sh WHERE sh.group_year_id = gy.id AND sh.unit_id = s.unit_id) \
             ORDER BY s.id LIMIT 1",
            vec![],
        )
        .await
        .expect("a signed member of a block, with nothing scored yet");
    let scored = tx.scalar("SELECT COUNT(*) FROM score_entries WHERE unit_id = $1", thidua_db::args![unit_id]).await;
    assert_eq!(scored.unwrap(), 0);
    tx.rollback().await.unwrap();
    db.close().await;
    let unit = unit_id.to_string();
    let officer = "canbo.kiemtraben";
    let add = ["user", "add", "--username", officer, "--full-name", "Cán bộ thi đua (kiểm tra độ bền)"];
    let add = [&add[..], &["--role", "unit_officer", "--unit-id", &unit, "--password-stdin"]].concat();
    expect(&run(&add, Some(&format!("{DEMO_PASSWORD}\n"))), 0);
    let audit_before = intact_count(&expect(&run(&["audit", "verify"], None), 0).0);

    // serve; sign in as the officer
    let mut server = Server::start(t.dir.path(), &url);
    let login = serde_json::json!({ "username": officer, "password": DEMO_PASSWORD }).to_string();
    let r = http(&server.addr, "POST", "/api/v1/session", &[], &login).expect("login");
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r.session_cookie();
    let csrf = r.json()["csrf_token"].as_str().expect("the CSRF token").to_string();
    let sheet = format!("/api/v1/groups/{group_id}/years/2026/sheets/{unit_id}");
    let r = http(&server.addr, "GET", &sheet, &[("Cookie", &cookie)], "").expect("the sheet");
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    // the demo calendar's self-assessment deadline is at least three weeks after the load day (see
    // demo::calendar): the sheet is open
    assert_eq!(v["may_write"], true, "the officer cannot write (deadline {}): {}", v["deadline"], v["write_refusal"]);
    assert_eq!(v["state"], "draft");
    let table_version = v["table_version"].as_i64().expect("a table in force");
    let lines: Vec<serde_json::Value> = v["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter(|l| l["leaf"] == true && l["base_seq"].is_null())
        .filter(|l| l["method"] != "qualitative" || l["levels"].as_array().is_some_and(|x| x.len() >= 2))
        .take(THREADS)
        .cloned()
        .collect();
    assert_eq!(lines.len(), THREADS, "{v}");

    // the burst: each thread saves its own line again and again, on the base_seq of its last save
    let acked = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let started = std::time::Instant::now();
    let (per_line, killed, from_batch) = std::thread::scope(|s| {
        let workers: Vec<_> = lines
            .iter()
            .map(|line| {
                let (addr, cookie, csrf, sheet, acked, stop) = (&server.addr, &cookie, &csrf, &sheet, &acked, &stop);
                s.spawn(move || {
                    let code = line["code"].as_str().expect("a code").to_string();
                    let mut done: Vec<Attempt> = vec![];
                    let mut base: Option<i64> = None;
                    for k in 0.. {
                        if stop.load(Ordering::SeqCst) {
                            return (code, done, None, None);
                        }
                        let (value, reason) = burst_value(line, k);
                        let body = serde_json::json!({
                            "lines": [{ "line_code": code, "value": value, "reason": reason, "base_seq": base }],
                            "note": format!("Lần lưu {k}"),
                        });
                        let headers = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
                        let mut a = Attempt { line: code.clone(), value, reason, seq: None };
                        match http(addr, "POST", &format!("{sheet}/save"), &headers, &body.to_string()) {
                            Ok(r) if r.status == 200 => {
                                let v: serde_json::Value = serde_json::from_str(&r.body).expect("a sheet");
                                let l = v["lines"].as_array().unwrap().iter().find(|l| l["code"] == code.as_str());
                                let seq = l.and_then(|l| l["base_seq"].as_i64()).expect("the new base_seq");
                                assert!(base.is_none_or(|b| seq > b), "{code}: {seq} after {base:?}");
                                a.seq = Some(seq);
                                done.push(a);
                                base = Some(seq);
                                acked.fetch_add(1, Ordering::SeqCst);
                            }
                            // a full answer other than 200: the server was alive and refused
                            Ok(r) => {
                                return (code.clone(), done, None, Some(format!("{code}: {} {}", r.status, r.body)));
                            }
                            // no (full) answer: the server was killed; this save is not acknowledged
                            Err(_) => return (code, done, Some(a), None),
                        }
                    }
                    unreachable!()
                })
            })
            .collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while acked.load(Ordering::SeqCst) < ACKED_BEFORE_KILL
            && std::time::Instant::now() < deadline
            && !workers.iter().any(|w| w.is_finished())
        {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let killed = acked.load(Ordering::SeqCst) >= ACKED_BEFORE_KILL && !workers.iter().any(|w| w.is_finished());
        // saves after the first of a grouped commit see their group-year as the earlier ones left it
        let metrics = http(&server.addr, "GET", "/metrics", &[], "").map(|r| r.body).unwrap_or_default();
        let from_batch = metrics
            .lines()
            .find_map(|l| l.strip_prefix("thidua_group_year_cache_from_batch_total "))
            .and_then(|v| v.trim().parse::<u64>().ok());
        if killed {
            // Child::kill sends SIGKILL on Unix
            server.child.kill().expect("SIGKILL");
        } else {
            stop.store(true, Ordering::SeqCst);
        }
        let per_line: Vec<_> = workers.into_iter().map(|w| w.join().expect("a worker")).collect();
        (per_line, killed, from_batch)
    });
    let status = server.child.wait().expect("wait");
    let refused: Vec<&String> = per_line.iter().filter_map(|(_, _, _, e)| e.as_ref()).collect();
    assert!(refused.is_empty(), "saves refused during the burst: {refused:#?}\n{}", server.log());
    assert!(killed, "fewer than {ACKED_BEFORE_KILL} saves in 120 s: {acked:?}\n{}", server.log());
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
    let total: usize = per_line.iter().map(|(_, d, _, _)| d.len()).sum();
    let in_flight = per_line.iter().filter(|(_, _, f, _)| f.is_some()).count();
    eprintln!(
        "{total} saves acknowledged in {:?} by {THREADS} threads before SIGKILL; {in_flight} in flight",
        started.elapsed()
    );
    assert!(total >= ACKED_BEFORE_KILL);
    if url.starts_with("sqlite:") {
        assert!(
            from_batch.is_some_and(|n| n > 0),
            "saves grouped in one commit read their group-year once: {from_batch:?}"
        );
    } else {
        assert_eq!(from_batch, Some(0), "PostgreSQL: every save has its own transaction");
    }
    let counts: Vec<String> = per_line.iter().map(|(c, d, _, _)| format!("{c}: {}", d.len())).collect();
    eprintln!("acknowledged per line: {}", counts.join(", "));

    // restart on the same database: the session still works, the sheet shows the last entry of every line
    let server = Server::start(t.dir.path(), &url);
    let r = http(&server.addr, "GET", &sheet, &[("Cookie", &cookie)], "").expect("the sheet after restart");
    assert_eq!(r.status, 200, "{}", r.body);
    let after = r.json();
    assert_eq!(after["state"], "draft");

    let db = Db::connect(&url).await.expect("connect");
    let mut tx = db.read().await.unwrap();
    let (content,): (String,) = tx
        .one(
            "SELECT st.content FROM scoring_tables st JOIN group_years gy ON gy.id = st.group_year_id \
             WHERE gy.group_id = $1 AND gy.year = 2026 AND st.version = $2",
            thidua_db::args![group_id, table_version as i32],
        )
        .await
        .unwrap();
    let table: ScoringTable = serde_json::from_str(&content).expect("a table");
    let rows: Vec<(i64, String, String, String)> = tx
        .all(
            "SELECT id, line_code, stage, value_json FROM score_entries WHERE unit_id = $1 ORDER BY id",
            thidua_db::args![unit_id],
        )
        .await
        .unwrap();
    let audited = tx.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'score.save'", vec![]).await.unwrap();
    tx.rollback().await.unwrap();
    db.close().await;
    let expected = |a: &Attempt| -> RawValue {
        let line = table.find(&a.line).unwrap_or_else(|| panic!("{} in the table", a.line));
        line.parse_value(&a.value, &a.reason).expect("a valid value")
    };
    let mut extra = 0;
    for (code, done, lost, _) in &per_line {
        let stored: Vec<&(i64, String, String, String)> = rows.iter().filter(|r| &r.1 == code).collect();
        // every acknowledged save, in order, with its value ...
        assert!(stored.len() >= done.len(), "{code}: {} stored, {} acknowledged", stored.len(), done.len());
        for (a, row) in done.iter().zip(&stored) {
            assert_eq!(Some(row.0), a.seq, "{code}: entry {row:?} for {a:?}");
            assert_eq!(row.2, "self_assessment");
            let value: RawValue = serde_json::from_str(&row.3).expect("a stored value");
            assert_eq!(value, expected(a), "{code}: entry {}", row.0);
        }
        // ... then at most the one save in flight at the kill, committed but not answered
        match &stored[done.len()..] {
            [] => {}
            [row] => {
                let lost = lost.as_ref().unwrap_or_else(|| panic!("{code}: an entry nobody sent: {row:?}"));
                let value: RawValue = serde_json::from_str(&row.3).expect("a stored value");
                assert_eq!(value, expected(lost), "{code}: the save in flight");
                extra += 1;
            }
            more => panic!("{code}: entries nobody sent: {more:?}"),
        }
        // the API after the restart serves the latest entry (a line whose saves all waited for the
        // write lock until the kill has none)
        let l = after["lines"].as_array().unwrap().iter().find(|l| l["code"] == code.as_str()).expect("the line");
        assert_eq!(l["base_seq"].as_i64(), stored.last().map(|r| r.0), "{code}: {l}");
        if let Some(last) = stored.last() {
            let shown =
                table.find(code).unwrap().parse_value(l["value"].as_str().unwrap(), l["reason"].as_str().unwrap());
            assert_eq!(shown.expect("the value shown"), serde_json::from_str::<RawValue>(&last.3).unwrap(), "{code}");
        } else {
            assert_eq!(l["value"], "", "{code}: {l}");
        }
    }
    assert_eq!(rows.len(), total + extra, "no entry on other lines");
    assert_eq!(audited as usize, rows.len(), "one audit row per committed save");
    eprintln!("after restart: {} entries ({total} acknowledged, {extra} committed in flight)", rows.len());

    // a clean stop, then the audit chain checks
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let mut server = server;
    let status = server.child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{}", server.log());
    let (o, _) = expect(&run(&["audit", "verify"], None), 0);
    assert!(o.contains("Nhật ký toàn vẹn"), "{o}");
    assert!(intact_count(&o) >= audit_before + rows.len() as u64, "{o}");
}

#[cfg(unix)]
#[tokio::test]
async fn sigkill_during_saves_loses_no_acknowledged_save_sqlite() {
    check_sigkill(&TestDb::sqlite()).await;
}

#[cfg(unix)]
#[tokio::test]
async fn sigkill_during_saves_loses_no_acknowledged_save_postgres() {
    if let Some(t) = TestDb::postgres().await {
        check_sigkill(&t).await;
    }
}

/// A session ended by another process (the command line, on the same
/// database) is refused by a running server at its next request, although
/// the server answers signed-in requests without running the session's
/// statement while nothing commits (ADR 0006); and a change another process
/// commits is seen at once by the next request. The server runs with the
/// pool size its settings give (`THIDUA_DATABASE_MAX_CONNECTIONS`).
#[cfg(unix)]
async fn check_other_process(t: &TestDb) {
    expect(&t.run(&["migrate"], None), 0);
    let pw = "một cụm từ đủ dài 2026";
    for name in ["canbo.mot", "canbo.hai"] {
        let add = ["user", "add", "--username", name, "--full-name", "Cán bộ kiểm thử", "--password-stdin"];
        expect(&t.run(&add, Some(&format!("{pw}\n"))), 0);
    }
    // a pool of the size the settings say
    let server = Server::start_env(t.dir.path(), &t.url, &[("THIDUA_DATABASE_MAX_CONNECTIONS", "3")]);
    let sign_in = |name: &str| {
        let login = serde_json::json!({ "username": name, "password": pw }).to_string();
        let r = http(&server.addr, "POST", "/api/v1/session", &[], &login).expect("login");
        assert_eq!(r.status, 200, "{}", r.body);
        r.session_cookie()
    };
    let me = |cookie: &str| http(&server.addr, "GET", "/api/v1/me", &[("Cookie", cookie)], "").expect("/me");
    let (one, two) = (sign_in("canbo.mot"), sign_in("canbo.hai"));
    let metric = |name: &str| -> u64 {
        let r = http(&server.addr, "GET", "/metrics", &[], "").expect("/metrics");
        let line = r.body.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{}", r.body));
        line.rsplit(' ').next().and_then(|n| n.parse().ok()).expect("a count")
    };
    assert_eq!(metric("thidua_database_connections{state=\"max\"}"), 3);
    let kept_before = metric("thidua_hot_reads_kept_total");
    for _ in 0..5 {
        assert_eq!(me(&one).status, 200);
        assert_eq!(me(&two).status, 200);
    }
    let kept = metric("thidua_hot_reads_kept_total") - kept_before;
    if Backend::of_url(&t.url) == Some(Backend::Sqlite) {
        assert!(kept >= 8, "signed-in requests answered without running the statement: {kept}");
    } else {
        assert_eq!(kept, 0, "PostgreSQL runs it every time");
    }

    // another process locks the first account: refused at once, the second goes on
    let (o, _) = expect(&t.run(&["user", "disable", "--username", "canbo.mot"], None), 0);
    assert!(o.contains("canbo.mot"), "{o}");
    let r = me(&one);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(me(&two).status, 200);
    // another process gives the second account a new password: its sessions end
    let (o, _) = expect(
        &t.run(&["user", "passwd", "--username", "canbo.hai", "--password-stdin"], Some(&format!("{pw} mới\n"))),
        0,
    );
    assert!(o.contains("canbo.hai"), "{o}");
    assert_eq!(me(&two).status, 401);
    drop(server);
}

#[cfg(unix)]
#[tokio::test]
async fn a_session_ended_by_another_process_is_refused_at_once_sqlite() {
    check_other_process(&TestDb::sqlite()).await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_session_ended_by_another_process_is_refused_at_once_postgres() {
    if let Some(t) = TestDb::postgres().await {
        check_other_process(&t).await;
    }
}
