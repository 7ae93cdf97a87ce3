//! The score chain of a group-year: entries appended (never changed: the
//! database refuses UPDATE and DELETE on `score_entries`; an entry's id is its
//! sequence number) and the state of each unit's self-assessment sheet.
//! Plain reads and writes; the rules (`thidua_core::workflow`), the policy and
//! the audit are the caller's.

use serde::Serialize;

use thidua_core::workflow::{ScoreEntry, Stage};

use crate::batch::Batch;
use crate::{Backend, DbError, Result, Tx, args};

/// One stored entry; `value_json` and `evidence_json` hold the core types as JSON.
/// (Its fields' order is the order of the columns [`since_and_entries_after`]
/// puts in each entry's JSON array.)
#[derive(Debug, Clone, sqlx::FromRow, Serialize, serde::Deserialize, PartialEq)]
pub struct EntryRow {
    pub id: i64,
    pub group_year_id: i64,
    pub unit_id: i64,
    pub line_code: String,
    pub stage: String,
    pub value_json: String,
    pub reason: String,
    pub evidence_json: String,
    pub by_user: i64,
    /// The username of the writer.
    pub by_name: String,
    pub by_unit: Option<i64>,
    pub at: String,
}

/// An entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub unit_id: i64,
    pub line_code: String,
    pub stage: String,
    pub value_json: String,
    pub reason: String,
    pub evidence_json: String,
    pub by_user: i64,
    pub by_unit: Option<i64>,
    pub at: String,
}

/// The stored state of a unit's sheet.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct SheetRow {
    pub state: String,
    pub submitted_by: Option<i64>,
    /// The username of who submitted.
    pub submitted_by_name: Option<String>,
    pub submitted_at: Option<String>,
    pub reopened_by: Option<i64>,
    pub reopen_reason: Option<String>,
}

/// Serialises the writes on one group-year's sheets. SQLite: the write
/// transaction already is the lock; PostgreSQL: the group-year's row is locked
/// to the end of the transaction.
pub async fn lock(tx: &mut Tx, group_year_id: i64) -> Result<()> {
    if let Tx::Postgres(_) = tx {
        tx.exec("SELECT id FROM group_years WHERE id = $1 FOR UPDATE", args![group_year_id]).await?;
    }
    Ok(())
}

/// Every entry of a group-year, in the order of their sequence numbers.
pub async fn entries(tx: &mut Tx, group_year_id: i64) -> Result<Vec<EntryRow>> {
    tx.all(
        "SELECT e.id, e.group_year_id, e.unit_id, e.line_code, e.stage, e.value_json, e.reason, e.evidence_json, \
         e.by_user, u.username AS by_name, e.by_unit, e.at \
         FROM score_entries e JOIN users u ON u.id = e.by_user WHERE e.group_year_id = $1 ORDER BY e.id",
        args![group_year_id],
    )
    .await
}

/// Every entry of a group-year as figures need them, in id order: the unit,
/// line, stage and value, without who wrote it, when, why or with what
/// evidence (`reason` and `at` are empty, `evidence` none, `by_user` 0).
/// For ranking many group-years, where the history is not shown. The
/// database hands them over as one JSON array (one row instead of one per
/// entry: the SQLite driver's cost is per row); an entry whose stage or
/// value is not one of ours is left out, as the chain's loading does, but a
/// stored value that is not JSON at all fails the whole read.
pub async fn entries_for_figures(tx: &mut Tx, group_year_id: i64) -> Result<Vec<ScoreEntry>> {
    let (json,): (String,) = match tx.backend() {
        Backend::Sqlite => {
            tx.one(
                "SELECT COALESCE(json_group_array(json_array(id, unit_id, line_code, stage, json(value_json))), '[]') \
                 FROM (SELECT id, unit_id, line_code, stage, value_json FROM score_entries \
                 WHERE group_year_id = $1 ORDER BY id)",
                args![group_year_id],
            )
            .await?
        }
        Backend::Postgres => {
            tx.one(
                "SELECT COALESCE(json_agg(json_build_array(id, unit_id, line_code, stage, value_json::json) \
                 ORDER BY id)::text, '[]') FROM score_entries WHERE group_year_id = $1",
                args![group_year_id],
            )
            .await?
        }
    };
    let rows: Vec<(i64, i64, String, String, serde_json::Value)> =
        serde_json::from_str(&json).map_err(|e| DbError::Other(format!("score entries of {group_year_id}: {e}")))?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, unit_id, line_code, stage, value)| {
            Some(ScoreEntry {
                unit_id,
                line_code,
                stage: Stage::parse(&stage)?,
                value: serde_json::from_value(value).ok()?,
                reason: String::new(),
                evidence: vec![],
                by_user: 0,
                by_unit: None,
                at: String::new(),
                seq: u64::try_from(id).ok()?,
            })
        })
        .collect())
}

