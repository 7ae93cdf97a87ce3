//! The append-only, hash-chained audit log.
//!
//! Every state change and every denial appends one row in the same
//! transaction as the change. Each row's hash covers its content and the
//! previous row's hash, so a row changed, removed or reordered behind the
//! application's back breaks the chain at that row. The database refuses
//! UPDATE and DELETE on the table (SQLite triggers, PostgreSQL triggers).

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Db, Result, Tx, args};

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, who did it, to what, and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Entry {
    pub actor_user_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub authority_id: Option<i64>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub reason: Option<String>,
    pub request_id: String,
}

/// A stored row.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct Row {
    pub id: i64,
    pub at: String,
    pub actor_user_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub authority_id: Option<i64>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub reason: Option<String>,
    pub request_id: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Row {
    fn content_hash(&self) -> String {
        chain_hash(
            &self.prev_hash,
            &serde_json::json!([
                self.id,
                self.at,
                self.actor_user_id,
                self.actor_name,
                self.action,
                self.object_type,
                self.object_id,
                self.authority_id,
                self.before_json,
                self.after_json,
                self.reason,
                self.request_id,
            ]),
        )
    }
}

fn chain_hash(prev: &str, content: &Value) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(content.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// The id of the log's last entry (0 for an empty log): it changes with every
/// committed change, since every change appends to the log in its own
/// transaction. Caches of derived data are keyed by it.
pub async fn head_id(tx: &mut Tx) -> Result<i64> {
    let id: Option<(i64,)> = tx.opt("SELECT last_id FROM audit_head WHERE id = 1", vec![]).await?;
    Ok(id.map(|r| r.0).unwrap_or(0))
}

/// The log's head and what came after the entry `after_id`, read in one
/// statement (so both are of the same moment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    /// The id of the log's last entry (0 for an empty log), as [`head_id`].
    pub head: i64,
    /// Its hash ("" for an empty log): what the next entry chains to.
    pub head_hash: String,
    /// Entries after `after_id` looked at (at most the limit + 1).
    pub entries: i64,
    /// Of them, those of the action `kept` on the object type `kept_on`.
    pub kept: i64,
    /// Of them, those that change nothing: a denial (`denied:…`) or one of `harmless`.
    pub harmless: i64,
}

impl Since {
    /// More entries than the limit were found after `after_id`.
    pub fn beyond(&self, limit: i64) -> bool {
        self.entries > limit
    }

    /// Entries that are neither `kept` nor harmless.
    pub fn others(&self) -> i64 {
        self.entries - self.kept - self.harmless
    }
}

/// The log's head and a count of the entries after `after_id` (looking at
/// `limit` + 1 at most): of the action `kept.0` on object type `kept.1`, of
/// the harmless ones (denials and the actions `harmless`), and the rest.
/// One statement instead of reading the entries: a cache that stays valid
/// through some actions asks this on every read.
pub async fn since(tx: &mut Tx, after_id: i64, limit: i64, kept: (&str, &str), harmless: &[&str]) -> Result<Since> {
    let sql = since_sql(kept, harmless, limit, "")?;
    // an aggregate without GROUP BY always gives its one row
    let row = tx.opt_dyn(sql, args![after_id]).await?;
    since_row(row)
}

