//! P2: rank every group-year of the dataset with thidua's own code (the
//! entries of each group-year loaded through `thidua_db` as figures need them
//! (`scores::entries_for_figures`: no writer, time, reason or evidence), the
//! values in force by `workflow::inputs_in_force`, the figures by
//! `scoring::compute_with` without explanations (`Explain::Nobody`): the
//! ranking does not show them; the same figures as `compute`) and with
//! one SQL query run by the `sqlite3` command-line shell on the same file;
//! time both; compare every unit's total, compared total, class and rank.
//!
//! The SQL reads the table in force of each group-year from its JSON and
//! computes what `compute` does for the methods of the generated tables:
//! qualitative levels, counts capped at the maximum, manual points, targets
//! against the group's leader (rounded half away from zero, once), parents
//! as sums of their children, bonus and penalties after line and total caps,
//! not-applicable criteria (declared, or a target criterion without target)
//! scaled to the nominal maximum, bands with section floors, competition
//! ranking with the generated tables' tie-breaks (more bonus, fewer
//! penalties, more points in the named section).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use thidua_core::scoring::{Explain, Points, ScoringTable, UnitInput, compute_with};
use thidua_core::workflow as wf;
use thidua_db::scores as scd;
use thidua_db::{Db, org, scoring as sc};
use thidua_web::ops::tables::in_force_on;

use crate::{BenchError, Res};

/// One unit's figures: total, compared total, rank, class code (hundredths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub total: i64,
    pub compared: i64,
    pub rank: u32,
    pub class: String,
}

pub type Ranking = BTreeMap<(i64, i64), Figures>;

#[derive(Debug, Clone, Default)]
pub struct P2 {
    pub group_years: usize,
    pub units: usize,
    pub entries: usize,
    /// Seconds of each round: thidua one task at a time, thidua on every core, sqlite3.
    pub thidua: Vec<f64>,
    pub thidua_parallel: Vec<f64>,
    pub sqlite: Vec<f64>,
    pub workers: usize,
    /// CPU seconds (user + system) of the best rounds: thidua's process, the sqlite3 shell.
    pub thidua_cpu: f64,
    pub sqlite_cpu: f64,
    /// thidua's seconds (one task, best round) reading, decoding, in inputs_in_force, in compute.
    pub phases: [f64; 4],
}

