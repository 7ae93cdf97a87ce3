//! Chromium through chromedriver: the driver process (started on a free port,
//! killed with everything it started when dropped) and a small page helper
//! whose methods panic with the current URL when something is missing.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;

pub const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// How long to wait for chromedriver to answer, and for an element to appear.
const DRIVER_START: Duration = Duration::from_secs(30);
const ELEMENT_WAIT: Duration = Duration::from_secs(10);

/// The path of a required program: the environment variable if set, else the
/// default. Panics with what to install when it is missing.
fn required_program(var: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| default.into());
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => path,
        Ok(_) => panic!(
            "browser tests: {} is not an executable file. Set {var} to the right path, or install \
             Debian's package: apt-get install {package}",
            path.display()
        ),
        Err(e) => panic!(
            "browser tests: {} not found ({e}). The browser tests need Chromium and chromedriver: \
             install Debian's packages (apt-get install chromium chromium-driver) or set {var} \
             to the program's path.",
            path.display()
        ),
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// A GET to chromedriver over plain HTTP/1.1 (no client library): the
/// response's head and body, or None when it does not answer.
fn driver_get(port: u16, path: &str, wait: Duration) -> Option<(String, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(wait)).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).ok()?;
    // chromedriver keeps the connection open despite "Connection: close": read
    // until the body announced by Content-Length is in, or the time is up
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return split_response(&buf),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some((head, body)) = split_response(&buf)
            && content_length(&head).is_some_and(|n| body.len() >= n)
        {
            return Some((head, body));
        }
    }
}

/// Whether chromedriver's `/status` says it is ready for a session.
fn driver_ready(port: u16) -> bool {
    let Some((head, body)) = driver_get(port, "/status", Duration::from_secs(2)) else {
        return false;
    };
    // the JSON object, whatever the transfer encoding around it
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if a < b => &body[a..=b],
        _ => return false,
    };
    head.starts_with("HTTP/1.1 200")
        && serde_json::from_str::<serde_json::Value>(json).is_ok_and(|v| v["value"]["ready"] == json!(true))
}

/// The head and body of an HTTP response, once the head is complete.
fn split_response(buf: &[u8]) -> Option<(String, String)> {
    let at = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((String::from_utf8_lossy(&buf[..at]).into_owned(), String::from_utf8_lossy(&buf[at + 4..]).into_owned()))
}

fn content_length(head: &str) -> Option<usize> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok()).flatten()
    })
}

/// The tail of a log file, for failure messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A chromedriver process of our own. Dropping it kills its process group:
/// chromedriver and the Chromium it started.
pub struct Chromedriver {
    child: Child,
    port: u16,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    log: PathBuf,
    _dir: TempDir,
}

