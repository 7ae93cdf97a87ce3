//! thidua-bench: the benchmarks of thidua, run with one command
//! (`cargo run --release -p thidua-bench -- all`); see `bench/README.md`.

mod generate;
mod http;
mod p1;
mod p2;
mod p3;
mod report;
mod rng;
mod table;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

/// A failure of the benchmark, said plainly.
#[derive(Debug)]
pub struct BenchError(pub String);

pub type Res<T> = Result<T, BenchError>;

macro_rules! from_error {
    ($($t:ty),*) => {$(
        impl From<$t> for BenchError {
            fn from(e: $t) -> Self {
                BenchError(e.to_string())
            }
        }
    )*};
}
from_error!(
    thidua_db::DbError,
    thidua_db::sqlx::Error,
    std::io::Error,
    serde_json::Error,
    hyper::Error,
    hyper::http::Error
);

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// CPU seconds (user + system) of this process and of its waited-for children, from /proc/self/stat.
pub fn cpu_times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // the fields after the command name (which is in parentheses and may hold spaces)
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    // utime, stime, cutime, cstime are fields 14..17 of the line: 11..14 after the state field
    let get = |i: usize| f.get(i).copied().unwrap_or(0.0) / 100.0;
    (get(11) + get(12), get(13) + get(14))
}

/// The load average over the last minute, as /proc/loadavg says.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

#[derive(Debug, Parser)]
#[command(name = "thidua-bench", about = "Benchmarks of thidua (see bench/README.md).")]
struct Cli {
    /// Working directory: the generated database, server logs.
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The release server binary (built by `all` unless --no-build).
    #[arg(long, global = true, value_name = "FILE")]
    thidua: Option<PathBuf>,
    /// A small dataset (3 provinces) to try the benchmarks quickly.
    #[arg(long, global = true)]
    small: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Generates the dataset (SQLite file in --dir, or the PostgreSQL database of --db).
    Generate {
        /// `postgres://…` (an empty database) or `sqlite://FILE`; default: DIR/thidua.db.
        #[arg(long)]
        db: Option<String>,
    },
    /// P1: page throughput against a static file of the same server.
    P1,
    /// P2: ranking by thidua against one SQL query of the sqlite3 shell.
    P2,
    /// P3: a deadline burst of concurrent saves; nothing acknowledged may be lost.
    P3,
    /// Builds the server, generates the dataset, runs P1, P2, P3 and records bench/RESULTS.md.
    All {
        /// Do not run `cargo build --release -p thidua-app` first.
        #[arg(long)]
        no_build: bool,
        /// Do not write bench/RESULTS.md.
        #[arg(long)]
        no_record: bool,
    },
}

struct Ctx {
    dir: PathBuf,
    db: PathBuf,
    bin: PathBuf,
    scale: generate::Scale,
    small: bool,
}

impl Ctx {
    fn p1(&self) -> p1::Config {
        p1::Config { clients: 16, secs: if self.small { 3.0 } else { 10.0 } }
    }

    fn p3(&self) -> p3::Config {
        p3::Config { officers: if self.small { 60 } else { 200 }, saves: 3, lines: 5 }
    }
}

fn build_server() -> Res<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("== build: {cargo} build --release -p thidua-app");
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "-p", "thidua-app"])
        .current_dir(workspace())
        .status()?;
    if !status.success() {
        return Err(BenchError(format!("cargo build --release -p thidua-app failed ({status})")));
    }
    Ok(())
}

fn print_generate(s: &generate::Summary) {
    eprintln!(
        "  {} provinces, {} groups, {} units, {} group-years {:?}, {} users, {} tables, {} targets, {} entries, \
         {:.0} MB (SQLite file), {:.1} s",
        s.provinces,
        s.groups,
        s.units,
        s.group_years,
        s.years,
        s.users,
        s.tables,
        s.targets,
        s.entries,
        s.file_bytes as f64 / 1e6,
        s.seconds
    );
}

fn print_p1(p: &p1::P1) {
    println!(
        "P1 static: {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms, {} errors)",
        p.static_load.rps(),
        p.static_load.p50_ms,
        p.static_load.p99_ms,
        p.static_load.errors
    );
    println!("P1 static: the server used {:.3} ms of CPU per request", p.static_load.cpu_ms_per_request());
    println!(
        "P1 self-assessment page: {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms, {} errors{}), server CPU {:.3} ms per \
         request; ratio page/static {:.3} (goal ≥ 0.5)",
        p.page.rps(),
        p.page.p50_ms,
        p.page.p99_ms,
        p.page.errors,
        p.page.first_error.as_deref().map(|e| format!(", first: {e}")).unwrap_or_default(),
        p.page.cpu_ms_per_request(),
        p.ratio()
    );
    println!(
        "P1 /api/v1/me signed in (the floor of a signed-in request): {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms, {} \
         errors), server CPU {:.3} ms per request; ratio me/static {:.3}",
        p.floor.rps(),
        p.floor.p50_ms,
        p.floor.p99_ms,
        p.floor.errors,
        p.floor.cpu_ms_per_request(),
        p.floor_ratio()
    );
    match &p.review {
        Ok(l) => println!(
            "P1 head review table: {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms, {} errors), server CPU {:.3} ms per \
             request; ratio {:.3} (goal ≥ 0.5)",
            l.rps(),
            l.p50_ms,
            l.p99_ms,
            l.errors,
            l.cpu_ms_per_request(),
            l.rps() / p.static_load.rps()
        ),
        Err(why) => println!("P1 head review table: {why}"),
    }
    println!(
        "P1 without compression (no Accept-Encoding): static {:.0} req/s, page {:.0} req/s ({} kB), ratio {:.3}",
        p.static_plain.rps(),
        p.page_plain.rps(),
        p.page_plain.bytes / 1000,
        p.plain_ratio()
    );
}

