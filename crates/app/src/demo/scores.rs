//! The demo's scoring years, so that every page of the score chain has content:
//!
//! - **2025, completed** for two blocks and one commune cluster of Cao Bằng
//!   ([`FINAL_GROUPS`]): the province's 2025 template, each group's table
//!   adopted from it, a covenant with targets signed by the leaders (one unit
//!   did not sign and was penalised), a cross-inspection plan made by
//!   `thidua_core::inspection::plan` with a fixed seed, every member's
//!   self-assessment on every line (values drawn by a deterministic
//!   generator per unit, a few "Không áp dụng"), evidence files on some
//!   lines, every sheet submitted (one late, after the secretariat reopened
//!   it), inspectors' proposals with remarks, the head unit's proposals with
//!   reasons, the units' explanations (some accept, some keep their value
//!   with a reason), the secretariat's appraisal with reasons (including the
//!   secretariat-only penalty for the unsigned covenant), final entries for
//!   every value in force (as `ops::chain::finalise` writes them), phase
//!   final, results published (with the adjustments' reasons for some groups).
//! - **2026, in self-assessment**: draft sheets for a few units of three
//!   blocks ([`DRAFTS_2026`]), two of them submitted by their leaders, and a
//!   cross-inspection plan for one block ([`PLAN_2026`]). The party block,
//!   whose 2026 the browser tests play through, is left as it is; the year's
//!   phase stays self-assessment (no `score_years` row).
//!
//! What is illustrative: the 2025 dates (the merged departments' blocks
//! signed their covenant on 20/03/2025, after the merger of 1 March; the
//! communes, formed on 1 July 2025, signed theirs on 25/07/2025), the values,
//! the remarks and reasons, the evidence files (one-page documents made by
//! [`super::files`], marked as demo material) and the cluster using the
//! provincial blocks' table.
//!
//! Cao Bằng's 2025 calendar goes through `ops::calendar::set_defaults`;
//! everything else is written through the database functions, in one
//! transaction, with an audit entry per step (named by the demo; the
//! writer's user and the step's time are in the entry), the signatures as
//! [`super::covenant::sign_members`] records them. The database functions
//! stamp covenants, tables and plans with the current time; the 2025 rows are
//! dated back to 2025 afterwards ([`backdate`]). Every entry
//! passes `thidua_core::workflow::check_entry` and every group-year filled
//! computes (`thidua_core::scoring::compute`), else the loader fails naming
//! the group, the unit and the line.
//!
//! Evidence files need the file store: the loader is given its directory
//! (`data_dir/files`); without one (PostgreSQL), entries carry no evidence and
//! no evidence row is written.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{Duration, NaiveDate};
use serde_json::{Value, json};
use thidua_core::inspection::{self as ins, Member, Pair};
use thidua_core::policy::Role;
use thidua_core::rng::SplitMix64;
use thidua_core::scoring::{GroupResult, Points, RawValue, ScoringTable, UnitInput, compute, sample_table};
use thidua_core::workflow::{self as wf, ScoreEntry, Stage};
use thidua_db::scores::{self as sc, NewEntry, NewEvidence};
use thidua_db::{Db, Tx, args, audit, inspection as iq, org as q, scoring as s, users};
use thidua_web::AppError;
use thidua_web::files::{BlobKey, FileStore, LocalDir};

use super::covenant::{covenant_text, ctx_of, sign_members, target_for, unit_account};
use super::data::{GROUPS, GroupDef, GroupYearDef};
use super::files::{DemoFile, pdf, png};
use super::{DEMO_YEAR, Ids, entry, missing, unit_name};

/// The completed year.
pub const RESULT_YEAR: i32 = 2025;
/// The groups whose 2025 is final and published, with whether the public
/// page shows the reasons of the adjustments.
pub const FINAL_GROUPS: &[(&str, bool)] =
    &[("cb-khoi-noi-chinh", true), ("cb-khoi-kt-tong-hop", false), ("cb-cum-02", true)];
/// The unit that did not sign its 2025 covenant (penalised by the secretariat).
pub const UNSIGNED_2025: (&str, &str) = ("cb-khoi-kt-tong-hop", "cb-xskt");
/// The unit that submitted its 2025 sheet late, after the secretariat reopened it.
pub const LATE_2025: (&str, &str) = ("cb-khoi-noi-chinh", "cb-hoi-luat-gia");
/// Units to which criterion I.3 (the province's administrative-reform index)
/// does not apply: banks and insurers outside the province's index.
pub const NOT_APPLICABLE_I3: &[&str] = &["cb-agribank", "cb-bidv", "cb-vietinbank", "cb-vietcombank", "cb-bao-viet"];
/// 2026: the units with a draft self-assessment, by group. Never the party
/// block, and at least one other block stays untouched with every member
/// signed (`cb-khoi-kt-ky-thuat`): the browser tests play a year on each.
pub const DRAFTS_2026: &[(&str, &[&str])] = &[
    ("cb-khoi-noi-chinh", &["cb-so-tu-phap", "cb-thanh-tra", "cb-so-noi-vu", "cb-vp-ubnd", "cb-tt-hcc"]),
    ("cb-khoi-kt-tong-hop", &["cb-so-tai-chinh", "cb-kho-bac", "cb-thue", "cb-agribank"]),
    ("cb-khoi-vhxh", &["cb-so-vhttdl", "cb-so-y-te", "cb-bao-tang"]),
];
/// 2026: the sheets already signed and submitted by the units' leaders.
pub const SUBMITTED_2026: &[&str] = &["cb-so-noi-vu", "cb-kho-bac"];
/// 2026: the block with a cross-inspection plan.
pub const PLAN_2026: &str = "cb-khoi-noi-chinh";
/// The seed of the demo's inspection plans.
const PLAN_SEED: u64 = 2025;
/// The secretariat's account.
const SECRETARIAT: &str = "banthuongtruc.caobang";

fn fail(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("dữ liệu mẫu (chấm điểm): {what}"))
}

