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
//! one place sessions live (ADR 0003). Nothing waits here: a reader in use
//! by another thread, or a file that answers "busy" (a reader never waits
//! for a writer in WAL mode, only while the log is being recovered), hands
//! the statement back, and the caller runs it on the pool as before.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Row};

use crate::{Arg, DbError, Result};

/// The readers of one SQLite file (none for PostgreSQL or memory).
#[derive(Clone, Default)]
pub struct Hot(Option<Arc<Readers>>);

struct Readers {
    path: PathBuf,
    /// Opened on first use.
    slots: Vec<Mutex<Option<Connection>>>,
    next: AtomicUsize,
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
            answered: AtomicUsize::new(0),
            handed_back: AtomicUsize::new(0),
        })))
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
    /// here and the caller must use the pool.
    pub(crate) fn one<T>(
        &self,
        sql: &str,
        args: &[Arg],
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Result<Option<T>>> {
        let r = self.0.as_ref()?;
        let start = r.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..r.slots.len() {
            let mut slot = match r.slots[(start + i) % r.slots.len()].try_lock() {
                Ok(s) => s,
                Err(TryLockError::WouldBlock) => continue,
                // a thread panicked while reading: drop that connection
                Err(TryLockError::Poisoned(p)) => {
                    let mut s = p.into_inner();
                    *s = None;
                    s
                }
            };
            if slot.is_none() {
                match open(&r.path) {
                    Ok(c) => *slot = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, path = %r.path.display(), "cannot open a reader; reading on the pool");
                        r.handed_back.fetch_add(1, Ordering::Relaxed);
                        return None;
                    }
                }
            }
            let conn = slot.as_ref()?;
            return match query(conn, sql, args, map) {
                Err(e) if busy(&e) => {
                    r.handed_back.fetch_add(1, Ordering::Relaxed);
                    None
                }
                Err(e) => Some(Err(DbError::Other(format!("SQLite: {e}")))),
                Ok(v) => {
                    r.answered.fetch_add(1, Ordering::Relaxed);
                    Some(Ok(v))
                }
            };
        }
        r.handed_back.fetch_add(1, Ordering::Relaxed);
        None
    }
}

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
    // `$n` is a name to SQLite, numbered where it first appears: bind by the name
    for (i, a) in args.iter().enumerate() {
        let name = format!("${}", i + 1);
        let at = st.parameter_index(&name)?.ok_or(rusqlite::Error::InvalidParameterName(name))?;
        st.raw_bind_parameter(at, a)?;
    }
    let mut rows = st.raw_query();
    match rows.next()? {
        Some(row) => Ok(Some(map(row)?)),
        None => Ok(None),
    }
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

        // a statement that fails is an error, not handed back
        assert!(matches!(h.one("SELECT nothing FROM nowhere", &[], |r| r.get::<_, i64>(0)), Some(Err(_))));
        // a reader reads only
        assert!(matches!(h.one("INSERT INTO t VALUES (1) RETURNING x", &[], |r| r.get::<_, i64>(0)), Some(Err(_))));
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
