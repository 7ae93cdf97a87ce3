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
//! part. A writer that writes with one call ([`Batch::write`]) sends its
//! savepoint, its statements and the savepoint's release to the database
//! together: its turn is then one call for its reads and one for its writes,
//! the fewest trips to SQLite's worker thread (each is a hand-over between
//! threads, and the writers of a batch take their turns one after another).
//! When a writer is done and others are already waiting, it leaves the
//! transaction open for them and waits; the last writer of the queue (or the
//! one that finds the batch full or old enough) commits, and every writer of
//! the batch learns the commit's outcome. A writer's action is acknowledged
//! only after the commit that holds it, so nothing acknowledged can be lost:
//! either the whole batch is on disk or none of it is, and then every writer
//! of it gets the error. Each action still writes everything it writes
//! (entries, audit row) as one all-or-nothing unit: its savepoint.
//!
//! On PostgreSQL, which has many writers and commits them in groups itself,
//! a [`Batch`] is a plain transaction of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::{Arg, Db, DbError, Record, Result, Tx};

/// The most actions one commit holds.
pub const MAX_ACTIONS: usize = 64;
/// How long a batch stays open for writers already waiting: after this it is
/// committed by the next writer to finish, or by a timer if none does.
pub const MAX_OPEN: Duration = Duration::from_millis(20);

/// The savepoint of the writer at work.
const SAVEPOINT: &str = "SAVEPOINT thidua_action";
const RELEASE: &str = "RELEASE SAVEPOINT thidua_action";
const ROLLBACK_TO: &str = "ROLLBACK TO SAVEPOINT thidua_action";

#[derive(Default)]
struct State {
    /// The open transaction of the current batch.
    tx: Option<Tx>,
    /// Which batch is open (counts commits and failures).
    batch: u64,
    /// When the open batch began.
    began: Option<Instant>,
    /// The writers of the open batch whose work is done, waiting for its outcome.
    done: Vec<oneshot::Sender<Result<(), String>>>,
    /// What the writers of the open batch leave for the next ones
    /// ([`Batch::memo`]); dropped when the batch ends.
    memo: Option<Box<dyn std::any::Any + Send>>,
    /// A writer was dropped in the middle of its work: its savepoint must
    /// be rolled back before anything else (and if it cannot be, the batch
    /// fails as a whole).
    abandoned: bool,
}

struct Shared {
    db: Db,
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
        f.debug_struct("Batcher").field("backend", &self.0.db.backend()).finish()
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
    /// Its savepoint is open, or may be (a call that opens it was sent):
    /// rolling back to it undoes this writer's work only. The savepoints of
    /// the batch's earlier writers are all released, so if this one was not
    /// opened after all, rolling back to it fails, and the batch fails as a
    /// whole rather than undo anybody else's work.
    Open,
    /// Its writes are done and released into the batch's transaction
    /// ([`Batch::write`]): they can no longer be undone alone.
    Kept,
}

enum Inner {
    Own(Option<Tx>),
    Shared { guard: Option<OwnedMutexGuard<State>>, b: Batcher },
}

