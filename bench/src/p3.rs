//! P3: the deadline burst. Many unit officers, signed in, save their
//! self-assessment sheets at the same moment through the JSON API of the real
//! server (each save stores every changed line in one transaction). Then the
//! server is killed (SIGKILL, no graceful shutdown) and the database is read
//! back: every acknowledged line must be there, with its value. Compared with
//! the same number of rows committed one per transaction, synchronous=FULL,
//! straight into a SQLite file.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use thidua_core::scoring::{Points, RawValue};
use thidua_db::Db;
use thidua_db::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::generate::PASSWORD;
use crate::http::{self, Client, Server, Session};
use crate::rng::Rng;
use crate::{BenchError, Res};

#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub officers: usize,
    pub saves: usize,
    pub lines: usize,
}

#[derive(Debug, Clone, Default)]
pub struct P3 {
    pub officers: usize,
    pub saves_per_officer: usize,
    pub lines_per_save: usize,
    pub saves_ok: usize,
    pub saves_failed: usize,
    pub failures: Vec<String>,
    pub lines_acked: usize,
    pub lines_lost: usize,
    pub lost: Vec<String>,
    /// Rows written that no acknowledged save accounts for.
    pub rows_unexplained: i64,
    pub burst_secs: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub raw_rows: usize,
    pub raw_secs: f64,
    /// One more officer saving alone, one save after the other, before the burst: the service time of a save.
    pub solo_saves: usize,
    pub solo_p50_ms: f64,
    pub solo_max_ms: f64,
    /// CPU seconds the server used during the burst.
    pub server_cpu: f64,
    /// Commits and saves in them during the burst, from the server's `/metrics`
    /// (`thidua_write_commits_total`, `thidua_write_actions_total`).
    pub commits: u64,
    pub committed_saves: u64,
}

impl P3 {
    pub fn server_lines_per_s(&self) -> f64 {
        self.lines_acked.saturating_sub(self.lines_lost) as f64 / self.burst_secs
    }

    pub fn raw_rows_per_s(&self) -> f64 {
        self.raw_rows as f64 / self.raw_secs
    }

    pub fn ratio(&self) -> f64 {
        self.server_lines_per_s() / self.raw_rows_per_s()
    }
}

/// An officer of a unit whose current-year sheet is still a draft.
#[derive(Debug, Clone)]
pub struct Officer {
    pub username: String,
    pub group_id: i64,
    pub year: i32,
    pub unit_id: i64,
}

/// `n` officers of draft sheets of the latest year, spread over the group-years.
pub async fn officers(db_path: &Path, n: usize) -> Res<Vec<Officer>> {
    let db = Db::connect(&format!("sqlite://{}", db_path.display())).await?;
    let mut tx = db.read().await?;
    let rows: Vec<(String, i64, i32, i64, i64)> = tx
        .all(
            "SELECT u.username, gy.group_id, gy.year, m.unit_id, gy.id FROM memberships m \
             JOIN group_years gy ON gy.id = m.group_year_id \
             JOIN role_grants r ON r.unit_id = m.unit_id AND r.role = 'unit_officer' \
             JOIN users u ON u.id = r.user_id \
             WHERE gy.year = (SELECT MAX(year) FROM years) \
             AND NOT EXISTS (SELECT 1 FROM sheets s WHERE s.group_year_id = gy.id AND s.unit_id = m.unit_id) \
             ORDER BY gy.id, m.unit_id",
            vec![],
        )
        .await?;
    tx.rollback().await?;
    db.close().await;
    let mut by_gy: BTreeMap<i64, Vec<Officer>> = BTreeMap::new();
    for (username, group_id, year, unit_id, gy) in rows {
        by_gy.entry(gy).or_default().push(Officer { username, group_id, year, unit_id });
    }
    let per = by_gy.values().map(Vec::len).max().unwrap_or(1).max(1);
    let wanted_gys = n.div_ceil(per).max(1);
    let stride = (by_gy.len() / wanted_gys).max(1);
    // every stride-th group-year first, then the ones in between
    let mut gys: Vec<(usize, Vec<Officer>)> = by_gy.into_values().enumerate().collect();
    gys.sort_by_key(|(i, _)| (i % stride, *i));
    let mut out = Vec::new();
    for (_, us) in gys {
        if out.len() >= n {
            break;
        }
        out.extend(us);
    }
    out.truncate(n);
    if out.len() < n {
        return Err(BenchError(format!("only {} draft sheets of the latest year, {n} wanted", out.len())));
    }
    Ok(out)
}

fn sheet_path(o: &Officer) -> String {
    format!("/api/v1/groups/{}/years/{}/sheets/{}", o.group_id, o.year, o.unit_id)
}