// ---------- dates and numbers ----------

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// A UTC stamp for a day and a time of day in Vietnam (UTC+7).
fn stamp(d: NaiveDate, h: u32, m: u32) -> String {
    let t = d.and_hms_opt(h, m, 0).unwrap_or_default() - Duration::hours(7);
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A small deterministic generator seeded by names.
struct Rng(SplitMix64);

impl Rng {
    fn of(parts: &[&str]) -> Rng {
        let mut h: u64 = 0xCBF2_9CE4_8422_2325;
        for p in parts {
            for b in p.bytes().chain(std::iter::once(0)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01B3);
            }
        }
        Rng(SplitMix64::new(h))
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1).max(1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn count(v: &RawValue) -> u32 {
    match v {
        RawValue::Count(n) => *n,
        _ => 0,
    }
}

/// Two values are the same answer (a manual criterion by its points, whatever its reason).
fn same_value(a: &RawValue, b: &RawValue) -> bool {
    match (a, b) {
        (RawValue::Manual { points: x, .. }, RawValue::Manual { points: y, .. }) => x == y,
        _ => a == b,
    }
}

fn manual_points(v: &RawValue) -> Option<Points> {
    match v {
        RawValue::Manual { points, .. } => Some(*points),
        _ => None,
    }
}

/// A unit's own values for a year, in the table's order (bonus and penalty
/// lines only when not zero). `target` is the unit's I.1 target.
fn own_values(
    table: &ScoringTable,
    year: i32,
    kind: &str,
    unit_key: &str,
    target: Option<Points>,
    rng: &mut Rng,
) -> Vec<(String, RawValue)> {
    let mut out = Vec::new();
    let level = |rng: &mut Rng, pct: u64, worse: usize| RawValue::Level(if rng.chance(pct) { worse } else { 0 });
    for l in table.walk().into_iter().filter(|l| l.is_leaf()) {
        let v = match l.code.as_str() {
            "I.1" => match target {
                Some(t) => {
                    // most units exceed their target a little; now and then one falls short
                    let pct = if rng.chance(10) { rng.range(94, 100) } else { rng.range(112, 128) };
                    RawValue::Actual { actual: Points::whole(t.hundredths() * pct / 100 / 100) }
                }
                None => continue,
            },
            "I.2" => {
                let p = rng.range(84, 100);
                let n = rng.range(28, 75);
                let late = (100 - p) / 4;
                let reason = if late == 0 {
                    format!("Tham mưu {n} văn bản, tất cả đúng hạn; không có văn bản bị trả lại.")
                } else {
                    format!("Tham mưu {n} văn bản, {} văn bản đúng hạn, {late} văn bản chậm so với yêu cầu.", n - late)
                };
                RawValue::Manual { points: Points::whole(p), reason }
            }
            "I.3" if NOT_APPLICABLE_I3.contains(&unit_key) => RawValue::NotApplicable,
            "I.3" => {
                let p = rng.range(78, 97);
                let reason = format!(
                    "Chỉ số cải cách hành chính năm {year} đạt {},{}%; {}% hồ sơ công việc được xử lý trên môi trường mạng.",
                    rng.range(80, 95),
                    rng.range(0, 9),
                    rng.range(70, 98)
                );
                RawValue::Manual { points: Points::whole(p), reason }
            }
            "II.1" => RawValue::Level(0),
            "II.2" => level(rng, 5, 1),
            "II.3" => RawValue::Count(rng.range(2, 6) as u32),
            "II.4" => level(rng, 5, 1),
            "II.5" => RawValue::Count(rng.range(3, 5) as u32),
            "III.1" | "III.2" | "III.3" => level(rng, 10, 1),
            "IV.1" => {
                let p = rng.range(46, 60);
                let reason = format!(
                    "Tham gia đầy đủ các hoạt động chung của {kind}; chủ trì {} hoạt động, phối hợp tổ chức {} hoạt động.",
                    rng.range(1, 3),
                    rng.range(2, 6)
                );
                RawValue::Manual { points: Points::whole(p), reason }
            }
            "IV.2" => level(rng, 3, 1),
            _ => continue,
        };
        out.push((l.code.clone(), v));
    }
    for (code, pct, lo, hi) in [
        ("TH.1", 10, 1, 1),
        ("TH.2", 45, 1, 2),
        ("TH.3", 30, 1, 3),
        ("TR.2", 18, 1, 1),
        ("TR.3", 8, 1, 1),
        ("TR.5", 6, 1, 1),
    ] {
        if (table.find_bonus(code).is_some() || table.find_penalty(code).is_some()) && rng.chance(pct) {
            out.push((code.to_string(), RawValue::Count(rng.range(lo, hi) as u32)));
        }
    }
    out
}

// ---------- people ----------

/// A member unit and the accounts that write for it.
#[derive(Debug, Clone)]
struct Unit {
    key: &'static str,
    id: i64,
    name: &'static str,
    officer: i64,
    leader: i64,
    leader_name: String,
}

// ---------- evidence files ----------

/// The file store of the demo (if any) and the files to write into it.
struct Files {
    store: Option<LocalDir>,
    pending: BTreeMap<String, Vec<u8>>,
    rows: usize,
}

impl Files {
    /// Records an evidence file of a line; returns its id as an entry names
    /// it, or `None` without a file store.
    #[allow(clippy::too_many_arguments)]
    async fn add(
        &mut self,
        tx: &mut Tx,
        gy: i64,
        unit: i64,
        line: &str,
        f: DemoFile,
        by: i64,
        at: &str,
    ) -> Result<Option<String>, AppError> {
        if self.store.is_none() {
            return Ok(None);
        }
        let key = BlobKey::of(&f.bytes);
        let row = NewEvidence {
            unit_id: unit,
            line_code: line.to_string(),
            sha256: key.as_str().to_string(),
            size_bytes: f.bytes.len() as i64,
            file_type: f.file_type.code().to_string(),
            file_name: f.file_name.clone(),
            uploaded_by: by,
            uploaded_at: at.to_string(),
        };
        let id = sc::add_evidence(tx, gy, &row).await?;
        self.pending.insert(key.as_str().to_string(), f.bytes);
        self.rows += 1;
        Ok(Some(id.to_string()))
    }

    /// Writes the pending files into the store, several at a time.
    async fn flush(&mut self) -> Result<(), AppError> {
        let Some(store) = &self.store else { return Ok(()) };
        let mut set = tokio::task::JoinSet::new();
        for (k, bytes) in std::mem::take(&mut self.pending) {
            let store = store.clone();
            set.spawn(async move {
                let key = BlobKey::parse(&k).ok_or_else(|| fail(format!("khóa tệp {k}")))?;
                store.put(&key, bytes.into()).await.map_err(|e| fail(format!("ghi tệp minh chứng {k}: {e}")))
            });
        }
        while let Some(r) = set.join_next().await {
            r.map_err(fail)??;
        }
        Ok(())
    }
}

/// The evidence file of a line: a PDF, or a PNG photo for the covenant signing.
fn evidence_file(group: &str, unit: &Unit, line: &str, year: i32, extra: Option<&str>) -> DemoFile {
    let (title, png_photo) = match (line, extra) {
        (_, Some(t)) => (t.to_string(), false),
        ("I.1", _) => (format!("Báo cáo kết quả thực hiện chỉ tiêu năm {year}"), false),
        ("I.2", _) => (format!("Danh mục văn bản tham mưu năm {year}"), false),
        ("II.1", _) => (format!("Ảnh hội nghị ký kết giao ước thi đua năm {year}"), true),
        ("II.3", _) => (format!("Quyết định công nhận điển hình tiên tiến năm {year}"), false),
        _ => (format!("Minh chứng tiêu chí {line} năm {year}"), false),
    };
    if png_photo {
        let seed = Rng::of(&[group, unit.key, line, &year.to_string()]).next();
        return DemoFile {
            file_name: format!("{title}.png"),
            file_type: thidua_core::documents::FileType::Png,
            bytes: png(seed),
        };
    }
    let lines = vec![
        unit.name.to_string(),
        group.to_string(),
        format!("Tiêu chí {line}, năm thi đua {year}"),
        "Tài liệu minh họa của dữ liệu mẫu thidua, không phải văn bản thật.".to_string(),
    ];
    DemoFile {
        file_name: format!("{title}.pdf"),
        file_type: thidua_core::documents::FileType::Pdf,
        bytes: pdf(&title, &lines),
    }
}

// ---------- one group-year's chain ----------

/// A value to write on a line: the code, the value, the reason (or remark) and the evidence keys.
type Written = (String, RawValue, String, Vec<String>);

/// A group-year being filled: its members, its table, its entries so far.
struct Book {
    key: &'static str,
    name: &'static str,
    kind: &'static str,
    gid: i64,
    gy: i64,
    year: i32,
    authority: i64,
    units: Vec<Unit>,
    head: usize,
    deputy: Option<usize>,
    table: ScoringTable,
    targets: BTreeMap<i64, Points>,
    entries: wf::Entries,
}

impl Book {
    /// Opens a group-year; the units in `writers` (all when `None`) get
    /// their officer's and leader's accounts.
    async fn open(
        tx: &mut Tx,
        ids: &Ids,
        key: &'static str,
        year: i32,
        table: ScoringTable,
        writers: Option<&[&str]>,
    ) -> Result<(Book, &'static GroupDef, &'static GroupYearDef), AppError> {
        let g = GROUPS.iter().find(|g| g.key == key).ok_or_else(|| missing("group", key))?;
        let yd = g.years.iter().find(|y| y.year == year).ok_or_else(|| missing("group year of", key))?;
        let gid = *ids.groups.get(key).ok_or_else(|| missing("group", key))?;
        let authority = *ids.authorities.get(g.authority).ok_or_else(|| missing("authority", g.authority))?;
        let gy = q::find_group_year(tx, gid, year).await?.ok_or_else(|| missing("group year of", key))?;
        let mut units = Vec::new();
        for &m in yd.members {
            let id = *ids.units.get(m).ok_or_else(|| missing("unit", m))?;
            let writes = writers.is_none_or(|w| w.contains(&m));
            let (officer, leader, leader_name) = if writes {
                let (officer, _) = unit_account(tx, Role::UnitOfficer, m, id, authority).await?;
                let (leader, leader_name) = unit_account(tx, Role::UnitLeader, m, id, authority).await?;
                (officer, leader, leader_name)
            } else {
                (0, 0, String::new())
            };
            units.push(Unit { key: m, id, name: unit_name(m), officer, leader, leader_name });
        }
        let head = units.iter().position(|u| u.key == yd.head).ok_or_else(|| missing("head of", key))?;
        let deputy = yd.deputy.and_then(|d| units.iter().position(|u| u.key == d));
        let kind = if g.kind == "cluster" { "cụm" } else { "khối" };
        let book = Book {
            key,
            name: g.name,
            kind,
            gid,
            gy,
            year,
            authority,
            units,
            head,
            deputy,
            table,
            targets: BTreeMap::new(),
            entries: wf::Entries::default(),
        };
        Ok((book, g, yd))
    }

    /// The covenant's targets, as stored.
    async fn load_targets(&mut self, tx: &mut Tx) -> Result<(), AppError> {
        if let Some(c) = s::covenant(tx, self.gy).await? {
            self.targets = s::targets(tx, c.id)
                .await?
                .into_iter()
                .filter(|t| t.line_code == "I.1")
                .map(|t| (t.unit_id, Points::from_hundredths(t.target)))
                .collect();
        }
        Ok(())
    }

    fn ctx(&self) -> String {
        format!("{} năm {}", self.name, self.year)
    }

    fn head_of(&self, u: usize) -> usize {
        if u == self.head { self.deputy.unwrap_or(self.head) } else { self.head }
    }

    /// Checks and appends an entry.
    async fn write(&mut self, tx: &mut Tx, e: ScoreEntry) -> Result<(), AppError> {
        let name = self.units.iter().find(|u| u.id == e.unit_id).map_or("", |u| u.name);
        wf::check_entry(&e, &self.table, name).map_err(|x| fail(format!("{}: {}", self.ctx(), x.message)))?;
        if e.stage == Stage::Explanation {
            // an explanation answers the head unit's open proposal: the proposed value or the unit's own
            let proposal = wf::open_proposal(&self.entries, e.unit_id, &e.line_code);
            let own = wf::latest(&self.entries, e.unit_id, &e.line_code, Stage::SelfAssessment);
            let answers = proposal.is_some_and(|p| same_value(&p.value, &e.value))
                || (proposal.is_some() && own.is_some_and(|o| same_value(&o.value, &e.value)));
            if !answers {
                return Err(fail(format!(
                    "{}: {name}, {}: giải trình không trả lời đề xuất nào",
                    self.ctx(),
                    e.line_code
                )));
            }
        }
        let row = NewEntry {
            unit_id: e.unit_id,
            line_code: e.line_code.clone(),
            stage: e.stage.code().to_string(),
            value_json: serde_json::to_string(&e.value).map_err(fail)?,
            reason: e.reason.clone(),
            evidence_json: serde_json::to_string(&e.evidence).map_err(fail)?,
            by_user: e.by_user,
            by_unit: e.by_unit,
            at: e.at.clone(),
        };
        let seq = sc::append(tx, self.gy, &row).await?;
        self.entries.push(ScoreEntry { seq: seq as u64, ..e });
        Ok(())
    }

    /// Writes one stage's values on a unit's sheet, with one audit entry.
    #[allow(clippy::too_many_arguments)]
    async fn write_lines(
        &mut self,
        tx: &mut Tx,
        unit: usize,
        stage: Stage,
        lines: Vec<Written>,
        by_user: i64,
        by_unit: Option<i64>,
        at: &str,
    ) -> Result<(), AppError> {
        if lines.is_empty() {
            return Ok(());
        }
        let u = self.units[unit].clone();
        let mut shown = Vec::new();
        for (code, value, reason, evidence) in lines {
            shown.push(json!({"line": code, "value": value, "reason": reason}));
            let e = ScoreEntry {
                unit_id: u.id,
                line_code: code,
                stage,
                value,
                reason,
                evidence,
                by_user,
                by_unit,
                at: at.to_string(),
                seq: 0,
            };
            self.write(tx, e).await?;
        }
        let mut a = entry(&format!("score.{}", stage.code()), "unit", u.id, Some(self.authority));
        a.after = Some(json!({"year": self.year, "group": self.name, "unit": u.name, "stage": stage.code(),
            "by_user": by_user, "at": at, "lines": shown}));
        audit::append(tx, a).await?;
        Ok(())
    }

    /// Adds an evidence file to a line, as the pages do: evidence belongs to
    /// the unit's own line, so the new entry is a self-assessment entry
    /// carrying the unit's latest self-assessment value with the file added,
    /// whatever the phase (it never answers a proposal nor changes a value in force).
    async fn add_evidence(
        &mut self,
        tx: &mut Tx,
        files: &mut Files,
        unit: usize,
        line: &str,
        f: DemoFile,
        at: &str,
    ) -> Result<(), AppError> {
        let u = self.units[unit].clone();
        let base = wf::latest(&self.entries, u.id, line, Stage::SelfAssessment).cloned().ok_or_else(|| {
            fail(format!("{}: {} chưa có giá trị ở dòng {line} để gắn minh chứng", self.ctx(), u.name))
        })?;
        let name = f.file_name.clone();
        let Some(id) = files.add(tx, self.gy, u.id, line, f, u.officer, at).await? else { return Ok(()) };
        let mut evidence: Vec<String> =
            wf::own_latest(&self.entries, u.id, line).map(|e| e.evidence.clone()).unwrap_or_default();
        evidence.push(id.clone());
        let e = ScoreEntry {
            stage: Stage::SelfAssessment,
            reason: format!("Bổ sung minh chứng: {name}"),
            evidence,
            by_user: u.officer,
            by_unit: Some(u.id),
            at: at.to_string(),
            seq: 0,
            ..base
        };
        self.write(tx, e).await?;
        let mut a = entry("score.evidence_add", "unit", u.id, Some(self.authority));
        a.after =
            Some(json!({"year": self.year, "unit": u.name, "line": line, "file": name, "evidence_id": id, "at": at}));
        audit::append(tx, a).await?;
        Ok(())
    }

    fn bases(&self) -> Vec<UnitInput> {
        self.units
            .iter()
            .map(|u| UnitInput {
                unit_id: u.id,
                name: u.name.to_string(),
                targets: self.targets.get(&u.id).map(|t| BTreeMap::from([("I.1".to_string(), *t)])).unwrap_or_default(),
                ..Default::default()
            })
            .collect()
    }

    /// The results on the self-assessment values and on the values in force;
    /// an error names the group and what failed.
    fn compute_all(&self) -> Result<(GroupResult, GroupResult), AppError> {
        let failed = |v: Vec<thidua_core::Invalid>| {
            fail(format!(
                "{}: không tính được điểm: {}",
                self.ctx(),
                v.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ")
            ))
        };
        let selfs =
            wf::unit_inputs(&self.table, &self.bases(), &self.entries, |l| wf::latest_of(l, Stage::SelfAssessment));
        let selfs = compute(&self.table, &selfs).map_err(failed)?;
        let current =
            compute(&self.table, &wf::inputs_in_force(&self.table, &self.bases(), &self.entries)).map_err(failed)?;
        Ok((selfs, current))
    }

    async fn set_phase(&self, tx: &mut Tx, from: &str, to: &str, by: i64, at: &str) -> Result<(), AppError> {
        sc::set_phase(tx, self.gy, to, None, by, at).await?;
        let mut a = entry("score.phase", "group", self.gid, Some(self.authority));
        a.before = Some(json!({"year": self.year, "phase": from}));
        a.after = Some(json!({"year": self.year, "phase": to, "by_user": by, "at": at}));
        audit::append(tx, a).await?;
        Ok(())
    }

    async fn submit(&self, tx: &mut Tx, unit: usize, at: &str) -> Result<(), AppError> {
        let u = &self.units[unit];
        sc::set_submitted(tx, self.gy, u.id, u.leader, at).await?;
        let mut a = entry("score.submit", "unit", u.id, Some(self.authority));
        a.after = Some(json!({"year": self.year, "unit": u.name,
            "sheet": {"state": "submitted", "by": u.leader, "at": at}, "signer": u.leader_name}));
        audit::append(tx, a).await?;
        Ok(())
    }

    /// Writes a unit's own values as the officer saves them: sections I and II
    /// first, the rest two days later.
    async fn self_assess(
        &mut self,
        tx: &mut Tx,
        unit: usize,
        values: &[(String, RawValue)],
        first: NaiveDate,
    ) -> Result<(), AppError> {
        let u = self.units[unit].clone();
        let (a, b): (Vec<_>, Vec<_>) =
            values.iter().cloned().partition(|(c, _)| c.starts_with("I.") || c.starts_with("II."));
        for (k, part) in [a, b].into_iter().enumerate() {
            let lines = part.into_iter().map(|(c, v)| (c, v, String::new(), vec![])).collect();
            let at = stamp(first + Duration::days(2 * k as i64), 9 + k as u32 * 5, 10 + (u.id % 40) as u32);
            self.write_lines(tx, unit, Stage::SelfAssessment, lines, u.officer, Some(u.id), &at).await?;
        }
        Ok(())
    }
}

// ---------- 2025: the completed year ----------

/// (event, default, earliest, latest) of Cao Bằng's 2025 calendar.
const DATES_2025: &[(&str, &str, &str, &str)] = &[
    ("covenant_signing", "20/03/2025", "10/03/2025", "31/03/2025"),
    ("mid_year_review", "15/07/2025", "01/07/2025", "31/07/2025"),
    ("self_assessment_deadline", "05/12/2025", "01/12/2025", "15/12/2025"),
    ("head_review", "15/12/2025", "10/12/2025", "20/12/2025"),
    ("explanation", "22/12/2025", "18/12/2025", "26/12/2025"),
    ("appraisal", "06/01/2026", "02/01/2026", "12/01/2026"),
    ("deliberation", "15/01/2026", "12/01/2026", "20/01/2026"),
    ("year_end_review", "20/01/2026", "15/01/2026", "31/01/2026"),
];

async fn calendar_2025(db: &Db, cb: i64) -> Result<(), AppError> {
    use thidua_web::ops::calendar::{self as ops, DefaultInput, DefaultsInput};
    let st = thidua_web::AppState::new(db.clone(), Default::default());
    let sec = ctx_of(db, SECRETARIAT).await?;
    let input = DefaultsInput {
        events: DATES_2025
            .iter()
            .map(|(e, d, from, to)| DefaultInput {
                event: (*e).into(),
                default_on: (*d).into(),
                earliest_on: (*from).into(),
                latest_on: (*to).into(),
            })
            .collect(),
        reason: "Kế hoạch công tác thi đua, khen thưởng năm 2025 của Hội đồng TĐKT tỉnh (dữ liệu mẫu).".into(),
    };
    ops::set_defaults(&st, &sec, cb, RESULT_YEAR, &input).await?;
    Ok(())
}

/// The rows the database functions stamped with the current time, dated back.
#[derive(Default)]
struct Backdate {
    templates: Vec<(i64, String)>,
    tables: Vec<(i64, String, String)>,
    covenants: Vec<(i64, String)>,
    signatures: Vec<(i64, i64, String)>,
    penalties: Vec<(i64, String)>,
    plans: Vec<(i64, String)>,
}

/// Dates the 2025 rows back to 2025 (the database functions stamp the current time).
async fn backdate(tx: &mut Tx, b: &Backdate) -> Result<(), AppError> {
    for (id, at) in &b.templates {
        tx.exec("UPDATE table_templates SET created_at = $2, updated_at = $2 WHERE id = $1", args![*id, at.clone()])
            .await?;
    }
    for (id, created, adopted) in &b.tables {
        tx.exec(
            "UPDATE scoring_tables SET created_at = $2, updated_at = $3, adopted_at = $3 WHERE id = $1",
            args![*id, created.clone(), adopted.clone()],
        )
        .await?;
    }
    for (id, at) in &b.covenants {
        tx.exec("UPDATE covenants SET created_at = $2, updated_at = $2 WHERE id = $1", args![*id, at.clone()]).await?;
        tx.exec("UPDATE covenant_targets SET set_at = $2 WHERE covenant_id = $1", args![*id, at.clone()]).await?;
    }
    for (covenant, unit, at) in &b.signatures {
        tx.exec(
            "UPDATE covenant_signatures SET signed_at = $3 WHERE covenant_id = $1 AND unit_id = $2",
            args![*covenant, *unit, at.clone()],
        )
        .await?;
    }
    for (covenant, at) in &b.penalties {
        tx.exec("UPDATE covenant_penalties SET decided_at = $2 WHERE covenant_id = $1", args![*covenant, at.clone()])
            .await?;
    }
    for (gy, at) in &b.plans {
        tx.exec("UPDATE inspection_pairs SET created_at = $2 WHERE group_year_id = $1", args![*gy, at.clone()]).await?;
    }
    Ok(())
}

/// The province's 2025 template (the sample table), published in January 2025.
async fn template_2025(tx: &mut Tx, cb: i64, secretariat: i64, bd: &mut Backdate) -> Result<i64, AppError> {
    let content = serde_json::to_string(&sample_table()).map_err(fail)?;
    let tpl = s::insert_template(
        tx,
        cb,
        "Bảng chấm điểm thi đua các khối thi đua của tỉnh năm 2025",
        "Quyết định số 08/QĐ-HĐTĐKT ngày 20/01/2025 của Hội đồng Thi đua - Khen thưởng tỉnh (dữ liệu mẫu)",
        &content,
        Some(secretariat),
    )
    .await?;
    s::publish_template(tx, tpl, "2025-01-20").await?;
    let mut e = entry("template.publish", "template", tpl, Some(cb));
    e.after = Some(json!({ "published_on": "2025-01-20" }));
    audit::append(tx, e).await?;
    bd.templates.push((tpl, stamp(ymd(2025, 1, 16), 15, 0)));
    Ok(tpl)
}

/// When a group adopted its 2025 table and signed its covenant: the blocks of
/// the merged departments after the merger of 1 March 2025, the communes'
/// clusters after 1 July 2025.
fn covenant_days(b: &Book) -> (NaiveDate, NaiveDate) {
    if b.kind == "cụm" { (ymd(2025, 7, 15), ymd(2025, 7, 25)) } else { (ymd(2025, 3, 15), ymd(2025, 3, 20)) }
}

/// The 2025 table, covenant, targets, signatures and penalty of a group.
async fn covenant_2025(
    tx: &mut Tx,
    b: &mut Book,
    g: &GroupDef,
    tpl: i64,
    secretariat: i64,
    bd: &mut Backdate,
) -> Result<(), AppError> {
    let (adopted, signed) = covenant_days(b);
    let content = serde_json::to_string(&b.table).map_err(fail)?;
    let v1 = s::insert_version(tx, b.gy, 1, &content, &format!("template:{tpl}"), "", Some(secretariat)).await?;
    let reason = format!("Hội nghị ký kết giao ước thi đua năm {RESULT_YEAR} của {} thống nhất thông qua.", b.kind);
    s::adopt(tx, v1, secretariat, &adopted.to_string(), &reason).await?;
    let mut e = entry("table.adopt", "table", v1, Some(b.authority));
    e.after = Some(json!({ "version": 1, "effective_from": adopted.to_string() }));
    audit::append(tx, e).await?;
    bd.tables.push((v1, stamp(adopted - Duration::days(10), 10, 0), stamp(adopted, 15, 30)));

    let text = covenant_text(g, RESULT_YEAR);
    let cid = s::insert_covenant(tx, b.gy, &text, Some(v1)).await?;
    let mut e = entry("covenant.update", "covenant", cid, Some(b.authority));
    e.after = Some(json!({"id": cid, "group_year_id": b.gy, "text": text, "table_id": v1}));
    audit::append(tx, e).await?;
    let mut shown = Vec::new();
    for (i, u) in b.units.iter().enumerate() {
        let t = Points::parse("Chỉ tiêu", &target_for(i + 3)).map_err(|x| fail(x.message))?;
        s::set_target(tx, cid, u.id, "I.1", Some(t.hundredths()), secretariat).await?;
        shown.push(json!({"unit_id": u.id, "unit_name": u.name, "line_code": "I.1", "target": t.hundredths()}));
    }
    let mut e = entry("covenant.target", "covenant", cid, Some(b.authority));
    e.after = Some(json!({ "targets": shown }));
    audit::append(tx, e).await?;
    bd.covenants.push((cid, stamp(signed - Duration::days(5), 14, 0)));
    b.load_targets(tx).await?;

    let mut signing = Vec::new();
    for u in &b.units {
        if (b.key, u.key) != UNSIGNED_2025 {
            signing.push((u.key, u.id));
            continue;
        }
        let reason = format!(
            "Không ký giao ước thi đua năm {RESULT_YEAR} tại Hội nghị ký kết của {}, đã được nhắc bằng văn bản số \
             05/KTĐ-TH (dữ liệu mẫu).",
            b.kind
        );
        s::insert_penalty(tx, cid, u.id, 800, &reason, secretariat).await?;
        let mut e = entry("covenant.penalty", "covenant", cid, Some(b.authority));
        e.after = Some(json!({"unit_id": u.id, "unit_name": u.name, "points": 800}));
        e.reason = Some(reason);
        audit::append(tx, e).await?;
        bd.penalties.push((cid, stamp(signed + Duration::days(20), 10, 0)));
    }
    for (k, (unit, _)) in sign_members(tx, b.gid, RESULT_YEAR, b.authority, &signing).await?.into_iter().enumerate() {
        bd.signatures.push((cid, unit, stamp(signed, 9, 5 + k as u32)));
    }
    Ok(())
}

/// The cross-inspection plan of a group-year, made by the head unit's officer.
async fn plan(tx: &mut Tx, b: &Book, last: &[Pair]) -> Result<Vec<Pair>, AppError> {
    let members: Vec<Member> = b.units.iter().map(|u| Member::new(u.id, u.name)).collect();
    let p = ins::plan(&members, last, PLAN_SEED).map_err(|e| fail(format!("{}: {}", b.ctx(), e.message)))?;
    let mut pairs = p.pairs.clone();
    pairs.sort();
    let rows: Vec<(i64, i64)> = pairs.iter().map(|p| (p.inspector, p.inspected)).collect();
    iq::replace(tx, b.gy, &rows, b.units[b.head].officer).await?;
    let name = |id: i64| b.units.iter().find(|u| u.id == id).map_or("", |u| u.name);
    let mut e = entry("inspection.plan", "group", b.gid, Some(b.authority));
    e.after = Some(json!({"year": b.year, "pairs": pairs.iter().map(|p| json!({
        "inspector_unit_id": p.inspector, "inspector_name": name(p.inspector),
        "inspected_unit_id": p.inspected, "inspected_name": name(p.inspected),
    })).collect::<Vec<_>>()}));
    e.reason = Some(p.notes.join(" "));
    audit::append(tx, e).await?;
    Ok(pairs)
}

/// A head-review proposal waiting for the unit's answer.
struct Proposal {
    unit: usize,
    line: String,
    value: RawValue,
    own: RawValue,
}

/// Fills a group's completed 2025: table, covenant, plan, then the chain
/// stage by stage, each phase opened by the head unit, finalised and
/// published by the secretariat.
#[allow(clippy::too_many_arguments)]
async fn final_year(
    tx: &mut Tx,
    ids: &Ids,
    key: &'static str,
    reasons: bool,
    tpl: i64,
    secretariat: i64,
    files: &mut Files,
    bd: &mut Backdate,
) -> Result<Book, AppError> {
    let (mut b, g, _) = Book::open(tx, ids, key, RESULT_YEAR, sample_table(), None).await?;
    covenant_2025(tx, &mut b, g, tpl, secretariat, bd).await?;
    let pairs = plan(tx, &b, &[]).await?;
    bd.plans.push((b.gy, stamp(ymd(2025, 10, 15), 9, 0)));
    let head_officer = b.units[b.head].officer;
    self_stage(tx, &mut b, secretariat, files).await?;
    b.set_phase(tx, "self_assessment", "inspection", head_officer, &stamp(ymd(2025, 12, 6), 8, 0)).await?;
    inspection_stage(tx, &mut b, &pairs).await?;
    b.set_phase(tx, "inspection", "head_review", head_officer, &stamp(ymd(2025, 12, 11), 8, 0)).await?;
    let proposals = head_review_stage(tx, &mut b).await?;
    b.set_phase(tx, "head_review", "explanation", head_officer, &stamp(ymd(2025, 12, 16), 8, 0)).await?;
    let kept = explanation_stage(tx, &mut b, &proposals, files).await?;
    b.set_phase(tx, "explanation", "appraisal", head_officer, &stamp(ymd(2025, 12, 23), 8, 0)).await?;
    appraisal_stage(tx, &mut b, &kept, secretariat).await?;
    finalise(tx, &mut b, secretariat, reasons).await?;
    Ok(b)
}

/// Every member scores itself (a correction now and then), adds evidence on
/// some lines, and its leader submits before the deadline; one unit is late
/// and the secretariat reopens its sheet.
async fn self_stage(tx: &mut Tx, b: &mut Book, secretariat: i64, files: &mut Files) -> Result<(), AppError> {
    let key = b.key;
    let deadline = ymd(2025, 12, 5);
    for i in 0..b.units.len() {
        let u = b.units[i].clone();
        let mut rng = Rng::of(&[key, u.key, "2025"]);
        let values = own_values(&b.table, RESULT_YEAR, b.kind, u.key, b.targets.get(&u.id).copied(), &mut rng);
        let first = ymd(2025, 11, 10) + Duration::days(rng.range(0, 12));
        b.self_assess(tx, i, &values, first).await?;
        let third = first + Duration::days(3);
        if let Some((_, v)) = values.iter().find(|(c, _)| c == "II.3")
            && count(v) >= 3
            && rng.chance(30)
        {
            // a second save of the line, with the officer's note
            let note = "Rà soát lại: một điển hình chưa có quyết định công nhận.".to_string();
            let lines = vec![("II.3".to_string(), RawValue::Count(count(v) - 1), note, vec![])];
            let at = stamp(third, 8, 40);
            b.write_lines(tx, i, Stage::SelfAssessment, lines, u.officer, Some(u.id), &at).await?;
        }
        for (line, pct) in [("I.1", 55), ("II.1", 35), ("II.3", 35), ("I.2", 25)] {
            if rng.chance(pct) {
                let f = evidence_file(b.name, &u, line, RESULT_YEAR, None);
                b.add_evidence(tx, files, i, line, f, &stamp(third, 10, 15)).await?;
            }
        }
        if (key, u.key) == LATE_2025 {
            let reason = format!(
                "{} đề nghị gửi muộn phiếu tự chấm do chờ số liệu quyết toán của đơn vị cấp trên (Công văn số \
                 112/HLG ngày 06/12/2025, dữ liệu mẫu).",
                u.name
            );
            let at = stamp(ymd(2025, 12, 8), 9, 30);
            sc::set_reopened(tx, b.gy, u.id, secretariat, &reason).await?;
            let mut a = entry("score.reopen_sheet", "unit", u.id, Some(b.authority));
            a.after = Some(json!({"year": RESULT_YEAR, "unit": u.name, "sheet": {"state": "reopened"}, "at": at}));
            a.reason = Some(reason);
            audit::append(tx, a).await?;
            b.submit(tx, i, &stamp(ymd(2025, 12, 9), 16, 20)).await?;
        } else {
            let day = (first + Duration::days(rng.range(4, 12))).min(deadline);
            b.submit(tx, i, &stamp(day, 15, 10 + (i as u32 % 40))).await?;
        }
    }
    Ok(())
}

/// Each inspector proposes on some lines of the unit it inspects, with remarks
/// (or confirms a line when it found nothing to change).
async fn inspection_stage(tx: &mut Tx, b: &mut Book, pairs: &[Pair]) -> Result<(), AppError> {
    let key = b.key;
    let inspector_of: HashMap<i64, i64> = pairs.iter().map(|p| (p.inspected, p.inspector)).collect();
    for i in 0..b.units.len() {
        let u = b.units[i].clone();
        let Some(&inspector) = inspector_of.get(&u.id) else { continue };
        let v = b.units.iter().position(|x| x.id == inspector).ok_or_else(|| missing("inspector of", u.key))?;
        let mut rng = Rng::of(&[key, u.key, "kiểm tra"]);
        let own = |b: &Book, c: &str| wf::latest(&b.entries, u.id, c, Stage::SelfAssessment).map(|e| e.value.clone());
        let mut lines = Vec::new();
        if let Some(RawValue::Count(n)) = own(b, "II.3")
            && n >= 2
            && rng.chance(60)
        {
            let kept = n - 1 - u32::from(n >= 4 && rng.chance(50));
            lines.push((
                "II.3".to_string(),
                RawValue::Count(kept),
                format!(
                    "Đoàn kiểm tra chỉ xác nhận {kept} điển hình có quyết định công nhận và được tuyên truyền; {} \
                     điển hình còn lại chưa có minh chứng.",
                    n - kept
                ),
                vec![],
            ));
        }
        if let Some(p) = own(b, "I.2").as_ref().and_then(manual_points)
            && rng.chance(40)
        {
            let less = rng.range(5, 12);
            let points = Points::from_hundredths((p.hundredths() - less * 100).max(0));
            let reason = format!("Có {} văn bản tham mưu chậm so với yêu cầu của Ủy ban nhân dân tỉnh.", less / 3 + 1);
            lines.push(("I.2".to_string(), RawValue::Manual { points, reason: reason.clone() }, reason, vec![]));
        }
        if own(b, "III.2") == Some(RawValue::Level(0)) && rng.chance(20) {
            lines.push((
                "III.2".to_string(),
                RawValue::Level(1),
                "Biên bản sinh hoạt chi bộ quý III chưa thể hiện việc kiểm điểm nội dung đoàn kết nội bộ.".into(),
                vec![],
            ));
        }
        if lines.is_empty()
            && let Some(v1) = own(b, "I.1")
        {
            lines.push((
                "I.1".to_string(),
                v1,
                "Số liệu khớp với báo cáo của đơn vị và xác nhận của sở, ngành quản lý.".into(),
                vec![],
            ));
        }
        let by = b.units[v].clone();
        let at = stamp(ymd(2025, 12, 8) + Duration::days(i as i64 % 3), 14, 0);
        b.write_lines(tx, i, Stage::InspectionProposal, lines, by.officer, Some(by.id), &at).await?;
    }
    Ok(())
}

/// The head unit (the deputy for the head's own sheet) proposes adjustments
/// with reasons, mostly following the inspectors; returns the proposals.
async fn head_review_stage(tx: &mut Tx, b: &mut Book) -> Result<Vec<Proposal>, AppError> {
    let key = b.key;
    let mut proposals: Vec<Proposal> = Vec::new();
    for i in 0..b.units.len() {
        let u = b.units[i].clone();
        let mut rng = Rng::of(&[key, u.key, "tổng hợp"]);
        let mut lines = Vec::new();
        if (key, u.key) == UNSIGNED_2025 {
            lines.push((
                "II.1".to_string(),
                RawValue::Level(1),
                format!("Đơn vị không ký giao ước thi đua năm {RESULT_YEAR} tại hội nghị ký kết của {}.", b.kind),
                vec![],
            ));
        }
        for c in ["II.3", "I.2", "III.2"] {
            let Some(p) = wf::latest(&b.entries, u.id, c, Stage::InspectionProposal) else { continue };
            let own = wf::latest(&b.entries, u.id, c, Stage::SelfAssessment).map(|e| e.value.clone());
            if own.as_ref() == Some(&p.value) || !(proposals.len() < 2 || rng.chance(60)) {
                continue;
            }
            let reason = format!("Thống nhất với đề xuất của đoàn kiểm tra chéo: {}", p.reason);
            lines.push((c.to_string(), p.value.clone(), reason, vec![]));
        }
        for (c, v, _, _) in &lines {
            let own = wf::latest(&b.entries, u.id, c, Stage::SelfAssessment).map(|e| e.value.clone());
            if let Some(own) = own {
                proposals.push(Proposal { unit: i, line: c.clone(), value: v.clone(), own });
            }
        }
        let by = b.units[b.head_of(i)].clone();
        let at = stamp(ymd(2025, 12, 12) + Duration::days(i as i64 % 4), 10, 30);
        b.write_lines(tx, i, Stage::HeadReview, lines, by.officer, Some(by.id), &at).await?;
    }
    if proposals.len() < 2 {
        // a small group with few inspection findings: the head unit asks about the highest II.3
        let pick = (0..b.units.len())
            .filter(|&i| i != b.head)
            .filter(|&i| !proposals.iter().any(|p| p.unit == i && p.line == "II.3"))
            .filter_map(|i| {
                wf::latest(&b.entries, b.units[i].id, "II.3", Stage::SelfAssessment).map(|e| (count(&e.value), i))
            })
            .filter(|(n, _)| *n >= 2)
            .max();
        if let Some((n, i)) = pick {
            let reason = format!(
                "Số điển hình tự chấm ({n}) cao hơn các đơn vị khác của {}; đề nghị điều chỉnh theo số điển hình có \
                 quyết định công nhận.",
                b.kind
            );
            let by = b.units[b.head].clone();
            let lines = vec![("II.3".to_string(), RawValue::Count(n - 1), reason, vec![])];
            b.write_lines(tx, i, Stage::HeadReview, lines, by.officer, Some(by.id), &stamp(ymd(2025, 12, 15), 9, 0))
                .await?;
            proposals.push(Proposal {
                unit: i,
                line: "II.3".into(),
                value: RawValue::Count(n - 1),
                own: RawValue::Count(n),
            });
        }
    }
    Ok(proposals)
}

/// The units answer the proposals: every other one accepts, the others keep
/// their value with a reason and a new file; returns the ones kept.
async fn explanation_stage<'p>(
    tx: &mut Tx,
    b: &mut Book,
    proposals: &'p [Proposal],
    files: &mut Files,
) -> Result<Vec<&'p Proposal>, AppError> {
    let key = b.key;
    let mut kept: Vec<&Proposal> = Vec::new();
    for (k, p) in proposals.iter().enumerate() {
        let u = b.units[p.unit].clone();
        let accept = (key, u.key) == UNSIGNED_2025 || k % 2 == 0;
        let day = ymd(2025, 12, 17) + Duration::days(k as i64 % 5);
        let head = b.units[b.head_of(p.unit)].name;
        let (value, reason) = if accept {
            (p.value.clone(), format!("Đơn vị thống nhất với đề xuất của {head}."))
        } else {
            kept.push(p);
            // the supporting document first (a self-assessment entry, as the pages record evidence)
            let title = format!("Tài liệu giải trình tiêu chí {} năm {RESULT_YEAR}", p.line);
            let f = evidence_file(b.name, &u, &p.line, RESULT_YEAR, Some(&title));
            b.add_evidence(tx, files, p.unit, &p.line, f, &stamp(day, 14, 40)).await?;
            let reason = match p.line.as_str() {
                "II.3" => "Đơn vị giữ nguyên điểm tự chấm: các điển hình còn lại đã được Báo Cao Bằng giới thiệu; \
                           bổ sung bài báo và quyết định khen thưởng kèm theo."
                    .to_string(),
                "I.2" => "Đơn vị giữ nguyên điểm tự chấm: các văn bản được coi là chậm đã được Ủy ban nhân dân tỉnh \
                          đồng ý gia hạn; bổ sung văn bản gia hạn kèm theo."
                    .to_string(),
                _ => "Đơn vị giữ nguyên điểm tự chấm: nội dung đã được kiểm điểm tại hội nghị chi bộ tháng 10; \
                      bổ sung biên bản kèm theo."
                    .to_string(),
            };
            (p.own.clone(), reason)
        };
        // an explanation carries the line's own evidence, as the pages do
        let evidence = b
            .entries
            .iter()
            .filter(|e| e.unit_id == u.id && e.line_code == p.line)
            .filter(|e| matches!(e.stage, Stage::SelfAssessment | Stage::Explanation))
            .max_by_key(|e| e.seq)
            .map(|e| e.evidence.clone())
            .unwrap_or_default();
        let lines = vec![(p.line.clone(), value, reason, evidence)];
        b.write_lines(tx, p.unit, Stage::Explanation, lines, u.officer, Some(u.id), &stamp(day, 15, 0)).await?;
    }
    Ok(kept)
}

