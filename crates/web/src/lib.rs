//! The web front ends: HTML pages and the JSON API `/api/v1`, two thin layers
//! over the same operations ([`ops`]). Handlers parse input into core types,
//! the operation asks the one policy, runs one transaction, and the handler
//! renders.

pub mod api;
pub mod auth;
pub mod error;
pub mod files;
pub mod gzip;
pub mod metrics;
pub mod middleware;
pub mod ops;
pub mod pages;
pub mod view;
pub mod years;

use std::sync::Arc;

use axum::Router;
use chrono::Duration;
use thidua_db::Db;

pub use error::{AppError, AppResult};

/// Settings of the web layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Cookies get `Secure` and responses get HSTS (set when served over TLS).
    pub tls: bool,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    /// Largest request body, bytes.
    pub body_limit: usize,
    pub throttle_window: Duration,
    pub max_failures_per_account: i64,
    pub max_failures_per_ip: i64,
    /// Take the client address from X-Forwarded-For (behind a trusted proxy).
    pub trust_forwarded: bool,
    /// Send the self-assessment sheet gzip-compressed to browsers that accept
    /// it (ADR 0004; `false` sends every page as it is).
    pub compress_pages: bool,
    /// Where uploaded files live.
    pub data_dir: std::path::PathBuf,
    /// Shown on the login page of a demo.
    pub demo_accounts: Vec<(String, String, String)>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            tls: false,
            idle_timeout: Duration::minutes(30),
            absolute_timeout: Duration::hours(12),
            body_limit: 12 * 1024 * 1024,
            throttle_window: Duration::minutes(15),
            max_failures_per_account: 5,
            max_failures_per_ip: 50,
            trust_forwarded: false,
            compress_pages: true,
            data_dir: "data".into(),
            demo_accounts: vec![],
        }
    }
}

/// What every handler shares, behind one pointer (a request clones it
/// several times). Servers keep no state of their own beyond per-process
/// metrics and copies that the database says are current before they are
/// used (group-years, sessions): everything else lives in the database.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub db: Db,
    pub cfg: Arc<WebConfig>,
    pub metrics: Arc<metrics::Metrics>,
    /// Loaded group-years of the score pages ([`years`]).
    pub years: Arc<years::Years>,
    /// Groups the self-assessment saves that arrive together into one commit
    /// on SQLite (`thidua_db::batch`).
    pub writes: thidua_db::batch::Batcher,
    /// The sessions this server has read ([`auth::KeptSessions`]).
    pub sessions: Arc<auth::KeptSessions>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(db: Db, cfg: WebConfig) -> Self {
        let writes = thidua_db::batch::Batcher::new(db.clone());
        Self::with_writes(db, cfg, writes)
    }

    /// With the saves grouped by `writes` (a test's own batch window).
    pub fn with_writes(db: Db, cfg: WebConfig, writes: thidua_db::batch::Batcher) -> Self {
        AppState(Arc::new(Shared {
            writes,
            db,
            cfg: Arc::new(cfg),
            metrics: Arc::new(metrics::Metrics::default()),
            years: Arc::new(years::Years::default()),
            sessions: Arc::new(auth::KeptSessions::default()),
        }))
    }
}

/// Facts about a request that every layer may need.
#[derive(Debug, Clone, Default)]
pub struct ReqMeta {
    pub request_id: String,
    pub ip: String,
    pub user_agent: String,
    pub path: String,
}

/// The whole application: pages, API, operations endpoints, and the layers.
pub fn router(state: AppState) -> Router {
    let app = Router::new()
        .merge(pages::routes())
        .nest("/api/v1", api::routes())
        .merge(middleware::ops_routes())
        .fallback(middleware::not_found);
    middleware::layers(app, state)
}
