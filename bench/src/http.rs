//! The server under test (the release `thidua` binary, spawned on the
//! generated database) and a small keep-alive HTTP/1.1 client over hyper.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::{BenchError, Res};

/// A running `thidua serve`; killed (SIGKILL) when dropped.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

/// A free port on 127.0.0.1.
fn free_port() -> Res<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl Server {
    /// Starts the binary on the SQLite file, logs to `dir/server-NAME.log`,
    /// and waits until `/healthz` answers.
    pub async fn start(bin: &Path, db: &Path, dir: &Path, name: &str) -> Res<Server> {
        if !bin.is_file() {
            return Err(BenchError(format!(
                "{} not found: build it with `cargo build --release -p thidua-app`",
                bin.display()
            )));
        }
        let port = free_port()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().map_err(|e| BenchError(format!("{e}")))?;
        let log = dir.join(format!("server-{name}.log"));
        let out = std::fs::File::create(&log)?;
        let files = dir.join("files");
        std::fs::create_dir_all(&files)?;
        let child = Command::new(bin)
            .arg("serve")
            .current_dir(dir)
            .env("THIDUA_DATABASE_URL", format!("sqlite://{}", db.display()))
            .env("THIDUA_LISTEN", addr.to_string())
            .env("THIDUA_DATA_DIR", &files)
            .env_remove("THIDUA_CONFIG")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        eprintln!("  server pid {} on {addr}, log {}", child.id(), log.display());
        let mut s = Server { child: Some(child), addr, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(c) = s.child.as_mut()
                && let Some(status) = c.try_wait()?
            {
                return Err(BenchError(format!(
                    "the server exited ({status}) before answering; see {}",
                    s.log.display()
                )));
            }
            if let Ok(mut c) = Client::connect(addr).await
                && let Ok(r) = c.get("/healthz", None).await
                && r.status == StatusCode::OK
            {
                return Ok(s);
            }
            if Instant::now() > deadline {
                s.kill();
                return Err(BenchError(format!("the server did not answer in 60 s; see {}", s.log.display())));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// CPU seconds (user + system) the server process has used so far.
    pub fn cpu_secs(&self) -> f64 {
        let Some(c) = &self.child else { return 0.0 };
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", c.id())).unwrap_or_default();
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
        (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
    }

    /// SIGKILL: no graceful shutdown, nothing flushed that was not already durable.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A response, read whole.
pub struct Resp {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Res<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|e| {
            BenchError(format!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body[..self.body.len().min(300)])))
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of a cookie set by the response.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers.get_all(header::SET_COOKIE).iter().find_map(|v| {
            let first = v.to_str().ok()?.split(';').next()?;
            let (k, val) = first.split_once('=')?;
            (k.trim() == name).then(|| val.to_string())
        })
    }
}

/// What Chromium sends as `Accept-Encoding`.
pub const BROWSER_ENCODINGS: &str = "gzip, deflate, br, zstd";

/// One keep-alive connection; reconnects if the server closed it.
pub struct Client {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
    /// `Accept-Encoding`, if any; the body is kept as it came (not decompressed).
    accept_encoding: Option<&'static str>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Res<Client> {
        let sender = Self::open(addr).await?;
        Ok(Client { addr, sender, accept_encoding: None })
    }

    /// A connection that asks as a browser does, for compressed answers.
    pub async fn browser(addr: SocketAddr) -> Res<Client> {
        let sender = Self::open(addr).await?;
        Ok(Client { addr, sender, accept_encoding: Some(BROWSER_ENCODINGS) })
    }

    async fn open(addr: SocketAddr) -> Res<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        csrf: Option<&str>,
        json: Option<&serde_json::Value>,
    ) -> Res<Resp> {
        if self.sender.is_closed() || self.sender.ready().await.is_err() {
            self.sender = Self::open(self.addr).await?;
        }
        let mut b = Request::builder().method(method).uri(path).header(header::HOST, self.addr.to_string());
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, format!("thidua_session={c}"));
        }
        if let Some(t) = csrf {
            b = b.header("x-csrf-token", t);
        }
        if let Some(e) = self.accept_encoding {
            b = b.header(header::ACCEPT_ENCODING, e);
        }
        let body = match json {
            Some(j) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(j.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let req = b.body(body).map_err(|e| BenchError(format!("request: {e}")))?;
        let resp = self.sender.send_request(req).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Resp { status: parts.status, headers: parts.headers, body })
    }

    pub async fn get(&mut self, path: &str, cookie: Option<&str>) -> Res<Resp> {
        self.send(Method::GET, path, cookie, None, None).await
    }
}

/// A signed-in user: the session cookie and the CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// Signs in through the JSON API (`POST /api/v1/session`).
pub async fn login(c: &mut Client, username: &str, password: &str) -> Res<Session> {
    let body = serde_json::json!({ "username": username, "password": password });
    let r = c.send(Method::POST, "/api/v1/session", None, None, Some(&body)).await?;
    if r.status != StatusCode::OK {
        return Err(BenchError(format!("login {username}: HTTP {} {}", r.status, r.text())));
    }
    let cookie = r.cookie("thidua_session").ok_or_else(|| BenchError(format!("login {username}: no cookie")))?;
    let csrf = r.json()?["csrf_token"].as_str().unwrap_or_default().to_string();
    Ok(Session { cookie, csrf })
}

/// Signs in many users, a few at a time (each login verifies an argon2 hash).
pub async fn login_all(addr: SocketAddr, usernames: &[String], password: &str) -> Res<Vec<Session>> {
    let workers = 4usize;
    let mut set = tokio::task::JoinSet::new();
    for w in 0..workers {
        let names: Vec<(usize, String)> =
            usernames.iter().cloned().enumerate().filter(|(i, _)| i % workers == w).collect();
        let password = password.to_string();
        set.spawn(async move {
            let mut c = Client::connect(addr).await?;
            let mut out = Vec::new();
            for (i, n) in names {
                out.push((i, login(&mut c, &n, &password).await?));
            }
            Ok::<_, BenchError>(out)
        });
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        all.extend(r.map_err(|e| BenchError(format!("join: {e}")))??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, s)| s).collect())
}

/// Latency percentiles, in milliseconds, of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}