/// The entries of a group-year appended after the entry `after_id`, by id.
/// Ids follow the commit order within a group-year only because every writer
/// of its entries holds [`lock`] from its first insert to its commit (on
/// PostgreSQL, ids are taken at insert time): a new writer of entries must
/// too, or a reader bringing a cached copy up to date could miss an entry.
pub async fn entries_after(tx: &mut Tx, group_year_id: i64, after_id: i64) -> Result<Vec<EntryRow>> {
    tx.all(
        "SELECT e.id, e.group_year_id, e.unit_id, e.line_code, e.stage, e.value_json, e.reason, e.evidence_json, \
         e.by_user, u.username AS by_name, e.by_unit, e.at \
         FROM score_entries e JOIN users u ON u.id = e.by_user WHERE e.group_year_id = $1 AND e.id > $2 ORDER BY e.id",
        args![group_year_id, after_id],
    )
    .await
}

/// [`crate::audit::since`] and, in the same statement, [`entries_after`]
/// (`group_year_id`, `after_id`): what a save in a batch reads of the log and
/// of its group-year's entries since the copy it keeps, in one trip to the
/// database. The entries are handed over as one JSON array.
#[allow(clippy::too_many_arguments)]
pub async fn since_and_entries_after(
    tx: &mut Tx,
    after_log: i64,
    limit: i64,
    kept: (&str, &str),
    harmless: &[&str],
    group_year_id: i64,
    after_id: i64,
) -> Result<(crate::audit::Since, Vec<EntryRow>)> {
    let sql = since_and_entries_sql(tx.backend(), limit, kept, harmless)?;
    let row: Option<(i64, String, i64, i64, i64, String)> =
        tx.opt_dyn(sql, args![after_log, group_year_id, after_id]).await?;
    since_and_entries(row, group_year_id, after_id)
}

/// [`since_and_entries_after`] where a writer of a batch reads.
#[allow(clippy::too_many_arguments)]
pub async fn since_and_entries_after_in(
    b: &mut Batch,
    after_log: i64,
    limit: i64,
    kept: (&str, &str),
    harmless: &[&str],
    group_year_id: i64,
    after_id: i64,
) -> Result<(crate::audit::Since, Vec<EntryRow>)> {
    if let Some(tx) = b.tx() {
        return since_and_entries_after(tx, after_log, limit, kept, harmless, group_year_id, after_id).await;
    }
    let sql = since_and_entries_sql(Backend::Sqlite, limit, kept, harmless)?;
    let args = args![after_log, group_year_id, after_id];
    let row = crate::hot::rows(b.direct()?, &sql, &args, |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
    })?;
    since_and_entries(row.into_iter().next(), group_year_id, after_id)
}

fn since_and_entries_sql(backend: Backend, limit: i64, kept: (&str, &str), harmless: &[&str]) -> Result<String> {
    let more = match backend {
        Backend::Sqlite => {
            ", (SELECT COALESCE(json_group_array(json_array(e.id, e.group_year_id, e.unit_id, e.line_code, e.stage, \
             e.value_json, e.reason, e.evidence_json, e.by_user, u.username, e.by_unit, e.at) ORDER BY e.id), '[]') \
             FROM score_entries e JOIN users u ON u.id = e.by_user WHERE e.group_year_id = $2 AND e.id > $3)"
        }
        Backend::Postgres => {
            ", (SELECT COALESCE(json_agg(json_build_array(e.id, e.group_year_id, e.unit_id, e.line_code, e.stage, \
             e.value_json, e.reason, e.evidence_json, e.by_user, u.username, e.by_unit, e.at) ORDER BY e.id)::text, '[]') \
             FROM score_entries e JOIN users u ON u.id = e.by_user WHERE e.group_year_id = $2 AND e.id > $3)"
        }
    };
    crate::audit::since_sql(kept, harmless, limit, more)
}

