//! The score chain of a group-year: entries appended (never changed: the
//! database refuses UPDATE and DELETE on `score_entries`; an entry's id is its
//! sequence number) and the state of each unit's self-assessment sheet.
//! Plain reads and writes; the rules (`thidua_core::workflow`), the policy and
//! the audit are the caller's.

use serde::Serialize;

use crate::{Result, Tx, args};

/// One stored entry; `value_json` and `evidence_json` hold the core types as JSON.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
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

/// Appends an entry; returns its sequence number (its id).
pub async fn append(tx: &mut Tx, group_year_id: i64, e: &NewEntry) -> Result<i64> {
    tx.scalar(
        "INSERT INTO score_entries (group_year_id, unit_id, line_code, stage, value_json, reason, evidence_json, \
         by_user, by_unit, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        args![
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
        ],
    )
    .await
}

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
