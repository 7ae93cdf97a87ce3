//! Storage on SQLite or PostgreSQL behind one typed pool enum.
//! ([`testing`] gives the test suites of every crate fresh databases.)
//!
//! Each query is written once in portable SQL with `$1` placeholders and run
//! through [`Tx`], which binds our own [`Arg`] values on either backend. Only
//! where the SQL must differ does a function have two arms. Every user action
//! runs in one transaction; on SQLite a writing transaction starts with
//! `BEGIN IMMEDIATE` so that concurrent writers queue instead of failing late.

pub mod audit;
pub mod batch;
pub mod calendar;
pub mod documents;
pub mod hot;
pub mod inspection;
pub mod org;
pub mod scores;
pub mod scoring;
pub mod testing;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, Postgres, Sqlite, Transaction};

pub use sqlx;

/// A storage error. `Conflict` is a unique-constraint violation (the caller
/// turns it into a Vietnamese message); everything else is internal.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Sqlx(sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Other(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(db) = e.as_database_error()
            && db.is_unique_violation()
        {
            return DbError::Conflict(db.message().to_string());
        }
        DbError::Sqlx(e)
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, m) = &e
            && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
        {
            return DbError::Conflict(m.clone().unwrap_or_else(|| e.to_string()));
        }
        DbError::Other(format!("database error: {e}"))
    }
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The connection pool, on one backend or the other.
#[derive(Debug, Clone)]
pub enum Db {
    /// The pool, and the readers that answer the hottest reads on the
    /// calling thread ([`hot`]).
    Sqlite(SqlitePool, hot::Hot),
    Postgres(PgPool),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The size of a server's pool of connections, and how long a request
/// waits for one before it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// None: 8 on SQLite (one writer at a time; the readers of [`hot`] are
    /// apart), 16 on PostgreSQL.
    pub max_connections: Option<u32>,
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions { max_connections: None, acquire_timeout: Duration::from_secs(15) }
    }
}

impl Db {
    /// Opens a pool for `sqlite:PATH` or `postgres://…`. A SQLite file is
    /// created if missing, in WAL mode with foreign keys on and a busy timeout.
    pub async fn connect(url: &str) -> Result<Db> {
        Db::connect_with(url, PoolOptions::default()).await
    }