fn print_p2(p: &p2::P2) {
    println!(
        "P2: {} group-years, {} units, {} entries; thidua {:.2} s (1 task), {:.2} s ({} tasks); sqlite3 {:.2} s; \
         every total, class and rank equal; ratio thidua/sqlite3 {:.2} (goal ≤ 1.2), {:.2} on {} tasks; \
         CPU seconds thidua {:.2}, sqlite3 {:.2}, ratio {:.2}",
        p.group_years,
        p.units,
        p.entries,
        p2::P2::best(&p.thidua),
        p2::P2::best(&p.thidua_parallel),
        p.workers,
        p2::P2::best(&p.sqlite),
        p.ratio(),
        p.ratio_parallel(),
        p.workers,
        p.thidua_cpu,
        p.sqlite_cpu,
        p.ratio_cpu()
    );
}

fn print_p3(p: &p3::P3) {
    println!(
        "P3: {} officers × {} saves × {} lines in {:.2} s: {} saves acknowledged, {} failed; {} lines acknowledged, \
         {} lost, {} rows unexplained; latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (goal p99 < 100 ms)",
        p.officers,
        p.saves_per_officer,
        p.lines_per_save,
        p.burst_secs,
        p.saves_ok,
        p.saves_failed,
        p.lines_acked,
        p.lines_lost,
        p.rows_unexplained,
        p.p50_ms,
        p.p99_ms,
        p.max_ms
    );
    println!(
        "P3: one officer alone: {} saves, p50 {:.0} ms, max {:.0} ms (the service time of a save); the server used \
         {:.1} CPU seconds in the {:.1} s of the burst; {} saves in {} commits",
        p.solo_saves, p.solo_p50_ms, p.solo_max_ms, p.server_cpu, p.burst_secs, p.committed_saves, p.commits
    );
    for f in p.failures.iter().take(5) {
        println!("  failure: {f}");
    }
    for l in &p.lost {
        println!("  lost: {l}");
    }
    println!(
        "P3: server {:.0} lines/s; raw one-row commits {:.0} rows/s ({} rows in {:.2} s); ratio {:.2} (goal ≥ 5)",
        p.server_lines_per_s(),
        p.raw_rows_per_s(),
        p.raw_rows,
        p.raw_secs,
        p.ratio()
    );
}

fn need_db(c: &Ctx) -> Res<()> {
    if c.db.is_file() {
        Ok(())
    } else {
        Err(BenchError(format!("{} not found: run `thidua-bench generate` first", c.db.display())))
    }
}

async fn run(cli: Cli) -> Res<()> {
    let ws = workspace();
    let dir = cli.dir.clone().unwrap_or_else(|| ws.join("target").join("thidua-bench"));
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    let scale = if cli.small {
        generate::Scale { provinces: 3, ..generate::Scale::NATIONAL }
    } else {
        generate::Scale::NATIONAL
    };
    let c = Ctx {
        db: dir.join("thidua.db"),
        bin: cli.thidua.clone().unwrap_or_else(|| ws.join("target").join("release").join("thidua")),
        dir,
        scale,
        small: cli.small,
    };
    let today = generate::today().to_string();
    let sqlite_url = format!("sqlite://{}", c.db.display());
    match cli.command {
        Cmd::Generate { db } => {
            let url = db.unwrap_or(sqlite_url);
            eprintln!("== generate into {url}");
            let s = generate::generate(&url, c.scale).await?;
            print_generate(&s);
        }
        Cmd::P1 => {
            need_db(&c)?;
            print_p1(&p1::run(&c.bin, &c.db, &c.dir, c.p1()).await?);
        }
        Cmd::P2 => {
            need_db(&c)?;
            print_p2(&p2::run(&c.db, &today, 2).await?);
        }
        Cmd::P3 => {
            need_db(&c)?;
            print_p3(&p3::run(&c.bin, &c.db, &c.dir, c.p3()).await?);
        }
        Cmd::All { no_build, no_record } => {
            let started = Instant::now();
            if !no_build {
                build_server()?;
            }
            let build_secs = started.elapsed().as_secs_f64();
            let mut loads = vec![loadavg()];
            eprintln!("== generate into {sqlite_url}");
            let g = generate::generate(&sqlite_url, c.scale).await?;
            print_generate(&g);
            loads.push(loadavg());
            eprintln!("== P2: ranking, thidua vs sqlite3");
            let p2 = p2::run(&c.db, &today, 2).await?;
            print_p2(&p2);
            loads.push(loadavg());
            eprintln!("== P1: page throughput");
            let p1 = p1::run(&c.bin, &c.db, &c.dir, c.p1()).await?;
            print_p1(&p1);
            loads.push(loadavg());
            eprintln!("== P3: deadline burst");
            let p3 = p3::run(&c.bin, &c.db, &c.dir, c.p3()).await?;
            print_p3(&p3);
            loads.push(loadavg());
            let run = report::Run {
                gen_: &g,
                p1: &p1,
                p2: &p2,
                p3: &p3,
                total_secs: started.elapsed().as_secs_f64() - build_secs,
                build_secs,
                loads,
            };
            let section = report::section(&run);
            if no_record || c.small {
                println!("\n{section}");
            } else {
                let path = ws.join("bench").join("RESULTS.md");
                report::write(&path, &section)?;
                println!("\nRecorded in {}", path.display());
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("thidua-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("thidua-bench: {}", e.0);
            ExitCode::FAILURE
        }
    }
}