fn since_and_entries(
    row: Option<(i64, String, i64, i64, i64, String)>,
    group_year_id: i64,
    after_id: i64,
) -> Result<(crate::audit::Since, Vec<EntryRow>)> {
    let (json, since) = match row {
        Some((head, hash, n, k, h, json)) => (json, crate::audit::since_row(Some((head, hash, n, k, h)))?),
        None => return Err(sqlx::Error::RowNotFound.into()),
    };
    // each entry is a JSON array of the row's columns in `EntryRow`'s field
    // order, which serde reads as the struct itself
    let rows: Vec<EntryRow> = serde_json::from_str(&json)
        .map_err(|e| DbError::Other(format!("score entries of {group_year_id} after {after_id}: {e}")))?;
    Ok((since, rows))
}

/// Appends an entry; returns its sequence number (its id).
pub async fn append(tx: &mut Tx, group_year_id: i64, e: &NewEntry) -> Result<i64> {
    let ids = append_all(tx, group_year_id, std::slice::from_ref(e)).await?;
    ids.first().copied().ok_or_else(|| DbError::Other("no id returned for an entry".into()))
}

/// Appends entries with one statement per [`APPEND_CHUNK`] of them; returns
/// their ids in the order given (see [`ids_in_order`]).
pub async fn append_all(tx: &mut Tx, group_year_id: i64, entries: &[NewEntry]) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(entries.len());
    for chunk in entries.chunks(APPEND_CHUNK) {
        let (sql, args) = insert(group_year_id, chunk, 1);
        let rows: Vec<(i64, i64, String)> = tx.all_dyn(sql, args).await?;
        ids.extend(ids_in_order(rows, chunk)?);
    }
    Ok(ids)
}

/// Appends entries and the log entry of the action that wrote them as the
/// writer's one write of its part of a batch ([`Batch::write`]): on SQLite
/// every statement goes to the database in one call, the log entry chained
/// to the head `since` read in the batch's transaction. Returns the entries'
/// ids in the order given, and the log entry's id and hash (the log's head
/// after it; the hash only on SQLite, where the next writers of the batch
/// chain to it).
pub async fn append_logged(
    b: &mut Batch,
    group_year_id: i64,
    entries: &[NewEntry],
    log: crate::audit::Entry,
    since: &crate::audit::Since,
) -> Result<(Vec<i64>, (i64, String))> {
    if !b.is_shared() {
        b.open()?;
        let tx = b.tx().ok_or_else(|| DbError::Other("a writer of its own has a transaction".into()))?;
        let ids = append_all(tx, group_year_id, entries).await?;
        let logged = crate::audit::append(tx, log).await?;
        return Ok((ids, (logged, String::new())));
    }
    let (rows, logged) = b.write(|c| {
        let mut rows: Vec<(i64, i64, String)> = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(APPEND_CHUNK) {
            let (s, a) = insert(group_year_id, chunk, 1);
            rows.extend(crate::hot::rows(c, &s, &a, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?);
        }
        let (logged, s, a) = crate::audit::insert_after(log, since, 1);
        crate::hot::exec(c, &s, &a)?;
        Ok((rows, logged))
    })?;
    Ok((ids_in_order(rows, entries)?, logged))
}

/// The statement appending `entries` (at most [`APPEND_CHUNK`]), its
/// parameters numbered from `$first`.
fn insert(group_year_id: i64, entries: &[NewEntry], first: usize) -> (String, Vec<crate::Arg>) {
    let mut sql = String::from(
        "INSERT INTO score_entries (group_year_id, unit_id, line_code, stage, value_json, reason, evidence_json, \
         by_user, by_unit, at) VALUES ",
    );
    let mut args = Vec::with_capacity(entries.len() * 10);
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let n = first + i * 10;
        let row = (n..n + 10).map(|k| format!("${k}")).collect::<Vec<_>>().join(", ");
        sql.push('(');
        sql.push_str(&row);
        sql.push(')');
        args.extend(args![
            group_year_id,
            e.unit_id,
            e.line_code.clone(),
            e.stage.clone(),
            e.value_json.clone(),
            e.reason.clone(),
            e.evidence_json.clone(),
            e.by_user,
            e.by_unit,
            e.at.clone()
        ]);
    }
    sql.push_str(" RETURNING id, unit_id, line_code");
    (sql, args)
}

