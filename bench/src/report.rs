//! The machine, the commit, and `bench/RESULTS.md`: the latest run first,
//! earlier runs kept below it, and every hand-written part of the file kept.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::generate::Summary;
use crate::p1::P1;
use crate::p2::P2;
use crate::p3::P3;
use crate::{BenchError, Res};

const BEGIN: &str = "<!-- runs: written by `thidua-bench all`, newest first -->";
const END: &str = "<!-- end of runs -->";
const KEEP_RUNS: usize = 5;

pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
}

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    Machine { cpu, cores, memory_gib: kb / 1024.0 / 1024.0, kernel }
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(crate::workspace()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The short commit, and whether the working tree had changes.
pub fn commit() -> (String, bool) {
    let c = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "?".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    (c, dirty)
}

fn met(ok: bool) -> &'static str {
    if ok { "**đạt** (met)" } else { "**chưa đạt** (not met)" }
}

pub struct Run<'a> {
    pub gen_: &'a Summary,
    pub p1: &'a P1,
    pub p2: &'a P2,
    pub p3: &'a P3,
    pub total_secs: f64,
    pub build_secs: f64,
    /// The load average (1 min) at the start of each step: generate, P2, P1, P3, end.
    pub loads: Vec<String>,
}

/// The section of one run, in Markdown.
pub fn section(r: &Run<'_>) -> String {
    let m = machine();
    let (commit, dirty) = commit();
    let now = chrono::Utc::now() + chrono::Duration::hours(7);
    let g = r.gen_;
    let mut s = String::new();
    let _ = writeln!(s, "## Run of {} (Vietnam time), commit `{commit}`", now.format("%Y-%m-%d %H:%M"));
    let _ = writeln!(s);
    if dirty {
        let _ = writeln!(
            s,
            "The working tree had uncommitted changes when this ran (other work in progress): the figures are of \
             `{commit}` plus those changes."
        );
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "Machine: {} core(s), {:.1} GiB memory, {} (Linux {}). The benchmarks took {:.0} s (after {:.0} s of \
         `cargo build --release -p thidua-app`). Load average (1 min) at the start of generate, P2, P1, P3 and at the \
         end: {} (above about 1, other work was sharing the cores: the times are then pessimistic).",
        m.cores,
        m.memory_gib,
        m.cpu,
        m.kernel,
        r.total_secs,
        r.build_secs,
        r.loads.join(", ")
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Dataset: {} provinces, {} groups, {} units, {} group-years ({:?}), {} users, {} table versions, {} covenant \
         targets, {} score entries, {} sheets submitted; SQLite file {:.0} MB; generated in {:.1} s.",
        g.provinces,
        g.groups,
        g.units,
        g.group_years,
        g.years,
        g.users,
        g.tables,
        g.targets,
        g.entries,
        g.sheets_submitted,
        g.file_bytes as f64 / 1e6,
        g.seconds
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "| measurement | result | ratio | goal | |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    // P1
    let p1 = r.p1;
    let _ = writeln!(
        s,
        "| P1 static `/static/app.css` ({} clients, {:.0} s; every P1 client asks as a browser, `Accept-Encoding: gzip`, \
         unless said) | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors; \
         server CPU {:.3} ms per request | | | |",
        p1.clients,
        p1.secs,
        p1.static_load.rps(),
        p1.static_load.p50_ms,
        p1.static_load.p99_ms,
        p1.static_load.errors,
        p1.static_load.cpu_ms_per_request()
    );
    let _ = writeln!(
        s,
        "| P1 self-assessment page `tu-cham/{{unit}}` ({} kB sent) | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors; \
         server CPU {:.3} ms per request | {:.3} | ≥ 0.5 | {} |",
        p1.page.bytes / 1000,
        p1.page.rps(),
        p1.page.p50_ms,
        p1.page.p99_ms,
        p1.page.errors,
        p1.page.cpu_ms_per_request(),
        p1.ratio(),
        met(p1.ratio() >= 0.5)
    );
    let _ = writeln!(
        s,
        "| P1 for reference: `/api/v1/me` signed in, the floor of a signed-in request ({} B) | {:.0} req/s, p50 \
         {:.1} ms, p99 {:.1} ms, {} errors; server CPU {:.3} ms per request | {:.3} | | |",
        p1.floor.bytes,
        p1.floor.rps(),
        p1.floor.p50_ms,
        p1.floor.p99_ms,
        p1.floor.errors,
        p1.floor.cpu_ms_per_request(),
        p1.floor_ratio()
    );
    match &p1.review {
        Ok(l) => {
            let ratio = l.rps() / p1.static_load.rps();
            let _ = writeln!(
                s,
                "| P1 head review table `tong-hop` ({} kB sent) | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors; \
                 server CPU {:.3} ms per request | {ratio:.3} | ≥ 0.5 | {} |",
                l.bytes / 1000,
                l.rps(),
                l.p50_ms,
                l.p99_ms,
                l.errors,
                l.cpu_ms_per_request(),
                met(ratio >= 0.5)
            );
        }
        Err(why) => {
            let _ = writeln!(s, "| P1 head review table `tong-hop` | {why} | | ≥ 0.5 | not measured |");
        }
    }
    let _ = writeln!(
        s,
        "| P1 for reference: without compression (no `Accept-Encoding`), static {:.0} req/s and page ({} kB) {:.0} \
         req/s, {} errors | | {:.3} | | |",
        p1.static_plain.rps(),
        p1.page_plain.bytes / 1000,
        p1.page_plain.rps(),
        p1.static_plain.errors + p1.page_plain.errors,
        p1.plain_ratio()
    );
    // P2
    let p2 = r.p2;
    let _ = writeln!(
        s,
        "| P2 rank {} group-years, {} units, {} entries: thidua (1 task) vs sqlite3 | thidua {:.2} s, sqlite3 {:.2} s \
         (best of {}); all {} units equal | {:.2} | ≤ 1.2 | {} |",
        p2.group_years,
        p2.units,
        p2.entries,
        P2::best(&p2.thidua),
        P2::best(&p2.sqlite),
        p2.sqlite.len(),
        p2.units,
        p2.ratio(),
        met(p2.ratio() <= 1.2)
    );
    let _ = writeln!(
        s,
        "| P2 the same on CPU time (user + system) | thidua {:.2} s, sqlite3 {:.2} s | {:.2} | (≤ 1.2) | {} |",
        p2.thidua_cpu,
        p2.sqlite_cpu,
        p2.ratio_cpu(),
        met(p2.ratio_cpu() <= 1.2)
    );
    let ph = p2.phases;
    let _ = writeln!(
        s,
        "| P2 where thidua's time goes (1 task) | reading through thidua_db {:.2} s, decoding JSON {:.2} s, \
         `inputs_in_force` {:.2} s, `compute` {:.2} s | | | |",
        ph[0], ph[1], ph[2], ph[3]
    );
    let _ = writeln!(
        s,
        "| P2 the same, thidua on {} tasks | thidua {:.2} s | {:.2} | (≤ 1.2) | {} |",
        p2.workers,
        P2::best(&p2.thidua_parallel),
        p2.ratio_parallel(),
        met(p2.ratio_parallel() <= 1.2)
    );
    // P3
    let p3 = r.p3;
    let _ = writeln!(
        s,
        "| P3 burst: {} officers × {} saves × {} lines | {} saves acknowledged, {} failed; {} lines acknowledged, {} \
         lost after SIGKILL; {:.2} s | | nothing lost | {} |",
        p3.officers,
        p3.saves_per_officer,
        p3.lines_per_save,
        p3.saves_ok,
        p3.saves_failed,
        p3.lines_acked,
        p3.lines_lost,
        p3.burst_secs,
        met(p3.lines_lost == 0 && p3.saves_failed == 0 && p3.rows_unexplained == 0)
    );
    let _ = writeln!(
        s,
        "| P3 one officer alone, {} saves one after the other (the service time of a save) | p50 {:.0} ms, max {:.0} \
         ms | | | |",
        p3.solo_saves, p3.solo_p50_ms, p3.solo_max_ms
    );
    let _ = writeln!(
        s,
        "| P3 the server's CPU during the burst | {:.1} CPU seconds in {:.1} s ({:.2} of the {} cores); {} saves in {} commits | | | |",
        p3.server_cpu,
        p3.burst_secs,
        p3.server_cpu / p3.burst_secs,
        m.cores,
        p3.committed_saves,
        p3.commits
    );
    let _ = writeln!(
        s,
        "| P3 save latency in the burst | p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms | | p99 < 100 ms | {} |",
        p3.p50_ms,
        p3.p99_ms,
        p3.max_ms,
        met(p3.p99_ms < 100.0)
    );
    let _ = writeln!(
        s,
        "| P3 lines stored per second: server vs raw one-row commits (synchronous=FULL) | {:.0} lines/s vs {:.0} rows/s \
         ({} rows in {:.2} s) | {:.2} | ≥ 5 | {} |",
        p3.server_lines_per_s(),
        p3.raw_rows_per_s(),
        p3.raw_rows,
        p3.raw_secs,
        p3.ratio(),
        met(p3.ratio() >= 5.0)
    );
    if !p3.failures.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "P3 failures (first {}):", p3.failures.len().min(5));
        for f in p3.failures.iter().take(5) {
            let _ = writeln!(s, "- `{}`", f.replace('`', "'"));
        }
    }
    if !p3.lost.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "P3 lost lines (first {}):", p3.lost.len());
        for f in &p3.lost {
            let _ = writeln!(s, "- `{}`", f.replace('`', "'"));
        }
    }
    if p3.rows_unexplained != 0 {
        let _ = writeln!(s);
        let _ = writeln!(s, "P3: {} stored rows not accounted for by an acknowledged save.", p3.rows_unexplained);
    }
    s
}