/// The secretariat decides half of the values kept against the head unit's
/// proposal, scores its own penalty line for the unsigned covenant, the late
/// sheet, and an initiative not recognised.
async fn appraisal_stage(tx: &mut Tx, b: &mut Book, kept: &[&Proposal], secretariat: i64) -> Result<(), AppError> {
    let key = b.key;
    let mut lines_of: BTreeMap<usize, Vec<Written>> = BTreeMap::new();
    for (j, p) in kept.iter().enumerate() {
        if j % 2 == 0 {
            let reason = format!(
                "Tài liệu giải trình chưa chứng minh được kết quả của tiêu chí {}; Cơ quan thường trực thống nhất với \
                 đề xuất của đơn vị trưởng.",
                p.line
            );
            let value = match &p.value {
                RawValue::Manual { points, .. } => RawValue::Manual { points: *points, reason: reason.clone() },
                v => v.clone(),
            };
            lines_of.entry(p.unit).or_default().push((p.line.clone(), value, reason, vec![]));
        }
    }
    for (i, u) in b.units.iter().enumerate() {
        if (key, u.key) == UNSIGNED_2025 {
            let reason = format!(
                "Không ký giao ước thi đua năm {RESULT_YEAR} (biên bản hội nghị ký kết ngày {}): trừ theo dòng TR.1 của \
                 bảng điểm.",
                thidua_core::text::format_date(covenant_days(b).1)
            );
            lines_of.entry(i).or_default().push(("TR.1".into(), RawValue::Count(1), reason, vec![]));
        }
        if (key, u.key) == LATE_2025 {
            let own = wf::current(&b.entries, u.id, "TR.2").map_or(0, |e| count(&e.value));
            let reason = "Gửi phiếu tự chấm ngày 09/12/2025, chậm 4 ngày so với hạn 05/12/2025.".to_string();
            lines_of.entry(i).or_default().push(("TR.2".into(), RawValue::Count(own + 1), reason, vec![]));
        }
    }
    if let Some(i) = (0..b.units.len())
        .find(|&i| wf::current(&b.entries, b.units[i].id, "TH.2").is_some_and(|e| count(&e.value) >= 1))
    {
        let n = wf::current(&b.entries, b.units[i].id, "TH.2").map_or(0, |e| count(&e.value));
        let reason = "Một sáng kiến kê khai chưa có quyết định công nhận của Hội đồng sáng kiến tỉnh.".to_string();
        lines_of.entry(i).or_default().push(("TH.2".into(), RawValue::Count(n - 1), reason, vec![]));
    }
    for (i, lines) in lines_of {
        let at = stamp(ymd(2026, 1, 5) + Duration::days(i as i64 % 4), 10, 0);
        b.write_lines(tx, i, Stage::Appraisal, lines, secretariat, None, &at).await?;
    }

    Ok(())
}