impl P2 {
    pub fn best(v: &[f64]) -> f64 {
        v.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// thidua (one task at a time) ÷ sqlite3, best rounds.
    pub fn ratio(&self) -> f64 {
        Self::best(&self.thidua) / Self::best(&self.sqlite)
    }

    /// The same on CPU time (less sensitive to other work on the machine).
    pub fn ratio_cpu(&self) -> f64 {
        self.thidua_cpu / self.sqlite_cpu
    }

    pub fn ratio_parallel(&self) -> f64 {
        Self::best(&self.thidua_parallel) / Self::best(&self.sqlite)
    }
}

/// Where thidua's time goes, in nanoseconds summed over the group-years:
/// reading (the queries), decoding (JSON of the table and the entries),
/// `inputs_in_force`, `compute`.
static PHASES: [AtomicU64; 4] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

fn phase(i: usize, since: &mut Instant) {
    let now = Instant::now();
    PHASES[i].fetch_add((now - *since).as_nanos() as u64, Ordering::Relaxed);
    *since = now;
}

/// The phases' seconds since the last call, and resets them.
pub fn take_phases() -> [f64; 4] {
    let mut out = [0.0; 4];
    for (i, p) in PHASES.iter().enumerate() {
        out[i] = p.swap(0, Ordering::Relaxed) as f64 / 1e9;
    }
    out
}

/// Ranks one group-year as the application does; returns the unit figures and the number of entries read.
async fn rank_group(db: &Db, gy: i64, group_id: i64, year: i32, today: &str) -> Res<(Vec<(i64, Figures)>, usize)> {
    let mut t = Instant::now();
    let mut tx = db.read().await?;
    let versions = sc::versions(&mut tx, gy).await?;
    let Some(v) = in_force_on(&versions, today) else {
        tx.rollback().await?;
        return Ok((vec![], 0));
    };
    let members: Vec<(i64, String)> = org::members_of_group(&mut tx, group_id)
        .await?
        .into_iter()
        .filter(|m| m.year == year)
        .map(|m| (m.unit_id, m.unit_name))
        .collect();
    let targets = match sc::covenant(&mut tx, gy).await? {
        Some(c) => sc::targets(&mut tx, c.id).await?,
        None => vec![],
    };
    let read = scd::entries_for_figures(&mut tx, gy).await?;
    tx.rollback().await?;
    phase(0, &mut t);
    let table: ScoringTable =
        serde_json::from_str(&v.content).map_err(|e| BenchError(format!("table of group-year {gy}: {e}")))?;
    let count = read.len();
    let entries = wf::Entries::new(read);
    let bases: Vec<UnitInput> = members
        .iter()
        .map(|(id, name)| UnitInput {
            unit_id: *id,
            name: name.clone(),
            targets: targets
                .iter()
                .filter(|t| t.unit_id == *id)
                .map(|t| (t.line_code.clone(), Points::from_hundredths(t.target)))
                .collect(),
            ..Default::default()
        })
        .collect();
    phase(1, &mut t);
    let inputs = wf::inputs_in_force(&table, &bases, &entries);
    phase(2, &mut t);
    let result = compute_with(&table, &inputs, Explain::Nobody).map_err(|e| {
        BenchError(format!(
            "compute refused group-year {gy}: {}",
            e.iter().map(|x| x.message.clone()).collect::<Vec<_>>().join("; ")
        ))
    })?;
    phase(3, &mut t);
    let out = result
        .units
        .iter()
        .map(|u| {
            (
                u.unit_id,
                Figures {
                    total: u.total.hundredths(),
                    compared: u.compared_total.hundredths(),
                    rank: u.rank,
                    class: u.class.as_ref().map(|c| c.code.clone()).unwrap_or_default(),
                },
            )
        })
        .collect();
    Ok((out, count))
}

/// Every group-year: (id, group id, year).
async fn group_years(db: &Db) -> Res<Vec<(i64, i64, i32)>> {
    let mut tx = db.read().await?;
    let rows: Vec<(i64, i64, i32)> = tx.all("SELECT id, group_id, year FROM group_years ORDER BY id", vec![]).await?;
    tx.rollback().await?;
    Ok(rows)
}

/// thidua's ranking of every group-year, `workers` group-years at a time.
pub async fn rank_thidua(db: &Db, today: &str, workers: usize) -> Res<(Ranking, usize)> {
    let gys = Arc::new(group_years(db).await?);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let (db, gys, next, today) = (db.clone(), gys.clone(), next.clone(), today.to_string());
        set.spawn(async move {
            let mut out = Vec::new();
            let mut n = 0;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(gy, group_id, year)) = gys.get(i) else { break };
                let (figs, entries) = rank_group(&db, gy, group_id, year, &today).await?;
                n += entries;
                out.extend(figs.into_iter().map(|(u, f)| ((gy, u), f)));
            }
            Ok::<_, BenchError>((out, n))
        });
    }
    let mut all = Ranking::new();
    let mut entries = 0;
    while let Some(r) = set.join_next().await {
        let (out, n) = r.map_err(|e| BenchError(format!("join: {e}")))??;
        entries += n;
        all.extend(out);
    }
    Ok((all, entries))
}

/// The query: one row per member unit of every group-year with a table in force.
pub fn sql(today: &str) -> String {
    SQL.replace("{TODAY}", today)
}

const SQL: &str = r#"
WITH
tbl AS MATERIALIZED (
  SELECT gy_id, content FROM (
    SELECT group_year_id AS gy_id, content,
           ROW_NUMBER() OVER (PARTITION BY group_year_id ORDER BY effective_from DESC, version DESC) AS rn
    FROM scoring_tables
    WHERE adopted_at IS NOT NULL AND effective_from IS NOT NULL AND effective_from <= '{TODAY}')
  WHERE rn = 1),