/// Counts a waiting writer for as long as it waits, even if it gives up.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Batcher {
    pub fn new(db: Db) -> Batcher {
        Batcher::with_window(db, MAX_OPEN)
    }

    /// A batcher whose batches stay open for waiting writers up to `window`
    /// instead of [`MAX_OPEN`] (the tests use a long one, so that what they
    /// group stays grouped on a slow machine).
    pub fn with_window(db: Db, window: Duration) -> Batcher {
        let writer = match db {
            Db::Sqlite(..) => match WriterThread::start() {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "no thread of its own for the writes: they run with the requests");
                    None
                }
            },
            Db::Postgres(_) => None,
        };
        // SQLite: the batches' own connection. A connection's page cache is
        // dropped whenever it finds that another connection wrote; batches
        // taking turns on the pool's connections would each start cold.
        let db = match db {
            Db::Sqlite(p, hot) => Db::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(15))
                    .connect_lazy_with((*p.connect_options()).clone()),
                hot,
            ),
            Db::Postgres(p) => Db::Postgres(p),
        };
        Batcher(Arc::new(Shared {
            writer,
            window,
            db,
            state: Arc::new(Mutex::new(State::default())),
            waiting: AtomicUsize::new(0),
            commits: AtomicUsize::new(0),
            actions: AtomicUsize::new(0),
        }))
    }

    /// Runs a writer (its turn, its part of the batch, its outcome) as a
    /// task of its own: on the writes' own thread (SQLite), or with the
    /// requests (PostgreSQL: every writer has its own transaction). It runs
    /// to its end even if the caller gives up waiting for it.
    pub async fn run<T: Send + 'static>(&self, writer: impl Future<Output = T> + Send + 'static) -> Result<T> {
        let task = match &self.0.writer {
            Some(w) => w.handle.spawn(writer),
            None => tokio::spawn(writer),
        };
        task.await.map_err(|e| DbError::Other(format!("a writer failed: {e}")))
    }

    /// Waits for this writer's turn and opens its part of the batch.
    pub async fn begin(&self) -> Result<Batch> {
        if let Db::Postgres(_) = self.0.db {
            return Ok(Batch { inner: Inner::Own(Some(self.0.db.begin().await?)), part: Part::Clean });
        }
        // The turn is taken by a task of its own: a request given up
        // meanwhile never leaves the batch waiting for it.
        let b = self.clone();
        let turn = tokio::spawn(async move {
            let mut g = {
                b.0.waiting.fetch_add(1, Ordering::SeqCst);
                let _w = Waiting(&b.0.waiting);
                b.0.state.clone().lock_owned().await
            };
            settle(&mut g).await;
            if g.tx.is_none() {
                g.tx = Some(b.0.db.begin().await?);
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
        tokio::spawn(async move {
            tokio::time::sleep(b.0.window).await;
            let mut g = b.0.state.clone().lock_owned().await;
            if g.batch == batch {
                b.flush(&mut g).await;
            }
        });
    }

    /// Closes the batches' own connection (SQLite), once the server has
    /// stopped taking requests.
    pub async fn close(&self) {
        if let Db::Sqlite(..) = self.0.db {
            self.0.db.close().await;
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
    async fn flush_if_due(&self, g: &mut OwnedMutexGuard<State>) {
        let due = self.0.waiting.load(Ordering::SeqCst) == 0
            || g.done.len() >= MAX_ACTIONS
            || g.began.is_some_and(|t| t.elapsed() >= self.0.window);
        if due {
            self.flush(g).await;
        }
    }

    /// Commits the open batch and tells its writers the outcome.
    async fn flush(&self, g: &mut OwnedMutexGuard<State>) {
        settle(g).await;
        let Some(tx) = g.tx.take() else { return };
        g.began = None;
        g.batch += 1;
        g.memo = None;
        let done = std::mem::take(&mut g.done);
        let outcome = if done.is_empty() { tx.rollback().await } else { tx.commit().await };
        if outcome.is_ok() && !done.is_empty() {
            self.0.commits.fetch_add(1, Ordering::Relaxed);
            self.0.actions.fetch_add(done.len(), Ordering::Relaxed);
        }
        let outcome = outcome.map_err(|e| e.to_string());
        for d in done {
            let _ = d.send(outcome.clone());
        }
    }
}

/// Rolls back the savepoint of a writer that was dropped in the middle of its work.
async fn settle(g: &mut OwnedMutexGuard<State>) {
    if !g.abandoned {
        return;
    }
    g.abandoned = false;
    // what the dropped writer may have recorded goes with its work
    g.memo = None;
    if let Some(tx) = g.tx.as_mut()
        && let Err(e) = undo(tx).await
    {
        fail(g, &e).await;
    }
}

/// Rolls back the work of the writer at work, and ends its savepoint.
async fn undo(tx: &mut Tx) -> Result<()> {
    tx.exec(ROLLBACK_TO, vec![]).await?;
    tx.exec(RELEASE, vec![]).await?;
    Ok(())
}

/// The batch's transaction cannot go on: it is rolled back and every writer
/// of the batch gets the error.
async fn fail(g: &mut OwnedMutexGuard<State>, e: &DbError) {
    tracing::error!(error = %e, "a batch of writes failed and was rolled back");
    if let Some(tx) = g.tx.take() {
        let _ = tx.rollback().await;
    }
    g.began = None;
    g.batch += 1;
    g.memo = None;
    for d in std::mem::take(&mut g.done) {
        let _ = d.send(Err(e.to_string()));
    }
}

impl Batch {
    /// The transaction to read in. Writes go through [`Batch::write`], or
    /// in the savepoint [`Batch::open`] opens: only they are this writer's
    /// own, undone alone if it fails or gives up.
    pub fn reading(&mut self) -> &mut Tx {
        match &mut self.inner {
            Inner::Own(tx) => tx.as_mut().expect("a batch is used until commit or rollback"),
            Inner::Shared { guard, .. } => {
                guard.as_mut().and_then(|g| g.tx.as_mut()).expect("a batch is used until commit or rollback")
            }
        }
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
    /// `None` on PostgreSQL, where every writer has a transaction of its own.
    pub fn memo<T: std::any::Any + Send + Default>(&mut self) -> Option<&mut T> {
        let Inner::Shared { guard, .. } = &mut self.inner else { return None };
        let g = guard.as_mut()?;
        if !g.memo.as_ref().is_some_and(|m| m.is::<T>()) {
            g.memo = Some(Box::new(T::default()));
        }
        g.memo.as_mut().and_then(|m| m.downcast_mut::<T>())
    }

    /// Opens this writer's savepoint (if not yet open) and gives the
    /// transaction to write in, with as many statements as it needs.
    pub async fn open(&mut self) -> Result<&mut Tx> {
        if let Inner::Shared { guard, .. } = &mut self.inner {
            let g = guard.as_mut().expect("a batch is used until commit or rollback");
            match self.part {
                Part::Open => {}
                Part::Kept => return Err(DbError::Other("this writer's part is already written".into())),
                Part::Clean => {
                    self.part = Part::Open;
                    let opened = match g.tx.as_mut() {
                        Some(tx) => tx.exec(SAVEPOINT, vec![]).await.map(|_| ()),
                        None => Err(DbError::Other("the batch's transaction is gone".into())),
                    };
                    if let Err(e) = opened {
                        self.part = Part::Clean;
                        fail(g, &e).await;
                        return Err(e);
                    }
                }
            }
        }
        Ok(self.reading())
    }

    /// Writes this writer's part in one call: on SQLite, `sql` (one
    /// statement or several, separated by `;`, their parameters numbered
    /// across all of them) goes to the database between the writer's
    /// savepoint and its release. Returns the rows the statements return.
    /// If a statement fails, nothing of the call is kept (the savepoint is
    /// rolled back, or the batch fails as a whole if it cannot be). A part is
    /// written once; after it only [`Batch::commit`] is left.
    pub async fn write<T: Record>(&mut self, sql: String, args: Vec<Arg>) -> Result<Vec<T>> {
        let Inner::Shared { guard, .. } = &mut self.inner else {
            return self.reading().all_dyn(sql, args).await;
        };
        let g = guard.as_mut().expect("a batch is used until commit or rollback");
        let Some(tx) = g.tx.as_mut() else {
            return Err(DbError::Other("the batch's transaction is gone".into()));
        };
        match self.part {
            Part::Kept => Err(DbError::Other("this writer's part is already written".into())),
            Part::Open => tx.all_dyn(sql, args).await,
            Part::Clean => {
                self.part = Part::Open;
                match tx.all_dyn(format!("{SAVEPOINT}; {sql}; {RELEASE}"), args).await {
                    Ok(rows) => {
                        self.part = Part::Kept;
                        Ok(rows)
                    }
                    Err(e) => {
                        // still Open while undoing: dropped meanwhile, it is undone by `settle`
                        if let Err(x) = undo(tx).await {
                            fail(g, &x).await;
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
    /// The savepoint is released and the batch committed by a task of its
    /// own, which goes to its end even if this request is given up: the
    /// other writers of the batch always learn the outcome.
    pub async fn commit(mut self) -> Result<()> {
        let part = self.part;
        match &mut self.inner {
            Inner::Own(tx) => tx.take().expect("not yet finished").commit().await,
            Inner::Shared { guard, b } => {
                let mut g = guard.take().expect("not yet finished");
                let b = b.clone();
                let (send, outcome) = oneshot::channel();
                tokio::spawn(async move {
                    // what the writers before recorded is behind what a part
                    // written through `open` wrote (the log's head, say)
                    if part == Part::Open {
                        g.memo = None;
                    }
                    let released = match (part, g.tx.as_mut()) {
                        (Part::Open, Some(tx)) => tx.exec(RELEASE, vec![]).await.map(|_| ()),
                        (_, Some(_)) => Ok(()),
                        (_, None) => Err(DbError::Other("the batch's transaction is gone".into())),
                    };
                    if let Err(e) = released {
                        fail(&mut g, &e).await;
                        let _ = send.send(Err(e.to_string()));
                        return;
                    }
                    g.done.push(send);
                    b.flush_if_due(&mut g).await;
                });
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
        let part = self.part;
        match &mut self.inner {
            Inner::Own(tx) => tx.take().expect("not yet finished").rollback().await,
            Inner::Shared { guard, b } => {
                let mut g = guard.take().expect("not yet finished");
                let b = b.clone();
                let done = tokio::spawn(async move {
                    // what this writer may have recorded goes with its work
                    if part == Part::Open {
                        g.memo = None;
                    }
                    let undone = match (part, g.tx.as_mut()) {
                        (Part::Open, Some(tx)) => undo(tx).await,
                        (Part::Kept, Some(_)) => Err(DbError::Other("a written part was given up".into())),
                        _ => Ok(()),
                    };
                    if let Err(e) = &undone {
                        fail(&mut g, e).await;
                    }
                    b.flush_if_due(&mut g).await;
                    // the writer's own work is undone either way
                    if part == Part::Kept { Ok(()) } else { undone }
                });
                done.await.map_err(|e| DbError::Other(format!("a writer's rollback failed: {e}")))?
            }
        }
    }
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
            // (a written part's savepoint is released: rolling back to it
            // fails, and so the batch does, before anyone writes again)
            g.abandoned = part != Part::Clean;
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let b = b.clone();
                rt.spawn(async move {
                    settle(&mut g).await;
                    b.flush_if_due(&mut g).await;
                });
            }
        }
    }
}
