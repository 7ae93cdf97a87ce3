//! Fresh databases for the test suites of every crate. With `THIDUA_TEST_POSTGRES` naming a server (for example
//! `postgres://postgres@127.0.0.1:5432`), a test gets a database of its own
//! on it, dropped when the handle is dropped, even after a panic. If the
//! variable is set and the server cannot be reached, the test fails: it never
//! silently falls back to SQLite.

use crate::Db;

/// The variable that names the PostgreSQL server for tests.
pub const ENV: &str = "THIDUA_TEST_POSTGRES";

/// A PostgreSQL database made for one test.
#[derive(Debug)]
pub struct PgDatabase {
    /// The server's URL without a database name.
    pub base: String,
    pub name: String,
}

fn unique() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    hex::encode(b)
}

/// The server named by [`ENV`], if set.
pub fn server() -> Option<String> {
    std::env::var(ENV).ok().map(|s| s.trim().trim_end_matches('/').to_string()).filter(|s| !s.is_empty())
}

impl PgDatabase {
    /// Creates `<prefix>_<random>` on the server named by [`ENV`]; None when
    /// the variable is not set. Panics when the server cannot be reached.
    pub async fn create(prefix: &str) -> Option<PgDatabase> {
        let base = server()?;
        let name = format!("{prefix}_{}", unique());
        let admin = Db::connect(&format!("{base}/postgres"))
            .await
            .unwrap_or_else(|e| panic!("{ENV} is set but PostgreSQL at {base} is unreachable: {e}"));
        if let Db::Postgres(p) = &admin {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(p)
                .await
                .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        }
        admin.close().await;
        Some(PgDatabase { base, name })
    }

    pub fn url(&self) -> String {
        format!("{}/{}", self.base, self.name)
    }

    /// Connects and applies the migrations.
    pub async fn migrated(&self) -> Db {
        let db = Db::connect(&self.url()).await.expect("connect to the test database");
        db.migrate().await.expect("migrate the test database");
        db
    }

    async fn drop_database(base: &str, name: &str) -> Result<(), String> {
        let admin = Db::connect(&format!("{base}/postgres")).await.map_err(|e| e.to_string())?;
        let mut res = Ok(());
        if let Db::Postgres(p) = &admin {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            res = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(p).await.map(|_| ()).map_err(|e| e.to_string());
        }
        admin.close().await;
        res
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // Drop may run inside a runtime: do the async work on a thread of its own.
        let res = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(PgDatabase::drop_database(&base, &name))
        })
        .join();
        if !matches!(res, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}: {res:?}", self.name);
        }
    }
}

/// A migrated SQLite database in a temporary directory, removed on drop.
#[derive(Debug)]
pub struct SqliteDatabase {
    pub dir: std::path::PathBuf,
}

impl SqliteDatabase {
    pub fn new(prefix: &str) -> SqliteDatabase {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", unique()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        SqliteDatabase { dir }
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}", self.dir.join("thidua.db").display())
    }

    pub async fn migrated(&self) -> Db {
        let db = Db::connect(&self.url()).await.expect("open the test database");
        db.migrate().await.expect("migrate the test database");
        db
    }
}

impl Drop for SqliteDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh, migrated database: PostgreSQL when [`ENV`] is set, else SQLite.
/// Keep the returned guard alive as long as the database is used.
pub async fn fresh(prefix: &str) -> (Db, Guard) {
    match PgDatabase::create(prefix).await {
        Some(pg) => (pg.migrated().await, Guard::Postgres(pg)),
        None => {
            let s = SqliteDatabase::new(prefix);
            (s.migrated().await, Guard::Sqlite(s))
        }
    }
}

/// Removes a test database when dropped.
#[derive(Debug)]
pub enum Guard {
    Sqlite(SqliteDatabase),
    Postgres(PgDatabase),
}
