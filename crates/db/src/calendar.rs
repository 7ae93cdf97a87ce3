//! The calendar's tables: the authority's defaults and windows per year and
//! event, and each group-year's own dates. Plain reads and writes; the rules
//! (`thidua_core::calendar`), the policy and the audit are the caller's.

use serde::Serialize;

use crate::{Result, Tx, args, now};

/// An authority's default date and window for one event of a year.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DefaultRow {
    pub authority_id: i64,
    pub year: i32,
    /// covenant_signing | mid_year_review | self_assessment_deadline | head_review | explanation | appraisal | deliberation | year_end_review
    pub event: String,
    /// YYYY-MM-DD
    pub default_on: String,
    pub earliest_on: String,
    pub latest_on: String,
    pub updated_at: String,
}

/// A group-year's own date for one event.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct GroupDateRow {
    pub group_year_id: i64,
    pub event: String,
    /// YYYY-MM-DD
    pub date_on: String,
    pub reason: String,
    /// The username of who set it last.
    pub updated_by: Option<String>,
    pub updated_at: String,
}

/// A group's own date, with the group, for checking a change of the authority's defaults.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct AuthorityGroupDateRow {
    pub group_id: i64,
    pub group_name: String,
    pub event: String,
    pub date_on: String,
}

/// Serialises the changes of one authority's calendar for a year (its
/// defaults and its groups' dates), so that two changes checked side by side
/// cannot together break a rule. SQLite: the write transaction already is the
/// lock; PostgreSQL: an advisory lock held to the end of the transaction.
pub async fn lock(tx: &mut Tx, authority_id: i64, year: i32) -> Result<()> {
    if let Tx::Postgres(_) = tx {
        // two 32-bit keys: a space apart from the audit log's single 64-bit key
        let key = (authority_id % i64::from(i32::MAX)) as i32;
        tx.exec("SELECT pg_advisory_xact_lock($1, $2)", args![key, year]).await?;
    }
    Ok(())
}

pub async fn defaults(tx: &mut Tx, authority_id: i64, year: i32) -> Result<Vec<DefaultRow>> {
    tx.all(
        "SELECT authority_id, year, event, default_on, earliest_on, latest_on, updated_at FROM calendar_defaults \
         WHERE authority_id = $1 AND year = $2 ORDER BY default_on, id",
        args![authority_id, year],
    )
    .await
}

pub async fn set_default(
    tx: &mut Tx,
    authority_id: i64,
    year: i32,
    event: &str,
    window: (&str, &str, &str),
    user_id: i64,
) -> Result<u64> {
    let (default_on, earliest_on, latest_on) = window;
    tx.exec(
        "INSERT INTO calendar_defaults (authority_id, year, event, default_on, earliest_on, latest_on, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (authority_id, year, event) DO UPDATE SET default_on = excluded.default_on, \
         earliest_on = excluded.earliest_on, latest_on = excluded.latest_on, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
        args![authority_id, year, event, default_on, earliest_on, latest_on, user_id, now()],
    )
    .await
}

pub async fn delete_default(tx: &mut Tx, authority_id: i64, year: i32, event: &str) -> Result<u64> {
    tx.exec(
        "DELETE FROM calendar_defaults WHERE authority_id = $1 AND year = $2 AND event = $3",
        args![authority_id, year, event],
    )
    .await
}

/// The id of a group-year, if it exists (reading never creates one).
pub async fn find_group_year(tx: &mut Tx, group_id: i64, year: i32) -> Result<Option<i64>> {
    let found: Option<(i64,)> =
        tx.opt("SELECT id FROM group_years WHERE group_id = $1 AND year = $2", args![group_id, year]).await?;
    Ok(found.map(|r| r.0))
}

pub async fn group_dates(tx: &mut Tx, group_year_id: i64) -> Result<Vec<GroupDateRow>> {
    tx.all(
        "SELECT c.group_year_id, c.event, c.date_on, c.reason, u.username AS updated_by, c.updated_at \
         FROM group_calendar c LEFT JOIN users u ON u.id = c.updated_by WHERE c.group_year_id = $1 ORDER BY c.date_on, c.id",
        args![group_year_id],
    )
    .await
}

pub async fn set_group_date(
    tx: &mut Tx,
    group_year_id: i64,
    event: &str,
    date_on: &str,
    reason: &str,
    user_id: i64,
) -> Result<u64> {
    tx.exec(
        "INSERT INTO group_calendar (group_year_id, event, date_on, reason, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (group_year_id, event) DO UPDATE SET date_on = excluded.date_on, reason = excluded.reason, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        args![group_year_id, event, date_on, reason, user_id, now()],
    )
    .await
}

pub async fn delete_group_date(tx: &mut Tx, group_year_id: i64, event: &str) -> Result<u64> {
    tx.exec("DELETE FROM group_calendar WHERE group_year_id = $1 AND event = $2", args![group_year_id, event]).await
}

/// The own dates of every group of an authority in a year.
pub async fn group_dates_of_authority(tx: &mut Tx, authority_id: i64, year: i32) -> Result<Vec<AuthorityGroupDateRow>> {
    tx.all(
        "SELECT g.id AS group_id, g.name AS group_name, c.event, c.date_on FROM group_calendar c \
         JOIN group_years gy ON gy.id = c.group_year_id JOIN emulation_groups g ON g.id = gy.group_id \
         WHERE g.authority_id = $1 AND gy.year = $2 ORDER BY g.id, c.event",
        args![authority_id, year],
    )
    .await
}
