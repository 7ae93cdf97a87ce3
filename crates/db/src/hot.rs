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
//!
//! One statement more is not even run while the database is unchanged
//! ([`Hot::one_kept`], ADR 0006): its answer is kept with the header of the
//! file's WAL index as it was before the statement ran, and given again
//! while that header stays the same. SQLite rewrites the header with every
//! commit, from any connection of any process, and its own readers compare
//! it in the same way to know whether what they cached is still current.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};
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
    slots: Vec<Mutex<Option<Reader>>>,
    next: AtomicUsize,
    /// After a reader could not be opened: no other try before this time.
    broken_until: Mutex<Option<Instant>>,
    /// Statements answered here, and handed back to the pool.
    answered: AtomicUsize,
    handed_back: AtomicUsize,
    /// The kept answers of [`Hot::one_kept`], with what tells whether they are current.
    kept: Mutex<Kept>,
    /// Statements answered with a kept answer, without running.
    answered_kept: AtomicUsize,
}

/// A connection of ours, when it was opened and the file it opened.
struct Reader {
    conn: Connection,
    at: Instant,
    file: FileId,
}

/// Which file a connection opened (its device and inode): a database file
/// replaced under the server is another file. None where it cannot be
/// told; then nothing read through it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(Option<(u64, u64)>);

impl FileId {
    fn of(path: &Path) -> FileId {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileId(std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino())))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            FileId(None)
        }
    }

    /// Opens `path` with `open`, and tells which file it opened: the file
    /// at the path before and after (None if it changed in between).
    fn open<C, E>(
        path: &Path,
        open: impl FnOnce(&Path) -> std::result::Result<C, E>,
    ) -> std::result::Result<(C, FileId), E> {
        let before = FileId::of(path);
        let c = open(path)?;
        let after = FileId::of(path);
        Ok((c, if before == after { after } else { FileId(None) }))
    }

    fn same(self, other: FileId) -> bool {
        self.0.is_some() && self == other
    }
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
            kept: Mutex::new(Kept::default()),
            answered_kept: AtomicUsize::new(0),
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

    /// Statements answered with what was kept, without running ([`Hot::one_kept`]).
    pub fn kept_count(&self) -> usize {
        self.0.as_ref().map_or(0, |r| r.answered_kept.load(Ordering::Relaxed))
    }

    /// [`Hot::one`] for a statement without parameters whose answer is kept
    /// while no transaction commits: the same answer is given again, without
    /// running it, as long as the header of the file's WAL index is the one
    /// read before it ran. SQLite writes a new header with every commit, of
    /// any connection in any process, and reads it to begin each read
    /// transaction, so an answer is given only where running the statement
    /// again would read the same rows. Where the header cannot be read (the
    /// file is not in WAL mode, a writer is writing it this instant, our
    /// connection that maps it cannot be opened), the statement runs as
    /// [`Hot::one`] runs it.
    pub(crate) fn one_kept<T: Clone + Send + Sync + 'static>(
        &self,
        sql: &'static str,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Result<Option<T>>> {
        let r = self.0.as_ref()?;
        let stamp = match r.kept_answer::<T>(sql) {
            Ok(v) => {
                r.answered_kept.fetch_add(1, Ordering::Relaxed);
                return Some(Ok(v));
            }
            Err(stamp) => stamp,
        };
        let (v, file) = r.one_counted(sql, &[], map)?;
        if let Some(stamp) = stamp {
            r.keep(sql, stamp, file, v.clone());
        }
        Some(Ok(v))
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
        r.one_counted(sql, args, map).map(|(v, _)| Ok(v))
    }
}