/// A Vietnamese number from hundredths: "12,5" style, no thousands separator.
fn vn(h: i64) -> String {
    if h % 100 == 0 { format!("{}", h / 100) } else { format!("{},{:02}", h / 100, h % 100) }
}

fn parse_points(s: &str) -> Option<i64> {
    Points::parse("", s).ok().map(|p| p.hundredths())
}

/// A new value for a leaf line of the sheet view, different from the current
/// one: (the line input to send, the value the server must store).
fn change(line: &Value, rng: &mut Rng, round: usize) -> Option<(Value, RawValue)> {
    let code = line["code"].as_str()?;
    let current = line["value"].as_str().unwrap_or("");
    let base = line["base_seq"].as_i64();
    let (value, reason, raw) = match line["method"].as_str()? {
        "qualitative" => {
            let levels: Vec<&str> = line["levels"].as_array()?.iter().filter_map(|v| v.as_str()).collect();
            let others: Vec<usize> = (0..levels.len()).filter(|i| levels[*i] != current).collect();
            let i = others[rng.below(others.len() as u64) as usize];
            (levels[i].to_string(), String::new(), RawValue::Level(i))
        }
        "count" => {
            let n: u32 = current.parse().unwrap_or(0);
            let next = if n >= 5 { 1 } else { n + 1 };
            (next.to_string(), String::new(), RawValue::Count(next))
        }
        "manual" => {
            let max = parse_points(line["max"].as_str()?)?;
            let cur = parse_points(current).unwrap_or(-1);
            let mut p = max * rng.range(40, 100) / 100;
            if p == cur {
                p = if p > 0 { p - 1 } else { 1 };
            }
            let reason = format!("Cập nhật theo số liệu cuối kỳ, lần {}.", round + 1);
            (vn(p), reason.clone(), RawValue::Manual { points: Points::from_hundredths(p), reason })
        }
        "target" => {
            let t = parse_points(line["target"].as_str()?)?;
            let cur = parse_points(current).unwrap_or(-1);
            let mut a = t * rng.range(70, 140) / 100 + rng.range(0, 99);
            if a == cur {
                a += 1;
            }
            (vn(a), String::new(), RawValue::Actual { actual: Points::from_hundredths(a) })
        }
        _ => return None,
    };
    let input = json!({ "line_code": code, "value": value, "reason": reason, "base_seq": base });
    Some((input, raw))
}

/// What one officer got acknowledged: (entry id, unit, line, value).
type Acked = Vec<(i64, i64, String, RawValue)>;

struct OfficerRun {
    latencies: Vec<Duration>,
    ok: usize,
    failed: Vec<String>,
    acked: Acked,
}

async fn officer_burst(
    addr: std::net::SocketAddr,
    o: Officer,
    s: Session,
    mut view: Value,
    cfg: Config,
    seed: u64,
    start: Arc<tokio::sync::Barrier>,
) -> Res<OfficerRun> {
    let mut c = Client::connect(addr).await?;
    let mut rng = Rng::new(seed);
    let mut run = OfficerRun { latencies: vec![], ok: 0, failed: vec![], acked: vec![] };
    start.wait().await;
    let path = format!("{}/save", sheet_path(&o));
    // the leaf lines that can be scored (positions in the sheet's lines): found once
    let leaves: Vec<usize> = view["lines"]
        .as_array()
        .map(|ls| {
            (0..ls.len())
                .filter(|i| ls[*i]["leaf"].as_bool() == Some(true))
                .filter(|i| ls[*i]["method"].as_str() != Some("target") || ls[*i]["target"].is_string())
                .collect()
        })
        .unwrap_or_default();
    if leaves.is_empty() {
        return Err(BenchError(format!("{}: the sheet has no lines", o.username)));
    }
    for round in 0..cfg.saves {
        let mut inputs = Vec::new();
        let mut expected = Vec::new();
        for k in 0..cfg.lines.min(leaves.len()) {
            let l = &view["lines"][leaves[(round * cfg.lines + k + seed as usize) % leaves.len()]];
            if let Some((input, raw)) = change(l, &mut rng, round) {
                expected.push((l["code"].as_str().unwrap_or("").to_string(), raw));
                inputs.push(input);
            }
        }
        let body = json!({ "lines": inputs, "note": "" });
        let t = Instant::now();
        let r = c.send(Method::POST, &path, Some(&s.cookie), Some(&s.csrf), Some(&body)).await;
        run.latencies.push(t.elapsed());
        match r {
            Ok(r) if r.status == StatusCode::OK => {
                run.ok += 1;
                // the answer: the lines saved, each with its new entry and value
                let saved: Value = r.json()?;
                let saved = saved["lines"].as_array().cloned().unwrap_or_default();
                for (code, raw) in expected {
                    let Some(s) = saved.iter().find(|l| l["code"] == code.as_str()) else {
                        run.failed.push(format!("{}: save acknowledged but {code} is not in the answer", o.username));
                        continue;
                    };
                    let Some(id) = s["base_seq"].as_i64() else {
                        run.failed.push(format!("{}: save acknowledged but {code} has no entry", o.username));
                        continue;
                    };
                    if let Some(l) =
                        view["lines"].as_array_mut().and_then(|ls| ls.iter_mut().find(|l| l["code"] == code.as_str()))
                    {
                        l["base_seq"] = s["base_seq"].clone();
                        l["value"] = s["value"].clone();
                    }
                    run.acked.push((id, o.unit_id, code, raw));
                }
            }
            Ok(r) => {
                let text = r.text();
                run.failed.push(format!("{}: HTTP {} {}", o.username, r.status, &text[..text.len().min(300)]));
                // reload the sheet so that the next save starts from what is stored
                if let Ok(r) = c.get(&sheet_path(&o), Some(&s.cookie)).await
                    && r.status == StatusCode::OK
                {
                    view = r.json()?;
                }
            }
            Err(e) => run.failed.push(format!("{}: {}", o.username, e.0)),
        }
    }
    Ok(run)
}