/// The ids of `entries` from the rows their statements returned. In one
/// statement the ids are taken in the order of the rows (SQLite: one past
/// the largest rowid, row by row; PostgreSQL: the id sequence, row by row),
/// so the returned ids, sorted, are the rows' ids in order. What the ids are
/// taken for is checked, not assumed: should the order ever differ, the
/// write is refused (and rolled back by the caller) rather than any entry
/// given another's id.
fn ids_in_order(mut rows: Vec<(i64, i64, String)>, entries: &[NewEntry]) -> Result<Vec<i64>> {
    rows.sort_unstable_by_key(|r| r.0);
    let same =
        rows.len() == entries.len() && rows.iter().zip(entries).all(|(r, e)| r.1 == e.unit_id && r.2 == e.line_code);
    if !same {
        return Err(DbError::Other(format!(
            "{} entries written, the ids returned do not follow their order",
            entries.len()
        )));
    }
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Rows per statement of [`append_all`]: few enough parameters for both
/// databases and for binding them by name.
pub const APPEND_CHUNK: usize = 100;

/// A unit's sheet, if it was ever submitted or reopened (none means a draft).
pub async fn sheet(tx: &mut Tx, group_year_id: i64, unit_id: i64) -> Result<Option<SheetRow>> {
    tx.opt(
        "SELECT s.state, s.submitted_by, u.username AS submitted_by_name, s.submitted_at, s.reopened_by, \
         s.reopen_reason FROM sheets s LEFT JOIN users u ON u.id = s.submitted_by \
         WHERE s.group_year_id = $1 AND s.unit_id = $2",
        args![group_year_id, unit_id],
    )
    .await
}

/// Records a unit's sheet as submitted.
pub async fn set_submitted(tx: &mut Tx, group_year_id: i64, unit_id: i64, by: i64, at: &str) -> Result<u64> {
    tx.exec(
        "INSERT INTO sheets (group_year_id, unit_id, state, submitted_by, submitted_at) VALUES ($1, $2, 'submitted', $3, $4) \
         ON CONFLICT (group_year_id, unit_id) DO UPDATE SET state = 'submitted', submitted_by = excluded.submitted_by, \
         submitted_at = excluded.submitted_at",
        args![group_year_id, unit_id, by, at],
    )
    .await
}

/// Records a unit's sheet as reopened by the secretariat, with a reason.
pub async fn set_reopened(tx: &mut Tx, group_year_id: i64, unit_id: i64, by: i64, reason: &str) -> Result<u64> {
    tx.exec(
        "INSERT INTO sheets (group_year_id, unit_id, state, reopened_by, reopen_reason) VALUES ($1, $2, 'reopened', $3, $4) \
         ON CONFLICT (group_year_id, unit_id) DO UPDATE SET state = 'reopened', reopened_by = excluded.reopened_by, \
         reopen_reason = excluded.reopen_reason",
        args![group_year_id, unit_id, by, reason],
    )
    .await
}

/// Every stored sheet of a group-year (units without a row are drafts).
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct SheetOfUnit {
    pub unit_id: i64,
    pub state: String,
    pub submitted_by: Option<i64>,
    pub submitted_at: Option<String>,
    pub reopened_by: Option<i64>,
    pub reopen_reason: Option<String>,
}

pub async fn sheets(tx: &mut Tx, group_year_id: i64) -> Result<Vec<SheetOfUnit>> {
    tx.all(
        "SELECT unit_id, state, submitted_by, submitted_at, reopened_by, reopen_reason FROM sheets \
         WHERE group_year_id = $1 ORDER BY unit_id",
        args![group_year_id],
    )
    .await
}

/// The stored phase and publication of a group-year (none: self-assessment, unpublished).
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct YearRow {
    pub phase: String,
    pub decision: Option<String>,
    pub changed_by: i64,
    pub changed_at: String,
    pub published_by: Option<i64>,
    pub published_at: Option<String>,
    pub publish_reasons: i64,
}

pub async fn year(tx: &mut Tx, group_year_id: i64) -> Result<Option<YearRow>> {
    tx.opt(
        "SELECT phase, decision, changed_by, changed_at, published_by, published_at, publish_reasons \
         FROM score_years WHERE group_year_id = $1",
        args![group_year_id],
    )
    .await
}

/// Sets the phase of a group-year (and the decision that reopened final results, if any).
pub async fn set_phase(
    tx: &mut Tx,
    group_year_id: i64,
    phase: &str,
    decision: Option<&str>,
    by: i64,
    at: &str,
) -> Result<u64> {
    tx.exec(
        "INSERT INTO score_years (group_year_id, phase, decision, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (group_year_id) DO UPDATE SET phase = excluded.phase, decision = excluded.decision, \
         changed_by = excluded.changed_by, changed_at = excluded.changed_at",
        args![group_year_id, phase, decision.map(str::to_string), by, at],
    )
    .await
}

/// Publishes the results of a group-year (or withdraws them when `by` is none).
pub async fn set_published(
    tx: &mut Tx,
    group_year_id: i64,
    by: Option<i64>,
    at: Option<&str>,
    reasons: bool,
) -> Result<u64> {
    tx.exec(
        "UPDATE score_years SET published_by = $2, published_at = $3, publish_reasons = $4 WHERE group_year_id = $1",
        args![group_year_id, by, at.map(str::to_string), i64::from(reasons)],
    )
    .await
}

/// A published group-year, for the public list.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct PublishedRow {
    pub group_id: i64,
    pub group_name: String,
    pub authority_name: String,
    pub year: i32,
    pub published_at: String,
}

