//! Group documents: the regulation (quy chế), the covenant text, plans,
//! minutes… of a group for a year, each with its versions.
//!
//! Uploading a document, or a new version of one, is work of the head or
//! deputy unit of the group-year and of the organising authority's
//! secretariat ([`Action::ManageDocuments`]); the group's members and
//! readers see and download them ([`Action::ViewGroup`]). A file's type is
//! decided by its content ([`thidua_core::documents::sniff`]); refused files
//! leave nothing behind, neither a row nor a file. Accepted files go to the
//! file store ([`crate::files`]) under their SHA-256, so identical files are
//! stored once; a version is never overwritten.

use axum::body::Bytes;
use serde::Serialize;
use serde_json::json;
use thidua_core::Invalid;
use thidua_core::documents::{self as docs, DocumentKind, FileType, Limits, Refusal};
use thidua_core::org::{self, Name};
use thidua_core::policy::{Action, Target};
use thidua_db::documents::{self as dq, DocumentRow, NewVersion, VersionRow};
use thidua_db::org::{self as q, GroupRow};
use thidua_db::{Tx, audit};
use utoipa::ToSchema;

use super::authorize;
use super::org::Errors;
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::files::{self, BlobKey};

/// Room left in a request for the form's other fields and the multipart framing.
pub const MULTIPART_OVERHEAD: usize = 256 * 1024;

/// The limits of an upload on this server: the domain's limits, lowered
/// when the server's request limit (`body_limit_mb`) is smaller.
pub fn limits(st: &AppState) -> Limits {
    let room = st.cfg.body_limit.saturating_sub(MULTIPART_OVERHEAD).max(1024);
    Limits { max_bytes: Limits::DEFAULT.max_bytes.min(room), ..Limits::DEFAULT }
}

/// The message for a file over the limit.
pub fn too_large_message(st: &AppState) -> String {
    Refusal::TooLarge { limit: limits(st).max_bytes }.message_vi()
}

/// A file as it came in a form: the name the browser gave and the bytes.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Bytes,
}

/// The fields of a new document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DocumentInput {
    /// regulation | covenant | plan | minutes | other (or the Vietnamese label)
    pub kind: String,
    pub title: String,
    /// The emulation year, e.g. "2026".
    pub year: String,
    /// A note on this version (what it is, what changed).
    pub note: String,
}

/// Một tài liệu và phiên bản mới nhất (a document with its latest version).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentSummary {
    pub document: DocumentRow,
    /// Loại tài liệu bằng tiếng Việt.
    pub kind_label: String,
    /// Số phiên bản.
    pub version_count: i64,
    pub latest: VersionRow,
}

/// Một tài liệu với mọi phiên bản, cũ nhất trước (a document with every version).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentDetail {
    pub document: DocumentRow,
    /// Loại tài liệu bằng tiếng Việt.
    pub kind_label: String,
    pub versions: Vec<VersionRow>,
}

/// A file to send back.
#[derive(Debug, Clone)]
pub struct Download {
    pub bytes: Bytes,
    pub file_type: FileType,
    /// The name to save it under (with the extension of its type).
    pub file_name: String,
}

/// A file whose content has been checked.
pub(crate) struct Checked {
    pub(crate) key: BlobKey,
    pub(crate) file_type: FileType,
    pub(crate) file_name: String,
    pub(crate) bytes: Bytes,
}

/// Sniffs and hashes an upload, off the async threads. A file over the
/// limit is an error of its own (413); any other refusal is a field error.
pub(crate) async fn check_file(st: &AppState, up: &Upload) -> AppResult<Result<Checked, Invalid>> {
    let lim = limits(st);
    if up.bytes.is_empty() && up.file_name.trim().is_empty() {
        let msg = format!("Chưa chọn tệp. Hãy chọn tệp {} rồi gửi lại.", docs::ACCEPTED_TEXT);
        return Ok(Err(Invalid::new("Tệp", msg)));
    }
    if up.bytes.len() > lim.max_bytes {
        return Err(AppError::TooLarge(too_large_message(st)));
    }
    let bytes = up.bytes.clone();
    let (sniffed, key) = tokio::task::spawn_blocking(move || {
        let t = docs::sniff(&bytes, &lim);
        let key = t.is_ok().then(|| BlobKey::of(&bytes));
        (t, key)
    })
    .await
    .map_err(|e| AppError::Internal(format!("sniff: {e}")))?;
    match (sniffed, key) {
        (Ok(file_type), Some(key)) => {
            Ok(Ok(Checked { key, file_type, file_name: docs::clean_file_name(&up.file_name), bytes: up.bytes.clone() }))
        }
        (Err(r @ Refusal::TooLarge { .. }), _) => Err(AppError::TooLarge(r.message_vi())),
        (Err(r), _) => Ok(Err(Invalid::new("Tệp", r.message_vi()))),
        (Ok(_), None) => Err(AppError::Internal("sniff without key".into())),
    }
}