meta AS MATERIALIZED (
  SELECT gy_id,
         content ->> '$.bonus_cap' AS bonus_cap,
         content ->> '$.penalty_cap' AS penalty_cap,
         content ->> '$.may_exceed_nominal' AS may_exceed,
         content ->> '$.not_applicable_rule' AS na_rule,
         content ->> '$.tie_breaks[2].code' AS tb_code,
         (SELECT SUM(s.value ->> '$.max') FROM json_each(tbl.content, '$.lines') s) AS nominal
  FROM tbl),
sect AS MATERIALIZED (
  SELECT t.gy_id, CAST(s.key AS INTEGER) AS sec, s.value ->> '$.code' AS code, s.value ->> '$.max' AS mx
  FROM tbl t, json_each(t.content, '$.lines') s),
leaf AS MATERIALIZED (
  SELECT t.gy_id, CAST(j.value ->> '$.code' AS TEXT) AS code, j.value ->> '$.max' AS mx,
         j.value ->> '$.method.kind' AS kind,
         j.value ->> '$.method.per' AS per, j.value ->> '$.method.cap' AS cap, j.value -> '$.method.levels' AS levels,
         CAST(substr(j.fullkey, 9, instr(substr(j.fullkey, 9), ']') - 1) AS INTEGER) AS sec
  FROM tbl t, json_tree(t.content, '$.lines') j
  WHERE j.type = 'object' AND json_type(j.value, '$.method') = 'object'),
lvl AS MATERIALIZED (
  SELECT l.gy_id, l.code, CAST(x.key AS INTEGER) AS idx, x.value ->> '$.points' AS pts
  FROM leaf l, json_each(l.levels) x WHERE l.kind = 'qualitative'),
adj AS MATERIALIZED (
  SELECT t.gy_id, 'bonus' AS side, a.value ->> '$.code' AS code, a.value ->> '$.per' AS per, a.value ->> '$.cap' AS cap
  FROM tbl t, json_each(t.content, '$.bonus') a
  UNION ALL
  SELECT t.gy_id, 'penalty', a.value ->> '$.code', a.value ->> '$.per', a.value ->> '$.cap'
  FROM tbl t, json_each(t.content, '$.penalties') a),
cur AS MATERIALIZED (
  SELECT gy_id, unit_id, line_code,
         CASE WHEN v = '"not_applicable"' THEN 1 ELSE 0 END AS vna,
         CASE substr(v, 3, 2) WHEN 'le' THEN v ->> '$.level' WHEN 'co' THEN v ->> '$.count'
              WHEN 'ma' THEN v ->> '$.manual.points' WHEN 'ac' THEN v ->> '$.actual.actual' END AS n
  FROM (
    SELECT e.group_year_id AS gy_id, e.unit_id, e.line_code, e.value_json AS v,
           MAX(CASE e.stage WHEN 'final' THEN 5 WHEN 'appraisal' THEN 4 WHEN 'explanation' THEN 3 ELSE 0 END
               * 1099511627776 + e.id) AS k
    FROM score_entries e
    WHERE e.stage IN ('self_assessment', 'explanation', 'appraisal', 'final')
    GROUP BY e.group_year_id, e.unit_id, e.line_code)),
mem AS MATERIALIZED (
  SELECT m.group_year_id AS gy_id, m.unit_id FROM memberships m JOIN tbl t ON t.gy_id = m.group_year_id),
tgt AS MATERIALIZED (
  SELECT c.group_year_id AS gy_id, ct.unit_id, ct.line_code, ct.target
  FROM covenant_targets ct JOIN covenants c ON c.id = ct.covenant_id),
ent AS MATERIALIZED (
  SELECT c.gy_id, c.unit_id, l.code, l.sec, l.mx, l.kind, l.per, l.cap, c.n, c.vna, g.target AS tg
  FROM leaf l CROSS JOIN cur c ON c.gy_id = l.gy_id AND c.line_code = l.code
  LEFT JOIN tgt g ON l.kind = 'target' AND g.gy_id = c.gy_id AND g.unit_id = c.unit_id AND g.line_code = c.line_code
  WHERE l.kind <> 'target' OR g.target IS NOT NULL),
