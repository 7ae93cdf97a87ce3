//! Settings: built-in defaults, then `thidua.toml` (in the working directory,
//! or the file named by `--config` / `THIDUA_CONFIG`), then `THIDUA_*`
//! environment variables, each layer overriding the one before.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::Failure;

/// The configuration file looked for in the working directory.
pub const DEFAULT_FILE: &str = "thidua.toml";

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Everything the binary can be configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on, `host:port`.
    pub listen: String,
    /// `sqlite://path/to/file.db` or `postgres://…`.
    pub database_url: String,
    /// The most connections a server opens to the database (none: 8 on
    /// SQLite, 16 on PostgreSQL). With several servers on one PostgreSQL,
    /// their sum must stay under its `max_connections`.
    pub database_max_connections: Option<u32>,
    /// How long a request waits for a free connection before it fails, in seconds.
    pub database_acquire_timeout_seconds: u64,
    /// Where uploaded files live.
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    /// Served over TLS (at a reverse proxy): cookies get `Secure`, responses get HSTS.
    #[serde(deserialize_with = "figment::util::bool_from_str_or_int")]
    pub tls: bool,
    /// Take the client address from X-Forwarded-For (only behind a trusted proxy).
    #[serde(deserialize_with = "figment::util::bool_from_str_or_int")]
    pub trust_forwarded: bool,
    /// Send the self-assessment sheet gzip-compressed to browsers that accept it (ADR 0004).
    #[serde(deserialize_with = "figment::util::bool_from_str_or_int")]
    pub compress_pages: bool,
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: i64,
    /// A session ends this many hours after login, whatever the activity.
    pub session_absolute_hours: i64,
    /// Largest request body, in megabytes.
    pub body_limit_mb: u64,
    /// Password checks refused after this many recent failures of one account...
    pub login_failures_per_account: i64,
    /// ... or of one client address (an office behind one NAT shares it).
    pub login_failures_per_ip: i64,
    /// How far back failures count, in minutes.
    pub login_throttle_minutes: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/thidua.db".into(),
            database_max_connections: None,
            database_acquire_timeout_seconds: 15,
            data_dir: "data".into(),
            log_format: LogFormat::Text,
            tls: false,
            trust_forwarded: false,
            compress_pages: true,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            body_limit_mb: 12,
            login_failures_per_account: 5,
            login_failures_per_ip: 50,
            login_throttle_minutes: 15,
        }
    }
}

/// The keys read from `THIDUA_*` variables (others, such as THIDUA_CONFIG, are not settings).
const ENV_KEYS: &[&str] = &[
    "listen",
    "database_url",
    "database_max_connections",
    "database_acquire_timeout_seconds",
    "data_dir",
    "log_format",
    "tls",
    "trust_forwarded",
    "compress_pages",
    "session_idle_minutes",
    "session_absolute_hours",
    "body_limit_mb",
    "login_failures_per_account",
    "login_failures_per_ip",
    "login_throttle_minutes",
];

impl Settings {
    /// The layers, without reading them yet. `file` is the file named on the
    /// command line or in THIDUA_CONFIG; it must exist. Without it,
    /// `thidua.toml` in the working directory is read when present.
    pub fn figment(file: Option<&Path>) -> Result<Figment, Failure> {
        let mut f = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(p) => {
                if !p.is_file() {
                    return Err(Failure::msg(format!("Không tìm thấy tệp cấu hình \"{}\".", p.display())));
                }
                f = f.merge(Toml::file_exact(p));
            }
            None => {
                if Path::new(DEFAULT_FILE).is_file() {
                    f = f.merge(Toml::file_exact(DEFAULT_FILE));
                }
            }
        }
        Ok(f.merge(Env::prefixed("THIDUA_").only(ENV_KEYS)))
    }

    /// Reads and checks the settings.
    pub fn load(file: Option<&Path>) -> Result<Settings, Failure> {
        Settings::from_figment(Settings::figment(file)?)
    }

    pub fn from_figment(f: Figment) -> Result<Settings, Failure> {
        let s: Settings = f.extract().map_err(|e| {
            let mut lines = vec!["Cấu hình không hợp lệ:".to_string()];
            lines.extend(e.into_iter().map(|e| format!("  - {e}")));
            Failure::msg(lines.join("\n"))
        })?;
        s.check()?;
        Ok(s)
    }

    /// Checks the values that serde cannot.
    pub fn check(&self) -> Result<(), Failure> {
        let mut bad = Vec::new();
        if self.listen.trim().is_empty() {
            bad.push("listen: cần một địa chỉ dạng máy:cổng, ví dụ 127.0.0.1:8080.".to_string());
        }
        if thidua_db::Backend::of_url(&self.database_url).is_none() {
            bad.push(format!(
                "database_url: \"{}\" không hợp lệ; dùng sqlite://đường/dẫn.db hoặc postgres://…",
                self.database_url
            ));
        }
        if self.database_max_connections.is_some_and(|n| !(1..=1000).contains(&n)) {
            bad.push("database_max_connections: phải từ 1 đến 1000 kết nối.".into());
        }
        if !(1..=600).contains(&self.database_acquire_timeout_seconds) {
            bad.push("database_acquire_timeout_seconds: phải từ 1 đến 600 giây.".into());
        }
        if !(1..=24 * 60).contains(&self.session_idle_minutes) {
            bad.push("session_idle_minutes: phải từ 1 đến 1440 phút.".into());
        }
        if !(1..=24 * 30).contains(&self.session_absolute_hours) {
            bad.push("session_absolute_hours: phải từ 1 đến 720 giờ.".into());
        }
        if !(1..=1024).contains(&self.body_limit_mb) {
            bad.push("body_limit_mb: phải từ 1 đến 1024 MB.".into());
        }
        if !(1..=100).contains(&self.login_failures_per_account) {
            bad.push("login_failures_per_account: phải từ 1 đến 100 lần.".into());
        }
        if !(1..=100_000).contains(&self.login_failures_per_ip) {
            bad.push("login_failures_per_ip: phải từ 1 đến 100000 lần.".into());
        }
        if !(1..=24 * 60).contains(&self.login_throttle_minutes) {
            bad.push("login_throttle_minutes: phải từ 1 đến 1440 phút.".into());
        }
        if bad.is_empty() {
            Ok(())
        } else {
            let mut lines = vec!["Cấu hình không hợp lệ:".to_string()];
            lines.extend(bad.into_iter().map(|b| format!("  - {b}")));
            Err(Failure::msg(lines.join("\n")))
        }
    }

    /// The database pool's settings.
    pub fn pool_options(&self) -> thidua_db::PoolOptions {
        thidua_db::PoolOptions {
            max_connections: self.database_max_connections,
            acquire_timeout: std::time::Duration::from_secs(self.database_acquire_timeout_seconds),
        }
    }

    /// The web layer's settings.
    pub fn web_config(&self) -> thidua_web::WebConfig {
        thidua_web::WebConfig {
            tls: self.tls,
            idle_timeout: chrono::Duration::minutes(self.session_idle_minutes),
            absolute_timeout: chrono::Duration::hours(self.session_absolute_hours),
            body_limit: usize::try_from(self.body_limit_mb).unwrap_or(12).saturating_mul(1024 * 1024),
            trust_forwarded: self.trust_forwarded,
            compress_pages: self.compress_pages,
            data_dir: self.data_dir.clone(),
            max_failures_per_account: self.login_failures_per_account,
            max_failures_per_ip: self.login_failures_per_ip,
            throttle_window: chrono::Duration::minutes(self.login_throttle_minutes),
            ..thidua_web::WebConfig::default()
        }
    }
}

