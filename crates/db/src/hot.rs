//! Reads that run on the calling thread (SQLite only): the statements every
//! signed-in request makes, the session with its user and grants, and the
//! audit log's head that tells whether a kept group-year is current.
//!
//! sqlx runs each SQLite statement on the connection's own thread: the
//! request's task hands the statement over and is woken with the rows, two
//! thread switches per statement. For a statement that reads one row by its
//! key that costs several times the statement itself (`perf` on the P1
//! benchmark: a third of the server's CPU in the scheduler). Here a few
//! connections of our own (rusqlite, over the same SQLite library sqlx
//! links) answer such a statement right where the request runs.
//!
//! What is read is the same, from the same file: every statement sees what
//! was committed before it started, as on the pool. The database stays the
//! one place sessions live (ADR 0003). A reader never waits for a writer in
//! WAL mode, so such a statement takes microseconds (it may read a page from
//! the disk, or retry while the log's index is being rewritten); nothing
//! waits for a lock here: a reader in use by another thread, a file that
//! answers "busy", a reader that cannot be opened or any other failure
//! hands the statement back, and the caller runs it on the pool as before.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, Row};

use crate::{Arg, Result};

/// The readers of one SQLite file (none for PostgreSQL or memory).
#[derive(Clone, Default)]
pub struct Hot(Option<Arc<Readers>>);

struct Readers {
    path: PathBuf,
    /// Opened on first use, with when.
    slots: Vec<Mutex<Option<(Connection, Instant)>>>,
    next: AtomicUsize,
    /// After a reader could not be opened: no other try before this time.
    broken_until: Mutex<Option<Instant>>,
    /// Statements answered here, and handed back to the pool.
    answered: AtomicUsize,
    handed_back: AtomicUsize,
}

impl std::fmt::Debug for Hot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(r) => write!(f, "Hot({}, {} readers)", r.path.display(), r.slots.len()),
            None => f.write_str("Hot(none)"),
        }
    }
}

impl Hot {
    /// Readers of the SQLite file at `path`: one for each thread that may
    /// run requests (the runtime's workers, one per core), with one spare.
    pub fn file(path: &Path) -> Hot {
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) + 1;
        Hot(Some(Arc::new(Readers {
            path: path.to_path_buf(),
            slots: (0..n).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            broken_until: Mutex::new(None),
            answered: AtomicUsize::new(0),
            handed_back: AtomicUsize::new(0),
        })))
    }

    /// The SQLite file these readers read (None when there are none).
    pub fn path(&self) -> Option<&Path> {
        self.0.as_ref().map(|r| r.path.as_path())
    }

    /// No readers: every statement goes to the pool.
    pub fn none() -> Hot {
        Hot(None)
    }

    /// (statements answered here, statements handed back to the pool).
    pub fn counts(&self) -> (usize, usize) {
        match &self.0 {
            Some(r) => (r.answered.load(Ordering::Relaxed), r.handed_back.load(Ordering::Relaxed)),
            None => (0, 0),
        }
    }

    /// Runs `sql` (one row at most) on this thread: `None` when it cannot
    /// here and the caller must use the pool. Any failure is handed back
    /// too: the pool's answer is the reference, an error included.
    pub(crate) fn one<T>(
        &self,
        sql: &str,
        args: &[Arg],
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Result<Option<T>>> {
        let r = self.0.as_ref()?;
        let answer = r.one(sql, args, map);
        let count = if answer.is_some() { &r.answered } else { &r.handed_back };
        count.fetch_add(1, Ordering::Relaxed);
        answer.map(Ok)
    }
}

impl Readers {
    fn one<T>(&self, sql: &str, args: &[Arg], map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>) -> Option<Option<T>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.slots.len();
        let mut slot = (0..n).find_map(|i| {
            let m = &self.slots[(start + i) % n];
            match m.try_lock() {
                Ok(s) => Some(s),
                Err(TryLockError::WouldBlock) => None,
                // a thread panicked while reading: that connection is dropped
                Err(TryLockError::Poisoned(p)) => {
                    let mut s = p.into_inner();
                    *s = None;
                    m.clear_poison();
                    Some(s)
                }
            }
        })?;
        // like the pool's connections, a reader is opened again after a
        // while: a database file replaced under the server is then read
        if slot.as_ref().is_some_and(|(_, at)| at.elapsed() > MAX_AGE) {
            *slot = None;
        }
        if slot.is_none() {
            let mut broken = self.broken_until.lock().unwrap_or_else(|p| p.into_inner());
            if broken.is_some_and(|until| Instant::now() < until) {
                return None;
            }
            match open(&self.path) {
                Ok(c) => {
                    *broken = None;
                    *slot = Some((c, Instant::now()));
                }
                Err(e) => {
                    *broken = Some(Instant::now() + RETRY_OPEN);
                    tracing::warn!(error = %e, path = %self.path.display(), "cannot open a reader of the database file; reading on the pool");
                    return None;
                }
            }
        }
        let (conn, _) = slot.as_ref()?;
        match query(conn, sql, args, map) {
            Ok(v) => Some(v),
            Err(e) => {
                if !busy(&e) {
                    tracing::warn!(error = %e, "a read on the request's thread failed; reading on the pool");
                }
                None
            }
        }
    }
}

/// How long a reader is used before it is opened again (the pool's
/// connections live as long: sqlx's `max_lifetime`).
const MAX_AGE: Duration = Duration::from_secs(30 * 60);
/// How long to read on the pool after a reader could not be opened.
const RETRY_OPEN: Duration = Duration::from_secs(60);