/// [`since`] where a writer of a batch reads.
pub async fn since_in(
    b: &mut crate::batch::Batch,
    after_id: i64,
    limit: i64,
    kept: (&str, &str),
    harmless: &[&str],
) -> Result<Since> {
    if let Some(tx) = b.tx() {
        return since(tx, after_id, limit, kept, harmless).await;
    }
    let sql = since_sql(kept, harmless, limit, "")?;
    let rows = crate::hot::rows(b.direct()?, &sql, &[crate::Arg::from(after_id)], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?;
    since_row(rows.into_iter().next())
}

/// The id of the log's last entry (0 while it is empty), in one statement
/// outside any transaction: whether a kept copy is still current. It runs
/// on the request's own thread where it can ([`crate::hot`]): every read of
/// a kept group-year asks it.
pub async fn head_now(db: &Db) -> Result<i64> {
    const SQL: &str = "SELECT COALESCE((SELECT last_id FROM audit_head WHERE id = 1), CAST(0 AS BIGINT))";
    let row: Option<(i64,)> = db.read_one_hot(SQL, vec![], |r| Ok((r.get(0)?,))).await?;
    Ok(row.map(|r| r.0).unwrap_or(0))
}

pub(crate) type SinceRow = (i64, String, i64, i64, i64);

pub(crate) fn since_row(row: Option<SinceRow>) -> Result<Since> {
    let (head, head_hash, entries, kept, harmless) = row.ok_or(sqlx::Error::RowNotFound)?;
    Ok(Since { head, head_hash, entries, kept, harmless })
}

/// The statement of [`since`] (`$1` the id), with `more` (", column…",
/// its parameters from `$2`) read in the same statement.
///
/// The limit is written into the statement, not bound: SQLite prepares a
/// statement whose LIMIT is a parameter again every time it is bound (the
/// planner uses the value), and this one runs on every read of a kept copy
/// and every save.
pub(crate) fn since_sql(kept: (&str, &str), harmless: &[&str], limit: i64, more: &str) -> Result<String> {
    // the names go into the SQL as literals (only the ids are bound: a
    // statement whose other parameters change would be prepared again on
    // every use); they are the application's own constants, checked here
    let literal = |name: &str| -> Result<String> {
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.:".contains(c)) {
            Ok(format!("'{name}'"))
        } else {
            Err(crate::DbError::Other(format!("not an action name: {name:?}")))
        }
    };
    let list = harmless.iter().map(|h| literal(h)).collect::<Result<Vec<_>>>()?;
    let harmless_sql = if list.is_empty() { "FALSE".to_string() } else { format!("c.action IN ({})", list.join(", ")) };
    Ok(format!(
        "SELECT COALESCE((SELECT last_id FROM audit_head WHERE id = 1), 0), \
         COALESCE((SELECT last_hash FROM audit_head WHERE id = 1), ''), COUNT(*), \
         COALESCE(SUM(CASE WHEN c.action = {} AND c.object_type = {} THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN c.action LIKE 'denied:%' OR {harmless_sql} THEN 1 ELSE 0 END), 0){more} \
         FROM (SELECT action, object_type FROM audit_log WHERE id > $1 ORDER BY id LIMIT {}) AS c",
        literal(kept.0)?,
        literal(kept.1)?,
        limit.clamp(0, i64::MAX - 1) + 1
    ))
}

/// The lock that serialises the log's writers on PostgreSQL, held to the end
/// of the transaction.
pub(crate) const LOCK: &str = "SELECT pg_advisory_xact_lock(7243001)";

/// The log's last entry: its id and hash (what the next one chains to).
const LAST: &str = "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1";

/// Appends an entry inside the caller's transaction. Writers are serialised
/// (SQLite: the write transaction itself; PostgreSQL: an advisory lock held
/// to the end of the transaction) so the chain never forks. The database
/// keeps `audit_head` with it (a trigger).
pub async fn append(tx: &mut Tx, e: Entry) -> Result<i64> {
    if let Tx::Postgres(_) = tx {
        // already held when the transaction came from `Db::begin`
        tx.exec(LOCK, vec![]).await?;
    }
    let last: Option<(i64, String)> = tx.opt(LAST, vec![]).await?;
    let (last_id, prev_hash) = last.unwrap_or((0, GENESIS.to_string()));
    append_to(tx, e, last_id, prev_hash).await
}

