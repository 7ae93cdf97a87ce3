//! The application under test: the demo database (a temporary SQLite file, or
//! a fresh PostgreSQL database when THIDUA_TEST_POSTGRES names a server) and
//! the real router, served in-process on 127.0.0.1 on a free port.

use std::net::SocketAddr;

use tempfile::TempDir;
use thidua_app::demo::DemoAccount;
use thidua_db::Db;
use thidua_web::{AppState, WebConfig};
use tokio::task::JoinHandle;

/// A PostgreSQL database made for one test, dropped at the end.
struct PgDatabase {
    /// The server's URL without a database name.
    base: String,
    name: String,
}

impl PgDatabase {
    async fn drop_database(&self) -> Result<(), String> {
        let admin = Db::connect(&format!("{}/postgres", self.base)).await.map_err(|e| e.to_string())?;
        let mut res = Ok(());
        if let Db::Postgres(p) = &admin {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            res = thidua_db::sqlx::query(thidua_db::sqlx::AssertSqlSafe(sql)).execute(p).await.map(|_| ());
        }
        admin.close().await;
        res.map_err(|e| e.to_string())
    }
}

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
        let (db, accounts, pg) = match std::env::var("THIDUA_TEST_POSTGRES") {
            Ok(base) if !base.trim().is_empty() => {
                let base = base.trim().trim_end_matches('/').to_string();
                let name = format!("thidua_e2e_{}", crate::unique());
                let admin = Db::connect(&format!("{base}/postgres"))
                    .await
                    .unwrap_or_else(|e| panic!("THIDUA_TEST_POSTGRES is set but PostgreSQL is unreachable: {e}"));
                if let Db::Postgres(p) = &admin {
                    thidua_db::sqlx::query(thidua_db::sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                        .execute(p)
                        .await
                        .unwrap_or_else(|e| panic!("cannot create the database {name}: {e}"));
                }
                admin.close().await;
                let pg = PgDatabase { base: base.clone(), name: name.clone() };
                let db = Db::connect(&format!("{base}/{name}")).await.expect("connect to the new database");
                db.migrate().await.expect("migrate");
                let accounts = thidua_app::demo::load(&db).await.unwrap_or_else(|e| panic!("demo data: {e:?}"));
                (db, accounts, Some(pg))
            }
            _ => {
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

    /// Stops serving, closes the pool and drops a PostgreSQL database.
    pub async fn finish(mut self) {
        self.task.abort();
        self.db.close().await;
        if let Some(pg) = self.pg.take() {
            pg.drop_database().await.unwrap_or_else(|e| panic!("cannot drop the database {}: {e}", pg.name));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        // Only after a panic: drop the test database from a thread of its own,
        // with its own runtime, since this one may be shutting down.
        if let Some(pg) = self.pg.take() {
            let done = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(pg.drop_database()).err()
            })
            .join();
            if let Ok(Some(e)) = done {
                eprintln!("could not drop the test database: {e}");
            }
        }
    }
}
