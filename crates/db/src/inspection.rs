//! The cross-inspection plan of a group's year: which member unit inspects
//! which. Plain reads and writes; the rules (`thidua_core::inspection`), the
//! policy and the audit are the caller's.

use serde::Serialize;

use crate::{Result, Tx, args, now};

/// One unit inspecting another in a group-year's plan.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct PairRow {
    pub group_year_id: i64,
    pub inspector_unit_id: i64,
    pub inspector_name: String,
    pub inspected_unit_id: i64,
    pub inspected_name: String,
    /// The username of who made the plan.
    pub created_by: Option<String>,
    pub created_at: String,
}

/// Serialises the changes of one group-year's plan. SQLite: the write
/// transaction already is the lock; PostgreSQL: the group-year's row is locked
/// to the end of the transaction.
pub async fn lock(tx: &mut Tx, group_year_id: i64) -> Result<()> {
    if let Tx::Postgres(_) = tx {
        tx.exec("SELECT id FROM group_years WHERE id = $1 FOR UPDATE", args![group_year_id]).await?;
    }
    Ok(())
}

/// The pairs of a group-year's plan, ordered by inspector.
pub async fn pairs(tx: &mut Tx, group_year_id: i64) -> Result<Vec<PairRow>> {
    tx.all(
        "SELECT p.group_year_id, p.inspector_unit_id, a.name AS inspector_name, p.inspected_unit_id, \
         b.name AS inspected_name, u.username AS created_by, p.created_at \
         FROM inspection_pairs p JOIN units a ON a.id = p.inspector_unit_id JOIN units b ON b.id = p.inspected_unit_id \
         LEFT JOIN users u ON u.id = p.created_by WHERE p.group_year_id = $1 ORDER BY p.inspector_unit_id, p.inspected_unit_id",
        args![group_year_id],
    )
    .await
}

/// Replaces a group-year's plan by `pairs` (inspector, inspected).
pub async fn replace(tx: &mut Tx, group_year_id: i64, pairs: &[(i64, i64)], user_id: i64) -> Result<()> {
    tx.exec("DELETE FROM inspection_pairs WHERE group_year_id = $1", args![group_year_id]).await?;
    let at = now();
    for (inspector, inspected) in pairs {
        tx.exec(
            "INSERT INTO inspection_pairs (group_year_id, inspector_unit_id, inspected_unit_id, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![group_year_id, *inspector, *inspected, user_id, at.clone()],
        )
        .await?;
    }
    Ok(())
}