/// Inserts `n` rows, one per transaction, into a fresh SQLite file (WAL, synchronous=FULL).
/// (commits, actions committed) so far, from the server's `/metrics`.
async fn grouped(c: &mut Client) -> Res<(u64, u64)> {
    let text = c.get("/metrics", None).await?.text();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<u64>().ok()))
            .ok_or_else(|| BenchError(format!("/metrics has no {name}")))
    };
    Ok((value("thidua_write_commits_total ")?, value("thidua_write_actions_total ")?))
}

pub async fn raw_commits(dir: &Path, n: usize) -> Res<f64> {
    let path = dir.join("raw-commits.db");
    crate::generate::remove_sqlite(&path)?;
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await?;
    thidua_db::sqlx::query(
        "CREATE TABLE score_entries (id INTEGER PRIMARY KEY, group_year_id BIGINT NOT NULL, unit_id BIGINT NOT NULL, \
         line_code TEXT NOT NULL, stage TEXT NOT NULL, value_json TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', \
         evidence_json TEXT NOT NULL DEFAULT '[]', by_user BIGINT NOT NULL, by_unit BIGINT, at TEXT NOT NULL)",
    )
    .execute(&pool)
    .await?;
    thidua_db::sqlx::query("CREATE INDEX score_entries_sheet ON score_entries(group_year_id, unit_id, line_code)")
        .execute(&pool)
        .await?;
    let t = Instant::now();
    for i in 0..n as i64 {
        thidua_db::sqlx::query(
            "INSERT INTO score_entries (group_year_id, unit_id, line_code, stage, value_json, reason, evidence_json, \
             by_user, by_unit, at) VALUES ($1, $2, $3, 'self_assessment', $4, '', '[]', $5, $2, $6)",
        )
        .bind(1 + i % 200)
        .bind(1 + i % 2000)
        .bind(format!("I.{}", 1 + i % 6))
        .bind(format!("{{\"count\":{}}}", i % 6))
        .bind(1 + i % 2000)
        .bind(thidua_db::now())
        .execute(&pool)
        .await?;
    }
    let secs = t.elapsed().as_secs_f64();
    pool.close().await;
    crate::generate::remove_sqlite(&path)?;
    Ok(secs)
}