/// The file of a `sqlite:` URL (None for PostgreSQL and in-memory databases).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Creates the directory of a SQLite database file if it is missing.
pub fn ensure_sqlite_dir(url: &str) -> Result<(), Failure> {
    if let Some(parent) = sqlite_path(url).as_deref().and_then(Path::parent)
        && !parent.as_os_str().is_empty()
        && !parent.exists()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            Failure::msg(format!("Không tạo được thư mục \"{}\" cho cơ sở dữ liệu: {e}.", parent.display()))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file() {
        let s = Settings::from_figment(Figment::from(Serialized::defaults(Settings::default()))).unwrap();
        assert_eq!(s, Settings::default());
        let f = Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(
            "listen = \"0.0.0.0:9000\"\ntls = true\nlog_format = \"json\"\nsession_idle_minutes = 45",
        ));
        let s = Settings::from_figment(f).unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000");
        assert!(s.tls);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.session_idle_minutes, 45);
        assert_eq!(s.database_url, "sqlite://data/thidua.db");
        let w = s.web_config();
        assert_eq!(w.idle_timeout, chrono::Duration::minutes(45));
        assert_eq!(w.body_limit, 12 * 1024 * 1024);
        assert_eq!((w.max_failures_per_account, w.max_failures_per_ip), (5, 50));
        // a large office behind one address
        let f = Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(
            "login_failures_per_ip = 400
login_throttle_minutes = 10",
        ));
        let w = Settings::from_figment(f).unwrap().web_config();
        assert_eq!((w.max_failures_per_ip, w.throttle_window), (400, chrono::Duration::minutes(10)));
        // compressed sheets: on unless turned off
        assert!(Settings::default().web_config().compress_pages);
        let f = Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string("compress_pages = false"));
        assert!(!Settings::from_figment(f).unwrap().web_config().compress_pages);
        // the pool: the backend's own size unless set, and the wait
        assert_eq!(Settings::default().pool_options(), thidua_db::PoolOptions::default());
        let f = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string("database_max_connections = 40\ndatabase_acquire_timeout_seconds = 5"));
        let p = Settings::from_figment(f).unwrap().pool_options();
        assert_eq!((p.max_connections, p.acquire_timeout), (Some(40), std::time::Duration::from_secs(5)));
    }

    #[test]
    fn bad_values_are_reported_in_vietnamese() {
        let f = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string("database_url = \"mysql://x\"\nbody_limit_mb = 0"));
        let e = Settings::from_figment(f).unwrap_err();
        assert!(e.to_string().contains("Cấu hình không hợp lệ"));
        assert!(e.to_string().contains("body_limit_mb"));
        let f = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string("login_failures_per_account = 0"));
        let e = Settings::from_figment(f).unwrap_err();
        assert!(e.to_string().contains("login_failures_per_account: phải từ 1 đến 100 lần."), "{e}");
        let f = Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string("log_format = \"xml\""));
        assert!(Settings::from_figment(f).is_err());
        let f = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string("database_max_connections = 0\ndatabase_acquire_timeout_seconds = 0"));
        let e = Settings::from_figment(f).unwrap_err().to_string();
        assert!(e.contains("database_max_connections: phải từ 1 đến 1000 kết nối."), "{e}");
        assert!(e.contains("database_acquire_timeout_seconds: phải từ 1 đến 600 giây."), "{e}");
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://data/thidua.db"), Some(PathBuf::from("data/thidua.db")));
        assert_eq!(sqlite_path("sqlite:///tmp/a.db?mode=rwc"), Some(PathBuf::from("/tmp/a.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://localhost/x"), None);
    }
}
