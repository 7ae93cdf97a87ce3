//! Scoring-table templates, the versions of a group-year's table, and the
//! covenant (text, per-unit targets, signatures, penalties for not signing).
//! Table contents are stored as JSON text; the domain parses and checks them.

use serde::Serialize;

use crate::{Result, Tx, args, now};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TemplateRow {
    pub id: i64,
    pub authority_id: i64,
    pub authority_name: String,
    pub name: String,
    pub legal_basis: String,
    /// The table, as JSON.
    pub content: String,
    pub published_on: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TableRow {
    pub id: i64,
    pub group_year_id: i64,
    pub version: i32,
    /// The table, as JSON.
    pub content: String,
    /// Where the first version came from: `template:ID`, `year:YYYY`, `blank`; later versions: `version:N`.
    pub source: String,
    pub reason: String,
    pub created_by: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub adopted_at: Option<String>,
    pub adopted_by: Option<i64>,
    /// The day from which an adopted version is in force.
    pub effective_from: Option<String>,
}

const TEMPLATE_SELECT: &str = "SELECT t.id, t.authority_id, a.name AS authority_name, t.name, t.legal_basis, t.content, \
     t.published_on, t.created_at, t.updated_at FROM table_templates t JOIN authorities a ON a.id = t.authority_id";

/// Templates of these authorities (None: all).
pub async fn templates(tx: &mut Tx, authorities: Option<&[i64]>) -> Result<Vec<TemplateRow>> {
    let mut sql = format!("{TEMPLATE_SELECT} WHERE 1 = 1");
    if let Some(a) = authorities {
        crate::org::push_id_list(&mut sql, "t.authority_id", a);
    }
    sql.push_str(" ORDER BY t.id");
    tx.all_dyn(sql, vec![]).await
}

pub async fn template(tx: &mut Tx, id: i64) -> Result<Option<TemplateRow>> {
    tx.opt_dyn(format!("{TEMPLATE_SELECT} WHERE t.id = $1"), args![id]).await
}

pub async fn insert_template(
    tx: &mut Tx,
    authority_id: i64,
    name: &str,
    legal_basis: &str,
    content: &str,
    user: Option<i64>,
) -> Result<i64> {
    let t = now();
    tx.scalar(
        "INSERT INTO table_templates (authority_id, name, legal_basis, content, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        args![authority_id, name, legal_basis, content, user, t],
    )
    .await
}

pub async fn update_template(tx: &mut Tx, id: i64, name: &str, legal_basis: &str, content: &str) -> Result<u64> {
    tx.exec(
        "UPDATE table_templates SET name = $2, legal_basis = $3, content = $4, updated_at = $5 WHERE id = $1",
        args![id, name, legal_basis, content, now()],
    )
    .await
}

pub async fn publish_template(tx: &mut Tx, id: i64, on: &str) -> Result<u64> {
    tx.exec("UPDATE table_templates SET published_on = $2, updated_at = $3 WHERE id = $1", args![id, on, now()]).await
}

// ---------- a group-year's table ----------

const TABLE_SELECT: &str = "SELECT id, group_year_id, version, content, source, reason, created_by, created_at, \
     updated_at, adopted_at, adopted_by, effective_from FROM scoring_tables";

/// Every version of a group-year's table, oldest first.
pub async fn versions(tx: &mut Tx, group_year_id: i64) -> Result<Vec<TableRow>> {
    tx.all_dyn(format!("{TABLE_SELECT} WHERE group_year_id = $1 ORDER BY version"), args![group_year_id]).await
}

pub async fn table(tx: &mut Tx, id: i64) -> Result<Option<TableRow>> {
    tx.opt_dyn(format!("{TABLE_SELECT} WHERE id = $1"), args![id]).await
}

pub async fn insert_version(
    tx: &mut Tx,
    group_year_id: i64,
    version: i32,
    content: &str,
    source: &str,
    reason: &str,
    user: Option<i64>,
) -> Result<i64> {
    let t = now();
    tx.scalar(
        "INSERT INTO scoring_tables (group_year_id, version, content, source, reason, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        args![group_year_id, version, content, source, reason, user, t],
    )
    .await
}

/// Changes a draft's content. Adopted versions are never changed: the
/// condition on `adopted_at` makes a write to one touch no row.
pub async fn update_draft(tx: &mut Tx, id: i64, content: &str) -> Result<u64> {
    tx.exec(
        "UPDATE scoring_tables SET content = $2, updated_at = $3 WHERE id = $1 AND adopted_at IS NULL",
        args![id, content, now()],
    )
    .await
}

/// Marks a draft adopted, in force from a day.
pub async fn adopt(tx: &mut Tx, id: i64, user: i64, effective_from: &str, reason: &str) -> Result<u64> {
    tx.exec(
        "UPDATE scoring_tables SET adopted_at = $2, adopted_by = $3, effective_from = $4, reason = $5, updated_at = $2 \
         WHERE id = $1 AND adopted_at IS NULL",
        args![id, now(), user, effective_from, reason],
    )
    .await
}

/// Removes a draft that was never adopted (only drafts: see the condition).
pub async fn delete_draft(tx: &mut Tx, id: i64) -> Result<u64> {
    tx.exec("DELETE FROM scoring_tables WHERE id = $1 AND adopted_at IS NULL", args![id]).await
}

// ---------- the covenant ----------

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CovenantRow {
    pub id: i64,
    pub group_year_id: i64,
    pub text: String,
    pub table_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TargetRow {
    pub unit_id: i64,
    pub line_code: String,
    /// Hundredths.
    pub target: i64,
    pub set_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct SignatureRow {
    pub unit_id: i64,
    pub signed_by: i64,
    pub signer_name: String,
    pub signed_at: String,
    /// SHA-256 of what was signed: the text, the table version and the unit's targets.
    pub content_hash: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct PenaltyRow {
    pub unit_id: i64,
    /// Hundredths, positive: the points deducted.
    pub points: i64,
    pub reason: String,
    pub decided_by: i64,
    pub decided_at: String,
}

pub async fn covenant(tx: &mut Tx, group_year_id: i64) -> Result<Option<CovenantRow>> {
    tx.opt(
        "SELECT id, group_year_id, text, table_id, created_at, updated_at FROM covenants WHERE group_year_id = $1",
        args![group_year_id],
    )
    .await
}

pub async fn insert_covenant(tx: &mut Tx, group_year_id: i64, text: &str, table_id: Option<i64>) -> Result<i64> {
    let t = now();
    tx.scalar(
        "INSERT INTO covenants (group_year_id, text, table_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
         RETURNING id",
        args![group_year_id, text, table_id, t],
    )
    .await
}

pub async fn update_covenant(tx: &mut Tx, id: i64, text: &str, table_id: Option<i64>) -> Result<u64> {
    tx.exec(
        "UPDATE covenants SET text = $2, table_id = $3, updated_at = $4 WHERE id = $1",
        args![id, text, table_id, now()],
    )
    .await
}

pub async fn targets(tx: &mut Tx, covenant_id: i64) -> Result<Vec<TargetRow>> {
    tx.all(
        "SELECT unit_id, line_code, target, set_at FROM covenant_targets WHERE covenant_id = $1 ORDER BY unit_id, line_code",
        args![covenant_id],
    )
    .await
}

/// Sets (or replaces) a unit's target on a line; `None` removes it.
pub async fn set_target(
    tx: &mut Tx,
    covenant_id: i64,
    unit_id: i64,
    line_code: &str,
    target: Option<i64>,
    user: i64,
) -> Result<()> {
    tx.exec(
        "DELETE FROM covenant_targets WHERE covenant_id = $1 AND unit_id = $2 AND line_code = $3",
        args![covenant_id, unit_id, line_code],
    )
    .await?;
    if let Some(t) = target {
        tx.exec(
            "INSERT INTO covenant_targets (covenant_id, unit_id, line_code, target, set_by, set_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![covenant_id, unit_id, line_code, t, user, now()],
        )
        .await?;
    }
    Ok(())
}

pub async fn signatures(tx: &mut Tx, covenant_id: i64) -> Result<Vec<SignatureRow>> {
    tx.all(
        "SELECT unit_id, signed_by, signer_name, signed_at, content_hash FROM covenant_signatures \
         WHERE covenant_id = $1 ORDER BY signed_at",
        args![covenant_id],
    )
    .await
}

pub async fn insert_signature(
    tx: &mut Tx,
    covenant_id: i64,
    unit_id: i64,
    user: i64,
    signer_name: &str,
    content_hash: &str,
) -> Result<u64> {
    tx.exec(
        "INSERT INTO covenant_signatures (covenant_id, unit_id, signed_by, signer_name, signed_at, content_hash) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![covenant_id, unit_id, user, signer_name, now(), content_hash],
    )
    .await
}

pub async fn penalties(tx: &mut Tx, covenant_id: i64) -> Result<Vec<PenaltyRow>> {
    tx.all(
        "SELECT unit_id, points, reason, decided_by, decided_at FROM covenant_penalties WHERE covenant_id = $1",
        args![covenant_id],
    )
    .await
}

pub async fn insert_penalty(
    tx: &mut Tx,
    covenant_id: i64,
    unit_id: i64,
    points: i64,
    reason: &str,
    user: i64,
) -> Result<u64> {
    tx.exec(
        "INSERT INTO covenant_penalties (covenant_id, unit_id, points, reason, decided_by, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![covenant_id, unit_id, points, reason, user, now()],
    )
    .await
}

// ---------- the covenant: reads and locks for the covenant operations ----------

/// The id of a group-year, if it exists (never creates one).
pub async fn covenant_group_year(tx: &mut Tx, group_id: i64, year: i32) -> Result<Option<i64>> {
    let found: Option<(i64,)> =
        tx.opt("SELECT id FROM group_years WHERE group_id = $1 AND year = $2", args![group_id, year]).await?;
    Ok(found.map(|r| r.0))
}

/// Serialises the changes of one group-year's covenant (text, targets,
/// signatures, penalties), so that two changes checked side by side cannot
/// together break a rule (an edit after a signature, a second signature).
/// SQLite: the write transaction already is the lock; PostgreSQL: the
/// group-year's row, locked to the end of the transaction.
pub async fn lock_covenant(tx: &mut Tx, group_year_id: i64) -> Result<()> {
    if let Tx::Postgres(_) = tx {
        tx.exec("SELECT id FROM group_years WHERE id = $1 FOR UPDATE", args![group_year_id]).await?;
    }
    Ok(())
}

/// The document a unit signed, as recorded (JSON) in the append-only audit
/// log by the signing: the newest `covenant.sign` entry of the signature.
pub async fn signed_document(tx: &mut Tx, covenant_id: i64, unit_id: i64) -> Result<Option<String>> {
    let found: Option<(Option<String>,)> = tx
        .opt(
            "SELECT after_json FROM audit_log WHERE action = 'covenant.sign' AND object_type = 'covenant_signature' \
             AND object_id = $1 ORDER BY id DESC LIMIT 1",
            args![format!("{covenant_id}/{unit_id}")],
        )
        .await?;
    Ok(found.and_then(|r| r.0))
}
