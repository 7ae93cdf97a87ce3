//! The national-scale dataset: 34 provinces under the central council, each
//! with its groups (half blocks of departments, half clusters of communes) of
//! member units, for several years; every group-year with an adopted table
//! (some with a second version from mid-year), a covenant with targets, the
//! calendar, and the score chain: self-assessment entries with corrections,
//! and for past years head-review proposals, explanations, appraisals,
//! submitted sheets. The current year is in self-assessment with its deadline
//! ahead, most sheets still drafts.
//!
//! The registry, users and tables go through `thidua_db`'s functions; the
//! bulk rows (covenant targets, entries, sheets) are multi-row INSERTs
//! through `Tx::exec_dyn`, in a few large transactions.

use std::time::Instant;

use chrono::{Datelike, Duration, NaiveDate};
use thidua_core::calendar::Event;
use thidua_core::policy::Role;
use thidua_core::scoring::{Line, Method, Points, RawValue, ScoringTable};
use thidua_db::{Arg, Backend, Db, Tx, audit, calendar as cal, inspection, org, scoring as sc, users};

use crate::rng::Rng;
use crate::table::{self, TARGET_LINES};
use crate::{BenchError, Res};

/// The password of every generated account.
pub const PASSWORD: &str = "thidua-bench-2026";

/// The 34 provinces and cities (after the 2025 reorganisation).
const PROVINCES: &[(&str, bool)] = &[
    ("Hà Nội", true),
    ("Huế", true),
    ("Lai Châu", false),
    ("Điện Biên", false),
    ("Sơn La", false),
    ("Lạng Sơn", false),
    ("Quảng Ninh", false),
    ("Thanh Hóa", false),
    ("Nghệ An", false),
    ("Hà Tĩnh", false),
    ("Cao Bằng", false),
    ("Tuyên Quang", false),
    ("Lào Cai", false),
    ("Thái Nguyên", false),
    ("Phú Thọ", false),
    ("Bắc Ninh", false),
    ("Hưng Yên", false),
    ("Hải Phòng", true),
    ("Ninh Bình", false),
    ("Quảng Trị", false),
    ("Đà Nẵng", true),
    ("Quảng Ngãi", false),
    ("Gia Lai", false),
    ("Khánh Hòa", false),
    ("Lâm Đồng", false),
    ("Đắk Lắk", false),
    ("Hồ Chí Minh", true),
    ("Đồng Nai", false),
    ("Tây Ninh", false),
    ("Cần Thơ", true),
    ("Vĩnh Long", false),
    ("Đồng Tháp", false),
    ("Cà Mau", false),
    ("An Giang", false),
];

const AGENCIES: &[&str] = &[
    "Sở Nội vụ",
    "Sở Tư pháp",
    "Sở Tài chính",
    "Sở Xây dựng",
    "Sở Y tế",
    "Sở Công Thương",
    "Sở Nông nghiệp và Môi trường",
    "Sở Giáo dục và Đào tạo",
    "Sở Khoa học và Công nghệ",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Thanh tra",
    "Văn phòng Ủy ban nhân dân",
    "Sở Dân tộc và Tôn giáo",
    "Ban Quản lý dự án",
    "Đài Phát thanh và Truyền hình",
    "Báo",
    "Liên đoàn Lao động",
    "Hội Nông dân",
    "Hội Liên hiệp Phụ nữ",
    "Đoàn Thanh niên",
];

const COMMUNES: &[&str] = &[
    "Hòa An",
    "Tân Lập",
    "Đồng Tâm",
    "Quảng Hòa",
    "Phú Lương",
    "Thanh Bình",
    "Yên Phú",
    "Hưng Đạo",
    "Minh Khai",
    "Quang Trung",
    "Lê Lợi",
    "Trần Phú",
    "Hồng Phong",
    "Đại Đồng",
    "Bình Minh",
    "An Phú",
    "Tân Tiến",
    "Hợp Thành",
    "Kim Đồng",
    "Thống Nhất",
];

/// How big the dataset is.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub provinces: usize,
    pub groups: usize,
    pub units: usize,
    pub years: usize,
}

