//! Group commit on SQLite: writes that arrive together share one transaction
//! and one commit (one `fsync` for many user actions).
//!
//! SQLite has one writer at a time, and with `synchronous=FULL` every commit
//! waits for the disk. When many users write at once (the last hours before a
//! self-assessment deadline), each action in its own transaction means one
//! disk flush per action, one after the other, and the others wait in
//! SQLite's busy handler, which sleeps and retries instead of queueing.
//!
//! A [`Batcher`] queues the writers of this process in arrival order. The
//! first one begins a write transaction; each writer writes inside its own
//! savepoint of it, so a writer that fails or gives up rolls back only its own
//! part. When a writer is done and others are already waiting, it leaves the
//! transaction open for them and waits; the last writer of the queue (or the
//! one that finds the batch full or old enough) commits, and every writer of
//! the batch learns the commit's outcome. A writer's action is acknowledged
//! only after the commit that holds it, so nothing acknowledged can be lost:
//! either the whole batch is on disk or none of it is, and then every writer
//! of it gets the error. Each action still writes everything it writes
//! (entries, audit row) as one all-or-nothing unit: its savepoint.
//!
//! The batches run on a connection of their own (rusqlite, over the same
//! SQLite library sqlx links), owned by a thread of its own where the
//! writers run ([`Batcher::run`]): a statement runs right where the writer
//! is. Through sqlx, each statement was handed to the connection's own
//! thread and its rows handed back, and the writers of a batch, taking their
//! turns one after another, waited for each of those hand-overs (`perf` on
//! the P3 benchmark: as much time switching threads as writing). What such a
//! connection cannot do (load a whole group-year) is read on the pool, from
//! what is committed: nothing else commits while a batch is open.
//!
//! On PostgreSQL, which has many writers and commits them in groups itself,
//! a [`Batch`] is a plain transaction of its own; so it is on a SQLite
//! database that is not a plain file (our connection could not open it).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::{Arg, Db, DbError, Result, Tx};

/// The most actions one commit holds.
pub const MAX_ACTIONS: usize = 64;
/// How long a batch stays open for writers already waiting: after this it is
/// committed by the next writer to finish, or by a timer if none does.
pub const MAX_OPEN: Duration = Duration::from_millis(20);
/// How long the batches' connection is used before it is opened again (as
/// the pool's connections: a database file replaced under the server is
/// then written).
const MAX_AGE: Duration = Duration::from_secs(30 * 60);

/// The savepoint of the writer at work.
const SAVEPOINT: &str = "SAVEPOINT thidua_action";
const RELEASE: &str = "RELEASE SAVEPOINT thidua_action";
const UNDO: &str = "ROLLBACK TO SAVEPOINT thidua_action; RELEASE SAVEPOINT thidua_action";

#[derive(Default)]
struct State {
    /// The batches' connection, and when it was opened (opened on first use,
    /// and again after a failure left it in doubt).
    conn: Option<(Connection, Instant)>,
    /// A batch's transaction is open on it.
    open: bool,
    /// Which batch is open (counts commits and failures).
    batch: u64,
    /// When the open batch began.
    began: Option<Instant>,
    /// The writers of the open batch whose work is done, waiting for its outcome.
    done: Vec<oneshot::Sender<Result<(), String>>>,
    /// What the writers of the open batch leave for the next ones
    /// ([`Batch::memo`]); dropped when the batch ends.
    memo: Option<Box<dyn std::any::Any + Send>>,
}

impl State {
    /// The connection, while a batch is open on it.
    fn conn(&self) -> Result<&Connection> {
        match &self.conn {
            // (a transaction SQLite ended by itself is gone too: nothing may run in autocommit)
            Some((c, _)) if self.open && !c.is_autocommit() => Ok(c),
            _ => Err(gone()),
        }
    }
}

fn gone() -> DbError {
    DbError::Other("the batch's transaction is gone".into())
}

