//! A cache of loaded group-years, shared by the requests of one server.
//!
//! Loading a group-year (members, table, targets, every score entry, sheets,
//! phase, dates, evidence) and computing its figures is the cost of every
//! score page. The cache keeps the loaded [`Year`] (with its figures, computed
//! once on first use) keyed by the group, the year, the day (the table in
//! force depends on it) and the id of the audit log's last entry: every
//! committed change appends to the audit log in its own transaction, so a new
//! id means something may have changed. The entries written since are then
//! read (at most [`MAX_DELTA`]): when every one is a denial, a sign-in or
//! sign-out, or a self-assessment save (which only appends score entries), the
//! kept group-year is brought up to date with the score entries appended
//! since its last one; anything else loads the group-year again.
//! Reads use it, and the submission before it writes in its transaction (a
//! write never keeps what it sees after writing: that could be rolled back).
//! A self-assessment save reads through it inside its batch of writes
//! ([`Years::in_batch`]) without keeping anything. One request at a time
//! brings a group-year up to date; the others wait and find it kept. What is kept is at least as new as its
//! log id (the id is read first; a PostgreSQL write transaction may see
//! changes committed after it, which only makes the next read with a newer id
//! bring it up to date again). The server keeps no state the database does
//! not have: several servers behind one load balancer each keep their own cache,
//! and each sees the others' changes by the log's id. An entry older than
//! [`MAX_AGE`] is loaded again whatever the id, so a change made outside the
//! application (by hand in SQL, without the log) shows within that time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use thidua_db::batch::Batch;
use thidua_db::scores::EntryRow;
use thidua_db::{Tx, audit};

use crate::error::AppResult;
use crate::ops::chain::{Year, load};

/// Group-years kept at most; the least recently used goes first.
pub const CAPACITY: usize = 128;
/// An entry is loaded again after this time, whatever the log says.
pub const MAX_AGE: Duration = Duration::from_secs(300);
/// The most log entries read to bring a kept group-year up to date.
pub const MAX_DELTA: i64 = 500;
/// A kept copy newer than the log, kept longer ago than this, means the log
/// went back; kept more recently, a request that began later kept it.
pub const RESTORED: Duration = Duration::from_secs(2);

/// Log actions that change nothing a group-year holds.
const HARMLESS: &[&str] = &["login", "login_failed", "login_throttled", "logout", "session.end", "user.password"];
/// The log action (and object type) that only appends score entries.
const SAVE: (&str, &str) = ("score.save", "unit");

/// What the log entries since a kept group-year mean for it.
#[derive(Debug, PartialEq, Eq)]
enum Delta {
    Nothing,
    NewEntries,
    Reload,
}

fn delta(s: &audit::Since) -> Delta {
    if s.beyond(MAX_DELTA) || s.others() > 0 {
        Delta::Reload
    } else if s.kept > 0 {
        Delta::NewEntries
    } else {
        Delta::Nothing
    }
}

struct Slot {
    stamp: i64,
    day: chrono::NaiveDate,
    loaded_at: Instant,
    /// When this copy was kept (loaded or brought up to date).
    kept_at: Instant,
    used: u64,
    year: Arc<Year>,
    /// The group-year's score entries committed after `year`'s last one, in
    /// id order (saves acknowledged since the copy was made): a read that
    /// shows the group-year takes them into a new copy; a save only needs
    /// its own unit's.
    extra: Extra,
}

/// Score entries kept beside a copy of a group-year, shared (not copied) by the saves that read them.
type Extra = Arc<Vec<Arc<EntryRow>>>;

/// What [`Years::slot`] finds.
struct Kept {
    stamp: i64,
    year: Arc<Year>,
    extra: Extra,
    loaded_at: Instant,
    kept_at: Instant,
}

impl Kept {
    /// The id of the last score entry this copy holds.
    fn last_row_id(&self) -> i64 {
        self.extra.last().map(|r| r.id).unwrap_or_else(|| self.year.last_row_id())
    }
}

