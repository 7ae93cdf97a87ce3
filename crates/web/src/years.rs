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
//! Reads use it, and the self-assessment save and submission before they
//! write in their transaction (a write never uses it after writing: what it
//! would keep could be rolled back). What is kept is at least as new as its
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
    used: u64,
    year: Arc<Year>,
}

/// The kept group-years by (group, year), with a use counter.
#[derive(Default)]
struct Slots {
    tick: u64,
    by_key: HashMap<(i64, i32), Slot>,
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
        // The id first, then the data: what is loaded is at least as new as the id.
        let stamp = audit::head_id(tx).await?;
        let day = crate::ops::today();
        let kept = match self.slot(group_id, year, day) {
            // the log went back (a database restored under a running server): start again
            Some((s, _, _)) if s > stamp => {
                self.forget(group_id, year);
                None
            }
            Some((s, y, _)) if s == stamp => {
                self.counts[0].fetch_add(1, Ordering::Relaxed);
                return Ok(y);
            }
            Some((s, y, at)) if s < stamp && stamp - s <= MAX_DELTA => Some((s, y, at)),
            _ => None,
        };
        if let Some((since, y, loaded_at)) = kept {
            let changes = audit::since(tx, since, MAX_DELTA).await?;
            let y = match delta(&changes) {
                Delta::Nothing => Some(y),
                Delta::NewEntries => {
                    let rows = thidua_db::scores::entries_after(tx, y.gy, y.last_row_id()).await?;
                    Some(if rows.is_empty() { y } else { Arc::new(y.with_new_entries(rows)) })
                }
                Delta::Reload => None,
            };
            if let Some(y) = y {
                // brought up to date, not loaded: the age counts from the load
                self.counts[1].fetch_add(1, Ordering::Relaxed);
                self.keep(group_id, year, stamp, day, loaded_at, y.clone());
                return Ok(y);
            }
        }
        let y = Arc::new(load(tx, group_id, year).await?);
        self.counts[2].fetch_add(1, Ordering::Relaxed);
        self.keep(group_id, year, stamp, day, Instant::now(), y.clone());
        Ok(y)
    }

    /// The kept group-year and the log id it is as of, unless too old.
    fn slot(&self, group_id: i64, year: i32, day: chrono::NaiveDate) -> Option<(i64, Arc<Year>, Instant)> {
        let mut g = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        g.tick += 1;
        let tick = g.tick;
        let s = g.by_key.get_mut(&(group_id, year))?;
        if s.day != day || s.loaded_at.elapsed() > MAX_AGE {
            return None;
        }
        s.used = tick;
        Some((s.stamp, s.year.clone(), s.loaded_at))
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
        g.by_key.insert((group_id, year), Slot { stamp, day, loaded_at, used: tick, year: y });
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