impl Chromedriver {
    /// Starts `/usr/bin/chromedriver` (or `CHROMEDRIVER`) on a free port and
    /// waits until its `/status` says it is ready.
    pub fn start() -> Chromedriver {
        let exe = required_program("CHROMEDRIVER", DEFAULT_CHROMEDRIVER, "chromium-driver");
        let dir = tempfile::Builder::new().prefix("thidua-e2e-driver-").tempdir().expect("temporary directory");
        let log = dir.path().join("chromedriver.log");
        let out = File::create(&log).expect("chromedriver log file");
        let err = out.try_clone().expect("chromedriver log file");
        let port = free_port();
        let child = Command::new(&exe)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // its own process group, so that Drop can end Chromium too
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("browser tests: cannot start {}: {e}", exe.display()));
        let mut driver = Chromedriver { child, port, url: format!("http://127.0.0.1:{port}"), log, _dir: dir };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("browser tests: chromedriver exited at start ({status}). Its output:\n{}", tail(&driver.log));
            }
            if driver_ready(port) {
                return driver;
            }
            if started.elapsed() > DRIVER_START {
                panic!(
                    "browser tests: chromedriver did not answer on port {port} within {}s. Its output:\n{}",
                    DRIVER_START.as_secs(),
                    tail(&driver.log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The end of chromedriver's output, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // First politely: chromedriver's /shutdown quits its browsers (and reaps
        // them) and exits. Then, whatever is left of the group, by force.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = driver_get(self.port, "/shutdown", Duration::from_secs(5));
            let asked = Instant::now();
            while matches!(self.child.try_wait(), Ok(None)) && asked.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals the process group we created
            // for chromedriver at spawn (pgid = its pid); it touches no memory.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Chromium session on a fresh profile, and the server's base URL.
pub struct Browser {
    pub client: Client,
    base: String,
    // dropped in this order: the driver (and its Chromium) before the profile
    driver: Chromedriver,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium (1280×900) for the server at `base`.
    pub async fn start(base: &str) -> Browser {
        let chromium = required_program("CHROMIUM", DEFAULT_CHROMIUM, "chromium");
        let driver = Chromedriver::start();
        let profile = tempfile::Builder::new().prefix("thidua-e2e-profile-").tempdir().expect("temporary directory");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            format!("--user-data-dir={}", profile.path().display()),
            "--window-size=1280,900".into(),
        ];
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), json!({ "binary": chromium.to_string_lossy(), "args": args }));
        let client =
            ClientBuilder::new(HttpConnector::new()).capabilities(caps).connect(&driver.url).await.unwrap_or_else(
                |e| {
                    panic!(
                        "browser tests: chromedriver could not start {}: {e}. chromedriver's output:\n{}",
                        chromium.display(),
                        driver.log_tail()
                    )
                },
            );
        Browser { client, base: base.trim_end_matches('/').to_string(), driver, _profile: profile }
    }

    /// Where the browser is, for messages.
    pub async fn url(&self) -> String {
        self.client.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("(unknown URL: {e})"))
    }

    /// The path (and query) the browser is on.
    pub async fn path(&self) -> String {
        match self.client.current_url().await {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            },
            Err(e) => panic!("cannot read the current URL: {e}"),
        }
    }

    /// Opens a path of the server.
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.client.goto(&url).await.unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The first element matching `css`, waiting for it a little.
    pub async fn find(&self, css: &str) -> Element {
        match self.client.wait().at_most(ELEMENT_WAIT).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => {
                panic!("no element \"{css}\" on {} ({e}). The page says:\n{}", self.url().await, self.body().await)
            }
        }
    }

    /// Every element matching `css` now (no waiting).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find_all {css}: {e}"))
    }

    /// Whether an element matches `css` now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// The visible text of the first element matching `css`.
    /// An element found just before a navigation may be gone by the time its
    /// text is read: then it is looked up again, a few times.
    pub async fn text(&self, css: &str) -> String {
        let mut last = String::new();
        for _ in 0..20 {
            let e = self.find(css).await;
            match e.text().await {
                Ok(t) => return t,
                Err(err) => {
                    last = err.to_string();
                    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                }
            }
        }
        panic!("text of {css}: {last}")
    }

    /// The visible texts of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            out.push(e.text().await.unwrap_or_else(|err| panic!("text of {css}: {err}")));
        }
        out
    }

    /// The page's visible text (empty if there is no body).
    pub async fn body(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Replaces the value of an input.
    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap_or_else(|err| panic!("clear {css}: {err}"));
        e.send_keys(value).await.unwrap_or_else(|err| panic!("type into {css}: {err}"));
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        if let Err(err) = e.click().await {
            panic!("click {css} on {}: {err}", self.url().await);
        }
    }

    /// Clicks the link whose text is exactly `text`.
    pub async fn click_link(&self, text: &str) {
        let e = match self.client.wait().at_most(ELEMENT_WAIT).for_element(Locator::LinkText(text)).await {
            Ok(e) => e,
            Err(err) => {
                panic!("no link \"{text}\" on {} ({err}). The page says:\n{}", self.url().await, self.body().await)
            }
        };
        e.click().await.unwrap_or_else(|err| panic!("click the link \"{text}\": {err}"));
    }

    /// Waits until the browser is on `path` (without query), or panics.
    pub async fn wait_for_path(&self, path: &str) {
        let started = Instant::now();
        loop {
            let now = self.client.current_url().await.map(|u| u.path().to_string()).unwrap_or_default();
            if now == path {
                return;
            }
            if started.elapsed() > ELEMENT_WAIT {
                panic!(
                    "expected to reach {path}, still on {}. The page says:\n{}",
                    self.url().await,
                    self.body().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs in through the login page and waits for the page after it.
    pub async fn login(&self, username: &str, password: &str) {
        self.goto("/dang-nhap").await;
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.click("form[action=\"/dang-nhap\"] button[type=submit]").await;
        let started = Instant::now();
        while self.path().await.starts_with("/dang-nhap") {
            if started.elapsed() > ELEMENT_WAIT {
                panic!("login as {username} did not leave the login page. The page says:\n{}", self.body().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs out with the header's "Đăng xuất" button and waits for the login page.
    pub async fn logout(&self) {
        let button =
            match self.client.find(Locator::XPath("//header//form//button[normalize-space()='Đăng xuất']")).await {
                Ok(b) => b,
                Err(e) => panic!("no \"Đăng xuất\" button on {} ({e})", self.url().await),
            };
        button.click().await.unwrap_or_else(|e| panic!("click \"Đăng xuất\": {e}"));
        self.wait_for_path("/dang-nhap").await;
    }

    /// Chooses the option whose value is `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        if let Err(err) = e.select_by_value(value).await {
            panic!("choose {value:?} in {css} on {}: {err}", self.url().await);
        }
    }

    /// The current value of the input or select matching `css`.
    pub async fn value(&self, css: &str) -> String {
        let e = self.find(css).await;
        e.prop("value").await.unwrap_or_else(|err| panic!("value of {css}: {err}")).unwrap_or_default()
    }

    /// Puts a file into the `<input type=file>` matching `css`: chromedriver
    /// takes the file's absolute path as the keys typed into it.
    pub async fn upload(&self, css: &str, file: &Path) {
        let path = std::fs::canonicalize(file).unwrap_or_else(|e| panic!("upload {}: {e}", file.display()));
        let e = self.find(css).await;
        if let Err(err) = e.send_keys(&path.to_string_lossy()).await {
            panic!("put {} into {css} on {}: {err}", path.display(), self.url().await);
        }
    }

    /// Checks (or unchecks) the checkbox matching `css`.
    pub async fn set_checked(&self, css: &str, checked: bool) {
        let e = self.find(css).await;
        let now = e.is_selected().await.unwrap_or_else(|err| panic!("is {css} checked: {err}"));
        if now != checked {
            e.click().await.unwrap_or_else(|err| panic!("click {css}: {err}"));
        }
    }

    /// Marks the current document, so that [`Browser::wait_for_new_page`] can
    /// tell when another one has replaced it.
    async fn mark_page(&self) {
        let mark = "document.documentElement.setAttribute('data-e2e-old', '1');";
        if let Err(e) = self.client.execute(mark, vec![]).await {
            panic!("mark the page {}: {e}", self.url().await);
        }
    }

    /// Waits until the document marked by `mark_page` is replaced by a new,
    /// fully loaded one.
    async fn wait_for_new_page(&self, what: &str) {
        let check = "return document.readyState === 'complete' \
                     && !document.documentElement.hasAttribute('data-e2e-old');";
        let started = Instant::now();
        loop {
            // while the page changes the script may fail: then it is tried again
            if let Ok(v) = self.client.execute(check, vec![]).await
                && v == json!(true)
            {
                return;
            }
            if started.elapsed() > ELEMENT_WAIT {
                panic!(
                    "{what}: no new page after {}s, still on {}. The page says:\n{}",
                    ELEMENT_WAIT.as_secs(),
                    self.url().await,
                    self.body().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the (submit) button matching `css` and waits for the page that answers.
    pub async fn submit(&self, css: &str) {
        self.mark_page().await;
        self.click(css).await;
        self.wait_for_new_page(&format!("after clicking {css}")).await;
    }

    /// Clicks the submit button matching `css` of a form that asks for
    /// confirmation (`data-confirm`, shown by /static/app.js with
    /// `window.confirm`), accepts the dialog and waits for the page that
    /// answers. Returns the dialog's text.
    pub async fn submit_confirmed(&self, css: &str) -> String {
        self.mark_page().await;
        self.click(css).await;
        let started = Instant::now();
        let text = loop {
            match self.client.get_alert_text().await {
                Ok(t) => break t,
                Err(e) if started.elapsed() > ELEMENT_WAIT => {
                    panic!("clicking {css} on {} opened no confirmation dialog ({e})", self.url().await)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        self.client.accept_alert().await.unwrap_or_else(|e| panic!("accept the dialog {text:?}: {e}"));
        self.wait_for_new_page(&format!("after confirming {text:?}")).await;
        text
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// The end of chromedriver's output, for failure messages.
    pub fn driver_log(&self) -> String {
        self.driver.log_tail()
    }

    /// Ends the session, then chromedriver and Chromium.
    pub async fn close(self) {
        let Browser { client, base: _, driver, _profile } = self;
        let _ = client.close().await;
        drop(driver);
        drop(_profile);
    }
}