struct Shared {
    db: Db,
    /// SQLite: the file the batches write in. None: every writer has a
    /// transaction of its own (PostgreSQL, or a SQLite database that is not
    /// a plain file).
    path: Option<PathBuf>,
    state: Arc<Mutex<State>>,
    /// Writers waiting for their turn.
    waiting: AtomicUsize,
    /// Commits made and actions committed (for the metrics).
    commits: AtomicUsize,
    actions: AtomicUsize,
    /// SQLite: the thread the writes run on ([`Batcher::run`]).
    writer: Option<WriterThread>,
    /// How long a batch stays open for writers already waiting ([`MAX_OPEN`]).
    window: Duration,
}

/// A thread of its own with a single-threaded runtime, where the writes of
/// the batch run: between two statements a writer is taken up again at once,
/// instead of waiting behind every request the server's threads are busy
/// with (the batch's transaction, and so every writer queued for it, waits
/// for each of its statements). It stops when the [`Batcher`] is dropped.
struct WriterThread {
    handle: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl WriterThread {
    fn start() -> std::io::Result<WriterThread> {
        // the runtime is built, run and dropped on its own thread
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (give, handle) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("thidua-writer".into()).spawn(move || {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => {
                    let _ = give.send(Ok(rt.handle().clone()));
                    rt.block_on(async {
                        let _ = stopped.await;
                    });
                }
                Err(e) => {
                    let _ = give.send(Err(e));
                }
            }
        })?;
        let handle = handle.recv().map_err(std::io::Error::other)??;
        Ok(WriterThread { handle, _stop: stop })
    }
}

/// Queues and groups the write transactions of one process (see the module).
#[derive(Clone)]
pub struct Batcher(Arc<Shared>);

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("backend", &self.0.db.backend())
            .field("shared", &self.0.path.is_some())
            .finish()
    }
}

/// One writer's turn: its part of the batch's transaction.
pub struct Batch {
    inner: Inner,
    part: Part,
}

/// What a writer has written in its part of a shared batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Nothing: it has only read, and has nothing of its own to roll back.
    Clean,
    /// Its savepoint is open, or may be (a statement that opens it was
    /// run): rolling back to it undoes this writer's work only. The
    /// savepoints of the batch's earlier writers are all released, so if
    /// this one was not opened after all, rolling back to it fails, and the
    /// batch fails as a whole rather than undo anybody else's work.
    Open,
    /// Its writes are done and released into the batch's transaction
    /// ([`Batch::write`]): they can no longer be undone alone.
    Kept,
}

enum Inner {
    Own(Option<Tx>),
    Shared { guard: Option<OwnedMutexGuard<State>>, b: Batcher },
}

tokio::task_local! {
    /// Whether the writer of this task ([`Batcher::run`]) is still counted
    /// as waiting for its turn.
    static COUNTED: std::cell::Cell<bool>;
}

/// Takes a writer run by [`Batcher::run`] off the waiting count if it ends
/// (or is dropped) without having taken its turn.
struct Uncount(Batcher);

impl Drop for Uncount {
    fn drop(&mut self) {
        if COUNTED.try_with(|c| c.replace(false)).unwrap_or(false) {
            self.0.0.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Counts a waiting writer for as long as it waits, even if it gives up.
struct Waiting(Batcher);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Opens the batches' connection to the SQLite file at `path` (made, and
/// put in WAL mode, by the pool), set as the pool's connections are.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    c.busy_timeout(Duration::from_secs(10))?;
    c.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL")?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(c)
}

impl Batcher {
    pub fn new(db: Db) -> Batcher {
        Batcher::with_window(db, MAX_OPEN)
    }

    /// A batcher whose batches stay open for waiting writers up to `window`
    /// instead of [`MAX_OPEN`] (the tests use a long one, so that what they
    /// group stays grouped on a slow machine).
    pub fn with_window(db: Db, window: Duration) -> Batcher {
        let path = match &db {
            Db::Sqlite(_, hot) => hot.path().map(Path::to_path_buf),
            Db::Postgres(_) => None,
        };
        // the batches' statements block the thread they run on: never the requests' threads
        let writer = match path {
            Some(_) => match WriterThread::start() {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "no thread of its own for the writes: each has a transaction of its own");
                    None
                }
            },
            None => None,
        };
        let path = if writer.is_some() { path } else { None };
        Batcher(Arc::new(Shared {
            writer,
            window,
            db,
            path,
            state: Arc::new(Mutex::new(State::default())),
            waiting: AtomicUsize::new(0),
            commits: AtomicUsize::new(0),
            actions: AtomicUsize::new(0),
        }))
    }