lead AS MATERIALIZED (
  SELECT gy_id, code, n - tg AS num, tg AS den, MAX(CAST(n - tg AS REAL) / tg) AS e
  FROM ent WHERE kind = 'target' AND vna = 0 AND n > tg
  GROUP BY gy_id, code),
pts AS (
  SELECT u.gy_id, u.unit_id, u.sec, u.vna AS na, CASE WHEN u.vna = 1 THEN u.mx ELSE 0 END AS na_mx,
    CASE
      WHEN u.vna = 1 THEN 0
      WHEN u.kind = 'qualitative' THEN lv.pts
      WHEN u.kind = 'count' THEN MIN(u.n * u.per, u.cap)
      WHEN u.kind = 'manual' THEN u.n
      WHEN u.n < u.tg THEN (2 * u.mx * u.n + 2 * u.tg) / (4 * u.tg)
      WHEN u.n = u.tg THEN (2 * u.mx + 2) / 4
      WHEN (u.n - u.tg) * ld.den = ld.num * u.tg THEN u.mx
      ELSE MIN(u.mx, (2 * u.mx * (u.tg * ld.num + (u.n - u.tg) * ld.den) + 2 * u.tg * ld.num) / (4 * u.tg * ld.num))
    END AS p
  FROM ent u
  LEFT JOIN lead ld ON u.kind = 'target' AND ld.gy_id = u.gy_id AND ld.code = u.code
  LEFT JOIN lvl lv ON u.kind = 'qualitative' AND lv.gy_id = u.gy_id AND lv.code = u.code AND lv.idx = u.n),
notgt AS (
  SELECT m.gy_id, m.unit_id, l.sec, l.mx
  FROM mem m JOIN leaf l ON l.gy_id = m.gy_id AND l.kind = 'target'
  LEFT JOIN tgt g ON g.gy_id = m.gy_id AND g.unit_id = m.unit_id AND g.line_code = l.code
  WHERE g.target IS NULL),
secpart AS MATERIALIZED (
  SELECT gy_id, unit_id, sec, SUM(p) AS p, SUM(na_mx) AS na_mx, SUM(na) AS nna FROM (
    SELECT gy_id, unit_id, sec, p, na_mx, na FROM pts
    UNION ALL
    SELECT gy_id, unit_id, sec, 0, mx, 1 FROM notgt)
  GROUP BY gy_id, unit_id, sec),
secu AS MATERIALIZED (
  SELECT m.gy_id, m.unit_id, s.sec, s.code, s.mx AS smx,
         MIN(COALESCE(x.p, 0), s.mx) AS sp, s.mx - COALESCE(x.na_mx, 0) AS sapp, COALESCE(x.nna, 0) AS nna
  FROM mem m JOIN sect s ON s.gy_id = m.gy_id
  LEFT JOIN secpart x ON x.gy_id = m.gy_id AND x.unit_id = m.unit_id AND x.sec = s.sec),
adju AS MATERIALIZED (
  SELECT n.gy_id, n.unit_id,
         SUM(CASE WHEN a.side = 'bonus' THEN
               CASE WHEN a.cap IS NOT NULL AND n.n * a.per > a.cap THEN a.cap ELSE n.n * a.per END ELSE 0 END) AS b,
         SUM(CASE WHEN a.side = 'penalty' THEN
               CASE WHEN a.cap IS NOT NULL AND n.n * a.per > a.cap THEN a.cap ELSE n.n * a.per END ELSE 0 END) AS pe
  FROM cur n JOIN adj a ON a.gy_id = n.gy_id AND a.code = n.line_code
  GROUP BY n.gy_id, n.unit_id),