/// Appends an entry in a writer's part of a batch (opened if need be).
pub async fn append_in(b: &mut crate::batch::Batch, e: Entry) -> Result<i64> {
    b.open()?;
    if let Some(tx) = b.tx() {
        return append(tx, e).await;
    }
    let c = b.direct()?;
    let last: Vec<(i64, String)> = crate::hot::rows(c, LAST, &[], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let (last_id, prev_hash) = last.into_iter().next().unwrap_or((0, GENESIS.to_string()));
    let (head, sql, args) = insert(e, last_id, prev_hash, 1);
    crate::hot::exec(c, &sql, &args)?;
    Ok(head.0)
}

/// Appends an entry after the head `since` read in the same SQLite write
/// transaction, with nothing appended since (one statement less than
/// [`append`]). On PostgreSQL, whose appends are serialised by a lock taken
/// when appending, this is [`append`].
pub async fn append_after(tx: &mut Tx, e: Entry, since: &Since) -> Result<i64> {
    match tx {
        Tx::Postgres(_) => append(tx, e).await,
        Tx::Sqlite(_) => {
            let prev = if since.head == 0 { GENESIS.to_string() } else { since.head_hash.clone() };
            append_to(tx, e, since.head, prev).await
        }
    }
}

async fn append_to(tx: &mut Tx, e: Entry, last_id: i64, prev_hash: String) -> Result<i64> {
    let (head, sql, args) = insert(e, last_id, prev_hash, 1);
    tx.exec_dyn(sql, args).await?;
    Ok(head.0)
}

/// The statement that appends `e` after the head `since` read (SQLite, in
/// the same write transaction, nothing appended since), its parameters
/// numbered from `$first` so that it can follow other statements in one
/// call; and the id and hash it gives the entry (the log's head after it).
pub(crate) fn insert_after(e: Entry, since: &Since, first: usize) -> ((i64, String), String, Vec<crate::Arg>) {
    let prev = if since.head == 0 { GENESIS.to_string() } else { since.head_hash.clone() };
    insert(e, since.head, prev, first)
}

fn insert(e: Entry, last_id: i64, prev_hash: String, first: usize) -> ((i64, String), String, Vec<crate::Arg>) {
    let mut row = Row {
        id: last_id + 1,
        at: crate::now(),
        actor_user_id: e.actor_user_id,
        actor_name: e.actor_name,
        action: e.action,
        object_type: e.object_type,
        object_id: e.object_id,
        authority_id: e.authority_id,
        before_json: e.before.map(|v| v.to_string()),
        after_json: e.after.map(|v| v.to_string()),
        reason: e.reason.filter(|r| !r.trim().is_empty()),
        request_id: e.request_id,
        prev_hash,
        hash: String::new(),
    };
    row.hash = row.content_hash();
    let params = (first..first + 14).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "INSERT INTO audit_log (id, at, actor_user_id, actor_name, action, object_type, object_id, authority_id, \
         before_json, after_json, reason, request_id, prev_hash, hash) VALUES ({params})"
    );
    let head = (row.id, row.hash.clone());
    let args = args![
        row.id,
        row.at,
        row.actor_user_id,
        row.actor_name,
        row.action,
        row.object_type,
        row.object_id,
        row.authority_id,
        row.before_json,
        row.after_json,
        row.reason,
        row.request_id,
        row.prev_hash,
        row.hash
    ];
    (head, sql, args)
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every row checks; the count of rows.
    Intact(u64),
    /// The first row that does not check, and why (in Vietnamese).
    Broken { id: i64, why: String },
}

/// Walks the whole log in pages and checks every link.
pub async fn verify(db: &Db) -> Result<Verdict> {
    let mut prev_hash = GENESIS.to_string();
    let mut expected_id = 1i64;
    let mut count = 0u64;
    loop {
        let mut tx = db.read().await?;
        let rows: Vec<Row> =
            tx.all("SELECT * FROM audit_log WHERE id >= $1 ORDER BY id LIMIT 5000", args![expected_id]).await?;
        tx.rollback().await?;
        if rows.is_empty() {
            return check_head(db, expected_id - 1, &prev_hash, count).await;
        }
        for r in rows {
            if r.id != expected_id {
                return Ok(Verdict::Broken { id: expected_id, why: format!("Thiếu bản ghi số {expected_id}.") });
            }
            if r.prev_hash != prev_hash {
                return Ok(Verdict::Broken {
                    id: r.id,
                    why: "Mã băm của bản ghi trước không khớp (bản ghi trước đã bị sửa hoặc xoá).".into(),
                });
            }
            if r.content_hash() != r.hash {
                return Ok(Verdict::Broken {
                    id: r.id, why: "Nội dung bản ghi đã bị sửa sau khi ghi.".into()
                });
            }
            prev_hash = r.hash;
            expected_id += 1;
            count += 1;
        }
    }
}