    /// Runs a writer (its turn, its part of the batch, its outcome) as a
    /// task of its own: on the writes' own thread (SQLite), or with the
    /// requests (every writer has its own transaction). It runs to its end
    /// even if the caller gives up waiting for it.
    ///
    /// A shared batch's writer counts as waiting for its turn from here on:
    /// its statements run without a pause on the writes' thread, so the
    /// writer before it, deciding whether to commit or leave the batch open
    /// for the writers waiting, would otherwise never see it before it
    /// reached [`Batcher::begin`].
    pub async fn run<T: Send + 'static>(&self, writer: impl Future<Output = T> + Send + 'static) -> Result<T> {
        if !self.is_shared() {
            return self.spawn(writer).await.map_err(|e| DbError::Other(format!("a writer failed: {e}")));
        }
        self.0.waiting.fetch_add(1, Ordering::SeqCst);
        // counted until its turn (`begin`), or until it ends without one (or
        // is dropped, polled or not: the guard goes with the future, in its scope)
        let uncount = Uncount(self.clone());
        let writer = COUNTED.scope(std::cell::Cell::new(true), async move {
            let _uncount = uncount;
            writer.await
        });
        self.spawn(writer).await.map_err(|e| DbError::Other(format!("a writer failed: {e}")))
    }

    /// Whether writers share batches on a connection of their own (SQLite,
    /// a plain file); else each has a transaction of its own.
    pub fn is_shared(&self) -> bool {
        self.0.path.is_some()
    }

    /// A task on the writes' own thread, if there is one.
    fn spawn<T: Send + 'static>(&self, task: impl Future<Output = T> + Send + 'static) -> tokio::task::JoinHandle<T> {
        match &self.0.writer {
            Some(w) => w.handle.spawn(task),
            None => tokio::spawn(task),
        }
    }

    /// Waits for this writer's turn and opens its part of the batch.
    pub async fn begin(&self) -> Result<Batch> {
        let Some(path) = self.0.path.clone() else {
            return Ok(Batch { inner: Inner::Own(Some(self.0.db.begin().await?)), part: Part::Clean });
        };
        // The turn is taken by a task of its own: a request given up
        // meanwhile never leaves the batch waiting for it.
        // a writer of `run` is already counted: from here on its turn counts
        // it, until it has its turn (or the turn is dropped, polled or not)
        if !COUNTED.try_with(|c| c.replace(false)).unwrap_or(false) {
            self.0.waiting.fetch_add(1, Ordering::SeqCst);
        }
        let waiting = Waiting(self.clone());
        let b = self.clone();
        let turn = self.spawn(async move {
            let mut g = {
                let _w = waiting;
                b.0.state.clone().lock_owned().await
            };
            // a transaction SQLite ended by itself (an I/O error, a full
            // disk) fails its batch: nothing may go on in autocommit
            if g.open && g.conn.as_ref().is_none_or(|(c, _)| c.is_autocommit()) {
                fail(&mut g, &DbError::Other("the batch's transaction was ended by SQLite".into()));
            }
            if !g.open {
                begin_on(&mut g, &path).await?;
                g.memo = None;
                g.began = Some(Instant::now());
                b.flush_later(g.batch);
            }
            Ok::<_, DbError>(g)
        });
        let g = turn.await.map_err(|e| DbError::Other(format!("a writer's turn failed: {e}")))??;
        Ok(Batch { inner: Inner::Shared { guard: Some(g), b: self.clone() }, part: Part::Clean })
    }

    /// Commits batch `batch` after the window ([`MAX_OPEN`]) if it is still open then:
    /// every open transaction is committed in time even if the writers that
    /// were to add to it gave up.
    fn flush_later(&self, batch: u64) {
        let b = self.clone();
        self.spawn(async move {
            tokio::time::sleep(b.0.window).await;
            let mut g = b.0.state.clone().lock_owned().await;
            if g.batch == batch {
                b.flush(&mut g);
            }
        });
    }

    /// Commits what is open and closes the batches' own connection (SQLite),
    /// once the server has stopped taking requests.
    pub async fn close(&self) {
        if self.0.path.is_some() {
            let mut g = self.0.state.clone().lock_owned().await;
            self.flush(&mut g);
            g.conn = None;
        }
    }

    /// Writers waiting for their turn now.
    pub fn waiting(&self) -> usize {
        self.0.waiting.load(Ordering::SeqCst)
    }

    /// (commits, actions committed) since the start, for the metrics.
    pub fn counts(&self) -> (usize, usize) {
        (self.0.commits.load(Ordering::Relaxed), self.0.actions.load(Ordering::Relaxed))
    }

    /// Commits the open batch if it is due: nobody waits to add to it, or it is full or old.
    fn flush_if_due(&self, g: &mut State) {
        let due = self.0.waiting.load(Ordering::SeqCst) == 0
            || g.done.len() >= MAX_ACTIONS
            || g.began.is_some_and(|t| t.elapsed() >= self.0.window);
        if due {
            self.flush(g);
        }
    }

    /// Commits the open batch and tells its writers the outcome.
    fn flush(&self, g: &mut State) {
        if !g.open {
            return;
        }
        g.began = None;
        g.batch += 1;
        g.memo = None;
        let done = std::mem::take(&mut g.done);
        let outcome = end(g, if done.is_empty() { "ROLLBACK" } else { "COMMIT" });
        if outcome.is_ok() && !done.is_empty() {
            self.0.commits.fetch_add(1, Ordering::Relaxed);
            self.0.actions.fetch_add(done.len(), Ordering::Relaxed);
        }
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "a batch of writes could not be committed");
        }
        let outcome = outcome.map_err(|e| e.to_string());
        for d in done {
            let _ = d.send(outcome.clone());
        }
    }
}