pub async fn run(bin: &Path, db_path: &Path, dir: &Path, cfg: Config) -> Res<P3> {
    let mut officers = officers(db_path, cfg.officers + 1).await?;
    let solo = officers.pop().ok_or_else(|| BenchError("no officer".into()))?;
    let url = format!("sqlite://{}", db_path.display());
    let before: i64 = {
        let db = Db::connect(&url).await?;
        let mut tx = db.read().await?;
        let (m,): (i64,) = tx.one("SELECT COALESCE(MAX(id), 0) FROM score_entries", vec![]).await?;
        tx.rollback().await?;
        db.close().await;
        m
    };
    let mut server = Server::start(bin, db_path, dir, "p3").await?;
    let addr = server.addr;
    let mut names: Vec<String> = officers.iter().map(|o| o.username.clone()).collect();
    names.push(solo.username.clone());
    let mut sessions = http::login_all(addr, &names, PASSWORD).await?;
    let solo_session = sessions.pop().ok_or_else(|| BenchError("no session".into()))?;
    // each officer's sheet, as the form would load it
    let mut views = Vec::new();
    let mut c = Client::connect(addr).await?;
    for (o, s) in officers.iter().zip(&sessions) {
        let r = c.get(&sheet_path(o), Some(&s.cookie)).await?;
        if r.status != StatusCode::OK {
            return Err(BenchError(format!("{}: GET sheet HTTP {} {}", o.username, r.status, r.text())));
        }
        let v = r.json()?;
        if v["may_write"].as_bool() != Some(true) {
            return Err(BenchError(format!(
                "{}: the sheet is not writable ({}); the year must be in self-assessment, before the deadline",
                o.username, v["write_refusal"]
            )));
        }
        views.push(v);
    }
    // the service time: one officer alone, ten saves one after the other
    let solo_view = {
        let r = c.get(&sheet_path(&solo), Some(&solo_session.cookie)).await?;
        r.json()?
    };
    let solo_cfg = Config { saves: 10, ..cfg };
    let one = Arc::new(tokio::sync::Barrier::new(1));
    let solo_run = officer_burst(addr, solo.clone(), solo_session, solo_view, solo_cfg, 7, one).await?;
    let mut solo_lat = solo_run.latencies.clone();
    solo_lat.sort();
    let barrier = Arc::new(tokio::sync::Barrier::new(officers.len() + 1));
    let mut set = tokio::task::JoinSet::new();
    for (i, ((o, s), v)) in officers.iter().cloned().zip(sessions.iter().cloned()).zip(views).enumerate() {
        set.spawn(officer_burst(addr, o, s, v, cfg, 1 + i as u64, barrier.clone()));
    }
    let cpu0 = server.cpu_secs();
    let grouped0 = grouped(&mut c).await?;
    barrier.wait().await;
    let t = Instant::now();
    let mut p =
        P3 { officers: officers.len(), saves_per_officer: cfg.saves, lines_per_save: cfg.lines, ..Default::default() };
    p.solo_saves = solo_run.ok;
    p.solo_p50_ms = http::percentile(&solo_lat, 50.0);
    p.solo_max_ms = solo_lat.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0);
    if !solo_run.failed.is_empty() {
        return Err(BenchError(format!("P3: the solo saves failed: {}", solo_run.failed.join("; "))));
    }
    let mut latencies = Vec::new();
    let solo_lines = solo_run.acked.len();
    let mut acked: Acked = solo_run.acked;
    while let Some(r) = set.join_next().await {
        let r = r.map_err(|e| BenchError(format!("join: {e}")))??;
        latencies.extend(r.latencies);
        p.saves_ok += r.ok;
        p.saves_failed += r.failed.len();
        p.failures.extend(r.failed);
        acked.extend(r.acked);
    }
    p.burst_secs = t.elapsed().as_secs_f64();
    p.server_cpu = server.cpu_secs() - cpu0;
    let grouped1 = grouped(&mut c).await?;
    (p.commits, p.committed_saves) = (grouped1.0 - grouped0.0, grouped1.1 - grouped0.1);
    // a crash right after the last acknowledgement
    server.kill();
    latencies.sort();
    p.p50_ms = http::percentile(&latencies, 50.0);
    p.p99_ms = http::percentile(&latencies, 99.0);
    p.max_ms = latencies.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0);
    p.lines_acked = acked.len() - solo_lines;

    // read everything back from the file
    let db = Db::connect(&url).await?;
    let mut tx = db.read().await?;
    let rows: Vec<(i64, i64, String, String, String)> = tx
        .all(
            "SELECT id, unit_id, line_code, stage, value_json FROM score_entries WHERE id > $1 ORDER BY id",
            vec![before.into()],
        )
        .await?;
    tx.rollback().await?;
    db.close().await;
    let stored: BTreeMap<i64, (i64, String, String, String)> =
        rows.into_iter().map(|(id, u, l, s, v)| (id, (u, l, s, v))).collect();
    for (id, unit, code, raw) in &acked {
        let ok = stored.get(id).is_some_and(|(u, l, s, v)| {
            u == unit
                && l == code
                && s == "self_assessment"
                && serde_json::from_str::<RawValue>(v).is_ok_and(|got| got == *raw)
        });
        if !ok {
            p.lines_lost += 1;
            if p.lost.len() < 10 {
                p.lost.push(format!("entry {id} (unit {unit}, {code}, {raw:?}): {:?}", stored.get(id)));
            }
        }
    }
    p.rows_unexplained = stored.len() as i64 - acked.len() as i64;

    p.raw_rows = p.lines_acked.max(1);
    p.raw_secs = raw_commits(dir, p.raw_rows).await?;
    Ok(p)
}