/// The policy's view of a group in a year (head and deputy of that year).
async fn group_target(tx: &mut Tx, g: &GroupRow, year: Option<i32>) -> AppResult<Target> {
    let path = q::authority_path(tx, g.authority_id).await?;
    let ctx = q::group_ctx(tx, g.id, year).await?;
    Ok(Target::group(path, ctx))
}

/// The target of a group in a year, for pages deciding which controls to show.
pub async fn group_year_target(st: &AppState, g: &GroupRow, year: Option<i32>) -> AppResult<Target> {
    let mut tx = st.db.read().await?;
    let t = group_target(&mut tx, g, year).await?;
    tx.rollback().await?;
    Ok(t)
}

fn kind_label(code: &str) -> String {
    DocumentKind::parse(code).map(|k| k.label().to_string()).unwrap_or_else(|| code.to_string())
}

/// Writes the file to the store (once per content).
pub(crate) async fn store_file(st: &AppState, f: &Checked) -> AppResult<bool> {
    files::store(st)
        .put(&f.key, f.bytes.clone())
        .await
        .map_err(|e| AppError::Internal(format!("file store put {}: {e}", f.key)))
}

fn new_version(ctx: &Ctx, f: &Checked, note: String) -> NewVersion {
    NewVersion {
        sha256: f.key.as_str().to_string(),
        size_bytes: f.bytes.len() as i64,
        file_type: f.file_type.code().to_string(),
        file_name: f.file_name.clone(),
        note,
        uploaded_by: ctx.user.id,
    }
}

/// Creates a document of a group for a year with its first version.
pub async fn create_document(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    input: &DocumentInput,
    up: &Upload,
) -> AppResult<DocumentDetail> {
    let mut e = Errors::default();
    let kind = e.take(docs::parse_kind(&input.kind));
    let title = e.take(Name::parse("Tên tài liệu", &input.title));
    let year = e.take(org::parse_year(&input.year));
    let note = e.take(docs::parse_note(&input.note));
    let file = e.take(check_file(st, up).await?);
    e.finish()?;
    let (Some(kind), Some(title), Some(year), Some(note), Some(file)) = (kind, title, year, note, file) else {
        return Err(AppError::Internal("create_document: parse".into()));
    };
    let mut tx = st.db.begin().await?;
    let group = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, Some(year)).await?;
    tx = authorize(st, ctx, tx, Action::ManageDocuments, &t, &format!("group:{group_id}")).await?;
    if !q::years(&mut tx).await?.contains(&year) {
        return Err(AppError::invalid("Năm", format!("Năm thi đua {year} chưa được mở.")));
    }
    if group.closed_on.as_deref().is_some_and(|c| c < format!("{year}-01-01").as_str()) {
        return Err(AppError::invalid("Năm", format!("Cụm, khối \"{}\" đã giải thể trước năm {year}.", group.name)));
    }
    let gy = q::group_year(&mut tx, group_id, year).await?;
    if dq::document_by_title(&mut tx, gy, kind.code(), title.as_str()).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "Năm {year} đã có tài liệu \"{}\" ({}). Để thay tệp, hãy mở tài liệu đó và tải lên phiên bản mới.",
            title.as_str(),
            kind.label().to_lowercase()
        )));
    }
    let stored_new = store_file(st, &file).await?;
    let id = dq::insert_document(&mut tx, gy, kind.code(), title.as_str(), ctx.user.id).await?;
    dq::insert_version(&mut tx, id, &new_version(ctx, &file, note)).await?;
    let document = dq::document(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let versions = dq::versions(&mut tx, id).await?;
    let mut a = ctx.entry("document.create", "document", id);
    a.authority_id = Some(group.authority_id);
    a.after = Some(json!({ "document": document, "version": versions.first(), "stored_new_file": stored_new }));
    audit::append(&mut tx, a).await?;
    tx.commit().await?;
    Ok(DocumentDetail { kind_label: kind_label(&document.kind), document, versions })
}