impl Readers {
    /// The statement's row at most, and the file the reader that ran it opened.
    fn one<T>(
        &self,
        sql: &str,
        args: &[Arg],
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<(Option<T>, FileId)> {
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
        if slot.as_ref().is_some_and(|r| r.at.elapsed() > MAX_AGE) {
            *slot = None;
        }
        if slot.is_none() {
            let mut broken = self.broken_until.lock().unwrap_or_else(|p| p.into_inner());
            if broken.is_some_and(|until| Instant::now() < until) {
                return None;
            }
            match FileId::open(&self.path, open) {
                Ok((conn, file)) => {
                    *broken = None;
                    *slot = Some(Reader { conn, at: Instant::now(), file });
                }
                Err(e) => {
                    *broken = Some(Instant::now() + RETRY_OPEN);
                    tracing::warn!(error = %e, path = %self.path.display(), "cannot open a reader of the database file; reading on the pool");
                    return None;
                }
            }
        }
        let reader = slot.as_ref()?;
        match query(&reader.conn, sql, args, map) {
            Ok(v) => Some((v, reader.file)),
            Err(e) => {
                if !busy(&e) {
                    tracing::warn!(error = %e, "a read on the request's thread failed; reading on the pool");
                }
                None
            }
        }
    }
}

impl Readers {
    /// [`Readers::one`], counted as answered here or handed back.
    fn one_counted<T>(
        &self,
        sql: &str,
        args: &[Arg],
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<(Option<T>, FileId)> {
        let answer = self.one(sql, args, map);
        let count = if answer.is_some() { &self.answered } else { &self.handed_back };
        count.fetch_add(1, Ordering::Relaxed);
        answer
    }

    /// The answer kept for `sql` if the WAL index's header is the one it
    /// was read at; else the header now (None if it cannot be read), to keep
    /// the answer the statement is about to give with.
    fn kept_answer<T: Clone + 'static>(&self, sql: &str) -> std::result::Result<Option<T>, Option<Stamp>> {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let Some(stamp) = kept.stamp(&self.path) else {
            return Err(None);
        };
        match kept.answers.iter().find(|a| a.sql == sql) {
            Some(a) if a.stamp == stamp => match a.value.downcast_ref::<Option<T>>() {
                Some(v) => Ok(v.clone()),
                None => Err(Some(stamp)),
            },
            _ => Err(Some(stamp)),
        }
    }

    /// Keeps `value`, the answer of `sql` read from `file` after the header
    /// was `stamp`, if the header is still `stamp` (the answer is then of
    /// that very state: no newer answer is put back by an older one) and the
    /// watch maps the index of that same file.
    fn keep<T: Send + Sync + 'static>(&self, sql: &'static str, stamp: Stamp, file: FileId, value: Option<T>) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let same = kept.watch.as_ref().is_some_and(|w| w.file.same(file)) && kept.stamp_now() == Some(stamp);
        if !same {
            return;
        }
        let value: Arc<dyn Any + Send + Sync> = Arc::new(value);
        match kept.answers.iter_mut().find(|a| a.sql == sql) {
            Some(a) => {
                a.stamp = stamp;
                a.value = value;
            }
            None => kept.answers.push(Answer { sql, stamp, value }),
        }
    }
}

/// The answers kept by [`Hot::one_kept`], and our connection that maps the
/// WAL index they are kept by.
#[derive(Default)]
struct Kept {
    watch: Option<Watch>,
    /// Watches opened so far: a header read through another is another stamp.
    opened: u64,
    /// After a watch could not be opened: no other try before this time.
    broken_until: Option<Instant>,
    answers: Vec<Answer>,
}

struct Answer {
    sql: &'static str,
    stamp: Stamp,
    value: Arc<dyn Any + Send + Sync>,
}

/// The WAL index's header as read through one watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    watch: u64,
    header: [u32; HEADER_WORDS],
}

impl Kept {
    /// The WAL index's header now, opening the watch first if needed.
    fn stamp(&mut self, path: &Path) -> Option<Stamp> {
        // like the readers, the watch is opened again after a while: a
        // database file replaced under the server is then watched
        if self.watch.as_ref().is_some_and(|w| w.at.elapsed() > MAX_AGE) {
            self.watch = None;
        }
        if self.watch.is_none() {
            if self.broken_until.is_some_and(|until| Instant::now() < until) {
                return None;
            }
            match Watch::open(path) {
                Ok(w) => {
                    self.opened += 1;
                    self.watch = Some(w);
                    self.broken_until = None;
                }
                // the file busy (a writer recovering the log, say): tried again at the next request
                Err(WatchError::Busy) => return None,
                Err(WatchError::Other(why)) => {
                    self.broken_until = Some(Instant::now() + RETRY_OPEN);
                    tracing::info!(%why, path = %path.display(), "the WAL index cannot be watched; the session's statement runs on every request");
                    return None;
                }
            }
        }
        self.stamp_now()
    }

    /// The WAL index's header now, through the watch open (None without one).
    fn stamp_now(&self) -> Option<Stamp> {
        let w = self.watch.as_ref()?;
        Some(Stamp { watch: self.opened, header: w.header()? })
    }
}