/// Every value in force becomes a final entry (as `ops::chain::finalise`
/// writes them), the year is final, the results are published; the figures
/// must be the same before and after.
async fn finalise(tx: &mut Tx, b: &mut Book, secretariat: i64, reasons: bool) -> Result<(), AppError> {
    let (_, results) = b.compute_all()?;
    let mut codes: Vec<String> = b.table.walk().iter().filter(|l| l.is_leaf()).map(|l| l.code.clone()).collect();
    codes.extend(b.table.bonus.iter().chain(b.table.penalties.iter()).map(|a| a.code.clone()));
    let at = stamp(ymd(2026, 1, 9), 9, 30);
    let mut n = 0;
    for u in b.units.clone() {
        for c in &codes {
            if let Some(cur) = wf::current(&b.entries, u.id, c).filter(|e| e.stage != Stage::Final).cloned() {
                let e = ScoreEntry {
                    stage: Stage::Final,
                    reason: format!("Chốt kết quả cuối cùng (giá trị của bước {}).", cur.stage.label().to_lowercase()),
                    by_user: secretariat,
                    by_unit: None,
                    at: at.clone(),
                    seq: 0,
                    ..cur
                };
                b.write(tx, e).await?;
                n += 1;
            }
        }
    }
    sc::set_phase(tx, b.gy, "final", None, secretariat, &at).await?;
    let mut a = entry("score.finalise", "group", b.gid, Some(b.authority));
    a.before = Some(json!({"year": RESULT_YEAR, "phase": "appraisal"}));
    a.after =
        Some(json!({"year": RESULT_YEAR, "phase": "final", "final_entries": n, "at": at, "results": totals(&results)}));
    audit::append(tx, a).await?;
    let published = stamp(ymd(2026, 1, 12), 14, 0);
    sc::set_published(tx, b.gy, Some(secretariat), Some(&published), reasons).await?;
    let mut a = entry("score.publish", "group", b.gid, Some(b.authority));
    a.after = Some(json!({"year": RESULT_YEAR, "published": true, "reasons": reasons, "at": published}));
    audit::append(tx, a).await?;

    // the final figures are those in force before finalising
    let (_, again) = b.compute_all()?;
    for u in &b.units {
        let r = again.units.iter().find(|r| r.unit_id == u.id);
        if r.is_none_or(|r| r.rank == 0) {
            return Err(fail(format!("{}: {} không có tổng điểm, thứ hạng", b.ctx(), u.name)));
        }
    }
    if totals(&again) != totals(&results) {
        return Err(fail(format!("{}: kết quả cuối cùng khác kết quả trước khi chốt", b.ctx())));
    }
    Ok(())
}