    /// [`Db::connect`] with a pool of the given size and wait.
    pub async fn connect_with(url: &str, pool: PoolOptions) -> Result<Db> {
        match Backend::of_url(url) {
            Some(Backend::Sqlite) => {
                let opts = SqliteConnectOptions::from_str(url)?;
                // readers of our own only for a plain file: a database in
                // memory is the pool's own, and another VFS (or an immutable
                // file) may lock differently
                let file = opts.get_filename().to_path_buf();
                let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
                let plain = !url.contains(":memory:")
                    && !file.to_string_lossy().starts_with("file:")
                    && !query
                        .split('&')
                        .any(|p| p == "mode=memory" || p.starts_with("vfs=") || p.starts_with("immutable="));
                let hot = if plain { hot::Hot::file(&file) } else { hot::Hot::none() };
                let opts = opts
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                // no ping before each use: a SQLite connection is a handle
                // in this process and cannot hang up, and the ping is a
                // round trip to the connection's own thread
                let pool = SqlitePoolOptions::new()
                    .max_connections(pool.max_connections.unwrap_or(8))
                    .test_before_acquire(false)
                    .acquire_timeout(pool.acquire_timeout)
                    .connect_with(opts)
                    .await?;
                Ok(Db::Sqlite(pool, hot))
            }
            Some(Backend::Postgres) => {
                let opts = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(pool.max_connections.unwrap_or(16))
                    .acquire_timeout(pool.acquire_timeout)
                    .connect_with(opts)
                    .await?;
                Ok(Db::Postgres(pool))
            }
            None => Err(DbError::Other(format!(
                "Địa chỉ cơ sở dữ liệu không hợp lệ: \"{url}\". Dùng sqlite://đường/dẫn.db hoặc postgres://…"
            ))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The pool's connections: (open, of those idle, at most).
    pub fn pool_state(&self) -> (u32, usize, u32) {
        match self {
            Db::Sqlite(p, _) => (p.size(), p.num_idle(), p.options().get_max_connections()),
            Db::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        }
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(p, _) => SQLITE_MIGRATIONS.run(p).await?,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Starts a transaction that will write, and may append to the audit log.
    ///
    /// Writers are serialised from their first statement, before they lock
    /// any row: SQLite by `BEGIN IMMEDIATE`, PostgreSQL by the audit log's
    /// advisory lock (the one [`audit::append`] takes). A writer that took
    /// that lock only when appending could hold it while it waits for a row
    /// that another writer, itself waiting for the lock before its append,
    /// has locked: a units import (a unit's entry appended, then the next
    /// unit updated) beside one unit's edit (the unit updated, then its
    /// entry appended) was such a deadlock on PostgreSQL.
    pub async fn begin(&self) -> Result<Tx> {
        let mut tx = self.begin_unlogged().await?;
        if let Tx::Postgres(_) = tx {
            tx.exec(audit::LOCK, vec![]).await?;
        }
        Ok(tx)
    }

    /// Starts a transaction that will write but never appends to the audit
    /// log (a session's last activity, an ended session removed): on
    /// PostgreSQL it does not wait for the writers that do. Such a writer
    /// must never take the audit log's lock.
    pub async fn begin_unlogged(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(p, _) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Starts a transaction that only reads (a consistent snapshot).
    pub async fn read(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(p, _) => Tx::Sqlite(p.begin().await?),
            Db::Postgres(p) => Tx::Postgres(p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?),
        })
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        let mut tx = self.read().await?;
        let _: i64 = tx.scalar("SELECT CAST(1 AS BIGINT)", vec![]).await?;
        tx.rollback().await
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p, _) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }

    /// `VACUUM INTO` a consistent copy of a SQLite database.
    pub async fn backup_sqlite(&self, dest: &str) -> Result<()> {
        match self {
            Db::Sqlite(p, _) => {
                sqlx::query("VACUUM INTO $1").bind(dest.to_string()).execute(p).await?;
                Ok(())
            }
            Db::Postgres(_) => Err(DbError::Other(
                "Với PostgreSQL, hãy sao lưu bằng pg_dump (ví dụ: pg_dump -Fc -f thidua.dump TÊN_CSDL).".into(),
            )),
        }
    }

    /// The tables, their columns and whether each is NOT NULL, to compare both schemas.
    pub async fn schema(&self) -> Result<Vec<(String, String, bool)>> {
        let mut tx = self.read().await?;
        let rows: Vec<(String, String, bool)> =
            match &mut tx {
                Tx::Sqlite(t) => {
                    sqlx::query_as(
                        "SELECT m.name, p.name, (p.\"notnull\" = 1 OR p.pk > 0) FROM sqlite_master m \
                 JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
                 ORDER BY m.name, p.name",
                    )
                    .fetch_all(&mut **t)
                    .await?
                }
                Tx::Postgres(t) => sqlx::query_as(
                    "SELECT table_name::text, column_name::text, is_nullable = 'NO' FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' \
                 ORDER BY table_name, column_name",
                )
                .fetch_all(&mut **t)
                .await?,
            };
        tx.rollback().await?;
        Ok(rows)
    }
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    I64(Option<i64>),
    I32(Option<i32>),
    Text(Option<String>),
    Bool(bool),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::I64(v)
    }
}
impl From<i32> for Arg {
    fn from(v: i32) -> Self {
        Arg::I32(Some(v))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}

/// Builds a `Vec<Arg>`: `args![id, name, None::<String>]`.
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => { vec![$($crate::Arg::from($v)),*] };
}

/// A row type that decodes on both backends (derive `sqlx::FromRow`).
pub trait Record: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Record for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// One transaction, on one backend or the other.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(v),
                Arg::I32(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
            };
        }
        q
    }};
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs a statement; returns the number of rows it touched.
    pub async fn exec(&mut self, sql: &'static str, args: Vec<Arg>) -> Result<u64> {
        self.exec_dyn(sql.to_string(), args).await
    }

    /// Like [`Tx::exec`], for SQL assembled at run time from fixed pieces (never from input).
    pub async fn exec_dyn(&mut self, sql: String, args: Vec<Arg>) -> Result<u64> {
        Ok(match self {
            Tx::Sqlite(t) => bind_all!(sqlx::query(AssertSqlSafe(sql)), args).execute(&mut **t).await?.rows_affected(),
            Tx::Postgres(t) => {
                bind_all!(sqlx::query(AssertSqlSafe(sql)), args).execute(&mut **t).await?.rows_affected()
            }
        })
    }

    /// Every row of a query.
    pub async fn all<T: Record>(&mut self, sql: &'static str, args: Vec<Arg>) -> Result<Vec<T>> {
        self.all_dyn(sql.to_string(), args).await
    }

    pub async fn all_dyn<T: Record>(&mut self, sql: String, args: Vec<Arg>) -> Result<Vec<T>> {
        Ok(match self {
            Tx::Sqlite(t) => bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args).fetch_all(&mut **t).await?,
            Tx::Postgres(t) => bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args).fetch_all(&mut **t).await?,
        })
    }

    /// At most one row.
    pub async fn opt<T: Record>(&mut self, sql: &'static str, args: Vec<Arg>) -> Result<Option<T>> {
        Ok(match self {
            Tx::Sqlite(t) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional(&mut **t).await?,
            Tx::Postgres(t) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional(&mut **t).await?,
        })
    }

    pub async fn opt_dyn<T: Record>(&mut self, sql: String, args: Vec<Arg>) -> Result<Option<T>> {
        Ok(match self {
            Tx::Sqlite(t) => {
                bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args).fetch_optional(&mut **t).await?
            }
            Tx::Postgres(t) => {
                bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args).fetch_optional(&mut **t).await?
            }
        })
    }

    /// Exactly one row.
    pub async fn one<T: Record>(&mut self, sql: &'static str, args: Vec<Arg>) -> Result<T> {
        Ok(match self {
            Tx::Sqlite(t) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_one(&mut **t).await?,
            Tx::Postgres(t) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_one(&mut **t).await?,
        })
    }

    /// One value of one row (COUNT(*), RETURNING id).
    pub async fn scalar(&mut self, sql: &'static str, args: Vec<Arg>) -> Result<i64> {
        let (v,): (i64,) = self.one(sql, args).await?;
        Ok(v)
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

impl Db {
    /// One statement that only reads, outside any transaction (a statement
    /// is consistent on its own): one trip to the database instead of three.
    pub async fn read_one<T: Record>(&self, sql: &'static str, args: Vec<Arg>) -> Result<Option<T>> {
        Ok(match self {
            Db::Sqlite(p, _) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional(p).await?,
            Db::Postgres(p) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional(p).await?,
        })
    }

    /// [`Db::read_one`] on the calling thread when it can be ([`hot`]), with
    /// `map` reading the row there; else on the pool, as `read_one`.
    pub async fn read_one_hot<T: Record>(
        &self,
        sql: &str,
        args: Vec<Arg>,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        if let Db::Sqlite(_, hot) = self
            && let Some(r) = hot.one(sql, &args, map)
        {
            return r;
        }
        self.read_one_dyn(sql.to_string(), args).await
    }

    /// [`Db::read_one_hot`] for a statement without parameters whose answer
    /// SQLite gives again, without running it, while no transaction commits
    /// ([`hot::Hot::one_kept`], ADR 0006). PostgreSQL runs it every time.
    pub async fn read_one_hot_kept<T: Record + Clone + Send + Sync + 'static>(
        &self,
        sql: &'static str,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        if let Db::Sqlite(_, hot) = self
            && let Some(r) = hot.one_kept(sql, map)
        {
            return r;
        }
        self.read_one_dyn(sql.to_string(), vec![]).await
    }

    /// Statements answered on the calling thread, and handed back to the pool ([`hot`]).
    pub fn hot_counts(&self) -> (usize, usize) {
        match self {
            Db::Sqlite(_, hot) => hot.counts(),
            Db::Postgres(_) => (0, 0),
        }
    }

    /// Statements answered with a kept answer, without running ([`Db::read_one_hot_kept`]).
    pub fn hot_kept_count(&self) -> usize {
        match self {
            Db::Sqlite(_, hot) => hot.kept_count(),
            Db::Postgres(_) => 0,
        }
    }

    /// [`Db::read_one`] with a statement built at run time.
    pub async fn read_one_dyn<T: Record>(&self, sql: String, args: Vec<Arg>) -> Result<Option<T>> {
        Ok(match self {
            Db::Sqlite(p, _) => bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args).fetch_optional(p).await?,
            Db::Postgres(p) => bind_all!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args).fetch_optional(p).await?,
        })
    }
}