/// How long a batch waits for SQLite's write lock (another connection's
/// write: a submission, a sign-in), as the pool's connections do.
const BUSY: Duration = Duration::from_secs(10);

/// Opens a batch's transaction, and the connection first if need be. While
/// another connection holds the write lock it waits here, asleep, not in
/// SQLite's busy handler: that would hold the writes' whole thread, and with
/// it the other writers' work that needs no lock (loading a group-year on
/// the pool), for as long.
async fn begin_on(g: &mut State, path: &Path) -> Result<()> {
    if g.conn.as_ref().is_some_and(|(_, at)| at.elapsed() > MAX_AGE) {
        g.conn = None;
    }
    if g.conn.is_none() {
        g.conn = Some((open(path)?, Instant::now()));
    }
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        let begun = {
            let Some((c, _)) = &g.conn else { return Err(gone()) };
            c.busy_timeout(Duration::ZERO)?;
            let begun = c.execute_batch("BEGIN IMMEDIATE");
            if let Err(e) = c.busy_timeout(BUSY) {
                tracing::warn!(error = %e, "the batches' connection keeps no busy timeout");
            }
            // a connection left inside a transaction is of no more use
            if begun.is_err() && !c.is_autocommit() {
                g.conn = None;
            }
            begun
        };
        match begun {
            Ok(()) => break,
            Err(e) if busy(&e) && g.conn.is_some() && start.elapsed() < BUSY => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
    g.open = true;
    Ok(())
}

fn busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked))
}

/// Ends the open batch's transaction with `sql` (COMMIT or ROLLBACK). If
/// that fails, it is rolled back; a connection still inside a transaction
/// then is closed (which rolls it back) and opened again for the next batch.
fn end(g: &mut State, sql: &str) -> Result<()> {
    g.open = false;
    let Some((c, _)) = &g.conn else { return Err(gone()) };
    let outcome = c.execute_batch(sql);
    if outcome.is_err() {
        let _ = c.execute_batch("ROLLBACK");
    }
    if !c.is_autocommit() {
        g.conn = None;
    }
    Ok(outcome?)
}

/// Rolls back the work of the writer at work, and ends its savepoint.
fn undo(g: &State) -> Result<()> {
    Ok(g.conn()?.execute_batch(UNDO)?)
}