fn totals(r: &GroupResult) -> Value {
    json!(
        r.units
            .iter()
            .map(|u| json!({"unit": u.name, "total": u.total.to_string(), "class": u.class.as_ref().map(|c| c.label.clone()), "rank": u.rank}))
            .collect::<Vec<_>>()
    )
}

// ---------- 2026: self-assessment in progress ----------

async fn drafts_2026(
    tx: &mut Tx,
    ids: &Ids,
    key: &'static str,
    units: &[&str],
    files: &mut Files,
) -> Result<Book, AppError> {
    let gid = *ids.groups.get(key).ok_or_else(|| missing("group", key))?;
    let gy = q::find_group_year(tx, gid, DEMO_YEAR).await?.ok_or_else(|| missing("group year of", key))?;
    let versions = s::versions(tx, gy).await?;
    let today = thidua_db::now();
    let in_force = versions
        .iter()
        .filter(|v| v.adopted_at.is_some() && v.effective_from.as_deref().is_some_and(|d| d <= &today[..10]))
        .max_by(|a, b| (&a.effective_from, a.version).cmp(&(&b.effective_from, b.version)))
        .ok_or_else(|| missing("table in force of", key))?;
    let table: ScoringTable = serde_json::from_str(&in_force.content).map_err(fail)?;
    let g = GROUPS.iter().find(|g| g.key == key).ok_or_else(|| missing("group", key))?;
    let head =
        g.years.iter().find(|y| y.year == DEMO_YEAR).map(|y| y.head).ok_or_else(|| missing("group year of", key))?;
    let mut writers = units.to_vec();
    writers.push(head);
    let (mut b, _, _) = Book::open(tx, ids, key, DEMO_YEAR, table, Some(&writers)).await?;
    b.load_targets(tx).await?;
    for &k in units {
        let i = b.units.iter().position(|u| u.key == k).ok_or_else(|| missing("member", k))?;
        let u = b.units[i].clone();
        let mut rng = Rng::of(&[key, k, "2026"]);
        let mut values = own_values(&b.table, DEMO_YEAR, b.kind, k, b.targets.get(&u.id).copied(), &mut rng);
        let submitted = SUBMITTED_2026.contains(&k);
        if !submitted {
            // a draft: the first lines only
            values.truncate(rng.range(4, 10) as usize);
        }
        let first = ymd(2026, 10, 26) + Duration::days(rng.range(0, 14));
        b.self_assess(tx, i, &values, first).await?;
        let later = first + Duration::days(3);
        for (line, pct) in [("I.1", 60), ("II.1", 40)] {
            if values.iter().any(|(c, _)| c == line) && (submitted || rng.chance(pct)) {
                let f = evidence_file(b.name, &u, line, DEMO_YEAR, None);
                b.add_evidence(tx, files, i, line, f, &stamp(later, 10, 45)).await?;
            }
        }
        if submitted {
            b.submit(tx, i, &stamp(later + Duration::days(1), 16, 5)).await?;
        }
    }
    b.compute_all()?;
    Ok(b)
}