fn open(path: &Path) -> rusqlite::Result<Connection> {
    // not created here: the pool made the file and set WAL mode
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    c.busy_timeout(Duration::ZERO)?;
    c.execute_batch("PRAGMA query_only = ON")?;
    c.set_prepared_statement_cache_capacity(32);
    Ok(c)
}

fn query<T>(
    conn: &Connection,
    sql: &str,
    args: &[Arg],
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut st = conn.prepare_cached(sql)?;
    bind(&mut st, args)?;
    let mut rows = st.raw_query();
    match rows.next()? {
        Some(row) => Ok(Some(map(row)?)),
        None => Ok(None),
    }
}

/// Binds `$1`, `$2`… of a statement to `args`.
fn bind(st: &mut rusqlite::CachedStatement<'_>, args: &[Arg]) -> rusqlite::Result<()> {
    // `$n` is a name to SQLite, numbered where it first appears: bind by the name
    for (i, a) in args.iter().enumerate() {
        let name = format!("${}", i + 1);
        let at = st.parameter_index(&name)?.ok_or(rusqlite::Error::InvalidParameterName(name))?;
        st.raw_bind_parameter(at, a)?;
    }
    Ok(())
}

/// Every row of one statement on a connection of our own (the writes' own,
/// [`crate::batch`]), its parameters `$1`, `$2`… bound to `args`.
pub(crate) fn rows<T>(
    conn: &Connection,
    sql: &str,
    args: &[Arg],
    mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut st = conn.prepare_cached(sql)?;
    bind(&mut st, args)?;
    let mut rows = st.raw_query();
    let mut all = Vec::new();
    while let Some(row) = rows.next()? {
        all.push(map(row)?);
    }
    Ok(all)
}

/// Runs one statement on a connection of our own; returns the rows it changed.
pub(crate) fn exec(conn: &Connection, sql: &str, args: &[Arg]) -> rusqlite::Result<usize> {
    let mut st = conn.prepare_cached(sql)?;
    bind(&mut st, args)?;
    st.raw_execute()
}

fn busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked))
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            Arg::I64(Some(v)) => ToSqlOutput::Owned(Value::Integer(*v)),
            Arg::I32(Some(v)) => ToSqlOutput::Owned(Value::Integer(i64::from(*v))),
            Arg::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Arg::I64(None) | Arg::I32(None) | Arg::Text(None) => ToSqlOutput::Owned(Value::Null),
            Arg::Bool(v) => ToSqlOutput::Owned(Value::Integer(i64::from(*v))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(h: &Hot) -> Option<Result<Option<i64>>> {
        h.one("SELECT $1 + 1", &[Arg::I64(Some(41))], |r| r.get(0))
    }

    #[test]
    fn a_statement_that_cannot_run_here_is_handed_back() {
        // no such file: a reader of ours never creates one
        let dir = std::env::temp_dir().join(format!("thidua-hot-{}", std::process::id()));
        let h = Hot::file(&dir.join("none.db"));
        assert!(head(&h).is_none());
        assert_eq!(h.counts(), (0, 1));
        assert!(!dir.join("none.db").exists());

        // every reader in use (by other threads): handed back, not waited for
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hot.db");
        Connection::open(&path).unwrap().execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x)").unwrap();
        let h = Hot::file(&path);
        assert_eq!(head(&h).unwrap().unwrap(), Some(42));
        let r = h.0.as_ref().unwrap();
        let held: Vec<_> = r.slots.iter().map(|s| s.lock().unwrap()).collect();
        assert!(head(&h).is_none());
        drop(held);
        assert_eq!(head(&h).unwrap().unwrap(), Some(42));
        assert_eq!(h.counts(), (2, 1));

        // a statement that fails, or would write, is handed back: the pool answers it, error included
        let count = |h: &Hot| h.one("SELECT COUNT(*) FROM t", &[], |r| r.get::<_, i64>(0));
        assert!(h.one("SELECT nothing FROM nowhere", &[], |r| r.get::<_, i64>(0)).is_none());
        assert!(h.one("INSERT INTO t VALUES (1) RETURNING x", &[], |r| r.get::<_, i64>(0)).is_none());
        assert_eq!(count(&h).unwrap().unwrap(), Some(0), "a reader writes nothing");
        assert_eq!(h.counts(), (3, 3));

        // a file another connection holds (once our readers are closed) is
        // busy: handed back at once, not waited for
        drop(h);
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("PRAGMA locking_mode = EXCLUSIVE; INSERT INTO t VALUES (2)").unwrap();
        let h = Hot::file(&path);
        let t = Instant::now();
        assert!(count(&h).is_none());
        assert!(t.elapsed() < Duration::from_secs(1));
        drop(holder);
        assert_eq!(count(&h).unwrap().unwrap(), Some(1), "the holder's row, once it let go");
        assert_eq!(h.counts(), (1, 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parameters_are_bound_by_their_number() {
        let dir = std::env::temp_dir().join(format!("thidua-hot-bind-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hot.db");
        Connection::open(&path).unwrap().execute_batch("PRAGMA journal_mode = WAL").unwrap();
        let h = Hot::file(&path);
        // $2 is the first name SQLite meets: bound by position it would take $1's value
        let got = h.one(
            "SELECT $2 || '-' || $1 || '-' || COALESCE($3, 'trống')",
            &[Arg::Text(Some("một".into())), Arg::I32(Some(2)), Arg::Text(None)],
            |r| r.get::<_, String>(0),
        );
        assert_eq!(got.unwrap().unwrap().as_deref(), Some("2-một-trống"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