/// The kept group-years by (group, year), with a use counter, and the locks
/// that let one request at a time bring each up to date.
#[derive(Default)]
struct Slots {
    tick: u64,
    by_key: HashMap<(i64, i32), Slot>,
    turns: HashMap<(i64, i32), Arc<tokio::sync::Mutex<()>>>,
}

#[derive(Default)]
pub struct Years {
    slots: Mutex<Slots>,
    /// Answered from the cache as kept, brought up to date, loaded.
    counts: [AtomicU64; 3],
    /// Of those kept, answered after one statement without a transaction ([`Years::current`]).
    quick: AtomicU64,
    /// Saves that saw their group-year as an earlier save of their batch left it ([`BatchSeen`]).
    from_batch: AtomicU64,
}

/// The group-year as a write in a batch sees it ([`Years::in_batch`]).
pub(crate) struct InBatch {
    /// The kept copy (or one loaded for this write alone).
    pub year: Arc<Year>,
    /// The score entries of the group-year after `year`'s last one, in id
    /// order: those kept beside the copy, then those read after them.
    kept: Extra,
    read: Vec<EntryRow>,
    /// The log's head the write read (its own log entry follows it:
    /// `audit::append_after`); as of that entry the group-year is `year`
    /// with the entries after it and what the write appended ([`Years::saved`]).
    pub since: audit::Since,
}

/// What the saves of one batch saw and wrote, for the saves after them in
/// the same transaction (`Batch::memo`): nobody else writes while a batch is
/// open, so they need not read the log's head and their group-year's new
/// entries again. Only saves that were written and kept record here.
#[derive(Default)]
pub(crate) struct BatchSeen {
    /// The log's head (id, hash) after the last save kept in the batch.
    head: Option<(i64, String)>,
    /// Per group-year: what its saves in the batch saw.
    years: HashMap<(i64, i32), Seen>,
}

/// The copy a batch's saves of one group-year checked against, and the
/// entries after it (read by the first save, then appended by each).
struct Seen {
    year: Arc<Year>,
    kept: Extra,
    read: Vec<EntryRow>,
}

impl BatchSeen {
    /// The group-year as the next save of the batch sees it, if an earlier
    /// one saw it. Its `since` has the head only (no counts: nothing to count).
    pub(crate) fn get(&self, group_id: i64, year: i32) -> Option<InBatch> {
        let (head, head_hash) = self.head.clone()?;
        let seen = self.years.get(&(group_id, year))?;
        let since = audit::Since { head, head_hash, entries: 0, kept: 0, harmless: 0 };
        Some(InBatch { year: seen.year.clone(), kept: seen.kept.clone(), read: seen.read.clone(), since })
    }

    /// A save of the batch wrote `appended` and its log entry `logged` (id, hash).
    pub(crate) fn record(
        &mut self,
        group_id: i64,
        year: i32,
        seen: &InBatch,
        appended: &[EntryRow],
        logged: (i64, String),
    ) {
        self.head = Some(logged);
        let mut read = seen.read.clone();
        read.extend(appended.iter().cloned());
        self.years.insert((group_id, year), Seen { year: seen.year.clone(), kept: seen.kept.clone(), read });
    }
}

impl InBatch {
    /// The score entries after the copy's last one, in id order.
    pub fn newer(&self) -> impl Iterator<Item = &EntryRow> {
        self.kept.iter().map(|r| r.as_ref()).chain(self.read.iter())
    }

    /// The entry `id` among those after the copy.
    pub fn row(&self, id: i64) -> Option<&EntryRow> {
        match self.kept.binary_search_by_key(&id, |r| r.id) {
            Ok(i) => self.kept.get(i).map(|r| r.as_ref()),
            Err(_) => self.read.binary_search_by_key(&id, |r| r.id).ok().and_then(|i| self.read.get(i)),
        }
    }
}

