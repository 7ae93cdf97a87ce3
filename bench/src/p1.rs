//! P1: throughput of the authenticated pages against a static file of the
//! same server, N keep-alive clients for a fixed time each: the unit's
//! self-assessment page (`/cum-khoi/{id}/nam/{year}/tu-cham/{unit_id}`, each
//! client signed in as the officer of its own unit) and, when the server has
//! it, the head unit's review table (`/cum-khoi/{id}/nam/{year}/tong-hop`,
//! signed in as the head unit's officer); `/static/app.css` without a session
//! is the baseline. For reference, the same clients also ask `/api/v1/me`
//! (who is signed in: the session checked, a few hundred bytes of JSON):
//! what any signed-in request costs at least.
//!
//! Every client asks as a browser does, with `Accept-Encoding: gzip, deflate,
//! br, zstd`: the server sends the self-assessment page gzip-compressed (its
//! kept pieces compressed once, the rest stored as it is) and the static file
//! compressed once; the review table goes uncompressed (ADR 0004). The bodies
//! are counted as they come, not decompressed (as `wrk` does); before the
//! runs, one answer of the page is decompressed and must be the page as sent
//! without compression. For comparison with the runs before compression, the
//! static file and the page are also measured with clients that send no
//! `Accept-Encoding`.

use std::path::Path;
use std::time::{Duration, Instant};

use hyper::StatusCode;

use crate::generate::PASSWORD;
use crate::http::{self, Client, Server};
use crate::p3::officers;
use crate::{BenchError, Res};

#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub clients: usize,
    pub secs: f64,
}

/// One endpoint's measurement.
#[derive(Debug, Clone, Default)]
pub struct Load {
    pub requests: usize,
    pub errors: usize,
    pub secs: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub bytes: usize,
    pub first_error: Option<String>,
    /// CPU seconds the server used while measured (warm-up included).
    pub server_cpu: f64,
}

impl Load {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }

    /// The server's CPU milliseconds per request (the warm-up's requests are not counted, so a little high).
    pub fn cpu_ms_per_request(&self) -> f64 {
        self.server_cpu * 1000.0 / self.requests.max(1) as f64 * self.secs / (self.secs + 1.0)
    }
}

#[derive(Debug, Clone)]
pub struct P1 {
    pub clients: usize,
    pub secs: f64,
    pub static_load: Load,
    pub page: Load,
    /// `/api/v1/me` with the page's sessions: the floor of a signed-in request.
    pub floor: Load,
    /// The review table, or why it was not measured.
    pub review: Result<Load, String>,
    /// The static file and the page asked without `Accept-Encoding`.
    pub static_plain: Load,
    pub page_plain: Load,
}

impl P1 {
    pub fn ratio(&self) -> f64 {
        self.page.rps() / self.static_load.rps()
    }

    /// The floor's rate against the static file's.
    pub fn floor_ratio(&self) -> f64 {
        self.floor.rps() / self.static_load.rps()
    }

    /// The page against the static file, both asked without compression.
    pub fn plain_ratio(&self) -> f64 {
        self.page_plain.rps() / self.static_plain.rps()
    }
}

/// `targets[i]` is client i's (path, session cookie); a warm-up second is not
/// counted. `browser`: the clients accept compressed answers.
async fn hammer(server: &Server, targets: Vec<(String, Option<String>)>, secs: f64, browser: bool) -> Res<Load> {
    let addr = server.addr;
    let cpu0 = server.cpu_secs();
    let warm = Duration::from_secs(1);
    let run = Duration::from_secs_f64(secs);
    let start = Instant::now() + Duration::from_millis(200);
    let mut set = tokio::task::JoinSet::new();
    for (path, cookie) in targets {
        set.spawn(async move {
            let mut c = if browser { Client::browser(addr).await? } else { Client::connect(addr).await? };
            tokio::time::sleep_until(start.into()).await;
            let (from, to) = (start + warm, start + warm + run);
            let mut lat = Vec::new();
            let (mut ok, mut errors, mut bytes) = (0usize, 0usize, 0usize);
            let mut first_error = None;
            loop {
                let t = Instant::now();
                if t >= to {
                    break;
                }
                let r = c.get(&path, cookie.as_deref()).await;
                let counted = t >= from;
                match r {
                    Ok(r) if r.status == StatusCode::OK => {
                        if counted {
                            ok += 1;
                            bytes = r.body.len();
                            lat.push(t.elapsed());
                        }
                    }
                    Ok(r) => {
                        if counted {
                            errors += 1;
                        }
                        first_error.get_or_insert_with(|| format!("{path}: HTTP {}", r.status));
                    }
                    Err(e) => {
                        if counted {
                            errors += 1;
                        }
                        first_error.get_or_insert_with(|| format!("{path}: {}", e.0));
                    }
                }
            }
            Ok::<_, BenchError>((lat, ok, errors, bytes, first_error))
        });
    }
    let mut l = Load { secs, ..Default::default() };
    let mut lat = Vec::new();
    while let Some(r) = set.join_next().await {
        let (la, ok, errors, bytes, fe) = r.map_err(|e| BenchError(format!("join: {e}")))??;
        lat.extend(la);
        l.requests += ok;
        l.errors += errors;
        l.bytes = l.bytes.max(bytes);
        if l.first_error.is_none() {
            l.first_error = fe;
        }
    }
    l.server_cpu = server.cpu_secs() - cpu0;
    lat.sort();
    l.p50_ms = http::percentile(&lat, 50.0);
    l.p99_ms = http::percentile(&lat, 99.0);
    Ok(l)
}