/// Now, as stored: UTC, microseconds, `Z`.
pub fn now() -> String {
    stamp(chrono::Utc::now())
}

pub fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    // written field by field: chrono's format string is parsed on every call,
    // and every request writes or compares a stamp
    let mut s = String::with_capacity(27);
    let micros = t.nanosecond() % 1_000_000_000 / 1_000;
    let _ = write!(
        s,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        micros
    );
    s
}

/// Parses a stored timestamp.
pub fn parse_stamp(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stamp_is_written_as_chrono_writes_it() {
        let start = chrono::DateTime::parse_from_rfc3339("1999-12-31T23:59:59.999999Z").unwrap().to_utc();
        // every microsecond across a new year, then steps of about 37 days with odd microseconds
        let mut times: Vec<chrono::DateTime<chrono::Utc>> =
            (0..2_000).map(|i| start + chrono::Duration::microseconds(i)).collect();
        times.extend((0..2_000).map(|i| start + chrono::Duration::microseconds(i * 3_196_800_000_007)));
        // nanoseconds are cut, as chrono's %.6f cuts them
        let now = chrono::Utc::now();
        assert_eq!(super::stamp(now), now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        for t in times {
            assert_eq!(super::stamp(t), t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
            assert_eq!(super::parse_stamp(&super::stamp(t)), Some(t));
        }
    }
}