/// Compares the end of the chain with the head row written by every append:
/// rows removed from the end of the log, or an emptied log, show here.
async fn check_head(db: &Db, last_id: i64, last_hash: &str, count: u64) -> Result<Verdict> {
    let mut tx = db.read().await?;
    let head: Option<(i64, String)> = tx.opt("SELECT last_id, last_hash FROM audit_head WHERE id = 1", vec![]).await?;
    tx.rollback().await?;
    match head {
        None if count == 0 => Ok(Verdict::Intact(0)),
        None => {
            Ok(Verdict::Broken { id: 1, why: "Thiếu bản ghi đầu chuỗi (audit_head) của nhật ký.".into() })
        }
        Some((id, hash)) if id == last_id && hash == last_hash => Ok(Verdict::Intact(count)),
        Some((id, _)) if id > last_id => Ok(Verdict::Broken {
            id: last_id + 1,
            why: format!("Các bản ghi từ số {} đến số {id} đã bị xoá khỏi cuối nhật ký.", last_id + 1),
        }),
        Some(_) => Ok(Verdict::Broken {
            id: last_id,
            why: "Bản ghi cuối cùng không khớp với đầu chuỗi đã lưu (nhật ký đã bị sửa).".into(),
        }),
    }
}

/// Filters for browsing the log.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// Inclusive, a stored timestamp (UTC text).
    pub from: Option<String>,
    /// Exclusive, a stored timestamp (UTC text).
    pub to: Option<String>,
    /// Only rows of these authorities (None: all rows).
    pub authorities: Option<Vec<i64>>,
    pub limit: i64,
    pub offset: i64,
}

/// Newest first.
pub async fn browse(tx: &mut Tx, f: &Filter) -> Result<Vec<Row>> {
    let mut sql = String::from("SELECT * FROM audit_log WHERE 1 = 1");
    let mut a = Vec::new();
    let mut n = 0;
    let mut next = |sql: &mut String, cond: &str| {
        n += 1;
        sql.push_str(&cond.replace("$?", &format!("${n}")));
    };
    if let Some(v) = &f.actor {
        next(&mut sql, " AND LOWER(actor_name) LIKE $?");
        a.push(format!("%{}%", v.to_lowercase()).into());
    }
    if let Some(v) = &f.action {
        next(&mut sql, " AND action = $?");
        a.push(v.clone().into());
    }
    if let Some(v) = &f.object_type {
        next(&mut sql, " AND object_type = $?");
        a.push(v.clone().into());
    }
    if let Some(v) = &f.object_id {
        next(&mut sql, " AND object_id = $?");
        a.push(v.clone().into());
    }
    if let Some(v) = &f.from {
        next(&mut sql, " AND at >= $?");
        a.push(v.clone().into());
    }
    if let Some(v) = &f.to {
        next(&mut sql, " AND at < $?");
        a.push(v.clone().into());
    }
    if let Some(auths) = &f.authorities {
        if auths.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            let list: Vec<String> = auths.iter().map(|x| x.to_string()).collect();
            sql.push_str(&format!(" AND authority_id IN ({})", list.join(",")));
        }
    }
    next(&mut sql, " ORDER BY id DESC LIMIT $?");
    a.push(f.limit.clamp(1, 500).into());
    next(&mut sql, " OFFSET $?");
    a.push(f.offset.max(0).into());
    tx.all_dyn(sql, a).await
}