tot AS (
  SELECT s.gy_id, s.unit_id, SUM(s.sp) AS content, SUM(s.sapp) AS app, SUM(s.nna) AS nna,
         SUM(CASE WHEN s.code = mt.tb_code THEN s.sp ELSE 0 END) AS tb,
         CASE WHEN mt.bonus_cap IS NOT NULL AND COALESCE(a.b, 0) > mt.bonus_cap THEN mt.bonus_cap
              ELSE COALESCE(a.b, 0) END AS bonus,
         CASE WHEN mt.penalty_cap IS NOT NULL AND COALESCE(a.pe, 0) > mt.penalty_cap THEN mt.penalty_cap
              ELSE COALESCE(a.pe, 0) END AS penalty,
         mt.nominal, mt.may_exceed, mt.na_rule
  FROM secu s JOIN meta mt ON mt.gy_id = s.gy_id
  LEFT JOIN adju a ON a.gy_id = s.gy_id AND a.unit_id = s.unit_id
  GROUP BY s.gy_id, s.unit_id),
sc AS (
  SELECT t.*,
         t.content + t.bonus - t.penalty AS raw_total,
         CASE WHEN t.nna = 0 OR t.na_rule = 'unscaled' THEN NULL
              ELSE (2 * t.content * t.nominal + t.app) / (2 * t.app) + t.bonus - t.penalty END AS raw_compared
  FROM tot t),
fin AS MATERIALIZED (
  SELECT s.gy_id, s.unit_id, s.bonus, s.penalty, s.tb, s.na_rule,
         MAX(0, CASE WHEN s.may_exceed = 0 AND s.raw_total > s.nominal THEN s.nominal ELSE s.raw_total END) AS total,
         MAX(0, CASE WHEN s.may_exceed = 0 AND COALESCE(s.raw_compared, s.raw_total) > s.nominal THEN s.nominal
                     ELSE COALESCE(s.raw_compared, s.raw_total) END) AS compared
  FROM sc s),
bands AS MATERIALIZED (
  SELECT t.gy_id, CAST(b.key AS INTEGER) AS bk, b.value ->> '$.code' AS code, b.value ->> '$.min_total' AS min_total,
         b.value ->> '$.min_section_share_pct' AS pct
  FROM tbl t, json_each(t.content, '$.bands') b),
bandok AS (
  SELECT f.gy_id, f.unit_id, f.total, f.compared, f.bonus, f.penalty, f.tb, b.bk, b.code, b.min_total,
         MIN(CASE WHEN b.pct IS NULL THEN 1
                  WHEN (CASE WHEN f.na_rule = 'scaled' THEN s.sapp ELSE s.smx END) <= 0 THEN 1
                  WHEN s.sp * 100 >= b.pct * (CASE WHEN f.na_rule = 'scaled' THEN s.sapp ELSE s.smx END) THEN 1
                  ELSE 0 END) AS ok
  FROM fin f LEFT JOIN bands b ON b.gy_id = f.gy_id
  JOIN secu s ON s.gy_id = f.gy_id AND s.unit_id = f.unit_id
  GROUP BY f.gy_id, f.unit_id, b.bk),
res AS MATERIALIZED (
  SELECT gy_id, unit_id, total, compared, bonus, penalty, tb,
         COALESCE(substr(MIN(CASE WHEN ok = 1 AND compared >= min_total THEN printf('%04d', bk) || code END), 5), '')
           AS class
  FROM bandok GROUP BY gy_id, unit_id)
SELECT gy_id, unit_id, total, compared,
       RANK() OVER (PARTITION BY gy_id ORDER BY compared DESC, bonus DESC, penalty ASC, tb DESC) AS rnk, class
FROM res
ORDER BY gy_id, unit_id;
"#;