impl Years {
    /// The group-year as of `tx`'s snapshot: from the cache when nothing was
    /// committed since it was loaded, else loaded in `tx` and kept.
    pub(crate) async fn get(&self, tx: &mut Tx, group_id: i64, year: i32) -> AppResult<Arc<Year>> {
        let day = crate::ops::today();
        let found = self.slot(group_id, year, day);
        let since = audit::since(tx, found.as_ref().map_or(i64::MAX, |k| k.stamp), MAX_DELTA, SAVE, HARMLESS).await?;
        let stamp = since.head;
        if let Some(y) = self.kept_at_least(group_id, year, day, stamp) {
            return Ok(y);
        }
        // One request at a time brings a group-year up to date; the others
        // waiting for it then find it kept.
        let _turn = self.turn(group_id, year).lock_owned().await;
        if let Some(y) = self.kept_at_least(group_id, year, day, stamp) {
            return Ok(y);
        }
        // The copy kept now: made whole when its entries are kept beside it
        // (it is as of the log), or brought up to date when the log says
        // only saves came since (a copy kept meanwhile is newer than the one
        // looked at: the entries since it are among those).
        let kept = match (found, self.slot(group_id, year, day)) {
            (_, Some(k)) if k.stamp == stamp || (k.stamp > stamp && k.kept_at.elapsed() < RESTORED) => Some((k, false)),
            (Some(f), Some(k)) if f.stamp <= k.stamp && k.stamp < stamp && delta(&since) != Delta::Reload => {
                Some((k, true))
            }
            _ => None,
        };
        if let Some((k, behind)) = kept {
            let mut rows: Vec<EntryRow> = k.extra.iter().map(|r| r.as_ref().clone()).collect();
            if behind {
                rows.extend(thidua_db::scores::entries_after(tx, k.year.gy, k.last_row_id()).await?);
            }
            // brought up to date, not loaded: the age counts from the load
            self.counts[1].fetch_add(1, Ordering::Relaxed);
            let y = if rows.is_empty() {
                k.year
            } else {
                // a copy of the whole group-year: off the async threads (see `Year::with_self_result`)
                let base = k.year;
                tokio::task::spawn_blocking(move || Arc::new(base.with_new_entries(rows)))
                    .await
                    .map_err(|e| crate::error::AppError::Internal(format!("group-year copy: {e}")))?
            };
            self.keep(group_id, year, stamp.max(k.stamp), day, k.loaded_at, y.clone(), Arc::default());
            return Ok(y);
        }
        let y = Arc::new(load(tx, group_id, year).await?);
        self.counts[2].fetch_add(1, Ordering::Relaxed);
        self.keep(group_id, year, stamp, day, Instant::now(), y.clone(), Arc::default());
        Ok(y)
    }

    /// The kept group-year if nothing was committed since it was kept (one
    /// statement, no transaction); None when it must be read in a
    /// transaction ([`Years::get`]): not kept, too old, entries kept beside
    /// it, or the log moved.
    ///
    /// `head`: the log's head as the request read it at its start
    /// ([`crate::auth::Ctx::head`]), for a request that changed nothing
    /// since; else it is read here.
    pub(crate) async fn current(
        &self,
        db: &thidua_db::Db,
        head: Option<i64>,
        group_id: i64,
        year: i32,
    ) -> AppResult<Option<Arc<Year>>> {
        let day = crate::ops::today();
        let Some(k) = self.slot(group_id, year, day) else { return Ok(None) };
        if !k.extra.is_empty() {
            return Ok(None);
        }
        let head = match head {
            Some(h) => h,
            None => audit::head_now(db).await?,
        };
        if head != k.stamp {
            return Ok(None);
        }
        Ok(Some(k.year))
    }

    /// How many times sheet or review parts were built for the kept copy of
    /// a group-year, if one is kept today (the tests check that readers share them).
    pub fn parts_built(&self, group_id: i64, year: i32) -> Option<usize> {
        self.slot(group_id, year, crate::ops::today()).map(|k| k.year.parts_built())
    }

    /// Counts a read answered with what [`Years::current`] gave (the caller
    /// may decline it and read in a transaction, which counts itself).
    pub(crate) fn answered_current(&self) {
        self.counts[0].fetch_add(1, Ordering::Relaxed);
        self.quick.fetch_add(1, Ordering::Relaxed);
    }