/// The batch's transaction cannot go on: it is rolled back and every writer
/// of the batch gets the error.
fn fail(g: &mut State, e: &DbError) {
    tracing::error!(error = %e, "a batch of writes failed and was rolled back");
    if g.open {
        let _ = end(g, "ROLLBACK");
    }
    g.began = None;
    g.batch += 1;
    g.memo = None;
    for d in std::mem::take(&mut g.done) {
        let _ = d.send(Err(e.to_string()));
    }
}

impl Batch {
    /// The writer's own transaction, where every writer has one
    /// (PostgreSQL): there it reads and, after [`Batch::open`], writes.
    pub fn tx(&mut self) -> Option<&mut Tx> {
        match &mut self.inner {
            Inner::Own(tx) => tx.as_mut(),
            Inner::Shared { .. } => None,
        }
    }

    /// The shared batch's connection (SQLite), inside the batch's
    /// transaction: there the writer reads and, after [`Batch::open`],
    /// writes (or through [`Batch::write`]). Only its writes are its own,
    /// undone alone if it fails or gives up.
    pub fn direct(&self) -> Result<&Connection> {
        match &self.inner {
            Inner::Shared { guard, .. } => guard.as_ref().ok_or_else(gone)?.conn(),
            Inner::Own(_) => Err(DbError::Other("not a shared batch: the writer has a transaction of its own".into())),
        }
    }

    /// Whether this writer shares a batch on the batches' own connection (SQLite).
    pub fn is_shared(&self) -> bool {
        matches!(self.inner, Inner::Shared { .. })
    }

    /// What the writers of this batch leave for the ones after them in the
    /// same transaction (a `T`, made with `Default` by the first to ask),
    /// dropped when the batch is committed or fails, whenever a writer's
    /// part is undone alone (it may have recorded what it wrote), and when a
    /// part written through [`Batch::open`] is kept (what it wrote is not
    /// recorded). A writer records in it only what a [`Batch::write`]
    /// without [`Batch::open`] wrote and kept: the writers of a batch take their turns one after
    /// another and nobody else writes while it is open, so what they
    /// recorded is what the transaction holds.
    /// `None` where every writer has a transaction of its own.
    pub fn memo<T: std::any::Any + Send + Default>(&mut self) -> Option<&mut T> {
        let Inner::Shared { guard, .. } = &mut self.inner else { return None };
        let g = guard.as_mut()?;
        if !g.memo.as_ref().is_some_and(|m| m.is::<T>()) {
            g.memo = Some(Box::new(T::default()));
        }
        g.memo.as_mut().and_then(|m| m.downcast_mut::<T>())
    }