/// The WAL index's header is 48 bytes, written twice (SQLite's `WalIndexHdr`).
const HEADER_WORDS: usize = 12;
/// The header's version of the WAL index's format (SQLite's `WALINDEX_MAX_VERSION`).
const WAL_INDEX_VERSION: u32 = 3_007_000;
/// The size of a region of the WAL index (SQLite's `WALINDEX_PGSZ`).
const WAL_INDEX_REGION: i32 = 32_768;

/// A connection of ours kept open, never used after it is opened, and the
/// first region of the file's WAL index as SQLite mapped it for it.
///
/// The region stays mapped while the connection is open: SQLite unmaps it
/// when the last connection of the process to the file closes it, and the
/// open connection also keeps any other process from truncating or removing
/// the index (it holds the index's shared "dead man switch" lock).
struct Watch {
    _conn: Connection,
    region: *const AtomicU32,
    at: Instant,
    /// The file whose index it maps.
    file: FileId,
}

// SAFETY: `region` points into memory mapped for `_conn`, which the watch
// owns, and is only read (atomically); the watch lives behind a mutex.
unsafe impl Send for Watch {}

/// Why a watch was not opened.
enum WatchError {
    /// The file is busy: try again soon.
    Busy,
    Other(String),
}

impl From<rusqlite::Error> for WatchError {
    fn from(e: rusqlite::Error) -> Self {
        if busy(&e) { WatchError::Busy } else { WatchError::Other(e.to_string()) }
    }
}

impl From<String> for WatchError {
    fn from(why: String) -> Self {
        WatchError::Other(why)
    }
}

impl Watch {
    fn open(path: &Path) -> std::result::Result<Watch, WatchError> {
        use rusqlite::ffi;
        let (conn, file) = FileId::open(path, open)?;
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("journal mode {mode}").into());
        }
        // a read maps the index for this connection
        conn.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))?;
        let mut region: *mut std::ffi::c_void = std::ptr::null_mut();
        // SAFETY: the file pointer SQLite gives for the connection's main
        // database is valid while the connection is open (here); its
        // methods are SQLite's VFS, whose version 2 and up has `xShmMap`;
        // asking for region 0 without extending the index only returns
        // SQLite's own mapping of it (or null if it is not that large)
        let rc = unsafe {
            let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
            let rc = ffi::sqlite3_file_control(
                conn.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&raw mut file).cast(),
            );
            if rc != ffi::SQLITE_OK || file.is_null() || (*file).pMethods.is_null() {
                return Err(format!("no file pointer ({rc})").into());
            }
            let methods = &*(*file).pMethods;
            let Some(map) = methods.xShmMap.filter(|_| methods.iVersion >= 2) else {
                return Err("the VFS has no shared memory".to_string().into());
            };
            map(file, 0, WAL_INDEX_REGION, 0, &raw mut region)
        };
        if rc != ffi::SQLITE_OK || region.is_null() {
            return Err(format!("the WAL index is not mapped ({rc})").into());
        }
        if !(region as usize).is_multiple_of(std::mem::align_of::<AtomicU32>()) {
            return Err("the WAL index is not aligned".to_string().into());
        }
        let w = Watch { _conn: conn, region: region.cast_const().cast(), at: Instant::now(), file };
        if w.header().is_none() {
            return Err("the WAL index's header is not one this version knows".to_string().into());
        }
        Ok(w)
    }

    /// The header, as SQLite's readers read it (`walIndexTryHdr`): the first
    /// copy, then the second, which a writer writes first; None if they
    /// differ (a writer is writing them), or the header is not initialised,
    /// of another version or fails its checksum.
    fn header(&self) -> Option<[u32; HEADER_WORDS]> {
        header(|i| {
            // SAFETY: the region is at least 32 KiB, mapped while the watch
            // lives, and aligned (checked when it was opened). Other
            // connections and processes write it with plain stores and a
            // barrier (SQLite's `walIndexWriteHdr`), outside what Rust's
            // memory model can describe; it is read here with atomic loads,
            // as SQLite reads it with volatile ones, and a torn read is
            // caught by the two copies and the checksum
            unsafe { (*self.region.add(i)).load(Ordering::Relaxed) }
        })
    }
}

