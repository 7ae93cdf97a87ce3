//! Group documents and their versions: plain reads and writes of the
//! metadata. The bytes are in the file store; validation, policy and audit
//! are the caller's (the operations layer). Versions are append-only (the
//! database refuses UPDATE and DELETE on them).

use serde::Serialize;

use crate::{Result, Tx, args, now};

/// A document of a group for a year.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DocumentRow {
    pub id: i64,
    pub group_id: i64,
    pub group_name: String,
    /// The authority that organises the group.
    pub authority_id: i64,
    pub year: i32,
    /// regulation | covenant | plan | minutes | other
    pub kind: String,
    pub title: String,
    /// Username of who created the document.
    pub created_by: String,
    pub created_at: String,
    /// When the latest version was added.
    pub updated_at: String,
}

/// One version of a document: one uploaded file.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct VersionRow {
    pub id: i64,
    pub document_id: i64,
    /// 1, 2, 3… in the order uploaded.
    pub version: i32,
    /// SHA-256 of the content, hex: the key of the file in the store.
    pub sha256: String,
    pub size_bytes: i64,
    /// The type detected from the content: pdf | docx | xlsx | png | jpeg | webp
    pub file_type: String,
    /// The file name as sent, cleaned.
    pub file_name: String,
    pub note: String,
    /// Username of who uploaded it.
    pub uploaded_by: String,
    /// Full name of who uploaded it.
    pub uploaded_by_name: String,
    pub uploaded_at: String,
}

const DOC_SELECT: &str = "SELECT d.id, g.id AS group_id, g.name AS group_name, g.authority_id, gy.year, d.kind, \
     d.title, u.username AS created_by, d.created_at, d.updated_at FROM documents d \
     JOIN group_years gy ON gy.id = d.group_year_id JOIN emulation_groups g ON g.id = gy.group_id \
     JOIN users u ON u.id = d.created_by";

const VERSION_SELECT: &str = "SELECT v.id, v.document_id, v.version, v.sha256, v.size_bytes, v.file_type, \
     v.file_name, v.note, u.username AS uploaded_by, u.full_name AS uploaded_by_name, v.uploaded_at \
     FROM document_versions v JOIN users u ON u.id = v.uploaded_by";

pub async fn document(tx: &mut Tx, id: i64) -> Result<Option<DocumentRow>> {
    tx.opt_dyn(format!("{DOC_SELECT} WHERE d.id = $1"), args![id]).await
}

/// The documents of a group, of one year or of every year; newest year first.
pub async fn documents_of_group(tx: &mut Tx, group_id: i64, year: Option<i32>) -> Result<Vec<DocumentRow>> {
    match year {
        Some(y) => {
            tx.all_dyn(
                format!("{DOC_SELECT} WHERE g.id = $1 AND gy.year = $2 ORDER BY gy.year DESC, d.id"),
                args![group_id, y],
            )
            .await
        }
        None => tx.all_dyn(format!("{DOC_SELECT} WHERE g.id = $1 ORDER BY gy.year DESC, d.id"), args![group_id]).await,
    }
}

/// The years in which a group has documents, newest first.
pub async fn document_years(tx: &mut Tx, group_id: i64) -> Result<Vec<i32>> {
    let rows: Vec<(i32,)> = tx
        .all(
            "SELECT DISTINCT gy.year FROM documents d JOIN group_years gy ON gy.id = d.group_year_id \
             WHERE gy.group_id = $1 ORDER BY gy.year DESC",
            args![group_id],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A document of a group-year with this kind and title (titles are unique per group-year and kind).
pub async fn document_by_title(tx: &mut Tx, group_year_id: i64, kind: &str, title: &str) -> Result<Option<i64>> {
    let row: Option<(i64,)> = tx
        .opt(
            "SELECT id FROM documents WHERE group_year_id = $1 AND kind = $2 AND title = $3",
            args![group_year_id, kind, title],
        )
        .await?;
    Ok(row.map(|r| r.0))
}

pub async fn insert_document(tx: &mut Tx, group_year_id: i64, kind: &str, title: &str, created_by: i64) -> Result<i64> {
    let t = now();
    tx.scalar(
        "INSERT INTO documents (group_year_id, kind, title, search_key, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        args![group_year_id, kind, title, thidua_core::text::fold(title), created_by, t],
    )
    .await
}

/// Marks a document as changed now. On PostgreSQL this also locks its row
/// until the transaction ends, so that two new versions of one document
/// are numbered one after the other (SQLite's write lock already does).
pub async fn touch_document(tx: &mut Tx, id: i64) -> Result<u64> {
    tx.exec("UPDATE documents SET updated_at = $2 WHERE id = $1", args![id, now()]).await
}

/// Every version of a document, oldest first.
pub async fn versions(tx: &mut Tx, document_id: i64) -> Result<Vec<VersionRow>> {
    tx.all_dyn(format!("{VERSION_SELECT} WHERE v.document_id = $1 ORDER BY v.version"), args![document_id]).await
}

/// Every version of every document of a group, by document then version.
pub async fn versions_of_group(tx: &mut Tx, group_id: i64) -> Result<Vec<VersionRow>> {
    tx.all_dyn(
        format!(
            "{VERSION_SELECT} JOIN documents d ON d.id = v.document_id JOIN group_years gy ON gy.id = d.group_year_id \
             WHERE gy.group_id = $1 ORDER BY v.document_id, v.version"
        ),
        args![group_id],
    )
    .await
}

pub async fn version(tx: &mut Tx, document_id: i64, version: i32) -> Result<Option<VersionRow>> {
    tx.opt_dyn(format!("{VERSION_SELECT} WHERE v.document_id = $1 AND v.version = $2"), args![document_id, version])
        .await
}

/// The latest version of a document.
pub async fn latest_version(tx: &mut Tx, document_id: i64) -> Result<Option<VersionRow>> {
    tx.opt_dyn(format!("{VERSION_SELECT} WHERE v.document_id = $1 ORDER BY v.version DESC LIMIT 1"), args![document_id])
        .await
}

/// A new version's file, as detected and cleaned by the caller.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NewVersion {
    pub sha256: String,
    pub size_bytes: i64,
    pub file_type: String,
    pub file_name: String,
    pub note: String,
    pub uploaded_by: i64,
}

/// Appends the next version of a document; returns its number.
pub async fn insert_version(tx: &mut Tx, document_id: i64, v: &NewVersion) -> Result<i32> {
    let (next,): (i32,) = tx
        .one(
            "SELECT CAST(COALESCE(MAX(version), 0) + 1 AS INTEGER) FROM document_versions WHERE document_id = $1",
            args![document_id],
        )
        .await?;
    tx.exec(
        "INSERT INTO document_versions (document_id, version, sha256, size_bytes, file_type, file_name, note, \
         uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            document_id,
            next,
            v.sha256.clone(),
            v.size_bytes,
            v.file_type.clone(),
            v.file_name.clone(),
            v.note.clone(),
            v.uploaded_by,
            now()
        ],
    )
    .await?;
    Ok(next)
}

/// How many versions, of any document, have this content.
pub async fn versions_with_content(tx: &mut Tx, sha256: &str) -> Result<i64> {
    tx.scalar("SELECT COUNT(*) FROM document_versions WHERE sha256 = $1", args![sha256]).await
}