    /// The group-year as `tx` sees it, for a write transaction that others
    /// of its batch may have written in already (`thidua_db::batch`): the
    /// kept copy and the score entries appended after it that `tx` sees
    /// (none when it had to be loaded). Nothing is kept, since what `tx`
    /// sees may yet be rolled back; and no copy of the whole group-year is
    /// made while the batch waits: the write needs only its own unit's
    /// entries. Once the write is committed, [`Years::saved`] keeps what it saw.
    ///
    /// `Err(head)` where the batch's own connection (SQLite) would have to
    /// load it (not kept, or behind more than saves): the writer loads it
    /// outside its turn, as of the log id `head` at least
    /// ([`Years::load_now`]), and comes back. A load on the pool inside the
    /// turn would wait for a pool connection while holding the write lock
    /// that the pool's writers wait for.
    pub(crate) async fn in_batch(&self, b: &mut Batch, group_id: i64, year: i32) -> AppResult<Result<InBatch, i64>> {
        let day = crate::ops::today();
        let found = self.slot(group_id, year, day);
        if found.is_none() && b.is_shared() {
            return Ok(Err(0));
        }
        // the log since the kept copy and the group-year's entries after it, in one statement
        let (since, after) = match &found {
            Some(k) => {
                thidua_db::scores::since_and_entries_after_in(
                    b,
                    k.stamp,
                    MAX_DELTA,
                    SAVE,
                    HARMLESS,
                    k.year.gy,
                    k.last_row_id(),
                )
                .await?
            }
            None => (audit::since_in(b, i64::MAX, MAX_DELTA, SAVE, HARMLESS).await?, vec![]),
        };
        let stamp = since.head;
        if let Some(k) = found {
            let current = k.stamp == stamp || (k.stamp > stamp && k.kept_at.elapsed() < RESTORED);
            if current || (k.stamp < stamp && delta(&since) != Delta::Reload) {
                let read = if current {
                    self.counts[0].fetch_add(1, Ordering::Relaxed);
                    vec![]
                } else {
                    self.counts[1].fetch_add(1, Ordering::Relaxed);
                    after
                };
                return Ok(Ok(InBatch { year: k.year, kept: k.extra, read, since }));
            }
        }
        let Some(tx) = b.tx() else {
            // something else than saves came since the kept copy: loaded again outside the turn
            return Ok(Err(stamp));
        };
        let y = Arc::new(load(tx, group_id, year).await?);
        self.counts[2].fetch_add(1, Ordering::Relaxed);
        Ok(Ok(InBatch { year: y, kept: Arc::default(), read: vec![], since }))
    }

    /// Loads and keeps the group-year if it is not kept, before a write
    /// takes its turn in a batch of writes: the batch's own connection does
    /// not load one, and a load inside the turn would hold up the batch's
    /// other writers. A failure is left to the write, which then finds it
    /// missing and asks for [`Years::load_now`] (whose error it answers).
    pub(crate) async fn warm(&self, db: &thidua_db::Db, group_id: i64, year: i32) {
        if self.slot(group_id, year, crate::ops::today()).is_none()
            && let Err(e) = self.load_now(db, group_id, year, 0).await
        {
            tracing::debug!(error = %e, group_id, year, "the group-year could not be loaded before the write");
        }
    }

    /// Loads the group-year as committed, on the pool, and keeps it: for a
    /// write in a batch whose kept copy was missing, or behind more than
    /// saves (`at_least`: the log id the copy must be as of). One request
    /// at a time loads it; one that waited for another's load takes that.
    pub(crate) async fn load_now(&self, db: &thidua_db::Db, group_id: i64, year: i32, at_least: i64) -> AppResult<()> {
        let asked = Instant::now();
        let _turn = self.turn(group_id, year).lock_owned().await;
        let day = crate::ops::today();
        if self.slot(group_id, year, day).is_some_and(|k| k.loaded_at >= asked && k.stamp >= at_least) {
            return Ok(());
        }
        let mut tx = db.read().await?;
        let stamp = audit::head_id(&mut tx).await?;
        let y = Arc::new(load(&mut tx, group_id, year).await?);
        tx.rollback().await?;
        self.counts[2].fetch_add(1, Ordering::Relaxed);
        self.keep(group_id, year, stamp, day, Instant::now(), y, Arc::default());
        Ok(())
    }