impl Scale {
    pub const NATIONAL: Scale = Scale { provinces: 34, groups: 20, units: 10, years: 3 };
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub provinces: usize,
    pub groups: usize,
    pub group_years: usize,
    pub units: usize,
    pub users: usize,
    pub tables: usize,
    pub targets: usize,
    pub entries: usize,
    pub sheets_submitted: usize,
    pub years: Vec<i32>,
    pub seconds: f64,
    pub file_bytes: u64,
}

/// A unit and its accounts.
struct UnitIds {
    id: i64,
    officer: i64,
    leader: i64,
}

struct GroupIds {
    id: i64,
    kind: &'static str,
    units: Vec<UnitIds>,
}

struct ProvinceIds {
    id: i64,
    secretariat: i64,
    groups: Vec<GroupIds>,
}

/// Today in Vietnam (UTC+7), as the server sees it.
pub fn today() -> NaiveDate {
    (chrono::Utc::now() + Duration::hours(7)).date_naive()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn stamp(d: NaiveDate, seconds: i64) -> String {
    let t = d.and_hms_opt(1, 0, 0).unwrap_or_default() + Duration::seconds(seconds);
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The deadline of self-assessment of a year: 5 December, and for the
/// current year at least two weeks ahead of today.
pub fn self_deadline(year: i32, today: NaiveDate) -> NaiveDate {
    let d = date(year, 12, 5);
    if year == today.year() { d.max(today + Duration::days(14)) } else { d }
}

/// The date a year's table takes effect: 1 February (today at the latest for the current year).
fn effective_on(year: i32, today: NaiveDate) -> NaiveDate {
    date(year, 2, 1).min(today)
}

/// A row buffer flushed as multi-row INSERTs.
///
/// On SQLite the placeholders are anonymous (`?`): sqlx resolves a `$N`
/// placeholder by its name, a linear search per parameter, which makes a
/// statement of thousands of parameters quadratic.
struct Bulk {
    head: &'static str,
    sqlite: bool,
    cols: usize,
    rows_per_stmt: usize,
    args: Vec<Arg>,
    sql_full: String,
}

impl Bulk {
    fn new(backend: Backend, head: &'static str, cols: usize) -> Bulk {
        let sqlite = backend == Backend::Sqlite;
        let rows_per_stmt = if sqlite { 30_000 } else { 60_000 } / cols;
        let sql_full = Self::sql(sqlite, head, cols, rows_per_stmt);
        Bulk { head, sqlite, cols, rows_per_stmt, args: Vec::new(), sql_full }
    }

    fn sql(sqlite: bool, head: &str, cols: usize, rows: usize) -> String {
        let mut s = String::with_capacity(head.len() + rows * cols * 6);
        s.push_str(head);
        s.push_str(" VALUES ");
        for r in 0..rows {
            if r > 0 {
                s.push(',');
            }
            s.push('(');
            for c in 0..cols {
                if c > 0 {
                    s.push(',');
                }
                if sqlite {
                    s.push('?');
                } else {
                    s.push('$');
                    s.push_str(&(r * cols + c + 1).to_string());
                }
            }
            s.push(')');
        }
        s
    }

    async fn push(&mut self, tx: &mut Tx, row: Vec<Arg>) -> Res<()> {
        debug_assert_eq!(row.len(), self.cols);
        self.args.extend(row);
        if self.args.len() >= self.cols * self.rows_per_stmt {
            let args = std::mem::take(&mut self.args);
            tx.exec_dyn(self.sql_full.clone(), args).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, tx: &mut Tx) -> Res<()> {
        if !self.args.is_empty() {
            let n = self.args.len() / self.cols;
            let args = std::mem::take(&mut self.args);
            tx.exec_dyn(Self::sql(self.sqlite, self.head, self.cols, n), args).await?;
        }
        Ok(())
    }
}

/// Removes a SQLite database file and its WAL files.
pub fn remove_sqlite(path: &std::path::Path) -> Res<()> {
    for suffix in ["", "-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| BenchError(format!("cannot remove {}: {e}", p.display())))?;
        }
    }
    Ok(())
}

/// Generates the dataset into a fresh database (a SQLite file is replaced;
/// a PostgreSQL database must be empty).
pub async fn generate(url: &str, scale: Scale) -> Res<Summary> {
    let started = Instant::now();
    if let Some(path) = url.strip_prefix("sqlite://") {
        remove_sqlite(std::path::Path::new(path))?;
    }
    let db = Db::connect(url).await?;
    db.migrate().await?;
    {
        let mut tx = db.read().await?;
        let n = tx.scalar("SELECT COUNT(*) FROM authorities", vec![]).await?;
        tx.rollback().await?;
        if n > 0 {
            return Err(BenchError(format!("the database {url} is not empty: give an empty database")));
        }
    }
    let today = today();
    let last = today.year();
    let years: Vec<i32> = (0..scale.years as i32).map(|k| last - (scale.years as i32 - 1) + k).collect();
    let hash = thidua_web::auth::hash_password(PASSWORD).map_err(|e| BenchError(format!("hash: {e:?}")))?;
    let mut sum = Summary { years: years.clone(), ..Default::default() };

    // ---- registry and accounts ----
    let mut tx = db.begin().await?;
    let tw = org::insert_authority(&mut tx, "Hội đồng Thi đua - Khen thưởng Trung ương", "Trung ương", "central", None)
        .await?;
    let admin = users::insert_user(&mut tx, "admin", "Quản trị hệ thống", &hash).await?;
    users::insert_grant(&mut tx, admin, Role::Admin, None, None).await?;
    let sec_tw = users::insert_user(&mut tx, "btt.tw", "Ban Thi đua - Khen thưởng Trung ương", &hash).await?;
    users::insert_grant(&mut tx, sec_tw, Role::Secretariat, Some(tw), None).await?;
    sum.users += 2;
    for y in &years {
        org::insert_year(&mut tx, *y).await?;
    }
    let mut provinces = Vec::new();
    let mut unit_no = 0usize;
    for (p, (pname, city)) in PROVINCES.iter().cycle().take(scale.provinces).enumerate() {
        let name = if *city { format!("Thành phố {pname}") } else { format!("Tỉnh {pname}") };
        let id = org::insert_authority(&mut tx, &name, pname, "province", Some(tw)).await?;
        let sec = users::insert_user(
            &mut tx,
            &format!("btt.p{:02}", p + 1),
            &format!("Ban Thi đua - Khen thưởng {name}"),
            &hash,
        )
        .await?;
        users::insert_grant(&mut tx, sec, Role::Secretariat, Some(id), None).await?;
        sum.users += 1;
        let mut groups = Vec::new();
        let blocks = scale.groups / 2;
        for g in 0..scale.groups {
            let (kind, gname) = if g < blocks {
                ("block", format!("Khối thi đua số {}", g + 1))
            } else {
                ("cluster", format!("Cụm thi đua số {}", g + 1 - blocks))
            };
            let gid = org::insert_group(&mut tx, kind, &gname, id).await?;
            let mut units = Vec::new();
            for j in 0..scale.units {
                let k = g * scale.units + j;
                let (uname, ukind) = if kind == "block" {
                    let base = AGENCIES[k % AGENCIES.len()];
                    let n = k / AGENCIES.len();
                    (if n == 0 { base.to_string() } else { format!("{base} (đơn vị số {})", n + 1) }, "department")
                } else {
                    let base = COMMUNES[k % COMMUNES.len()];
                    let n = k / COMMUNES.len();
                    (if n == 0 { format!("Xã {base}") } else { format!("Xã {base} {}", n + 1) }, "commune")
                };
                let u = org::UnitData {
                    name: uname.clone(),
                    short_name: uname.clone(),
                    kind: ukind.into(),
                    authority_id: id,
                    active_from: None,
                    active_to: None,
                };
                let uid = org::insert_unit(&mut tx, &u).await?;
                unit_no += 1;
                let officer =
                    users::insert_user(&mut tx, &format!("cb{unit_no:05}"), &format!("Cán bộ thi đua, {uname}"), &hash)
                        .await?;
                users::insert_grant(&mut tx, officer, Role::UnitOfficer, None, Some(uid)).await?;
                let leader =
                    users::insert_user(&mut tx, &format!("ld{unit_no:05}"), &format!("Lãnh đạo {uname}"), &hash)
                        .await?;
                users::insert_grant(&mut tx, leader, Role::UnitLeader, None, Some(uid)).await?;
                sum.users += 2;
                units.push(UnitIds { id: uid, officer, leader });
            }
            groups.push(GroupIds { id: gid, kind, units });
        }
        provinces.push(ProvinceIds { id, secretariat: sec, groups });
    }
    sum.provinces = provinces.len();
    sum.groups = provinces.iter().map(|p| p.groups.len()).sum();
    sum.units = unit_no;
    tx.commit().await?;

    // ---- per year: memberships, tables, covenants, calendar, entries, sheets ----
    let has_score_years = table_exists(&db, "score_years").await?;
    for (yi, &year) in years.iter().enumerate() {
        let current = year == last;
        let mut tx = db.begin().await?;
        let mut targets_bulk = Bulk::new(
            db.backend(),
            "INSERT INTO covenant_targets (covenant_id, unit_id, line_code, target, set_by, set_at)",
            6,
        );
        let mut entries = Bulk::new(
            db.backend(),
            "INSERT INTO score_entries (group_year_id, unit_id, line_code, stage, value_json, reason, evidence_json, \
             by_user, by_unit, at)",
            10,
        );
        let mut sheets = Bulk::new(
            db.backend(),
            "INSERT INTO sheets (group_year_id, unit_id, state, submitted_by, submitted_at) ",
            5,
        );
        let deadline = self_deadline(year, today);
        for (p, prov) in provinces.iter().enumerate() {
            calendar(&mut tx, prov.id, year, deadline, prov.secretariat).await?;
            let seed = (p as u64 + 1) * 1000 + year as u64;
            let t1 = table::table(seed, 75);
            let t2 = table::table(seed, 70);
            let c1 = serde_json::to_string(&t1).map_err(|e| BenchError(e.to_string()))?;
            let c2 = serde_json::to_string(&t2).map_err(|e| BenchError(e.to_string()))?;
            let tpl = sc::insert_template(
                &mut tx,
                prov.id,
                &format!("Bảng chấm điểm thi đua các cụm, khối năm {year}"),
                &format!("Quyết định số {}/QĐ-HĐTĐKT ngày 15/01/{year} (dữ liệu đo hiệu năng)", 10 + p),
                &c1,
                Some(prov.secretariat),
            )
            .await?;
            sc::publish_template(&mut tx, tpl, &ymd(date(year, 1, 15))).await?;
            for (g, grp) in prov.groups.iter().enumerate() {
                let gy = org::group_year(&mut tx, grp.id, year).await?;
                let n = grp.units.len();
                let head = yi % n;
                let deputy = (yi + 1) % n;
                for (j, u) in grp.units.iter().enumerate() {
                    let role = if j == head {
                        "head"
                    } else if j == deputy && n > 1 {
                        "deputy"
                    } else {
                        "member"
                    };
                    org::insert_membership(&mut tx, gy, u.id, role).await?;
                }
                let head_officer = grp.units[head].officer;
                // the cross-inspection plan: each unit inspects the next one (a ring: no self, no reciprocal pair)
                if n > 2 {
                    let pairs: Vec<(i64, i64)> = (0..n)
                        .map(|j| (grp.units[j].id, grp.units[(j + 1 + yi) % n].id))
                        .filter(|p| p.0 != p.1)
                        .collect();
                    inspection::replace(&mut tx, gy, &pairs, head_officer).await?;
                }
                // the table: version 1 from 1 February; one group in five adopted a
                // second version at the mid-year review (the ladders' second level lowered)
                let v1 =
                    sc::insert_version(&mut tx, gy, 1, &c1, &format!("template:{tpl}"), "", Some(head_officer)).await?;
                sc::adopt(
                    &mut tx,
                    v1,
                    head_officer,
                    &ymd(effective_on(year, today)),
                    "Hội nghị ký kết giao ước thi đua thống nhất thông qua.",
                )
                .await?;
                sum.tables += 1;
                let mid = date(year, 7, 15);
                let second = g % 5 == 0 && mid <= today;
                let in_force = if second {
                    let v2 = sc::insert_version(&mut tx, gy, 2, &c2, "version:1", "", Some(head_officer)).await?;
                    sc::adopt(
                        &mut tx,
                        v2,
                        head_officer,
                        &ymd(mid),
                        "Theo kết luận Hội nghị sơ kết 6 tháng: hạ mức Khá của các tiêu chí chấm theo mức.",
                    )
                    .await?;
                    sum.tables += 1;
                    &t2
                } else {
                    &t1
                };
                let cov = sc::insert_covenant(
                    &mut tx,
                    gy,
                    &format!(
                        "Các đơn vị thành viên {} cùng giao ước thi đua năm {year}, phấn đấu hoàn thành xuất sắc \
                         các chỉ tiêu, nhiệm vụ được giao theo bảng chỉ tiêu kèm theo.",
                        if grp.kind == "block" { "khối" } else { "cụm" }
                    ),
                    Some(v1),
                )
                .await?;
                if g == 3 {
                    cal::set_group_date(
                        &mut tx,
                        gy,
                        Event::SelfAssessmentDeadline.code(),
                        &ymd(deadline + Duration::days(2)),
                        "Khối thống nhất lùi hạn tự chấm để kịp số liệu cuối tháng 11.",
                        head_officer,
                    )
                    .await?;
                }
                let mut rng = Rng::new(seed * 7919 + g as u64);
                let set_at = stamp(date(year, 2, 20), 0);
                let mut unit_targets = Vec::new();
                for u in &grp.units {
                    let mut mine = Vec::new();
                    for code in TARGET_LINES {
                        if rng.chance(92) {
                            let t = rng.range(8_000, 20_000);
                            targets_bulk
                                .push(
                                    &mut tx,
                                    vec![
                                        cov.into(),
                                        u.id.into(),
                                        (*code).into(),
                                        t.into(),
                                        prov.secretariat.into(),
                                        set_at.clone().into(),
                                    ],
                                )
                                .await?;
                            sum.targets += 1;
                            mine.push((*code, t));
                        }
                    }
                    unit_targets.push(mine);
                }
                let ctx = GyCtx {
                    gy,
                    current,
                    deadline,
                    today,
                    table: in_force,
                    head: grp.units[head].id,
                    head_officer,
                    secretariat: prov.secretariat,
                };
                for (j, u) in grp.units.iter().enumerate() {
                    sum.entries += unit_entries(&mut tx, &mut entries, &mut rng, &ctx, u, &unit_targets[j]).await?;
                    // past years: every sheet submitted; this year a few units already submitted
                    let submitted = !current || (g % 3 == 1 && j + 1 == n);
                    if submitted {
                        let at = stamp(if current { today - Duration::days(1) } else { deadline }, 3600 + j as i64);
                        sheets
                            .push(&mut tx, vec![gy.into(), u.id.into(), "submitted".into(), u.leader.into(), at.into()])
                            .await?;
                        sum.sheets_submitted += 1;
                    }
                }
                if has_score_years && !current {
                    tx.exec_dyn(
                        "INSERT INTO score_years (group_year_id, phase, changed_by, changed_at) VALUES ($1, 'final', $2, $3)"
                            .into(),
                        vec![gy.into(), prov.secretariat.into(), stamp(date(year + 1, 1, 20), 0).into()],
                    )
                    .await?;
                }
                sum.group_years += 1;
            }
        }
        targets_bulk.flush(&mut tx).await?;
        entries.flush(&mut tx).await?;
        sheets.flush(&mut tx).await?;
        tx.commit().await?;
    }

    let mut tx = db.begin().await?;
    let e = audit::Entry {
        actor_user_id: Some(admin),
        actor_name: "admin".into(),
        action: "bench.generate".into(),
        object_type: "dataset".into(),
        object_id: "bench".into(),
        after: Some(serde_json::json!({
            "provinces": sum.provinces, "groups": sum.groups, "units": sum.units, "years": sum.years,
            "entries": sum.entries,
        })),
        reason: Some("Dữ liệu đo hiệu năng (thidua-bench), không phải dữ liệu thật.".into()),
        request_id: "bench".into(),
        ..Default::default()
    };
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    if db.backend() == Backend::Sqlite {
        // leave a checkpointed file: the readers (the sqlite3 CLI, the server) start from the same state
        if let Db::Sqlite(p, _) = &db {
            thidua_db::sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(p).await?;
        }
    }
    db.close().await;
    sum.seconds = started.elapsed().as_secs_f64();
    if let Some(path) = url.strip_prefix("sqlite://") {
        sum.file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    }
    Ok(sum)
}

async fn table_exists(db: &Db, name: &str) -> Res<bool> {
    let mut tx = db.read().await?;
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let (n,): (i64,) = tx.one(sql, vec![name.into()]).await?;
    tx.rollback().await?;
    Ok(n > 0)
}

/// The authority's calendar of a year: every event, in the order of the year.
async fn calendar(tx: &mut Tx, authority: i64, year: i32, deadline: NaiveDate, user: i64) -> Res<()> {
    let days: [(Event, NaiveDate); 8] = [
        (Event::CovenantSigning, date(year, 2, 20)),
        (Event::MidYearReview, date(year, 7, 15)),
        (Event::SelfAssessmentDeadline, deadline),
        (Event::HeadReview, deadline + Duration::days(10)),
        (Event::Explanation, deadline + Duration::days(17)),
        (Event::Appraisal, deadline + Duration::days(31)),
        (Event::Deliberation, deadline + Duration::days(41)),
        (Event::YearEndReview, deadline + Duration::days(46)),
    ];
    for (ev, d) in days {
        let (from, to) = (ymd(d - Duration::days(4)), ymd(d + Duration::days(4)));
        cal::set_default(tx, authority, year, ev.code(), (&ymd(d), &from, &to), user).await?;
    }
    Ok(())
}

/// What the entries of a group-year need.
struct GyCtx<'a> {
    gy: i64,
    current: bool,
    deadline: NaiveDate,
    today: NaiveDate,
    table: &'a ScoringTable,
    head: i64,
    head_officer: i64,
    secretariat: i64,
}

/// A random value for a leaf (never not-applicable).
fn random_value(rng: &mut Rng, l: &Line, target: Option<i64>) -> RawValue {
    match &l.method {
        Some(Method::Qualitative { levels }) => {
            let r = rng.below(100);
            let i = if r < 55 {
                0
            } else if r < 85 {
                1
            } else {
                (2 + rng.below(2) as usize).min(levels.len() - 1)
            };
            RawValue::Level(i.min(levels.len() - 1))
        }
        Some(Method::Count { .. }) => RawValue::Count(rng.below(6) as u32),
        Some(Method::Manual) => {
            let max = l.max.hundredths();
            let pts = max * rng.range(55, 100) / 100;
            RawValue::Manual {
                points: Points::from_hundredths(pts),
                reason: "Tự đánh giá theo kết quả thực hiện.".into(),
            }
        }
        Some(Method::Target) => {
            let t = target.unwrap_or(10_000);
            RawValue::Actual { actual: Points::from_hundredths(t * rng.range(70, 140) / 100 + rng.range(0, 99)) }
        }
        None => RawValue::NotApplicable,
    }
}

fn json(v: &RawValue) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The entries of one unit's sheet in one group-year, in the order they were written.
async fn unit_entries(
    tx: &mut Tx,
    bulk: &mut Bulk,
    rng: &mut Rng,
    c: &GyCtx<'_>,
    u: &UnitIds,
    targets: &[(&str, i64)],
) -> Res<usize> {
    struct E {
        code: String,
        stage: &'static str,
        value: String,
        reason: String,
        by_user: i64,
        by_unit: Option<i64>,
        at: String,
    }
    let mut out: Vec<E> = Vec::new();
    let start = if c.current { c.today - Duration::days(50) } else { c.deadline - Duration::days(40) };
    let self_at = |rng: &mut Rng| stamp(start, rng.range(0, 30 * 86_400));
    let leaves: Vec<&Line> = c.table.walk().into_iter().filter(|l| l.is_leaf()).collect();
    let mut own: Vec<(&Line, RawValue)> = Vec::new();
    let fill = if c.current { 88 } else { 97 };
    for l in &leaves {
        let target = targets.iter().find(|t| t.0 == l.code).map(|t| t.1);
        let is_target = matches!(l.method, Some(Method::Target));
        if is_target && target.is_none() {
            continue; // no target: the criterion does not apply, nothing to enter
        }
        if !rng.chance(fill) {
            continue; // not entered (yet)
        }
        let v = if !is_target && rng.chance(3) { RawValue::NotApplicable } else { random_value(rng, l, target) };
        if rng.chance(12) {
            // a first value, corrected later
            let first = random_value(rng, l, target);
            out.push(E {
                code: l.code.clone(),
                stage: "self_assessment",
                value: json(&first),
                reason: String::new(),
                by_user: u.officer,
                by_unit: Some(u.id),
                at: self_at(rng),
            });
        }
        own.push((l, v));
    }
    // the later values, after the first ones
    out.sort_by(|a, b| a.at.cmp(&b.at));
    for (l, v) in &own {
        out.push(E {
            code: l.code.clone(),
            stage: "self_assessment",
            value: json(v),
            reason: String::new(),
            by_user: if rng.chance(10) { u.leader } else { u.officer },
            by_unit: Some(u.id),
            at: stamp(start + Duration::days(31), rng.range(0, 8 * 86_400)),
        });
    }
    for a in &c.table.bonus {
        if rng.chance(30) {
            let n = RawValue::Count(1 + rng.below(4) as u32);
            out.push(E {
                code: a.code.clone(),
                stage: "self_assessment",
                value: json(&n),
                reason: String::new(),
                by_user: u.officer,
                by_unit: Some(u.id),
                at: stamp(start + Duration::days(41), rng.range(0, 86_400)),
            });
        }
    }
    for a in c.table.penalties.iter().filter(|a| !a.secretariat_only) {
        if rng.chance(15) {
            let n = RawValue::Count(1 + rng.below(3) as u32);
            out.push(E {
                code: a.code.clone(),
                stage: "self_assessment",
                value: json(&n),
                reason: String::new(),
                by_user: u.officer,
                by_unit: Some(u.id),
                at: stamp(start + Duration::days(41), rng.range(0, 86_400)),
            });
        }
    }
    if !c.current {
        // head review (proposals, not in force), the unit's explanations, the secretariat's appraisal
        let review = c.deadline + Duration::days(10);
        for (l, v) in &own {
            if u.id == c.head || !rng.chance(5) {
                continue;
            }
            let target = targets.iter().find(|t| t.0 == l.code).map(|t| t.1);
            let proposed = random_value(rng, l, target);
            out.push(E {
                code: l.code.clone(),
                stage: "head_review",
                value: json(&proposed),
                reason: "Đề nghị điều chỉnh theo minh chứng đơn vị đã gửi.".into(),
                by_user: c.head_officer,
                by_unit: Some(c.head),
                at: stamp(review, rng.range(0, 86_400)),
            });
            if rng.chance(60) {
                let (value, reason) = if rng.chance(50) {
                    (json(&proposed), "Đơn vị thống nhất với đề nghị điều chỉnh.")
                } else {
                    (json(v), "Đơn vị giữ điểm tự chấm, có giải trình kèm minh chứng.")
                };
                out.push(E {
                    code: l.code.clone(),
                    stage: "explanation",
                    value,
                    reason: reason.into(),
                    by_user: u.officer,
                    by_unit: Some(u.id),
                    at: stamp(review + Duration::days(6), rng.range(0, 86_400)),
                });
            }
        }
        for (l, _) in &own {
            if rng.chance(2) {
                let target = targets.iter().find(|t| t.0 == l.code).map(|t| t.1);
                out.push(E {
                    code: l.code.clone(),
                    stage: "appraisal",
                    value: json(&random_value(rng, l, target)),
                    reason: "Thẩm định theo hồ sơ minh chứng.".into(),
                    by_user: c.secretariat,
                    by_unit: None,
                    at: stamp(c.deadline + Duration::days(31), rng.range(0, 86_400)),
                });
            }
        }
        if rng.chance(2) {
            let cov = c.table.penalties.iter().find(|a| a.secretariat_only);
            if let Some(a) = cov {
                out.push(E {
                    code: a.code.clone(),
                    stage: "appraisal",
                    value: json(&RawValue::Count(1)),
                    reason: "Đơn vị không ký giao ước thi đua.".into(),
                    by_user: c.secretariat,
                    by_unit: None,
                    at: stamp(c.deadline + Duration::days(31), rng.range(0, 86_400)),
                });
            }
        }
    }
    let n = out.len();
    for e in out {
        bulk.push(
            tx,
            vec![
                c.gy.into(),
                u.id.into(),
                e.code.into(),
                e.stage.into(),
                e.value.into(),
                e.reason.into(),
                "[]".into(),
                e.by_user.into(),
                e.by_unit.into(),
                e.at.into(),
            ],
        )
        .await?;
    }
    Ok(n)
}
