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

/// What the log entries since a kept group-year mean for it.
enum Delta {
    Nothing,
    NewEntries,
    Reload,
}

fn delta(changes: &[(i64, String, String, String)]) -> Delta {
    let mut d = Delta::Nothing;
    for (_, action, object_type, _) in changes {
        if action.starts_with("denied:") || HARMLESS.contains(&action.as_str()) {
            continue;
        }
        if action == "score.save" && object_type == "unit" {
            d = Delta::NewEntries;
            continue;
        }
        return Delta::Reload;
    }
    d
}

struct Slot {
    stamp: i64,
    day: chrono::NaiveDate,
    loaded_at: Instant,
    /// When this copy was kept (loaded or brought up to date).
    kept_at: Instant,
    used: u64,
    year: Arc<Year>,
}

/// What [`Years::slot`] finds.
struct Kept {
    stamp: i64,
    year: Arc<Year>,
    loaded_at: Instant,
    kept_at: Instant,
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
}

impl Years {
    /// The group-year as of `tx`'s snapshot: from the cache when nothing was
    /// committed since it was loaded, else loaded in `tx` and kept.
    pub(crate) async fn get(&self, tx: &mut Tx, group_id: i64, year: i32) -> AppResult<Arc<Year>> {
        let (y, newer) = self.read(tx, group_id, year, true).await?;
        debug_assert!(newer.is_empty());
        Ok(y)
    }

    /// The group-year as `tx` sees it, for a write transaction that others
    /// of its batch may have written in already (`thidua_db::batch`): the
    /// kept copy and the score entries appended after it that `tx` sees
    /// (none when it had to be loaded). Nothing is kept, since what `tx`
    /// sees may yet be rolled back; and no copy of the whole group-year is
    /// made while the batch waits: the write needs only its own unit's entries.
    pub(crate) async fn in_batch(
        &self,
        tx: &mut Tx,
        group_id: i64,
        year: i32,
    ) -> AppResult<(Arc<Year>, Vec<thidua_db::scores::EntryRow>)> {
        self.read(tx, group_id, year, false).await
    }

    /// The group-year and, when not `keep`, the entries appended after it.
    async fn read(
        &self,
        tx: &mut Tx,
        group_id: i64,
        year: i32,
        keep: bool,
    ) -> AppResult<(Arc<Year>, Vec<thidua_db::scores::EntryRow>)> {
        // The id first, then the data: what is loaded is at least as new as the id.
        let stamp = audit::head_id(tx).await?;
        let day = crate::ops::today();
        if let Some(y) = self.kept_at_least(group_id, year, day, stamp, keep) {
            return Ok((y, vec![]));
        }
        // One request at a time brings a group-year up to date; the others
        // waiting for it then find it kept. A write in a batch does not wait:
        // what it reads is not kept.
        let turn = if keep { Some(self.turn(group_id, year).lock_owned().await) } else { None };
        if turn.is_some()
            && let Some(y) = self.kept_at_least(group_id, year, day, stamp, keep)
        {
            return Ok((y, vec![]));
        }
        let kept = match self.slot(group_id, year, day) {
            Some(k) if k.stamp < stamp && stamp - k.stamp <= MAX_DELTA => Some(k),
            _ => None,
        };
        if let Some(k) = kept {
            let changes = audit::since(tx, k.stamp, MAX_DELTA).await?;
            let parts = match delta(&changes) {
                Delta::Nothing => Some((k.year, vec![])),
                Delta::NewEntries => {
                    Some((k.year.clone(), thidua_db::scores::entries_after(tx, k.year.gy, k.year.last_row_id()).await?))
                }
                Delta::Reload => None,
            };
            if let Some((y, rows)) = parts {
                // brought up to date, not loaded: the age counts from the load
                self.counts[1].fetch_add(1, Ordering::Relaxed);
                if !keep {
                    return Ok((y, rows));
                }
                let y = if rows.is_empty() {
                    y
                } else {
                    // a copy of the whole group-year: off the async threads (see `Year::with_self_result`)
                    tokio::task::spawn_blocking(move || Arc::new(y.with_new_entries(rows)))
                        .await
                        .map_err(|e| crate::error::AppError::Internal(format!("group-year copy: {e}")))?
                };
                self.keep(group_id, year, stamp, day, k.loaded_at, y.clone());
                return Ok((y, vec![]));
            }
        }
        let y = Arc::new(load(tx, group_id, year).await?);
        self.counts[2].fetch_add(1, Ordering::Relaxed);
        if keep {
            self.keep(group_id, year, stamp, day, Instant::now(), y.clone());
        }
        Ok((y, vec![]))
    }

    /// The kept group-year if it is as of `stamp` or newer. Newer happens when
    /// another request, whose snapshot began later, kept it in the meantime:
    /// it is then at most a moment newer, and what it holds is committed. A
    /// copy newer than the log that was kept longer ago than [`RESTORED`]
    /// means the log went back (a database restored under a running server):
    /// the cache starts again.
    fn kept_at_least(
        &self,
        group_id: i64,
        year: i32,
        day: chrono::NaiveDate,
        stamp: i64,
        keep: bool,
    ) -> Option<Arc<Year>> {
        let k = self.slot(group_id, year, day)?;
        if k.stamp == stamp || (k.stamp > stamp && k.kept_at.elapsed() < RESTORED) {
            self.counts[0].fetch_add(1, Ordering::Relaxed);
            return Some(k.year);
        }
        if k.stamp > stamp && keep {
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
        Some(Kept { stamp: s.stamp, year: s.year.clone(), loaded_at: s.loaded_at, kept_at: s.kept_at })
    }

    fn keep(&self, group_id: i64, year: i32, stamp: i64, day: chrono::NaiveDate, loaded_at: Instant, y: Arc<Year>) {
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
        g.by_key.insert((group_id, year), Slot { stamp, day, loaded_at, kept_at: Instant::now(), used: tick, year: y });
    }

    fn forget(&self, group_id: i64, year: i32) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).by_key.remove(&(group_id, year));
    }

    /// How many reads were answered as kept, brought up to date, and loaded.
    pub fn counts(&self) -> [u64; 3] {
        [0, 1, 2].map(|i| self.counts[i].load(Ordering::Relaxed))
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
             # HELP thidua_group_year_cache_size Group-years kept.\n\
             # TYPE thidua_group_year_cache_size gauge\n\
             thidua_group_year_cache_size {}\n",
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

    fn c(action: &str, object_type: &str) -> (i64, String, String, String) {
        (1, action.into(), object_type.into(), "7".into())
    }

    #[test]
    fn only_denials_sign_ins_and_saves_keep_a_group_year() {
        assert!(matches!(delta(&[]), Delta::Nothing));
        assert!(matches!(delta(&[c("denied:view_sheet", "unit"), c("login", "user")]), Delta::Nothing));
        assert!(matches!(delta(&[c("login", "user"), c("score.save", "unit")]), Delta::NewEntries));
        for other in ["score.submit", "score.appraisal", "score.evidence_add", "membership.add", "covenant.target"] {
            assert!(matches!(delta(&[c("score.save", "unit"), c(other, "unit")]), Delta::Reload), "{other}");
        }
        assert!(matches!(delta(&[c("score.save", "group")]), Delta::Reload));
    }
}