    /// A save committed: its log entry is `logged`, and the group-year is
    /// `seen` (as [`Years::in_batch`] gave it) with the entries the save
    /// appended. When nothing else was logged between (`logged` is the head
    /// it read + 1) and the cache still holds that copy, the copy is kept as
    /// of `logged` with these entries: the next reads need not look for them.
    pub(crate) fn saved(&self, group_id: i64, year: i32, seen: InBatch, appended: Vec<EntryRow>, logged: i64) {
        if logged != seen.since.head + 1 {
            return;
        }
        let mut g = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let Some(s) = g.by_key.get_mut(&(group_id, year)) else { return };
        if !Arc::ptr_eq(&s.year, &seen.year) || s.stamp >= logged || s.day != crate::ops::today() {
            return;
        }
        // what the save saw after the copy starts with what the slot has
        if seen.kept.len() > s.extra.len() || seen.kept.iter().zip(s.extra.iter()).any(|(a, b)| a.id != b.id) {
            return;
        }
        let mut rows: Vec<Arc<EntryRow>> = seen.kept.iter().cloned().collect();
        rows.extend(seen.read.into_iter().map(Arc::new));
        rows.extend(appended.into_iter().map(Arc::new));
        if rows.len() < s.extra.len() {
            return;
        }
        s.extra = Arc::new(rows);
        s.stamp = logged;
        s.kept_at = Instant::now();
    }

    /// The kept group-year, as a whole, if it is as of `stamp` or newer.
    /// Newer happens when another request, whose snapshot began later, kept
    /// it in the meantime: it is then at most a moment newer, and what it
    /// holds is committed. A copy newer than the log that was kept longer
    /// ago than [`RESTORED`] means the log went back (a database restored
    /// under a running server): the cache starts again. A copy with entries
    /// kept beside it is made whole (a copy of the group-year) and kept so.
    fn kept_at_least(&self, group_id: i64, year: i32, day: chrono::NaiveDate, stamp: i64) -> Option<Arc<Year>> {
        let k = self.slot(group_id, year, day)?;
        if k.stamp == stamp || (k.stamp > stamp && k.kept_at.elapsed() < RESTORED) {
            if !k.extra.is_empty() {
                // made whole below, by the request whose turn it is
                return None;
            }
            self.counts[0].fetch_add(1, Ordering::Relaxed);
            return Some(k.year);
        }
        if k.stamp > stamp {
            self.forget(group_id, year);
        }
        None
    }

    /// The lock that lets one request at a time bring a group-year up to date.
    fn turn(&self, group_id: i64, year: i32) -> Arc<tokio::sync::Mutex<()>> {
        let mut g = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if g.turns.len() > 4 * CAPACITY {
            // forget the locks nobody holds or waits for
            g.turns.retain(|_, t| Arc::strong_count(t) > 1);
        }
        g.turns.entry((group_id, year)).or_default().clone()
    }

