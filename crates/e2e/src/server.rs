//! The application under test: the demo database (a temporary SQLite file, or
//! a fresh PostgreSQL database when THIDUA_TEST_POSTGRES names a server) and
//! the real router, served in-process on 127.0.0.1 on a free port.

use std::net::SocketAddr;

use tempfile::TempDir;
use thidua_app::demo::DemoAccount;
use thidua_db::Db;
use thidua_db::testing::PgDatabase;
use thidua_web::{AppState, WebConfig};
use tokio::task::JoinHandle;

/// The running server. Call [`Server::finish`] at the end of a test; if the
/// test panics first, `Drop` still stops the server and drops a PostgreSQL
/// database.
pub struct Server {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    pub db: Db,
    /// The demo accounts, as the loader returned them.
    pub accounts: Vec<DemoAccount>,
    task: JoinHandle<()>,
    pg: Option<PgDatabase>,
    /// The SQLite file (if any) and uploaded files.
    _dir: TempDir,
}

impl Server {
    /// Builds the demo database and starts serving it.
    pub async fn start() -> Server {
        let dir = tempfile::Builder::new().prefix("thidua-e2e-").tempdir().expect("temporary directory");
        let (db, accounts, pg) = match PgDatabase::create("thidua_e2e").await {
            Some(pg) => {
                let db = pg.migrated().await;
                let accounts = thidua_app::demo::load(&db).await.unwrap_or_else(|e| panic!("demo data: {e:?}"));
                (db, accounts, Some(pg))
            }
            None => {
                let (db, _url, accounts) = thidua_app::commands::prepare_demo(dir.path())
                    .await
                    .unwrap_or_else(|f| panic!("prepare_demo failed: {f}"));
                (db, accounts, None)
            }
        };
        assert!(!accounts.is_empty(), "the demo loader returned no account");
        match &pg {
            Some(pg) => eprintln!("e2e: demo database on PostgreSQL: {}", pg.name),
            None => eprintln!("e2e: demo database on SQLite in {}", dir.path().display()),
        }

        let cfg = WebConfig {
            data_dir: dir.path().to_path_buf(),
            demo_accounts: accounts.iter().map(|a| (a.username.clone(), a.password.clone(), a.role.clone())).collect(),
            ..WebConfig::default()
        };
        let router = thidua_web::router(AppState::new(db.clone(), cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .expect("the server stopped with an error");
        });
        Server { base: format!("http://{addr}"), db, accounts, task, pg, _dir: dir }
    }

    /// Whether the tests run on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// The full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops serving and closes the pool; the PostgreSQL database (if any) is
    /// dropped with the server.
    pub async fn finish(self) {
        self.task.abort();
        self.db.close().await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