/// Adds a new version (a new file) to a document; earlier versions stay.
pub async fn add_version(st: &AppState, ctx: &Ctx, document_id: i64, note: &str, up: &Upload) -> AppResult<VersionRow> {
    let mut e = Errors::default();
    let note = e.take(docs::parse_note(note));
    let file = e.take(check_file(st, up).await?);
    e.finish()?;
    let (Some(note), Some(file)) = (note, file) else {
        return Err(AppError::Internal("add_version: parse".into()));
    };
    let mut tx = st.db.begin().await?;
    let document = dq::document(&mut tx, document_id).await?.ok_or(AppError::NotFound)?;
    let group = q::group(&mut tx, document.group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, Some(document.year)).await?;
    tx = authorize(st, ctx, tx, Action::ManageDocuments, &t, &format!("document:{document_id}")).await?;
    dq::touch_document(&mut tx, document_id).await?;
    let before = dq::latest_version(&mut tx, document_id).await?;
    if let Some(b) = before.as_ref().filter(|b| b.sha256 == file.key.as_str()) {
        return Err(AppError::Conflict(format!(
            "Tệp này giống hệt phiên bản {} hiện có của tài liệu, không cần tải lên lại.",
            b.version
        )));
    }
    let stored_new = store_file(st, &file).await?;
    let n = dq::insert_version(&mut tx, document_id, &new_version(ctx, &file, note)).await?;
    let row = dq::version(&mut tx, document_id, n).await?.ok_or(AppError::NotFound)?;
    let mut a = ctx.entry("document.version", "document", document_id);
    a.authority_id = Some(group.authority_id);
    a.before = before.map(|b| json!(b));
    a.after = Some(
        json!({ "document_id": document_id, "title": document.title, "version": row, "stored_new_file": stored_new }),
    );
    audit::append(&mut tx, a).await?;
    tx.commit().await?;
    Ok(row)
}

/// The documents of a group (of one year, or of every year), each with its latest version.
pub async fn list_documents(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: Option<i32>,
) -> AppResult<(GroupRow, Vec<DocumentSummary>)> {
    let mut tx = st.db.read().await?;
    let group = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, None).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &t, &format!("group:{group_id}")).await?;
    let documents = dq::documents_of_group(&mut tx, group_id, year).await?;
    let versions = dq::versions_of_group(&mut tx, group_id).await?;
    tx.rollback().await?;
    let mut out = Vec::with_capacity(documents.len());
    for d in documents {
        let mine: Vec<&VersionRow> = versions.iter().filter(|v| v.document_id == d.id).collect();
        let Some(latest) = mine.last() else { continue };
        out.push(DocumentSummary {
            kind_label: kind_label(&d.kind),
            version_count: mine.len() as i64,
            latest: (*latest).clone(),
            document: d,
        });
    }
    // by year (newest first), kind (in the order of the list of kinds), then title in Vietnamese order
    let kind_rank = |k: &str| DocumentKind::ALL.iter().position(|x| x.code() == k).unwrap_or(usize::MAX);
    out.sort_by(|a, b| {
        b.document
            .year
            .cmp(&a.document.year)
            .then_with(|| kind_rank(&a.document.kind).cmp(&kind_rank(&b.document.kind)))
            .then_with(|| thidua_core::text::vi_cmp(&a.document.title, &b.document.title))
    });
    Ok((group, out))
}

/// The years in which a group has documents, newest first (for the page's year links).
pub async fn document_years(st: &AppState, ctx: &Ctx, group: &GroupRow) -> AppResult<Vec<i32>> {
    let mut tx = st.db.read().await?;
    let t = group_target(&mut tx, group, None).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &t, &format!("group:{}", group.id)).await?;
    let years = dq::document_years(&mut tx, group.id).await?;
    tx.rollback().await?;
    Ok(years)
}

/// A document with every version.
pub async fn get_document(st: &AppState, ctx: &Ctx, id: i64) -> AppResult<(GroupRow, DocumentDetail)> {
    let mut tx = st.db.read().await?;
    let document = dq::document(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let group = q::group(&mut tx, document.group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, Some(document.year)).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &t, &format!("document:{id}")).await?;
    let versions = dq::versions(&mut tx, id).await?;
    tx.rollback().await?;
    Ok((group, DocumentDetail { kind_label: kind_label(&document.kind), document, versions }))
}

/// The file of a version (the latest when `version` is None).
pub async fn download(st: &AppState, ctx: &Ctx, id: i64, version: Option<i32>) -> AppResult<Download> {
    let mut tx = st.db.read().await?;
    let document = dq::document(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let group = q::group(&mut tx, document.group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, Some(document.year)).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &t, &format!("document:{id}")).await?;
    let row = match version {
        Some(n) => dq::version(&mut tx, id, n).await?,
        None => dq::latest_version(&mut tx, id).await?,
    }
    .ok_or(AppError::NotFound)?;
    tx.rollback().await?;
    let key = BlobKey::parse(&row.sha256).ok_or_else(|| AppError::Internal(format!("bad key {}", row.sha256)))?;
    let file_type =
        FileType::parse(&row.file_type).ok_or_else(|| AppError::Internal(format!("bad type {}", row.file_type)))?;
    let bytes = files::store(st)
        .get(&key)
        .await
        .map_err(|e| AppError::Internal(format!("file store get {key}: {e}")))?
        .ok_or_else(|| AppError::Internal(format!("file {key} of document {id} v{} is missing", row.version)))?;
    Ok(Download { bytes, file_type, file_name: docs::download_name(&row.file_name, file_type) })
}