    /// The kept group-year and the log id it is as of, unless too old.
    fn slot(&self, group_id: i64, year: i32, day: chrono::NaiveDate) -> Option<Kept> {
        let mut g = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        g.tick += 1;
        let tick = g.tick;
        let s = g.by_key.get_mut(&(group_id, year))?;
        if s.day != day || s.loaded_at.elapsed() > MAX_AGE {
            return None;
        }
        s.used = tick;
        Some(Kept {
            stamp: s.stamp,
            year: s.year.clone(),
            extra: s.extra.clone(),
            loaded_at: s.loaded_at,
            kept_at: s.kept_at,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn keep(
        &self,
        group_id: i64,
        year: i32,
        stamp: i64,
        day: chrono::NaiveDate,
        loaded_at: Instant,
        y: Arc<Year>,
        extra: Extra,
    ) {
        let mut g = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        g.tick += 1;
        let tick = g.tick;
        if g.by_key.len() >= CAPACITY
            && !g.by_key.contains_key(&(group_id, year))
            && let Some(k) = g.by_key.iter().min_by_key(|(_, s)| s.used).map(|(k, _)| *k)
        {
            // the least recently used goes
            g.by_key.remove(&k);
        }
        // a slower load that finished later must not replace a newer one
        if g.by_key.get(&(group_id, year)).is_some_and(|s| s.stamp > stamp) {
            return;
        }
        g.by_key.insert(
            (group_id, year),
            Slot { stamp, day, loaded_at, kept_at: Instant::now(), used: tick, year: y, extra },
        );
    }

    fn forget(&self, group_id: i64, year: i32) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).by_key.remove(&(group_id, year));
    }

    /// How many reads were answered as kept, brought up to date, and loaded.
    pub fn counts(&self) -> [u64; 3] {
        [0, 1, 2].map(|i| self.counts[i].load(Ordering::Relaxed))
    }

    /// How many reads were answered as kept after one statement, without a transaction.
    pub fn quick(&self) -> u64 {
        self.quick.load(Ordering::Relaxed)
    }

    /// A save saw its group-year as an earlier save of its batch left it ([`BatchSeen`]).
    pub(crate) fn answered_from_batch(&self) {
        self.from_batch.fetch_add(1, Ordering::Relaxed);
    }

    /// How many saves saw their group-year as an earlier save of their batch left it.
    pub fn from_batch(&self) -> u64 {
        self.from_batch.load(Ordering::Relaxed)
    }

    /// The lines of `/metrics` about the cache.
    pub fn metrics(&self) -> String {
        let [kept, updated, loaded] = self.counts();
        format!(
            "# HELP thidua_group_year_cache_total Group-years read for score pages: answered as kept, brought up to date with new entries, loaded.\n\
             # TYPE thidua_group_year_cache_total counter\n\
             thidua_group_year_cache_total{{outcome=\"kept\"}} {kept}\n\
             thidua_group_year_cache_total{{outcome=\"updated\"}} {updated}\n\
             thidua_group_year_cache_total{{outcome=\"loaded\"}} {loaded}\n\
             # HELP thidua_group_year_cache_quick_total Of those kept, sheets answered after one statement without a transaction.\n\
             # TYPE thidua_group_year_cache_quick_total counter\n\
             thidua_group_year_cache_quick_total {}\n\
             # HELP thidua_group_year_cache_from_batch_total Saves that saw their group-year as an earlier save of their grouped commit left it, without reading.\n\
             # TYPE thidua_group_year_cache_from_batch_total counter\n\
             thidua_group_year_cache_from_batch_total {}\n\
             # HELP thidua_group_year_cache_size Group-years kept.\n\
             # TYPE thidua_group_year_cache_size gauge\n\
             thidua_group_year_cache_size {}\n",
            self.quick(),
            self.from_batch(),
            self.len()
        )
    }

    /// How many group-years are kept (for the metrics and the tests).
    pub fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn since(entries: i64, kept: i64, harmless: i64) -> audit::Since {
        audit::Since { head: 100, head_hash: String::new(), entries, kept, harmless }
    }

    #[test]
    fn only_denials_sign_ins_and_saves_keep_a_group_year() {
        assert_eq!(delta(&since(0, 0, 0)), Delta::Nothing);
        assert_eq!(delta(&since(2, 0, 2)), Delta::Nothing);
        assert_eq!(delta(&since(2, 1, 1)), Delta::NewEntries);
        assert_eq!(delta(&since(3, 1, 1)), Delta::Reload);
        assert_eq!(delta(&since(MAX_DELTA + 1, MAX_DELTA + 1, 0)), Delta::Reload);
        assert_eq!(delta(&since(MAX_DELTA, MAX_DELTA, 0)), Delta::NewEntries);
    }
}