/// The same ranking by the sqlite3 shell, one query, read-only.
pub fn rank_sqlite(db_path: &Path, today: &str) -> Res<Ranking> {
    let mut child = Command::new("sqlite3")
        .args(["-readonly", "-bail", "-batch", "-noheader", "-list", "-separator", "|"])
        .arg(db_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BenchError(format!("cannot run sqlite3: {e}")))?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().ok_or_else(|| BenchError("sqlite3: no stdin".into()))?;
        stdin.write_all(sql(today).as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(BenchError(format!("sqlite3 failed: {}", String::from_utf8_lossy(&out.stderr))));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut r = Ranking::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('|').collect();
        let num = |i: usize| -> Res<i64> {
            f.get(i)
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| BenchError(format!("sqlite3: unreadable row \"{line}\"")))
        };
        if f.len() != 6 {
            return Err(BenchError(format!("sqlite3: unreadable row \"{line}\"")));
        }
        r.insert(
            (num(0)?, num(1)?),
            Figures { total: num(2)?, compared: num(3)?, rank: num(4)? as u32, class: f[5].to_string() },
        );
    }
    Ok(r)
}

/// Every difference, described.
pub fn diff(a: &Ranking, b: &Ranking) -> Vec<String> {
    let mut out = Vec::new();
    for (k, fa) in a {
        match b.get(k) {
            None => out.push(format!("group-year {} unit {}: only in thidua's ranking", k.0, k.1)),
            Some(fb) if fa != fb => out.push(format!("group-year {} unit {}: thidua {fa:?}, sqlite3 {fb:?}", k.0, k.1)),
            _ => {}
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(k)) {
        out.push(format!("group-year {} unit {}: only in sqlite3's ranking", k.0, k.1));
    }
    out
}

/// Runs both, `rounds` times each, alternating, and checks they agree exactly.
pub async fn run(db_path: &Path, today: &str, rounds: usize) -> Res<P2> {
    let url = format!("sqlite://{}", db_path.display());
    let db = Db::connect(&url).await?;
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let mut p = P2 { workers, ..Default::default() };
    for round in 0..rounds {
        take_phases();
        let cpu0 = crate::cpu_times();
        let t = Instant::now();
        let (mine, entries) = rank_thidua(&db, today, 1).await?;
        let secs = t.elapsed().as_secs_f64();
        let cpu1 = crate::cpu_times();
        if secs < P2::best(&p.thidua) {
            p.phases = take_phases();
            p.thidua_cpu = cpu1.0 - cpu0.0;
        }
        p.thidua.push(secs);
        let t = Instant::now();
        let (par, _) = rank_thidua(&db, today, workers).await?;
        p.thidua_parallel.push(t.elapsed().as_secs_f64());
        let cpu0 = crate::cpu_times();
        let t = Instant::now();
        let theirs = rank_sqlite(db_path, today)?;
        let secs = t.elapsed().as_secs_f64();
        let cpu1 = crate::cpu_times();
        if secs < P2::best(&p.sqlite) {
            p.sqlite_cpu = cpu1.1 - cpu0.1;
        }
        p.sqlite.push(secs);
        let d = diff(&mine, &theirs);
        if !d.is_empty() {
            let shown = d.iter().take(15).cloned().collect::<Vec<_>>().join("\n  ");
            return Err(BenchError(format!(
                "P2: thidua and sqlite3 disagree on {} of {} units:\n  {shown}",
                d.len(),
                mine.len().max(theirs.len())
            )));
        }
        if par != mine {
            return Err(BenchError("P2: thidua's parallel ranking differs from its sequential one".into()));
        }
        if mine.is_empty() {
            return Err(BenchError("P2: nothing to rank (no group-year with a table in force)".into()));
        }
        p.units = mine.len();
        p.group_years = mine.keys().map(|k| k.0).collect::<std::collections::BTreeSet<_>>().len();
        p.entries = entries;
        eprintln!(
            "  P2 round {}: thidua {:.2} s (1 task), {:.2} s ({workers} tasks); sqlite3 {:.2} s; {} units agree; \
             load average {}",
            round + 1,
            p.thidua[round],
            p.thidua_parallel[round],
            p.sqlite[round],
            p.units,
            crate::loadavg()
        );
        let ph = p.phases;
        eprintln!(
            "    thidua (1 task, best round): reading {:.2} s, decoding {:.2} s, inputs_in_force {:.2} s, compute {:.2} s",
            ph[0], ph[1], ph[2], ph[3]
        );
    }
    db.close().await;
    Ok(p)
}