// ---------- the loader ----------

/// What the score loader wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoresLoaded {
    /// Entries by stage code.
    pub entries: BTreeMap<String, usize>,
    pub evidence_files: usize,
    pub final_groups: usize,
    pub draft_groups: usize,
}

/// Loads the 2025 results and the 2026 drafts; `files` is the file store's
/// directory (`data_dir/files`), if the demo has one.
pub async fn load_scores(db: &Db, ids: &Ids, files: Option<&Path>) -> Result<ScoresLoaded, AppError> {
    let cb = *ids.authorities.get("cb").ok_or_else(|| missing("authority", "cb"))?;
    calendar_2025(db, cb).await?;
    let mut files = Files { store: files.map(LocalDir::new), pending: BTreeMap::new(), rows: 0 };
    let mut out = ScoresLoaded::default();
    let mut tx = db.begin().await?;
    let secretariat =
        users::user_by_name(&mut tx, SECRETARIAT).await?.map(|u| u.id).ok_or_else(|| missing("user", SECRETARIAT))?;
    let mut bd = Backdate::default();
    let tpl = template_2025(&mut tx, cb, secretariat, &mut bd).await?;
    let mut books = Vec::new();
    for &(key, reasons) in FINAL_GROUPS {
        books.push(final_year(&mut tx, ids, key, reasons, tpl, secretariat, &mut files, &mut bd).await?);
        out.final_groups += 1;
    }
    backdate(&mut tx, &bd).await?;
    for &(key, units) in DRAFTS_2026 {
        let b = drafts_2026(&mut tx, ids, key, units, &mut files).await?;
        if key == PLAN_2026 {
            let last: Vec<Pair> = match books.iter().find(|x| x.key == key) {
                Some(prev) => iq::pairs(&mut tx, prev.gy)
                    .await?
                    .into_iter()
                    .map(|p| Pair::new(p.inspector_unit_id, p.inspected_unit_id))
                    .collect(),
                None => vec![],
            };
            plan(&mut tx, &b, &last).await?;
        }
        books.push(b);
        out.draft_groups += 1;
    }
    for b in &books {
        for e in &b.entries {
            *out.entries.entry(e.stage.code().to_string()).or_default() += 1;
        }
    }
    out.evidence_files = files.rows;
    files.flush().await?;
    tx.commit().await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chosen_units_are_members_and_the_party_block_is_left_alone() {
        let member = |g: &str, y: i32, u: &str| {
            GROUPS
                .iter()
                .find(|x| x.key == g)
                .and_then(|x| x.years.iter().find(|gy| gy.year == y))
                .is_some_and(|gy| gy.members.contains(&u))
        };
        assert!(member(UNSIGNED_2025.0, RESULT_YEAR, UNSIGNED_2025.1));
        assert!(member(LATE_2025.0, RESULT_YEAR, LATE_2025.1));
        for (g, units) in DRAFTS_2026 {
            assert_ne!(*g, "cb-khoi-dang");
            for u in *units {
                assert!(member(g, DEMO_YEAR, u), "{u} in {g}");
                assert!(!super::super::covenant::UNSIGNED.iter().any(|(_, x)| x == u), "{u} signed");
            }
        }
        for u in SUBMITTED_2026 {
            assert!(DRAFTS_2026.iter().any(|(_, us)| us.contains(u)));
        }
        assert!(DRAFTS_2026.iter().any(|(g, _)| *g == PLAN_2026));
        assert!(FINAL_GROUPS.iter().any(|(g, _)| *g == PLAN_2026), "last year's pairs are avoided");
        assert!(FINAL_GROUPS.iter().any(|(_, r)| *r) && FINAL_GROUPS.iter().any(|(_, r)| !*r));
        let untouched = GROUPS.iter().filter(|g| g.authority == "cb" && g.kind == "block" && g.key != "cb-khoi-dang");
        let untouched = untouched
            .filter(|g| !DRAFTS_2026.iter().any(|(k, _)| *k == g.key))
            .filter(|g| !super::super::covenant::UNSIGNED.iter().any(|(k, _)| *k == g.key));
        assert!(untouched.count() >= 1, "a fully signed block without 2026 entries for the browser tests");
    }

    #[test]
    fn values_are_valid_and_vary() {
        let t = sample_table();
        let mut seen = std::collections::BTreeSet::new();
        for k in ["cb-so-tu-phap", "cb-agribank", "cb-x-hoa-an", "cb-vks"] {
            let mut rng = Rng::of(&["g", k]);
            let vs = own_values(&t, 2025, "khối", k, Some(Points::whole(120)), &mut rng);
            let mut u = UnitInput { unit_id: 1, name: k.into(), ..Default::default() };
            u.targets.insert("I.1".into(), Points::whole(120));
            for (c, v) in &vs {
                let e = ScoreEntry {
                    unit_id: 1,
                    line_code: c.clone(),
                    stage: Stage::SelfAssessment,
                    value: v.clone(),
                    reason: String::new(),
                    evidence: vec![],
                    by_user: 1,
                    by_unit: Some(1),
                    at: "2025-12-01T02:00:00Z".into(),
                    seq: 1,
                };
                wf::check_entry(&e, &t, k).unwrap();
                if t.find(c).is_some() {
                    u.values.insert(c.clone(), v.clone());
                }
            }
            let r = compute(&t, &[u]).unwrap();
            seen.insert(r.units[0].total);
            assert_eq!(vs.iter().any(|(_, v)| *v == RawValue::NotApplicable), k == "cb-agribank");
        }
        assert!(seen.len() >= 3, "{seen:?}");
        assert_eq!(stamp(ymd(2025, 12, 5), 9, 30), "2025-12-05T02:30:00.000000Z");
    }
}