/// The head unit's officer of each of these group-years.
async fn head_officers(db_path: &Path, groups: &[(i64, i32)]) -> Res<Vec<String>> {
    let db = thidua_db::Db::connect(&format!("sqlite://{}", db_path.display())).await?;
    let mut tx = db.read().await?;
    let mut out = Vec::new();
    for (g, y) in groups {
        let r: Option<(String,)> = tx
            .opt(
                "SELECT u.username FROM memberships m JOIN group_years gy ON gy.id = m.group_year_id \
                 JOIN role_grants r ON r.unit_id = m.unit_id AND r.role = 'unit_officer' JOIN users u ON u.id = r.user_id \
                 WHERE gy.group_id = $1 AND gy.year = $2 AND m.role = 'head'",
                vec![(*g).into(), (*y).into()],
            )
            .await?;
        if let Some((u,)) = r {
            out.push(u);
        }
    }
    tx.rollback().await?;
    db.close().await;
    Ok(out)
}

pub async fn run(bin: &Path, db_path: &Path, dir: &Path, cfg: Config) -> Res<P1> {
    let officers = officers(db_path, cfg.clients).await?;
    let mut server = Server::start(bin, db_path, dir, "p1").await?;
    let addr = server.addr;
    let names: Vec<String> = officers.iter().map(|o| o.username.clone()).collect();
    let sessions = http::login_all(addr, &names, PASSWORD).await?;
    let pages: Vec<(String, Option<String>)> = officers
        .iter()
        .zip(&sessions)
        .map(|(o, s)| {
            (format!("/cum-khoi/{}/nam/{}/tu-cham/{}", o.group_id, o.year, o.unit_id), Some(s.cookie.clone()))
        })
        .collect();
    let mut c = Client::connect(addr).await?;
    let first = c.get(&pages[0].0, pages[0].1.as_deref()).await?;
    if first.status != StatusCode::OK {
        return Err(BenchError(format!("P1: {} answers HTTP {}", pages[0].0, first.status)));
    }
    same_when_compressed(addr, &pages[0].0, pages[0].1.as_deref(), &first.body).await?;
    let statics: Vec<(String, Option<String>)> =
        (0..cfg.clients).map(|_| ("/static/app.css".to_string(), None)).collect();
    eprintln!("  P1: /static/app.css, {} clients, {} s", cfg.clients, cfg.secs);
    let static_load = hammer(&server, statics.clone(), cfg.secs, true).await?;
    let me: Vec<(String, Option<String>)> = pages.iter().map(|(_, c)| ("/api/v1/me".to_string(), c.clone())).collect();
    eprintln!("  P1: self-assessment page, {} clients, {} s", cfg.clients, cfg.secs);
    let page = hammer(&server, pages.clone(), cfg.secs, true).await?;
    eprintln!("  P1: /api/v1/me (signed in), {} clients, {} s", cfg.clients, cfg.secs);
    let floor = hammer(&server, me, cfg.secs, true).await?;
    eprintln!("  P1: /static/app.css and the page without compression, {} clients, {} s each", cfg.clients, cfg.secs);
    let static_plain = hammer(&server, statics, cfg.secs, false).await?;
    let page_plain = hammer(&server, pages, cfg.secs, false).await?;

    // the head unit's review table, if the server has it
    let mut groups: Vec<(i64, i32)> = officers.iter().map(|o| (o.group_id, o.year)).collect();
    groups.dedup();
    let heads = head_officers(db_path, &groups).await?;
    let review = match heads.first() {
        None => Err("chưa có (không tìm thấy đơn vị trưởng)".to_string()),
        Some(h) => {
            let s = http::login(&mut c, h, PASSWORD).await?;
            let (g, y) = groups[0];
            let path = format!("/cum-khoi/{g}/nam/{y}/tong-hop");
            let r = c.get(&path, Some(&s.cookie)).await?;
            if r.status == StatusCode::OK {
                let mut targets = Vec::new();
                let head_sessions = http::login_all(addr, &heads, PASSWORD).await?;
                for i in 0..cfg.clients {
                    let k = i % heads.len();
                    let (g, y) = groups[k];
                    targets.push((format!("/cum-khoi/{g}/nam/{y}/tong-hop"), Some(head_sessions[k].cookie.clone())));
                }
                eprintln!("  P1: head review table, {} clients, {} s", cfg.clients, cfg.secs);
                Ok(hammer(&server, targets, cfg.secs, true).await?)
            } else {
                Err(format!("chưa có (GET {path} trả về HTTP {})", r.status.as_u16()))
            }
        }
    };
    server.kill();
    Ok(P1 { clients: cfg.clients, secs: cfg.secs, static_load, page, floor, review, static_plain, page_plain })
}

/// Asks `path` as a browser does: the answer must be gzip-compressed and, decompressed, be `plain`.
async fn same_when_compressed(addr: std::net::SocketAddr, path: &str, cookie: Option<&str>, plain: &[u8]) -> Res<()> {
    let mut b = Client::browser(addr).await?;
    let r = b.get(path, cookie).await?;
    let gzip = r.headers.get(hyper::header::CONTENT_ENCODING).is_some_and(|v| v == "gzip");
    if r.status != StatusCode::OK || !gzip {
        return Err(BenchError(format!(
            "P1: {path} asked with Accept-Encoding answers HTTP {} (gzip: {gzip})",
            r.status
        )));
    }
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut text)
        .map_err(|e| BenchError(format!("P1: {path}: not gzip ({e})")))?;
    if text != plain {
        return Err(BenchError(format!("P1: {path} decompressed is not the page sent without compression")));
    }
    Ok(())
}