pub async fn published(tx: &mut Tx) -> Result<Vec<PublishedRow>> {
    tx.all(
        "SELECT g.id AS group_id, g.name AS group_name, a.name AS authority_name, gy.year, sy.published_at \
         FROM score_years sy JOIN group_years gy ON gy.id = sy.group_year_id JOIN emulation_groups g ON g.id = gy.group_id \
         JOIN authorities a ON a.id = g.authority_id \
         WHERE sy.published_at IS NOT NULL AND sy.phase = 'final' ORDER BY gy.year DESC, a.name, g.name",
        args![],
    )
    .await
}

/// The metadata of an evidence file.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct EvidenceRow {
    pub id: i64,
    pub group_year_id: i64,
    pub unit_id: i64,
    pub line_code: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub file_type: String,
    pub file_name: String,
    pub uploaded_by: i64,
    pub uploaded_at: String,
}

/// An evidence file to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvidence {
    pub unit_id: i64,
    pub line_code: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub file_type: String,
    pub file_name: String,
    pub uploaded_by: i64,
    pub uploaded_at: String,
}

pub async fn add_evidence(tx: &mut Tx, group_year_id: i64, e: &NewEvidence) -> Result<i64> {
    tx.scalar(
        "INSERT INTO evidence_files (group_year_id, unit_id, line_code, sha256, size_bytes, file_type, file_name, \
         uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        args![
            group_year_id,
            e.unit_id,
            e.line_code.clone(),
            e.sha256.clone(),
            e.size_bytes,
            e.file_type.clone(),
            e.file_name.clone(),
            e.uploaded_by,
            e.uploaded_at.clone()
        ],
    )
    .await
}

/// Every evidence file of a group-year.
pub async fn evidence(tx: &mut Tx, group_year_id: i64) -> Result<Vec<EvidenceRow>> {
    tx.all(
        "SELECT id, group_year_id, unit_id, line_code, sha256, size_bytes, file_type, file_name, uploaded_by, uploaded_at \
         FROM evidence_files WHERE group_year_id = $1 ORDER BY id",
        args![group_year_id],
    )
    .await
}

pub async fn evidence_file(tx: &mut Tx, id: i64) -> Result<Option<EvidenceRow>> {
    tx.opt(
        "SELECT id, group_year_id, unit_id, line_code, sha256, size_bytes, file_type, file_name, uploaded_by, uploaded_at \
         FROM evidence_files WHERE id = $1",
        args![id],
    )
    .await
}