/// The header from the index's words (`word(i)`: the i-th 32-bit word),
/// read as SQLite's readers read it; see [`Watch::header`].
fn header(word: impl Fn(usize) -> u32) -> Option<[u32; HEADER_WORDS]> {
    let first: [u32; HEADER_WORDS] = std::array::from_fn(&word);
    fence(Ordering::SeqCst);
    let second: [u32; HEADER_WORDS] = std::array::from_fn(|i| word(HEADER_WORDS + i));
    // isInit is the byte after iVersion, unused and iChange
    let is_init = first[3].to_ne_bytes()[0];
    (first == second && is_init != 0 && first[0] == WAL_INDEX_VERSION && checksum(&first) == [first[10], first[11]])
        .then_some(first)
}

/// The checksum SQLite keeps over the header's first 40 bytes, in native
/// byte order (`walChecksumBytes`).
fn checksum(h: &[u32; HEADER_WORDS]) -> [u32; 2] {
    let (mut s1, mut s2) = (0u32, 0u32);
    for pair in h[..10].chunks_exact(2) {
        s1 = s1.wrapping_add(pair[0]).wrapping_add(s2);
        s2 = s2.wrapping_add(pair[1]).wrapping_add(s1);
    }
    [s1, s2]
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

    /// A database file made by `setup`, in a directory of its own that the
    /// guard removes (after a failure too), and the connection that made it.
    fn file_with(setup: &str) -> (tempfile::TempDir, PathBuf, Connection) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("hot.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(setup).unwrap();
        (dir, path, c)
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
    fn an_answer_is_kept_until_a_transaction_commits() {
        let (_dir, path, w) = file_with("PRAGMA journal_mode = WAL; CREATE TABLE t (x); CREATE TABLE u (y)");
        let h = Hot::file(&path);
        let count = |h: &Hot| h.one_kept("SELECT COUNT(*) FROM t", |r| r.get::<_, i64>(0)).unwrap().unwrap();
        // (statements run, answers given again)
        let runs = |h: &Hot| (h.counts().0, h.kept_count());
        assert_eq!(count(&h), Some(0));
        assert_eq!(count(&h), Some(0));
        assert_eq!(runs(&h), (1, 1));

        // a commit of another connection: run again
        w.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_eq!(count(&h), Some(1));
        assert_eq!(count(&h), Some(1));
        assert_eq!(runs(&h), (2, 2));

        // a transaction that has not committed changes nothing yet; its commit does
        w.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (2)").unwrap();
        assert_eq!(count(&h), Some(1));
        assert_eq!(runs(&h), (2, 3));
        w.execute_batch("COMMIT").unwrap();
        assert_eq!(count(&h), Some(2));
        assert_eq!(runs(&h), (3, 3));
        // a transaction rolled back leaves the kept answer current
        w.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (3); ROLLBACK").unwrap();
        assert_eq!(count(&h), Some(2));
        assert_eq!(runs(&h), (3, 4));

        // any commit runs it again, even one that changes another table
        w.execute("INSERT INTO u VALUES (1)", []).unwrap();
        assert_eq!(count(&h), Some(2));
        assert_eq!(runs(&h), (4, 4));

        // another statement has its own answer
        let max = |h: &Hot| h.one_kept("SELECT MAX(y) FROM u", |r| r.get::<_, Option<i64>>(0)).unwrap().unwrap();
        assert_eq!(max(&h), Some(Some(1)));
        assert_eq!(max(&h), Some(Some(1)));
        assert_eq!(count(&h), Some(2));
        assert_eq!(runs(&h), (5, 6));

        // a checkpoint that empties the log, then writes that start it over
        let _: (i64, i64, i64) =
            w.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
        assert_eq!(count(&h), Some(2));
        w.execute("DELETE FROM t", []).unwrap();
        assert_eq!(count(&h), Some(0));
        w.execute("INSERT INTO t VALUES (4)", []).unwrap();
        assert_eq!(count(&h), Some(1));
        assert_eq!(max(&h), Some(Some(1)));
    }

    #[test]
    fn nothing_is_kept_when_the_file_is_not_in_wal_mode() {
        let (_dir, path, w) = file_with("PRAGMA journal_mode = DELETE; CREATE TABLE t (x)");
        let h = Hot::file(&path);
        let count = |h: &Hot| h.one_kept("SELECT COUNT(*) FROM t", |r| r.get::<_, i64>(0)).unwrap().unwrap();
        assert_eq!(count(&h), Some(0));
        w.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_eq!(count(&h), Some(1));
        assert_eq!(count(&h), Some(1));
        assert_eq!((h.counts().0, h.kept_count()), (3, 0));
    }

    #[test]
    fn a_header_is_read_as_sqlites_readers_read_it() {
        // a header SQLite wrote: it passes, as read through the watch and from its words
        let (_dir, path, _w) = file_with("PRAGMA journal_mode = WAL; CREATE TABLE t (x)");
        let Ok(watch) = Watch::open(&path) else { panic!("a watch of a file in WAL mode") };
        let h = watch.header().expect("a header that checks");
        assert_eq!(h[0], WAL_INDEX_VERSION);
        let words: Vec<u32> = h.iter().chain(h.iter()).copied().collect();
        assert_eq!(header(|i| words[i]), Some(h));

        // a writer between the two copies, a header not initialised, of
        // another version, or failing its checksum: none is read
        let changed = |at: usize, f: &dyn Fn(u32) -> u32| {
            let mut w = words.clone();
            w[at] = f(w[at]);
            header(|i| w[i])
        };
        assert_eq!(changed(HEADER_WORDS + 2, &|x| x.wrapping_add(1)), None, "the copies differ");
        let uninit = |x: u32| {
            let mut b = x.to_ne_bytes();
            b[0] = 0;
            u32::from_ne_bytes(b)
        };
        let both = |at: usize, f: &dyn Fn(u32) -> u32| {
            let mut w = words.clone();
            w[at] = f(w[at]);
            w[HEADER_WORDS + at] = f(w[HEADER_WORDS + at]);
            header(|i| w[i])
        };
        assert_eq!(both(3, &uninit), None, "not initialised");
        assert_eq!(both(0, &|x| x + 1), None, "another version");
        assert_eq!(both(5, &|x| x ^ 1), None, "a checksum that fails");
        assert_eq!(both(11, &|x| x ^ 1), None, "a checksum that fails");
        drop(watch);
    }

    #[test]
    fn an_answer_read_across_a_commit_or_from_another_file_is_not_kept() {
        let (_dir, path, w) = file_with("PRAGMA journal_mode = WAL; CREATE TABLE t (x)");
        let h = Hot::file(&path);
        let r = h.0.as_ref().unwrap();
        const SQL: &str = "SELECT COUNT(*) FROM t";
        let count = |h: &Hot| h.one_kept(SQL, |r| r.get::<_, i64>(0)).unwrap().unwrap();
        let runs = |h: &Hot| (h.counts().0, h.kept_count());

        // one request reads the header; a commit; another request runs the
        // statement and keeps its answer; the first runs it and is done: its
        // answer is never given for the header it read, nor put in place of
        // the other's
        let Err(Some(stamp)) = r.kept_answer::<i64>(SQL) else { panic!("a header and nothing kept") };
        w.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_eq!(count(&h), Some(1));
        assert_eq!(runs(&h), (1, 0));
        let (v, file) = r.one(SQL, &[], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(v, Some(1));
        r.keep(SQL, stamp, file, v);
        assert_eq!(count(&h), Some(1));
        assert_eq!(runs(&h), (1, 1), "the other's answer is still kept");

        // a watch opened again: what was kept through the one before is not given
        r.kept.lock().unwrap().watch = None;
        assert_eq!(count(&h), Some(1));
        assert_eq!(runs(&h), (2, 1));
        assert_eq!(count(&h), Some(1));
        assert_eq!(runs(&h), (2, 2));

        // a watch of another file than the readers' (a file replaced under
        // the server, one of them opened before, the other after): nothing is kept
        r.kept.lock().unwrap().watch.as_mut().unwrap().file = FileId(Some((0, 0)));
        w.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_eq!(count(&h), Some(2));
        assert_eq!(count(&h), Some(2));
        assert_eq!(runs(&h), (4, 2));
    }

    #[test]
    fn parameters_are_bound_by_their_number() {
        let (_dir, path, _) = file_with("PRAGMA journal_mode = WAL");
        let h = Hot::file(&path);
        // $2 is the first name SQLite meets: bound by position it would take $1's value
        let got = h.one(
            "SELECT $2 || '-' || $1 || '-' || COALESCE($3, 'trống')",
            &[Arg::Text(Some("một".into())), Arg::I32(Some(2)), Arg::Text(None)],
            |r| r.get::<_, String>(0),
        );
        assert_eq!(got.unwrap().unwrap().as_deref(), Some("2-một-trống"));
    }
}