const HEADER: &str = "# Benchmark results\n\n\
    Written by `cargo run --release -p thidua-bench -- all` (see [README.md](README.md) for what each \
    measurement is). The newest run comes first; the notes after the runs are written by hand.\n\n";

/// Puts the run first among the runs of `RESULTS.md`, keeping the rest of the file.
pub fn write(path: &Path, run: &str) -> Res<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let (head, runs, tail) = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => {
            (old[..b].to_string(), old[b + BEGIN.len()..e].to_string(), old[e + END.len()..].to_string())
        }
        _ => (HEADER.to_string(), String::new(), format!("\n{old}")),
    };
    let mut kept: Vec<String> = Vec::new();
    for part in runs.split("\n## Run of ").map(str::trim).filter(|p| !p.is_empty()) {
        let p = part.strip_prefix("## Run of ").unwrap_or(part);
        kept.push(format!("## Run of {p}"));
    }
    kept.truncate(KEEP_RUNS - 1);
    let mut out = head;
    out.push_str(BEGIN);
    out.push_str("\n\n");
    out.push_str(run.trim_end());
    out.push('\n');
    for k in kept {
        out.push('\n');
        out.push_str(k.trim_end());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(END);
    out.push_str(tail.trim_end());
    out.push('\n');
    std::fs::write(path, out).map_err(|e| BenchError(format!("cannot write {}: {e}", path.display())))
}