    /// Opens this writer's savepoint (if not yet open): it then writes, with
    /// as many statements as it needs, in [`Batch::tx`] or [`Batch::direct`].
    pub fn open(&mut self) -> Result<()> {
        if let Inner::Shared { guard, .. } = &mut self.inner {
            let g = guard.as_mut().ok_or_else(gone)?;
            match self.part {
                Part::Open => {}
                Part::Kept => return Err(DbError::Other("this writer's part is already written".into())),
                Part::Clean => {
                    self.part = Part::Open;
                    let opened = g.conn().and_then(|c| Ok(c.execute_batch(SAVEPOINT)?));
                    if let Err(e) = opened {
                        self.part = Part::Clean;
                        fail(g, &e);
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs one statement in this writer's part (opened if need be); returns
    /// the number of rows it changed.
    pub async fn exec(&mut self, sql: &'static str, args: Vec<Arg>) -> Result<u64> {
        self.open()?;
        if let Some(tx) = self.tx() {
            return tx.exec(sql, args).await;
        }
        Ok(crate::hot::exec(self.direct()?, sql, &args)? as u64)
    }

    /// Writes this writer's part of a shared batch at once (`f`, with as
    /// many statements as it needs), between the writer's savepoint and its
    /// release; returns what `f` returns. If a statement fails, nothing of
    /// the call is kept (the savepoint is rolled back, or the batch fails as
    /// a whole if it cannot be). A part is written once; after it only
    /// [`Batch::commit`] is left. Where every writer has a transaction of its
    /// own, the writer uses [`Batch::open`] instead.
    pub fn write<T>(&mut self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let Inner::Shared { guard, .. } = &mut self.inner else {
            return Err(DbError::Other("not a shared batch: write in the writer's own transaction".into()));
        };
        let g = guard.as_mut().ok_or_else(gone)?;
        match self.part {
            Part::Kept => Err(DbError::Other("this writer's part is already written".into())),
            Part::Open => Ok(f(g.conn()?)?),
            Part::Clean => {
                self.part = Part::Open;
                let written = g.conn().and_then(|c| {
                    c.execute_batch(SAVEPOINT)?;
                    let v = f(c)?;
                    c.execute_batch(RELEASE)?;
                    Ok(v)
                });
                match written {
                    Ok(v) => {
                        self.part = Part::Kept;
                        Ok(v)
                    }
                    Err(e) => {
                        if let Err(x) = undo(g) {
                            fail(g, &x);
                        }
                        self.part = Part::Clean;
                        Err(e)
                    }
                }
            }
        }
    }

    /// Keeps this writer's work and returns once the commit that holds it is
    /// done (its error if that commit failed: then nothing of it is stored).
    /// The other writers of the batch learn the outcome even if this request
    /// is given up while it waits.
    pub async fn commit(mut self) -> Result<()> {
        let part = self.part;
        match &mut self.inner {
            Inner::Own(tx) => tx.take().ok_or_else(gone)?.commit().await,
            Inner::Shared { guard, b } => {
                let mut g = guard.take().ok_or_else(gone)?;
                // what the writers before recorded is behind what a part
                // written through `open` wrote (the log's head, say)
                if part == Part::Open {
                    g.memo = None;
                }
                let released = match part {
                    Part::Open => g.conn().and_then(|c| Ok(c.execute_batch(RELEASE)?)),
                    _ => g.conn().map(|_| ()),
                };
                if let Err(e) = released {
                    fail(&mut g, &e);
                    return Err(e);
                }
                let (send, outcome) = oneshot::channel();
                g.done.push(send);
                b.flush_if_due(&mut g);
                drop(g);
                match outcome.await {
                    Ok(r) => r.map_err(DbError::Other),
                    Err(_) => Err(DbError::Other("the batch ended without an outcome".into())),
                }
            }
        }
    }

    /// Undoes this writer's work (only its own) and ends its turn. A part
    /// already written with [`Batch::write`] cannot be undone alone: the
    /// batch then fails as a whole (nothing of it is stored, and its other
    /// writers get the error).
    pub async fn rollback(mut self) -> Result<()> {
        match &mut self.inner {
            Inner::Own(tx) => tx.take().ok_or_else(gone)?.rollback().await,
            Inner::Shared { guard, b } => {
                let mut g = guard.take().ok_or_else(gone)?;
                let part = self.part;
                let undone = give_up(&mut g, part);
                b.flush_if_due(&mut g);
                // the writer's own work is undone either way
                if part == Part::Kept { Ok(()) } else { undone }
            }
        }
    }
}

/// Undoes the part of a writer that gives up: its savepoint rolled back (a
/// part already released fails the batch as a whole).
fn give_up(g: &mut State, part: Part) -> Result<()> {
    // what the writer may have recorded goes with its work
    if part != Part::Clean {
        g.memo = None;
    }
    let undone = match part {
        Part::Open if g.open => undo(g),
        Part::Kept if g.open => Err(DbError::Other("a written part was given up".into())),
        // a transaction SQLite ended by itself
        Part::Clean if g.open => g.conn().map(|_| ()),
        _ => Ok(()),
    };
    if let Err(e) = &undone {
        fail(g, e);
    }
    undone
}

impl Drop for Batch {
    fn drop(&mut self) {
        // dropped in the middle of its work (a request given up): its part is
        // rolled back (with the whole batch, if it was already written), and
        // the batch committed if nobody else will
        let part = self.part;
        if let Inner::Shared { guard, b } = &mut self.inner
            && let Some(mut g) = guard.take()
        {
            let _ = give_up(&mut g, part);
            b.flush_if_due(&mut g);
        }
    }
}
