//! Excel import and export of the registry: the list of units, and the
//! yearly memberships of clusters and blocks.
//!
//! An import is all or nothing. The file is read with the limits of
//! [`thidua_export`] (size, zip bomb, entry count, rows and columns), every
//! row is checked against the registry (names resolved, rules applied, the
//! actor's scope asked row by row, duplicates inside the file found), and only
//! when no row has an error is anything written, in one transaction, with one
//! audit entry per change and one summary entry. Otherwise the report lists
//! every bad row with its Excel row number and what to fix, and nothing is
//! stored. A row outside the actor's scope makes the whole import a denial,
//! recorded in the audit log.
//!
//! An export writes the same columns as the import reads, so importing an
//! exported file back changes nothing.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::Serialize;
use serde_json::json;
use sha2::Digest;
use thidua_core::org::{self, GroupKind, MemberRole, Name, UnitKind};
use thidua_core::policy::{Action, Target, decide, managed_authorities, readable_authorities};
use thidua_core::text::{fold, format_date, vi_cmp};
use thidua_db::org::{
    self as q, AuthorityRow, GroupRow, MemberRow, UnitData, UnitQuery, UnitRow, descendants_in, path_in,
};
use thidua_db::{Tx, audit};
use thidua_export::{Limits, Table, XlsxError};
use utoipa::ToSchema;

use super::org::{UnitInput, check_membership, parse_unit};
use super::{today, tree};
use crate::AppState;
use crate::auth::{Ctx, record_denial};
use crate::error::{AppError, AppResult};

/// The largest file accepted for an import, in bytes (5 MiB).
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// The MIME type of an `.xlsx` workbook.
pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Columns of the list of units.
pub mod unit_cols {
    pub const NAME: &str = "Tên đơn vị";
    pub const SHORT_NAME: &str = "Tên viết tắt";
    pub const KIND: &str = "Loại";
    pub const AUTHORITY: &str = "Cơ quan quản lý";
    pub const FROM: &str = "Hoạt động từ";
    pub const TO: &str = "Hoạt động đến";
    /// In the order of the exported file.
    pub const ALL: [&str; 6] = [NAME, SHORT_NAME, KIND, AUTHORITY, FROM, TO];
    pub const REQUIRED: [&str; 3] = [NAME, KIND, AUTHORITY];
    /// An absent optional column keeps the stored value of an existing unit.
    pub const OPTIONAL: [&str; 3] = [SHORT_NAME, FROM, TO];
}

/// Columns of the list of memberships.
pub mod member_cols {
    pub const YEAR: &str = "Năm";
    pub const GROUP: &str = "Cụm, khối";
    pub const GROUP_KIND: &str = "Loại cụm, khối";
    pub const GROUP_AUTHORITY: &str = "Cơ quan tổ chức";
    pub const UNIT: &str = "Đơn vị";
    pub const ROLE: &str = "Vai trò";
    /// Optional: tells apart two units of the same name under different authorities.
    pub const UNIT_AUTHORITY: &str = "Cơ quan quản lý đơn vị";
    /// In the order of the exported file.
    pub const ALL: [&str; 7] = [YEAR, GROUP, GROUP_KIND, GROUP_AUTHORITY, UNIT, ROLE, UNIT_AUTHORITY];
    pub const REQUIRED: [&str; 5] = [YEAR, GROUP, GROUP_AUTHORITY, UNIT, ROLE];
    pub const OPTIONAL: [&str; 2] = [GROUP_KIND, UNIT_AUTHORITY];
}

/// Một lỗi ở một dòng của tệp nhập (one problem of one row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    /// Số dòng như Excel hiển thị (bắt đầu từ 1).
    pub row: usize,
    /// Tên cột có lỗi, khi lỗi nằm ở một ô.
    pub column: Option<String>,
    /// Lỗi gì và cần sửa thế nào.
    pub message: String,
}

/// Một thay đổi do tệp nhập tạo ra (hoặc sẽ tạo ra, khi chỉ kiểm tra).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowChange {
    /// Số dòng trong Excel.
    pub row: usize,
    /// "Thêm mới" hoặc "Cập nhật".
    pub action: String,
    /// Đơn vị, cụm, khối, hoặc thành viên ("Đơn vị – Cụm, khối năm …").
    pub object: String,
    /// Nội dung thay đổi ("Loại: … → …").
    pub detail: String,
}

/// Kết quả nhập tệp (the outcome of an import).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportReport {
    /// Số dòng dữ liệu đọc được từ tệp.
    pub rows: usize,
    /// Số dòng thêm mới (đơn vị, hoặc thành viên).
    pub created: usize,
    /// Số dòng cập nhật.
    pub updated: usize,
    /// Số dòng không thay đổi gì.
    pub unchanged: usize,
    /// Số cụm, khối tạo mới (khi nhập thành viên).
    pub groups_created: usize,
    /// Mọi lỗi tìm thấy; khi có lỗi, không có dữ liệu nào được lưu.
    pub errors: Vec<RowError>,
    /// Các dòng thêm mới hoặc cập nhật.
    pub changes: Vec<RowChange>,
    /// Đã lưu vào cơ sở dữ liệu hay chưa.
    pub committed: bool,
    /// Chỉ kiểm tra, không lưu.
    pub dry_run: bool,
}

impl ImportReport {
    /// The number of distinct rows with an error.
    pub fn bad_rows(&self) -> usize {
        let mut rows: Vec<usize> = self.errors.iter().map(|e| e.row).collect();
        rows.sort_unstable();
        rows.dedup();
        rows.len()
    }
}

// ---------- query parameters ----------

/// `?dry_run=` of an import: `true`, `1` or `on` to check the file without storing it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `true`: chỉ kiểm tra tệp và báo cáo, không lưu.
    #[serde(default)]
    #[param(value_type = Option<bool>)]
    pub dry_run: String,
}

impl ImportParams {
    pub fn dry_run(&self) -> bool {
        matches!(self.dry_run.trim().to_ascii_lowercase().as_str(), "true" | "1" | "on" | "yes")
    }
}

/// `?year=&authority_id=` of an export; empty values mean "all".
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Chỉ năm này (khi xuất thành viên); bỏ trống: mọi năm.
    #[serde(default)]
    #[param(value_type = Option<i32>)]
    pub year: String,
    /// Chỉ cơ quan này và các cơ quan cấp dưới; bỏ trống: mọi cơ quan bạn được xem.
    #[serde(default)]
    #[param(value_type = Option<i64>)]
    pub authority_id: String,
}

impl ExportParams {
    pub fn year(&self) -> AppResult<Option<i32>> {
        let t = self.year.trim();
        if t.is_empty() {
            return Ok(None);
        }
        org::parse_year(t).map(Some).map_err(|i| AppError::BadRequest(i.message))
    }
    pub fn authority_id(&self) -> AppResult<Option<i64>> {
        let t = self.authority_id.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse().map(Some).map_err(|_| {
            AppError::BadRequest(format!("Mã cơ quan \"{t}\" không hợp lệ. Hãy chọn cơ quan trong danh sách."))
        })
    }
}

// ---------- reading the file ----------

/// The limits applied to an uploaded workbook.
pub fn limits() -> Limits {
    Limits { max_bytes: MAX_BYTES, ..Limits::default() }
}

/// The message for a file too big to import.
pub fn too_large_message() -> String {
    XlsxError::TooLarge { limit: MAX_BYTES }.message_vi()
}

/// An error of the spreadsheet reader as the error a user sees.
pub fn xlsx_error(e: XlsxError, bytes: &[u8]) -> AppError {
    match e {
        XlsxError::TooLarge { .. }
        | XlsxError::ContentTooLarge { .. }
        | XlsxError::TooManyEntries { .. }
        | XlsxError::TooManyRows { .. }
        | XlsxError::TooManyColumns { .. }
        | XlsxError::ZipBomb => AppError::TooLarge(e.message_vi()),
        XlsxError::NotXlsx => AppError::BadRequest(not_xlsx_message(bytes)),
        XlsxError::Write(m) => AppError::Internal(format!("xlsx write: {m}")),
        other => AppError::BadRequest(other.message_vi()),
    }
}

/// Says what the uploaded file seems to be, when it is not an `.xlsx`.
fn not_xlsx_message(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "Tệp tải lên rỗng (0 byte). Hãy chọn đúng tệp Excel .xlsx rồi tải lên lại.".into();
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return "Tệp là định dạng Excel cũ (.xls) hoặc tệp Excel có đặt mật khẩu, nên không đọc được. Hãy mở tệp \
                bằng Excel, bỏ mật khẩu nếu có, chọn Lưu thành (Save As) kiểu \"Excel Workbook (*.xlsx)\" rồi tải \
                lên lại."
            .into();
    }
    if bytes.starts_with(b"%PDF") {
        return "Tệp là PDF, không phải bảng tính Excel. Hãy tải lên tệp Excel .xlsx theo mẫu.".into();
    }
    if bytes.starts_with(b"PK") {
        return "Tệp là tệp nén nhưng không phải bảng tính Excel (có thể là tệp Word, LibreOffice hoặc ZIP). Hãy lưu \
                bảng tính với định dạng Excel .xlsx rồi tải lên lại."
            .into();
    }
    let head = &bytes[..bytes.len().min(2048)];
    if std::str::from_utf8(head).is_ok() {
        return "Tệp là văn bản (ví dụ CSV), không phải bảng tính Excel. Hãy mở tệp bằng Excel, lưu lại với định \
                dạng .xlsx rồi tải lên lại."
            .into();
    }
    XlsxError::NotXlsx.message_vi()
}

/// Reads the table of an uploaded file, off the async threads.
async fn read_upload(
    bytes: &[u8],
    required: &'static [&'static str],
    optional: &'static [&'static str],
) -> AppResult<Table> {
    if bytes.len() > MAX_BYTES {
        return Err(AppError::TooLarge(too_large_message()));
    }
    let owned = bytes.to_vec();
    let read = tokio::task::spawn_blocking(move || {
        let r = thidua_export::read_table_with_optional(&owned, &limits(), required, optional);
        r.map_err(|e| xlsx_error(e, &owned))
    })
    .await
    .map_err(|e| AppError::Internal(format!("xlsx reader: {e}")))?;
    let table = read?;
    if table.rows.is_empty() {
        return Err(AppError::BadRequest(format!(
            "Tệp chỉ có dòng tiêu đề (dòng {}), chưa có dòng dữ liệu nào. Hãy điền dữ liệu bên dưới dòng tiêu đề rồi \
             tải lên lại.",
            table.header_row
        )));
    }
    Ok(table)
}

/// Access to a row's cells by column header.
struct Cols<'a> {
    table: &'a Table,
}

impl<'a> Cols<'a> {
    fn index(&self, name: &str) -> Option<usize> {
        self.table.headers.iter().position(|h| h == name)
    }
    /// Whether the column is in the file.
    fn present(&self, name: &str) -> bool {
        self.index(name).and_then(|i| self.table.columns.get(i).copied().flatten()).is_some()
    }
    fn get<'c>(&self, cells: &'c [String], name: &str) -> &'c str {
        self.index(name).and_then(|i| cells.get(i)).map(|s| s.trim()).unwrap_or("")
    }
}

fn err(row: usize, column: &str, message: impl Into<String>) -> RowError {
    RowError { row, column: if column.is_empty() { None } else { Some(column.to_string()) }, message: message.into() }
}

/// A name as stored: trimmed, one space between words.
fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "2, 3, 5", at most ten numbers ("…, 11 và 40 dòng khác").
fn row_list(rows: &[usize]) -> String {
    let shown: Vec<String> = rows.iter().take(10).map(|r| r.to_string()).collect();
    match rows.len() {
        n if n > 10 => format!("{} và {} dòng khác", shown.join(", "), n - 10),
        _ => shown.join(", "),
    }
}

/// Finds an authority by its exact name, else by its name without diacritics
/// and case, else by its short name.
fn resolve_authority<'a>(all: &'a [AuthorityRow], text: &str, what: &str) -> Result<&'a AuthorityRow, String> {
    let t = norm(text);
    if t.is_empty() {
        return Err(format!("Chưa ghi {what}. Hãy ghi tên cơ quan đúng như trong danh mục Cơ quan tổ chức cụm, khối."));
    }
    if let Some(a) = all.iter().find(|a| a.name == t) {
        return Ok(a);
    }
    let f = fold(&t);
    let mut found: Vec<&AuthorityRow> = all.iter().filter(|a| fold(&a.name) == f).collect();
    if found.is_empty() {
        found = all.iter().filter(|a| !a.short_name.is_empty() && fold(&a.short_name) == f).collect();
    }
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "Không tìm thấy {what} \"{t}\". Hãy ghi tên cơ quan đúng như trong danh mục Cơ quan tổ chức cụm, khối."
        )),
        many => Err(format!(
            "Tên \"{t}\" ứng với nhiều cơ quan: {}. Hãy ghi tên đầy đủ, đúng dấu của cơ quan cần chọn.",
            many.iter().map(|a| format!("\"{}\"", a.name)).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Every unit (including closed ones) of these authorities.
async fn units_of(tx: &mut Tx, authorities: &[i64]) -> AppResult<Vec<UnitRow>> {
    let mut out = Vec::new();
    // one authority at a time, so that no limit ever cuts a list short
    for a in authorities {
        let query = UnitQuery {
            authorities: Some(vec![*a]),
            include_closed: true,
            today: today().to_string(),
            limit: 10_000,
            ..Default::default()
        };
        out.extend(q::search_units(tx, &query).await?);
    }
    Ok(out)
}

/// Units indexed by their name, for finding the units a file names.
struct UnitIndex {
    units: Vec<UnitRow>,
    /// Names with one space between words.
    by_name: HashMap<String, Vec<usize>>,
    /// Names without diacritics and case.
    by_fold: HashMap<String, Vec<usize>>,
}

impl UnitIndex {
    fn new(units: Vec<UnitRow>) -> Self {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_fold: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, u) in units.iter().enumerate() {
            by_name.entry(norm(&u.name)).or_default().push(i);
            by_fold.entry(fold(&u.name)).or_default().push(i);
        }
        UnitIndex { units, by_name, by_fold }
    }

    /// The unit of this name (as stored, else with its spaces normalised).
    fn exact(&self, name: &str) -> Option<&UnitRow> {
        let found: Vec<&UnitRow> = self.by_name.get(name)?.iter().filter_map(|i| self.units.get(*i)).collect();
        found.iter().find(|u| u.name == name).or_else(|| found.first()).copied()
    }

    /// The units of this name that `keep` accepts; when none, those named
    /// alike without diacritics and case.
    fn named(&self, name: &str, keep: impl Fn(&UnitRow) -> bool) -> Vec<&UnitRow> {
        let pick = |ids: Option<&Vec<usize>>| -> Vec<&UnitRow> {
            ids.into_iter().flatten().filter_map(|i| self.units.get(*i)).filter(|u| keep(u)).collect()
        };
        let exact = pick(self.by_name.get(name));
        if exact.is_empty() { pick(self.by_fold.get(&fold(name))) } else { exact }
    }
}

/// Refuses an actor who may not do `action` anywhere, before any work.
async fn ensure_some_scope(st: &AppState, ctx: &Ctx, action: Action, object: &str, what: &str) -> AppResult<()> {
    let mut tx = st.db.read().await?;
    let all = q::authorities(&mut tx).await?;
    tx.rollback().await?;
    let scope = managed_authorities(&ctx.actor, &tree(&all));
    let any = match scope {
        None => true,
        Some(ids) => ids.iter().any(|id| decide(&ctx.actor, action, &Target::authority(path_in(&all, *id))).is_ok()),
    };
    if any {
        return Ok(());
    }
    let reason = format!(
        "Bạn không có quyền {what}. Việc này do cơ quan thường trực (Ban Thi đua – Khen thưởng) hoặc quản trị hệ thống \
         thực hiện."
    );
    Err(record_denial(&st.db, &ctx.meta, Some(ctx), action.code(), object, &reason).await)
}

/// What the actor may do on the import page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportRights {
    pub units: bool,
    pub memberships: bool,
}

/// The actor's rights on the import page; a denial (audited) if neither.
pub async fn rights(st: &AppState, ctx: &Ctx) -> AppResult<ImportRights> {
    let mut tx = st.db.read().await?;
    let all = q::authorities(&mut tx).await?;
    tx.rollback().await?;
    let scope = managed_authorities(&ctx.actor, &tree(&all));
    let may = |action: Action| match &scope {
        None => true,
        Some(ids) => ids.iter().any(|id| decide(&ctx.actor, action, &Target::authority(path_in(&all, *id))).is_ok()),
    };
    let r = ImportRights { units: may(Action::ManageUnit), memberships: may(Action::ManageGroup) };
    if !r.units && !r.memberships {
        let reason = "Bạn không có quyền nhập, xuất danh sách đơn vị và thành viên cụm, khối. Việc này do cơ quan \
                      thường trực (Ban Thi đua – Khen thưởng) hoặc quản trị hệ thống thực hiện.";
        return Err(record_denial(&st.db, &ctx.meta, Some(ctx), Action::ManageUnit.code(), "import:*", reason).await);
    }
    Ok(r)
}

/// Rows refused by the policy, by authority name.
#[derive(Default)]
struct Denials(Vec<(String, Vec<usize>)>);

impl Denials {
    fn add(&mut self, authority: &str, row: usize) {
        match self.0.iter_mut().find(|(a, _)| a == authority) {
            Some((_, rows)) => rows.push(row),
            None => self.0.push((authority.to_string(), vec![row])),
        }
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn message(&self, what: &str) -> String {
        let list: Vec<String> = self.0.iter().map(|(a, rows)| format!("{a} (dòng {})", row_list(rows))).collect();
        format!(
            "Bạn không có quyền {what} của: {}. Hãy bỏ các dòng này khỏi tệp, hoặc đề nghị cơ quan có thẩm quyền nhập. \
             Không có dữ liệu nào được lưu.",
            list.join("; ")
        )
    }
}

fn summary_entry(
    ctx: &Ctx,
    action: &str,
    object: &str,
    report: &ImportReport,
    bytes: &[u8],
    authority: Option<i64>,
) -> audit::Entry {
    let mut e = ctx.entry(action, "import", object);
    e.authority_id = authority;
    e.after = Some(json!({
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "groups_created": report.groups_created,
        "file_bytes": bytes.len(),
        "file_sha256": hex::encode(sha2::Sha256::digest(bytes)),
    }));
    e
}

// ---------- units ----------

enum UnitPlan {
    Create(UnitData),
    Update(Box<UnitRow>, UnitData),
}

fn unit_data_of(u: &UnitRow) -> UnitData {
    UnitData {
        name: u.name.clone(),
        short_name: u.short_name.clone(),
        kind: u.kind.clone(),
        authority_id: u.authority_id,
        active_from: u.active_from.clone(),
        active_to: u.active_to.clone(),
    }
}

fn date_text(d: &Option<String>) -> String {
    d.as_deref().and_then(|s| s.parse::<chrono::NaiveDate>().ok()).map(format_date).unwrap_or_default()
}

fn kind_label(code: &str) -> String {
    UnitKind::parse(code).map(|k| k.label().to_string()).unwrap_or_else(|| code.to_string())
}

/// "Loại: A → B; Hoạt động đến: (trống) → 31/12/2025".
fn unit_diff(before: &UnitData, after: &UnitData) -> String {
    let show = |s: String| if s.is_empty() { "(trống)".to_string() } else { s };
    let mut parts = Vec::new();
    let mut field = |label: &str, a: String, b: String| {
        if a != b {
            parts.push(format!("{label}: {} → {}", show(a), show(b)));
        }
    };
    field(unit_cols::SHORT_NAME, before.short_name.clone(), after.short_name.clone());
    field(unit_cols::KIND, kind_label(&before.kind), kind_label(&after.kind));
    field(unit_cols::FROM, date_text(&before.active_from), date_text(&after.active_from));
    field(unit_cols::TO, date_text(&before.active_to), date_text(&after.active_to));
    parts.join("; ")
}

/// Imports the list of units: creates the new ones, updates the changed ones
/// (a unit is known by its authority and its name), all or nothing.
pub async fn import_units(st: &AppState, ctx: &Ctx, bytes: &[u8], dry_run: bool) -> AppResult<ImportReport> {
    use unit_cols as c;
    ensure_some_scope(st, ctx, Action::ManageUnit, "import:units", "nhập danh sách đơn vị").await?;
    let table = read_upload(bytes, &c::REQUIRED, &c::OPTIONAL).await?;
    let cols = Cols { table: &table };
    let mut tx = if dry_run { st.db.read().await? } else { st.db.begin().await? };
    let auths = q::authorities(&mut tx).await?;

    let mut report = ImportReport { rows: table.rows.len(), dry_run, ..Default::default() };
    let mut existing: HashMap<i64, UnitIndex> = HashMap::new();
    let mut seen: HashMap<(i64, String), usize> = HashMap::new();
    let mut plans: Vec<(usize, UnitPlan)> = Vec::new();
    let mut denied = Denials::default();
    let mut touched_authorities: Vec<i64> = Vec::new();

    for (row, cells) in &table.rows {
        let row = *row;
        let mut errs: Vec<RowError> = Vec::new();
        let authority = match resolve_authority(&auths, cols.get(cells, c::AUTHORITY), "cơ quan quản lý") {
            Ok(a) => Some(a),
            Err(m) => {
                errs.push(err(row, c::AUTHORITY, m));
                None
            }
        };
        if let Some(a) = authority {
            let target = Target::authority(path_in(&auths, a.id));
            if decide(&ctx.actor, Action::ManageUnit, &target).is_err() {
                denied.add(&a.name, row);
                errs.push(err(
                    row,
                    c::AUTHORITY,
                    format!("Bạn không có quyền quản lý đơn vị của \"{}\". Hãy bỏ dòng này khỏi tệp.", a.name),
                ));
            }
        }
        let name = norm(cols.get(cells, c::NAME));
        let before = match authority {
            Some(a) => {
                if let Entry::Vacant(slot) = existing.entry(a.id) {
                    slot.insert(UnitIndex::new(units_of(&mut tx, &[a.id]).await?));
                }
                existing.get(&a.id).and_then(|index| index.exact(&name)).cloned()
            }
            None => None,
        };
        // an absent optional column keeps what is stored
        let keep = |col: &str, stored: String| -> String {
            if cols.present(col) { cols.get(cells, col).to_string() } else { stored }
        };
        let input = UnitInput {
            name: name.clone(),
            short_name: keep(c::SHORT_NAME, before.as_ref().map(|u| u.short_name.clone()).unwrap_or_default()),
            kind: cols.get(cells, c::KIND).to_string(),
            authority_id: authority.map(|a| a.id).unwrap_or(0),
            active_from: keep(c::FROM, before.as_ref().and_then(|u| u.active_from.clone()).unwrap_or_default()),
            active_to: keep(c::TO, before.as_ref().and_then(|u| u.active_to.clone()).unwrap_or_default()),
        };
        let data = match parse_unit(&input) {
            Ok(d) => Some(d),
            Err(AppError::Invalid(list)) => {
                for i in list {
                    errs.push(err(row, &i.field, i.message));
                }
                None
            }
            Err(other) => return Err(other),
        };
        if let (Some(a), Some(d)) = (authority, data.as_ref()) {
            let key = (a.id, d.name.clone());
            match seen.get(&key) {
                Some(first) => errs.push(err(
                    row,
                    c::NAME,
                    format!(
                        "Đơn vị \"{}\" của \"{}\" đã có ở dòng {first}. Mỗi đơn vị chỉ ghi một dòng; hãy xoá hoặc gộp \
                         dòng trùng.",
                        d.name, a.name
                    ),
                )),
                None => {
                    seen.insert(key, row);
                }
            }
        }
        if !errs.is_empty() {
            report.errors.extend(errs);
            continue;
        }
        let (Some(a), Some(data)) = (authority, data) else { continue };
        if !touched_authorities.contains(&a.id) {
            touched_authorities.push(a.id);
        }
        match before {
            Some(b) if unit_data_of(&b) == data => report.unchanged += 1,
            Some(b) => {
                report.updated += 1;
                report.changes.push(RowChange {
                    row,
                    action: "Cập nhật".into(),
                    object: format!("{} ({})", data.name, a.name),
                    detail: unit_diff(&unit_data_of(&b), &data),
                });
                plans.push((row, UnitPlan::Update(Box::new(b), data)));
            }
            None => {
                report.created += 1;
                report.changes.push(RowChange {
                    row,
                    action: "Thêm mới".into(),
                    object: format!("{} ({})", data.name, a.name),
                    detail: String::new(),
                });
                plans.push((row, UnitPlan::Create(data)));
            }
        }
    }

    if !denied.is_empty() {
        tx.rollback().await?;
        let reason = denied.message("quản lý đơn vị");
        return Err(
            record_denial(&st.db, &ctx.meta, Some(ctx), Action::ManageUnit.code(), "import:units", &reason).await
        );
    }
    if !report.errors.is_empty() || dry_run {
        tx.rollback().await?;
        return Ok(report);
    }

    for (row, plan) in plans {
        let reason = Some(format!("Nhập từ tệp Excel, dòng {row}"));
        let (action, before, id) = match plan {
            UnitPlan::Create(data) => ("unit.create", None, q::insert_unit(&mut tx, &data).await?),
            UnitPlan::Update(before, data) => {
                q::update_unit(&mut tx, before.id, &data).await?;
                let id = before.id;
                ("unit.update", Some(before), id)
            }
        };
        let after = q::unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let mut e = ctx.entry(action, "unit", id);
        e.authority_id = Some(after.authority_id);
        e.before = before.map(|b| json!(b));
        e.after = Some(json!(after));
        e.reason = reason;
        audit::append(&mut tx, e).await?;
    }
    report.committed = true;
    let single = (touched_authorities.len() == 1).then(|| touched_authorities[0]);
    audit::append(&mut tx, summary_entry(ctx, "import.units", "units", &report, bytes, single)).await?;
    tx.commit().await?;
    Ok(report)
}

// ---------- memberships ----------

/// A group as a row refers to it: stored, or to be created by the import.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GroupKey {
    Stored(i64),
    New(i64, String),
}

struct NewGroup {
    kind: GroupKind,
    name: String,
    authority_id: i64,
    first_row: usize,
}

/// One valid row of a memberships file.
struct MemberLine {
    row: usize,
    year: i32,
    group: GroupKey,
    group_name: String,
    group_kind: GroupKind,
    unit: UnitRow,
    role: MemberRole,
    /// The stored membership of this unit in this group-year.
    before: Option<MemberRow>,
}

/// Parses a role as written: Trưởng, Phó, Thành viên (or Cụm trưởng, Khối phó…,
/// or the codes); empty is Thành viên.
fn parse_member_role(s: &str) -> Option<MemberRole> {
    if s.trim().is_empty() {
        return Some(MemberRole::Member);
    }
    if let Some(r) = MemberRole::parse(s) {
        return Some(r);
    }
    let f = fold(s);
    MemberRole::ALL.iter().copied().find(|r| GroupKind::ALL.iter().any(|k| fold(r.label_for(*k)) == f))
}

fn role_label(role: MemberRole, kind: GroupKind) -> &'static str {
    role.label_for(kind)
}

/// Imports memberships of clusters and blocks by year: creates missing groups
/// when their kind is given, adds members, changes roles; all or nothing.
pub async fn import_memberships(st: &AppState, ctx: &Ctx, bytes: &[u8], dry_run: bool) -> AppResult<ImportReport> {
    use member_cols as c;
    ensure_some_scope(st, ctx, Action::ManageGroup, "import:memberships", "nhập thành viên cụm, khối").await?;
    let table = read_upload(bytes, &c::REQUIRED, &c::OPTIONAL).await?;
    let cols = Cols { table: &table };
    let mut tx = if dry_run { st.db.read().await? } else { st.db.begin().await? };
    let auths = q::authorities(&mut tx).await?;
    let years = q::years(&mut tx).await?;

    let mut report = ImportReport { rows: table.rows.len(), dry_run, ..Default::default() };
    let mut denied = Denials::default();
    let mut groups: HashMap<(i64, String), Option<GroupRow>> = HashMap::new();
    let mut group_lists: HashMap<i64, Vec<GroupRow>> = HashMap::new();
    let mut new_groups: Vec<NewGroup> = Vec::new();
    let mut decisions: HashMap<(i64, Option<i64>, Option<i32>), bool> = HashMap::new();
    let mut members: HashMap<i64, Vec<MemberRow>> = HashMap::new();
    let mut units_below: HashMap<i64, UnitIndex> = HashMap::new();
    let mut seen_in_group: HashMap<(GroupKey, i32, i64), usize> = HashMap::new();
    let mut seen_in_authority: HashMap<(i64, i32, i64), (usize, String, GroupKey)> = HashMap::new();
    let mut lines: Vec<MemberLine> = Vec::new();
    let mut touched_authorities: Vec<i64> = Vec::new();

    for (row, cells) in &table.rows {
        let row = *row;
        let mut errs: Vec<RowError> = Vec::new();

        let year = match org::parse_year(cols.get(cells, c::YEAR)) {
            Ok(y) if years.contains(&y) => Some(y),
            Ok(y) => {
                errs.push(err(
                    row,
                    c::YEAR,
                    format!("Năm {y} chưa được mở. Hãy mở năm thi đua {y} (trang Năm thi đua) rồi nhập lại."),
                ));
                None
            }
            Err(i) => {
                errs.push(err(row, c::YEAR, i.message));
                None
            }
        };
        let authority = match resolve_authority(&auths, cols.get(cells, c::GROUP_AUTHORITY), "cơ quan tổ chức") {
            Ok(a) => Some(a),
            Err(m) => {
                errs.push(err(row, c::GROUP_AUTHORITY, m));
                None
            }
        };
        let group_name = match Name::parse(c::GROUP, cols.get(cells, c::GROUP)) {
            Ok(n) => Some(n.into_string()),
            Err(i) => {
                errs.push(err(row, c::GROUP, i.message));
                None
            }
        };
        let kind_text = cols.get(cells, c::GROUP_KIND);
        let kind = if kind_text.is_empty() {
            None
        } else {
            match GroupKind::parse(kind_text) {
                Some(k) => Some(k),
                None => {
                    errs.push(err(
                        row,
                        c::GROUP_KIND,
                        format!(
                            "Loại cụm, khối \"{kind_text}\" không hợp lệ. Hãy ghi \"Cụm thi đua\" hoặc \"Khối thi đua\", \
                             hoặc để trống nếu cụm, khối đã có."
                        ),
                    ));
                    None
                }
            }
        };
        let role_text = cols.get(cells, c::ROLE);
        let role = parse_member_role(role_text);
        if role.is_none() {
            errs.push(err(
                row,
                c::ROLE,
                format!(
                    "Vai trò \"{role_text}\" không hợp lệ. Hãy ghi \"Trưởng\", \"Phó\" hoặc \"Thành viên\" (để trống là \
                     Thành viên)."
                ),
            ));
        }

        // the group
        let mut group: Option<(GroupKey, GroupRow)> = None;
        if let (Some(a), Some(gname)) = (authority, group_name.as_ref()) {
            let path = path_in(&auths, a.id);
            let key = (a.id, gname.clone());
            if !groups.contains_key(&key) {
                let mut found = q::group_by_name(&mut tx, a.id, gname).await?;
                if found.is_none() {
                    // the same name without diacritics or case, when only one group matches
                    if let Entry::Vacant(slot) = group_lists.entry(a.id) {
                        slot.insert(q::groups(&mut tx, Some(&[a.id]), &[]).await?);
                    }
                    let f = fold(gname);
                    let similar: Vec<&GroupRow> = group_lists
                        .get(&a.id)
                        .map(|l| l.iter().filter(|g| fold(&g.name) == f).collect())
                        .unwrap_or_default();
                    if let [one] = similar.as_slice() {
                        found = Some((*one).clone());
                    }
                }
                groups.insert(key.clone(), found);
            }
            let stored = groups.get(&key).cloned().flatten();
            let decision_key = (a.id, stored.as_ref().map(|g| g.id), year);
            let allowed = match decisions.get(&decision_key) {
                Some(d) => *d,
                None => {
                    let target = match &stored {
                        Some(g) => Target::group(path, q::group_ctx(&mut tx, g.id, year).await?),
                        None => Target::authority(path),
                    };
                    let d = decide(&ctx.actor, Action::ManageGroup, &target).is_ok();
                    decisions.insert(decision_key, d);
                    d
                }
            };
            if !allowed {
                denied.add(&a.name, row);
                errs.push(err(
                    row,
                    c::GROUP_AUTHORITY,
                    format!("Bạn không có quyền quản lý cụm, khối của \"{}\". Hãy bỏ dòng này khỏi tệp.", a.name),
                ));
            }
            match stored {
                Some(g) => {
                    let stored_kind = GroupKind::parse(&g.kind).unwrap_or(GroupKind::Cluster);
                    if let Some(k) = kind
                        && k != stored_kind
                    {
                        errs.push(err(
                            row,
                            c::GROUP_KIND,
                            format!(
                                "\"{}\" là {}, không phải {}. Hãy sửa cột Loại cụm, khối hoặc để trống.",
                                g.name,
                                stored_kind.label(),
                                k.label()
                            ),
                        ));
                    }
                    group = Some((GroupKey::Stored(g.id), g));
                }
                None => match kind {
                    Some(k) => {
                        let planned = new_groups.iter().find(|n| n.authority_id == a.id && n.name == *gname);
                        match planned {
                            Some(n) if n.kind != k => errs.push(err(
                                row,
                                c::GROUP_KIND,
                                format!(
                                    "Dòng {} ghi \"{}\" là {}, dòng này lại ghi {}. Hãy thống nhất loại cụm, khối.",
                                    n.first_row,
                                    n.name,
                                    n.kind.label(),
                                    k.label()
                                ),
                            )),
                            Some(_) => {}
                            None if allowed => new_groups.push(NewGroup {
                                kind: k,
                                name: gname.clone(),
                                authority_id: a.id,
                                first_row: row,
                            }),
                            None => {}
                        }
                        let g = GroupRow {
                            id: 0,
                            kind: k.code().into(),
                            name: gname.clone(),
                            authority_id: a.id,
                            authority_name: a.name.clone(),
                            closed_on: None,
                        };
                        group = Some((GroupKey::New(a.id, gname.clone()), g));
                    }
                    None => errs.push(err(
                        row,
                        c::GROUP,
                        format!(
                            "Chưa có cụm, khối \"{gname}\" của \"{}\". Hãy kiểm tra lại tên; nếu cần tạo mới, hãy ghi \
                             cột \"Loại cụm, khối\" (Cụm thi đua hoặc Khối thi đua).",
                            a.name
                        ),
                    )),
                },
            }
        }

        // the unit, among the units of the group's authority and below
        let unit_text = norm(cols.get(cells, c::UNIT));
        let mut unit: Option<UnitRow> = None;
        if unit_text.is_empty() {
            errs.push(err(row, c::UNIT, "Chưa ghi tên đơn vị. Hãy ghi tên đơn vị đúng như trong danh sách đơn vị."));
        } else if let Some(a) = authority {
            if let Entry::Vacant(slot) = units_below.entry(a.id) {
                slot.insert(UnitIndex::new(units_of(&mut tx, &descendants_in(&auths, a.id)).await?));
            }
            let unit_auth_text = cols.get(cells, c::UNIT_AUTHORITY);
            let mut scope_ok = true;
            let mut unit_auth: Option<&AuthorityRow> = None;
            if !unit_auth_text.is_empty() {
                match resolve_authority(&auths, unit_auth_text, "cơ quan quản lý đơn vị") {
                    Ok(ua) if path_in(&auths, ua.id).contains(&a.id) => unit_auth = Some(ua),
                    Ok(ua) => {
                        scope_ok = false;
                        errs.push(err(
                            row,
                            c::UNIT_AUTHORITY,
                            format!(
                                "\"{}\" không trực thuộc \"{}\", nên đơn vị của cơ quan này không thể là thành viên \
                                 cụm, khối do \"{}\" tổ chức.",
                                ua.name, a.name, a.name
                            ),
                        ));
                    }
                    Err(m) => {
                        scope_ok = false;
                        errs.push(err(row, c::UNIT_AUTHORITY, m));
                    }
                }
            }
            if scope_ok && let Some(index) = units_below.get(&a.id) {
                let found = index.named(&unit_text, |u| unit_auth.is_none_or(|ua| u.authority_id == ua.id));
                match found.as_slice() {
                    [one] => unit = Some((*one).clone()),
                    [] => errs.push(err(
                        row,
                        c::UNIT,
                        format!(
                            "Không tìm thấy đơn vị \"{unit_text}\" thuộc \"{}\"{}. Hãy kiểm tra tên đơn vị, hoặc nhập \
                             danh sách đơn vị trước.",
                            unit_auth.map(|ua| ua.name.as_str()).unwrap_or(a.name.as_str()),
                            if unit_auth.is_none() { " hoặc các cơ quan cấp dưới" } else { "" }
                        ),
                    )),
                    many => errs.push(err(
                        row,
                        c::UNIT,
                        format!(
                            "Có {} đơn vị tên \"{unit_text}\": {}. Hãy ghi cột \"{}\" để chọn đúng đơn vị.",
                            many.len(),
                            many.iter()
                                .map(|u| format!("\"{}\" thuộc \"{}\"", u.name, u.authority_name))
                                .collect::<Vec<_>>()
                                .join("; "),
                            c::UNIT_AUTHORITY
                        ),
                    )),
                }
            }
        }

        // the rules, and the file against itself
        if let (Some(y), Some((gkey, g)), Some(u), Some(r)) = (year, group.as_ref(), unit.as_ref(), role) {
            match seen_in_group.get(&(gkey.clone(), y, u.id)) {
                Some(first) => errs.push(err(
                    row,
                    c::UNIT,
                    format!(
                        "Đơn vị \"{}\" đã có ở dòng {first} cho \"{}\" năm {y}. Mỗi đơn vị chỉ ghi một dòng cho một cụm, \
                         khối trong một năm; hãy xoá dòng trùng.",
                        u.name, g.name
                    ),
                )),
                None => {
                    seen_in_group.insert((gkey.clone(), y, u.id), row);
                }
            }
            match seen_in_authority.get(&(g.authority_id, y, u.id)) {
                Some((first, other, okey)) if okey != gkey => errs.push(err(
                    row,
                    c::GROUP,
                    format!(
                        "Dòng {first} đã xếp \"{}\" vào \"{other}\" năm {y}. Một đơn vị chỉ thuộc một cụm, khối của \
                         cùng cơ quan tổ chức trong một năm; hãy giữ lại một dòng.",
                        u.name
                    ),
                )),
                Some(_) => {}
                None => {
                    seen_in_authority.insert((g.authority_id, y, u.id), (row, g.name.clone(), gkey.clone()));
                }
            }
            let before = match gkey {
                GroupKey::Stored(gid) => {
                    if let Entry::Vacant(slot) = members.entry(*gid) {
                        slot.insert(q::members_of_group(&mut tx, *gid).await?);
                    }
                    members.get(gid).and_then(|l| l.iter().find(|m| m.year == y && m.unit_id == u.id)).cloned()
                }
                GroupKey::New(..) => None,
            };
            // a stored membership is not checked again (the registry may have
            // changed since), so that an exported file always re-imports
            if before.is_none()
                && let Err(m) = check_membership(&mut tx, g, y, u, MemberRole::Member, None).await?
            {
                errs.push(err(row, c::UNIT, m));
            }
            if errs.is_empty() {
                lines.push(MemberLine {
                    row,
                    year: y,
                    group: gkey.clone(),
                    group_name: g.name.clone(),
                    group_kind: GroupKind::parse(&g.kind).unwrap_or(GroupKind::Cluster),
                    unit: u.clone(),
                    role: r,
                    before,
                });
                if !touched_authorities.contains(&g.authority_id) {
                    touched_authorities.push(g.authority_id);
                }
            }
        }
        report.errors.extend(errs);
    }

    // heads and deputies, over the stored members and the whole file
    report.errors.extend(role_conflicts(&lines, &members));
    report.errors.sort_by_key(|e| e.row);

    if !denied.is_empty() {
        tx.rollback().await?;
        let reason = denied.message("quản lý cụm, khối");
        return Err(record_denial(
            &st.db,
            &ctx.meta,
            Some(ctx),
            Action::ManageGroup.code(),
            "import:memberships",
            &reason,
        )
        .await);
    }

    for l in &lines {
        let object = format!("{} – {} năm {}", l.unit.name, l.group_name, l.year);
        match &l.before {
            Some(b) if b.role == l.role.code() => report.unchanged += 1,
            Some(b) => {
                report.updated += 1;
                let from = MemberRole::parse(&b.role).map(|r| role_label(r, l.group_kind)).unwrap_or("?");
                report.changes.push(RowChange {
                    row: l.row,
                    action: "Cập nhật".into(),
                    object,
                    detail: format!("Vai trò: {from} → {}", role_label(l.role, l.group_kind)),
                });
            }
            None => {
                report.created += 1;
                report.changes.push(RowChange {
                    row: l.row,
                    action: "Thêm mới".into(),
                    object,
                    detail: format!("Vai trò: {}", role_label(l.role, l.group_kind)),
                });
            }
        }
    }
    for n in &new_groups {
        report.changes.push(RowChange {
            row: n.first_row,
            action: "Thêm mới".into(),
            object: format!("{} \"{}\"", n.kind.label(), n.name),
            detail: "Tạo cụm, khối mới".into(),
        });
    }
    report.changes.sort_by_key(|ch| ch.row);
    report.groups_created = new_groups.len();

    if !report.errors.is_empty() || dry_run {
        tx.rollback().await?;
        return Ok(report);
    }

    // 1. the new groups
    let mut group_ids: HashMap<GroupKey, i64> = HashMap::new();
    for n in &new_groups {
        let id = q::insert_group(&mut tx, n.kind.code(), &n.name, n.authority_id).await?;
        let row = q::group(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let mut e = ctx.entry("group.create", "group", id);
        e.authority_id = Some(row.authority_id);
        e.after = Some(json!(row));
        e.reason = Some(format!("Nhập từ tệp Excel, dòng {}", n.first_row));
        audit::append(&mut tx, e).await?;
        group_ids.insert(GroupKey::New(n.authority_id, n.name.clone()), id);
    }
    let mut gy_ids: HashMap<(i64, i32), i64> = HashMap::new();
    // 2. roles that change are first set to member, so that a head can pass
    //    from one unit to another without two heads at any moment
    for l in &lines {
        if let Some(b) = &l.before
            && b.role != l.role.code()
            && b.role != MemberRole::Member.code()
        {
            q::set_membership_role(&mut tx, b.membership_id, MemberRole::Member.code()).await?;
        }
    }
    // 3. new memberships, then the final roles of the changed ones
    for pass_new in [true, false] {
        for l in &lines {
            let reason = Some(format!("Nhập từ tệp Excel, dòng {}", l.row));
            match (&l.before, pass_new) {
                (None, true) => {
                    let gid = match &l.group {
                        GroupKey::Stored(id) => *id,
                        key => group_ids.get(key).copied().ok_or(AppError::NotFound)?,
                    };
                    let gy = match gy_ids.get(&(gid, l.year)) {
                        Some(id) => *id,
                        None => {
                            let id = q::group_year(&mut tx, gid, l.year).await?;
                            gy_ids.insert((gid, l.year), id);
                            id
                        }
                    };
                    let mid = q::insert_membership(&mut tx, gy, l.unit.id, l.role.code()).await?;
                    let after = q::membership(&mut tx, mid).await?.ok_or(AppError::NotFound)?;
                    let mut e = ctx.entry("membership.add", "membership", mid);
                    e.authority_id = Some(after.group_authority_id);
                    e.after = Some(json!(after));
                    e.reason = reason;
                    audit::append(&mut tx, e).await?;
                }
                (Some(b), false) if b.role != l.role.code() => {
                    q::set_membership_role(&mut tx, b.membership_id, l.role.code()).await?;
                    let after = q::membership(&mut tx, b.membership_id).await?.ok_or(AppError::NotFound)?;
                    let mut e = ctx.entry("membership.role", "membership", b.membership_id);
                    e.authority_id = Some(after.group_authority_id);
                    e.before = Some(json!(b));
                    e.after = Some(json!(after));
                    e.reason = reason;
                    audit::append(&mut tx, e).await?;
                }
                _ => {}
            }
        }
    }
    report.committed = true;
    let single = (touched_authorities.len() == 1).then(|| touched_authorities[0]);
    audit::append(&mut tx, summary_entry(ctx, "import.memberships", "memberships", &report, bytes, single)).await?;
    tx.commit().await?;
    Ok(report)
}

/// Heads and deputies of each group-year after the import: the stored
/// members overlaid with the file's rows. More than one head (or deputy) is
/// an error on the rows that cause it.
fn role_conflicts(lines: &[MemberLine], stored: &HashMap<i64, Vec<MemberRow>>) -> Vec<RowError> {
    use member_cols as c;
    let mut errors = Vec::new();
    let mut keys: Vec<(GroupKey, i32)> = Vec::new();
    for l in lines {
        let k = (l.group.clone(), l.year);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for (gkey, year) in keys {
        let file: Vec<&MemberLine> = lines.iter().filter(|l| l.group == gkey && l.year == year).collect();
        let Some(first) = file.first() else { continue };
        let (group_name, kind) = (first.group_name.clone(), first.group_kind);
        // unit id → (role, unit name, file row)
        let mut fin: Vec<(i64, MemberRole, String, Option<usize>)> = Vec::new();
        if let GroupKey::Stored(gid) = &gkey {
            for m in stored.get(gid).into_iter().flatten().filter(|m| m.year == year) {
                if let Some(r) = MemberRole::parse(&m.role) {
                    fin.push((m.unit_id, r, m.unit_name.clone(), None));
                }
            }
        }
        for l in &file {
            match fin.iter_mut().find(|f| f.0 == l.unit.id) {
                Some(f) => {
                    f.1 = l.role;
                    f.3 = Some(l.row);
                }
                None => fin.push((l.unit.id, l.role, l.unit.name.clone(), Some(l.row))),
            }
        }
        let pairs: Vec<(i64, MemberRole)> = fin.iter().map(|f| (f.0, f.1)).collect();
        if org::check_roles(&pairs).is_ok() {
            continue;
        }
        for role in [MemberRole::Head, MemberRole::Deputy] {
            let holders: Vec<&(i64, MemberRole, String, Option<usize>)> = fin.iter().filter(|f| f.1 == role).collect();
            if holders.len() < 2 {
                continue;
            }
            let label = role_label(role, kind);
            let names: Vec<String> = holders
                .iter()
                .map(|h| match h.3 {
                    Some(r) => format!("\"{}\" (dòng {r})", h.2),
                    None => format!("\"{}\" (đã là {} trong hệ thống)", h.2, label.to_lowercase()),
                })
                .collect();
            let stored_holder = holders.iter().any(|h| h.3.is_none());
            let mut blamed: Vec<usize> = holders.iter().filter_map(|h| h.3).collect();
            blamed.sort_unstable();
            if !stored_holder {
                blamed.remove(0);
            }
            let hint = if stored_holder {
                "hãy thêm dòng đổi vai trò của đơn vị đang giữ vai trò này thành Thành viên, hoặc sửa dòng này"
            } else {
                "hãy giữ lại một đơn vị và đổi vai trò các đơn vị còn lại"
            };
            for r in blamed {
                errors.push(err(
                    r,
                    c::ROLE,
                    format!(
                        "Năm {year}, \"{group_name}\" sẽ có nhiều hơn một {}: {}. Mỗi cụm, khối chỉ có một {} trong \
                         một năm; {hint}.",
                        label.to_lowercase(),
                        names.join(", "),
                        label.to_lowercase()
                    ),
                ));
            }
        }
    }
    errors
}

// ---------- exports ----------

/// The authorities whose lists the actor may export, optionally under one authority.
async fn export_scope(
    st: &AppState,
    ctx: &Ctx,
    tx: Tx,
    all: &[AuthorityRow],
    authority_id: Option<i64>,
    action: Action,
    object: &str,
) -> AppResult<(Tx, Vec<i64>)> {
    let readable = readable_authorities(&ctx.actor, &tree(all));
    let mut ids: Vec<i64> = match readable {
        None => all.iter().map(|a| a.id).collect(),
        Some(v) => v,
    };
    if let Some(a) = authority_id {
        if !all.iter().any(|x| x.id == a) {
            tx.rollback().await?;
            return Err(AppError::NotFound);
        }
        let below = descendants_in(all, a);
        ids.retain(|x| below.contains(x));
    }
    if ids.is_empty() {
        tx.rollback().await?;
        let reason = thidua_core::policy::Denied { action }.to_string();
        return Err(record_denial(&st.db, &ctx.meta, Some(ctx), action.code(), object, &reason).await);
    }
    Ok((tx, ids))
}

fn export_title(what: &str, all: &[AuthorityRow], authority_id: Option<i64>) -> String {
    let of =
        authority_id.and_then(|a| all.iter().find(|x| x.id == a)).map(|a| format!(" – {}", a.name)).unwrap_or_default();
    format!("{what}{of} – xuất ngày {}", format_date(today()))
}

/// The list of units the actor may read (optionally of one authority and
/// those below it) as an `.xlsx` file that the units import reads back unchanged.
pub async fn export_units(st: &AppState, ctx: &Ctx, authority_id: Option<i64>) -> AppResult<Vec<u8>> {
    let mut tx = st.db.read().await?;
    let all = q::authorities(&mut tx).await?;
    let (mut tx, ids) = export_scope(st, ctx, tx, &all, authority_id, Action::ViewUnit, "export:units").await?;
    let mut units = units_of(&mut tx, &ids).await?;
    tx.rollback().await?;
    units.sort_by(|a, b| vi_cmp(&a.authority_name, &b.authority_name).then_with(|| vi_cmp(&a.name, &b.name)));
    let rows: Vec<Vec<String>> = units
        .iter()
        .map(|u| {
            vec![
                u.name.clone(),
                u.short_name.clone(),
                kind_label(&u.kind),
                u.authority_name.clone(),
                date_text(&u.active_from),
                date_text(&u.active_to),
            ]
        })
        .collect();
    let title = export_title("Danh sách đơn vị", &all, authority_id);
    write("Đơn vị", &title, &unit_cols::ALL, rows).await
}

/// The memberships the actor may read (of one year, or of all years; of the
/// groups of one authority and those below it, or all) as an `.xlsx` file
/// that the memberships import reads back unchanged.
pub async fn export_memberships(
    st: &AppState,
    ctx: &Ctx,
    year: Option<i32>,
    authority_id: Option<i64>,
) -> AppResult<Vec<u8>> {
    let mut tx = st.db.read().await?;
    let all = q::authorities(&mut tx).await?;
    let (mut tx, ids) = export_scope(st, ctx, tx, &all, authority_id, Action::ViewGroup, "export:memberships").await?;
    let mut list = q::memberships(&mut tx, Some(&ids), year).await?;
    tx.rollback().await?;
    let name_of = |id: i64| all.iter().find(|a| a.id == id).map(|a| a.name.clone()).unwrap_or_default();
    let rank = |r: &str| match r {
        "head" => 0,
        "deputy" => 1,
        _ => 2,
    };
    list.sort_by(|a, b| {
        a.year
            .cmp(&b.year)
            .then_with(|| vi_cmp(&name_of(a.group_authority_id), &name_of(b.group_authority_id)))
            .then_with(|| vi_cmp(&a.group_name, &b.group_name))
            .then_with(|| rank(&a.role).cmp(&rank(&b.role)))
            .then_with(|| vi_cmp(&a.unit_name, &b.unit_name))
    });
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|m| {
            vec![
                m.year.to_string(),
                m.group_name.clone(),
                GroupKind::parse(&m.group_kind).map(|k| k.label().to_string()).unwrap_or_default(),
                name_of(m.group_authority_id),
                m.unit_name.clone(),
                MemberRole::parse(&m.role).map(|r| r.label().to_string()).unwrap_or_default(),
                m.unit_authority_name.clone(),
            ]
        })
        .collect();
    let what = match year {
        Some(y) => format!("Danh sách thành viên cụm, khối thi đua năm {y}"),
        None => "Danh sách thành viên cụm, khối thi đua".to_string(),
    };
    let title = export_title(&what, &all, authority_id);
    write("Thành viên cụm, khối", &title, &member_cols::ALL, rows).await
}

/// An empty units file with the columns the import reads.
pub async fn template_units() -> AppResult<Vec<u8>> {
    write("Đơn vị", "Mẫu nhập danh sách đơn vị", &unit_cols::ALL, vec![]).await
}

/// An empty memberships file with the columns the import reads.
pub async fn template_memberships() -> AppResult<Vec<u8>> {
    write("Thành viên cụm, khối", "Mẫu nhập thành viên cụm, khối thi đua", &member_cols::ALL, vec![]).await
}

async fn write(
    sheet: &'static str,
    title: &str,
    headers: &'static [&'static str],
    rows: Vec<Vec<String>>,
) -> AppResult<Vec<u8>> {
    let title = title.to_string();
    tokio::task::spawn_blocking(move || thidua_export::write_table(sheet, Some(&title), headers, &rows))
        .await
        .map_err(|e| AppError::Internal(format!("xlsx writer: {e}")))?
        .map_err(|e| AppError::Internal(format!("xlsx write: {e}")))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use thidua_core::policy::{Actor, Grant, Role};
    use thidua_db::Db;
    use thidua_db::users::UserRow;

    use super::*;
    use crate::{ReqMeta, WebConfig};

    const UNIT_HEADERS: [&str; 6] = unit_cols::ALL;
    const MEMBER_HEADERS: [&str; 6] = ["Năm", "Cụm, khối", "Loại cụm, khối", "Cơ quan tổ chức", "Đơn vị", "Vai trò"];
    const TW: &str = "Hội đồng Thi đua – Khen thưởng Trung ương";
    const CB: &str = "Ủy ban nhân dân tỉnh Cao Bằng";
    const HN: &str = "Ủy ban nhân dân thành phố Hà Nội";

    struct T {
        st: AppState,
        dir: PathBuf,
        tw: i64,
        cb: i64,
        hn: i64,
    }

    impl Drop for T {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    async fn setup() -> T {
        let dir = std::env::temp_dir().join(format!("thidua-import-{}", &crate::auth::random_token()[..16]));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let db = Db::connect(&format!("sqlite://{}/t.db", dir.display())).await.expect("connect");
        db.migrate().await.expect("migrate");
        let mut tx = db.begin().await.expect("begin");
        let tw = q::insert_authority(&mut tx, TW, "HĐTĐKT Trung ương", "central", None).await.expect("tw");
        let cb = q::insert_authority(&mut tx, CB, "UBND tỉnh Cao Bằng", "province", Some(tw)).await.expect("cb");
        let hn = q::insert_authority(&mut tx, HN, "UBND TP Hà Nội", "province", Some(tw)).await.expect("hn");
        for y in [2025, 2026] {
            q::insert_year(&mut tx, y).await.expect("year");
        }
        tx.commit().await.expect("commit");
        T { st: AppState::new(db, WebConfig::default()), dir, tw, cb, hn }
    }

    fn ctx(role: Role, authority_id: Option<i64>, unit_id: Option<i64>) -> Ctx {
        let user = UserRow {
            id: 1,
            username: format!("nguoi-{}", role.code()),
            full_name: "Nguyễn Văn A".into(),
            password_hash: String::new(),
            disabled: false,
            created_at: thidua_db::now(),
            password_changed_at: thidua_db::now(),
        };
        Ctx {
            user,
            actor: Actor { user_id: 1, grants: vec![Grant { role, authority_id, unit_id }] },
            grants: vec![],
            session_hash: "0".repeat(64),
            csrf: "x".repeat(64),
            meta: ReqMeta { request_id: "test".into(), ..Default::default() },
            head: None,
        }
    }

    fn admin() -> Ctx {
        ctx(Role::Admin, None, None)
    }

    fn xlsx(headers: &[&str], rows: &[&[&str]]) -> Vec<u8> {
        let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect();
        thidua_export::write_table("Trang 1", None, headers, &rows).expect("xlsx")
    }

    async fn units(t: &T) -> Vec<UnitRow> {
        let mut tx = t.st.db.read().await.expect("read");
        let all = q::authorities(&mut tx).await.expect("authorities");
        let ids: Vec<i64> = all.iter().map(|a| a.id).collect();
        let u = units_of(&mut tx, &ids).await.expect("units");
        tx.rollback().await.expect("rollback");
        u
    }

    async fn audit_actions(t: &T) -> Vec<String> {
        let mut tx = t.st.db.read().await.expect("read");
        let rows = audit::browse(&mut tx, &audit::Filter { limit: 500, ..Default::default() }).await.expect("audit");
        tx.rollback().await.expect("rollback");
        rows.into_iter().map(|r| r.action).collect()
    }

    fn good_units() -> Vec<u8> {
        xlsx(
            &UNIT_HEADERS,
            &[
                &["Sở Tư pháp", "STP", "Sở, ban, ngành", CB, "01/03/2025", ""],
                &["Xã Hòa An", "", "commune", "uy ban nhan dan tinh cao bang", "01/07/2025", ""],
                &["Sở Nội vụ", "SNV", "Sở, ban, ngành", HN, "", ""],
            ],
        )
    }

    #[tokio::test]
    async fn units_import_then_export_reimports_unchanged() {
        let t = setup().await;
        let a = admin();
        let r = import_units(&t.st, &a, &good_units(), false).await.expect("import");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!((r.rows, r.created, r.updated, r.unchanged, r.committed), (3, 3, 0, 0, true));
        let stored = units(&t).await;
        assert_eq!(stored.len(), 3);
        let hoa_an = stored.iter().find(|u| u.name == "Xã Hòa An").expect("Hòa An");
        assert_eq!(
            (hoa_an.authority_id, hoa_an.short_name.as_str(), hoa_an.kind.as_str()),
            (t.cb, "Xã Hòa An", "commune")
        );
        assert_eq!(hoa_an.active_from.as_deref(), Some("2025-07-01"));
        let actions = audit_actions(&t).await;
        assert_eq!(actions.iter().filter(|a| *a == "unit.create").count(), 3);
        assert!(actions.contains(&"import.units".to_string()));

        // the export re-imports without any change
        let exported = export_units(&t.st, &a, None).await.expect("export");
        let again = import_units(&t.st, &a, &exported, false).await.expect("re-import");
        assert!(again.errors.is_empty(), "{:?}", again.errors);
        assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
        assert_eq!(units(&t).await, stored);

        // an export of one authority has only its units, under a title row
        let only_cb = export_units(&t.st, &a, Some(t.cb)).await.expect("export cb");
        let sheet = thidua_export::read_sheet(&only_cb, &limits(), None).expect("sheet");
        assert!(sheet.cell(0, 0).as_text().starts_with("Danh sách đơn vị"));
        let table = thidua_export::read_table(&only_cb, &limits(), &UNIT_HEADERS).expect("table");
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0].1[0], "Sở Tư pháp");
        assert_eq!(table.rows[0].1[4], "01/03/2025");

        // a changed kind is an update; a dry run stores nothing
        let changed = xlsx(&UNIT_HEADERS, &[&["Sở Nội vụ", "SNV", "Khác", HN, "", "31/12/2025"]]);
        let dry = import_units(&t.st, &a, &changed, true).await.expect("dry run");
        assert_eq!((dry.updated, dry.committed, dry.dry_run), (1, false, true));
        assert!(dry.changes[0].detail.contains("Loại: Sở, ban, ngành → Khác"), "{:?}", dry.changes);
        assert_eq!(units(&t).await, stored);
        let real = import_units(&t.st, &a, &changed, false).await.expect("update");
        assert_eq!((real.updated, real.committed), (1, true));
        let snv = units(&t).await.into_iter().find(|u| u.name == "Sở Nội vụ").expect("SNV");
        assert_eq!((snv.kind.as_str(), snv.active_to.as_deref()), ("other", Some("2025-12-31")));
        assert!(audit_actions(&t).await.contains(&"unit.update".to_string()));
    }

    #[tokio::test]
    async fn absent_optional_columns_keep_stored_values() {
        let t = setup().await;
        let a = admin();
        import_units(&t.st, &a, &good_units(), false).await.expect("import");
        let file = xlsx(&["Tên đơn vị", "Loại", "Cơ quan quản lý"], &[&["Sở Tư pháp", "Sở, ban, ngành", CB]]);
        let r = import_units(&t.st, &a, &file, false).await.expect("import");
        assert_eq!((r.created, r.updated, r.unchanged), (0, 0, 1));
    }

    #[tokio::test]
    async fn one_bad_row_stores_nothing() {
        let t = setup().await;
        let file = xlsx(
            &UNIT_HEADERS,
            &[
                &["Sở Tư pháp", "", "Sở, ban, ngành", CB, "", ""],
                &["Sở Y tế", "", "Bệnh viện", CB, "", ""],
                &["Sở Xây dựng", "", "Sở, ban, ngành", CB, "31/02/2025", ""],
                &["Sở Công Thương", "", "Sở, ban, ngành", "Sở Không Có", "", ""],
            ],
        );
        let r = import_units(&t.st, &admin(), &file, false).await.expect("report");
        assert!(!r.committed);
        let rows: Vec<usize> = r.errors.iter().map(|e| e.row).collect();
        assert_eq!(rows, vec![3, 4, 5]);
        assert_eq!(r.errors[0].column.as_deref(), Some("Loại"));
        assert!(r.errors[0].message.contains("Bệnh viện"), "{}", r.errors[0].message);
        assert_eq!(r.errors[1].column.as_deref(), Some("Hoạt động từ"));
        assert_eq!(r.errors[2].message.split(". ").next(), Some("Không tìm thấy cơ quan quản lý \"Sở Không Có\""));
        assert_eq!(r.bad_rows(), 3);
        assert!(units(&t).await.is_empty());
        assert!(!audit_actions(&t).await.iter().any(|a| a.starts_with("unit.") || a.starts_with("import.")));
    }

    #[tokio::test]
    async fn duplicate_rows_in_the_file() {
        let t = setup().await;
        let file = xlsx(
            &UNIT_HEADERS,
            &[
                &["Sở Tư pháp", "", "Sở, ban, ngành", CB, "", ""],
                &["Sở Tư pháp", "", "Sở, ban, ngành", HN, "", ""],
                &["Sở  Tư   pháp", "", "Sở, ban, ngành", CB, "", ""],
            ],
        );
        let r = import_units(&t.st, &admin(), &file, false).await.expect("report");
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        assert_eq!(r.errors[0].row, 4);
        assert!(r.errors[0].message.contains("đã có ở dòng 2"), "{}", r.errors[0].message);
        assert!(units(&t).await.is_empty());
    }

    #[tokio::test]
    async fn bad_files_are_refused_with_a_message() {
        let t = setup().await;
        let a = admin();
        match import_units(&t.st, &a, b"Ten don vi,Loai\nSo Tu phap,khac\n", false).await {
            Err(AppError::BadRequest(m)) => assert!(m.contains("CSV"), "{m}"),
            other => panic!("{other:?}"),
        }
        match import_units(&t.st, &a, &[0xD0, 0xCF, 0x11, 0xE0, 0, 0, 0, 0], false).await {
            Err(AppError::BadRequest(m)) => assert!(m.contains(".xls"), "{m}"),
            other => panic!("{other:?}"),
        }
        match import_units(&t.st, &a, &vec![b'P'; MAX_BYTES + 1], false).await {
            Err(AppError::TooLarge(m)) => assert!(m.contains("5 MB"), "{m}"),
            other => panic!("{other:?}"),
        }
        let missing = xlsx(&["Tên đơn vị", "Tên viết tắt"], &[&["Sở Tư pháp", ""]]);
        match import_units(&t.st, &a, &missing, false).await {
            Err(AppError::BadRequest(m)) => assert!(m.starts_with("Thiếu cột: Loại, Cơ quan quản lý"), "{m}"),
            other => panic!("{other:?}"),
        }
        let empty = xlsx(&UNIT_HEADERS, &[]);
        assert!(matches!(import_units(&t.st, &a, &empty, false).await, Err(AppError::BadRequest(_))));
        assert!(units(&t).await.is_empty());
    }

    /// A zip whose central directory declares these (name, compressed, uncompressed) sizes.
    fn zip_declaring(entries: &[(String, u32, u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, compressed, size) in entries {
            let offset = out.len() as u32;
            let data = vec![0u8; *compressed as usize];
            for (buf, central_header) in [(&mut out, false), (&mut central, true)] {
                buf.extend_from_slice(if central_header { &[0x50, 0x4b, 1, 2] } else { &[0x50, 0x4b, 3, 4] });
                if central_header {
                    buf.extend_from_slice(&20u16.to_le_bytes());
                }
                for v in [20u16, 0, 8, 0, 0] {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
                for v in [0u32, *compressed, *size] {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
                buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
                buf.extend_from_slice(&0u16.to_le_bytes());
                if central_header {
                    for v in [0u16, 0, 0] {
                        buf.extend_from_slice(&v.to_le_bytes());
                    }
                    buf.extend_from_slice(&0u32.to_le_bytes());
                    buf.extend_from_slice(&offset.to_le_bytes());
                }
                buf.extend_from_slice(name.as_bytes());
            }
            out.extend_from_slice(&data);
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&[0x50, 0x4b, 5, 6, 0, 0, 0, 0]);
        let n = entries.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[tokio::test]
    async fn zip_bombs_are_refused_before_reading() {
        let t = setup().await;
        let a = admin();
        let parts = |extra: Vec<(String, u32, u32)>| {
            let mut v = vec![("[Content_Types].xml".to_string(), 10, 10), ("xl/workbook.xml".to_string(), 10, 10)];
            v.extend(extra);
            zip_declaring(&v)
        };
        // one part of 100 MB compressed into 1 KB
        let bomb = parts(vec![("xl/worksheets/sheet1.xml".into(), 1024, 100 * 1024 * 1024)]);
        match import_units(&t.st, &a, &bomb, false).await {
            Err(AppError::TooLarge(m)) => assert!(m.contains("tỷ lệ nén bất thường"), "{m}"),
            other => panic!("{other:?}"),
        }
        // many parts
        let many = parts((0..300).map(|i| (format!("xl/media/a{i}.bin"), 1, 1)).collect());
        match import_memberships(&t.st, &a, &many, false).await {
            Err(AppError::TooLarge(m)) => assert!(m.contains("quá nhiều thành phần"), "{m}"),
            other => panic!("{other:?}"),
        }
        // a total over the uncompressed limit, each part under the ratio
        let big = parts((0..60).map(|i| (format!("xl/media/b{i}.bin"), 10_000, 1024 * 1024)).collect());
        match import_units(&t.st, &a, &big, true).await {
            Err(AppError::TooLarge(m)) => assert!(m.contains("sau khi giải nén quá lớn"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(units(&t).await.is_empty());
    }

    #[tokio::test]
    async fn rows_outside_the_scope_are_a_denial() {
        let t = setup().await;
        let hn_secretariat = ctx(Role::Secretariat, Some(t.hn), None);
        match import_units(&t.st, &hn_secretariat, &good_units(), false).await {
            Err(AppError::Forbidden(m)) => {
                assert!(m.contains(&format!("{CB} (dòng 2, 3)")), "{m}");
                assert!(m.contains("Không có dữ liệu nào được lưu"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(units(&t).await.is_empty());
        assert!(audit_actions(&t).await.contains(&"denied:manage_unit".to_string()));

        // the rows of its own authority alone are fine
        let own = xlsx(&UNIT_HEADERS, &[&["Sở Nội vụ", "", "Sở, ban, ngành", HN, "", ""]]);
        let r = import_units(&t.st, &hn_secretariat, &own, false).await.expect("own rows");
        assert_eq!((r.created, r.committed), (1, true));

        // a unit officer may not import at all
        let unit_id = units(&t).await[0].id;
        let officer = ctx(Role::UnitOfficer, Some(t.hn), Some(unit_id));
        assert!(matches!(import_units(&t.st, &officer, &own, true).await, Err(AppError::Forbidden(_))));
        assert!(matches!(rights(&t.st, &officer).await, Err(AppError::Forbidden(_))));
        assert_eq!(
            rights(&t.st, &hn_secretariat).await.expect("rights"),
            ImportRights { units: true, memberships: true }
        );
        // but may export what it reads
        let file = export_units(&t.st, &officer, None).await.expect("export");
        let table = thidua_export::read_table(&file, &limits(), &UNIT_HEADERS).expect("table");
        assert_eq!(table.rows.len(), 1);
    }

    async fn seed_units(t: &T) {
        let file = xlsx(
            &UNIT_HEADERS,
            &[
                &["Tỉnh Cao Bằng", "", "Tỉnh, thành phố", TW, "", ""],
                &["Tỉnh Lạng Sơn", "", "Tỉnh, thành phố", TW, "", ""],
                &["Tỉnh Hà Giang", "", "Tỉnh, thành phố", TW, "", "30/06/2025"],
                &["Văn phòng", "", "Khác", CB, "", ""],
                &["Văn phòng", "", "Khác", HN, "", ""],
                &["Sở Tư pháp", "", "Sở, ban, ngành", CB, "", ""],
            ],
        );
        let r = import_units(&t.st, &admin(), &file, false).await.expect("units");
        assert!(r.committed, "{:?}", r.errors);
    }

    #[tokio::test]
    async fn memberships_import_export_round_trip() {
        let t = setup().await;
        seed_units(&t).await;
        let a = admin();
        let group = "Cụm thi đua các tỉnh miền núi phía Bắc";
        let file = xlsx(
            &MEMBER_HEADERS,
            &[
                &["2026", group, "Cụm thi đua", TW, "Tỉnh Cao Bằng", "Trưởng"],
                &["2026", group, "Cụm thi đua", TW, "Tỉnh Lạng Sơn", "Cụm phó"],
                &["2026", "Khối các cơ quan", "Khối thi đua", CB, "Sở Tư pháp", ""],
            ],
        );
        let r = import_memberships(&t.st, &a, &file, false).await.expect("import");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!((r.created, r.groups_created, r.committed), (3, 2, true));
        let actions = audit_actions(&t).await;
        assert_eq!(actions.iter().filter(|x| *x == "group.create").count(), 2);
        assert_eq!(actions.iter().filter(|x| *x == "membership.add").count(), 3);
        assert!(actions.contains(&"import.memberships".to_string()));

        let exported = export_memberships(&t.st, &a, Some(2026), None).await.expect("export");
        let again = import_memberships(&t.st, &a, &exported, false).await.expect("re-import");
        assert!(again.errors.is_empty(), "{:?}", again.errors);
        assert_eq!((again.created, again.updated, again.unchanged, again.groups_created), (0, 0, 3, 0));

        // the head passes to the other unit: both rows change, no moment with two heads
        let swap = xlsx(
            &MEMBER_HEADERS,
            &[&["2026", group, "", TW, "Tỉnh Cao Bằng", "Phó"], &["2026", group, "", TW, "Tỉnh Lạng Sơn", "Trưởng"]],
        );
        let r = import_memberships(&t.st, &a, &swap, false).await.expect("swap");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!((r.updated, r.committed), (2, true));
        let mut tx = t.st.db.read().await.expect("read");
        let list = q::memberships(&mut tx, None, Some(2026)).await.expect("members");
        tx.rollback().await.expect("rollback");
        let role_of = |name: &str| list.iter().find(|m| m.unit_name == name).map(|m| m.role.clone());
        assert_eq!(role_of("Tỉnh Lạng Sơn").as_deref(), Some("head"));
        assert_eq!(role_of("Tỉnh Cao Bằng").as_deref(), Some("deputy"));
    }

    #[tokio::test]
    async fn membership_rules_across_the_file() {
        let t = setup().await;
        seed_units(&t).await;
        let a = admin();
        let group = "Cụm thi đua số 1";
        let file = xlsx(
            &MEMBER_HEADERS,
            &[
                &["2026", group, "Cụm thi đua", TW, "Tỉnh Cao Bằng", "Trưởng"],
                &["2026", group, "Cụm thi đua", TW, "Tỉnh Lạng Sơn", "Trưởng"],
                &["2027", group, "Cụm thi đua", TW, "Tỉnh Lạng Sơn", ""],
                &["2026", group, "Cụm thi đua", TW, "Tỉnh Hà Giang", ""],
                &["2026", group, "Cụm thi đua", TW, "Văn phòng", ""],
                &["2026", "Cụm không có", "", TW, "Tỉnh Cao Bằng", ""],
                &["2026", group, "Cụm thi đua", TW, "Tỉnh Cao Bằng", "Thành viên"],
            ],
        );
        let r = import_memberships(&t.st, &a, &file, false).await.expect("report");
        assert!(!r.committed);
        let find = |row: usize| -> String {
            r.errors.iter().filter(|e| e.row == row).map(|e| e.message.clone()).collect::<Vec<_>>().join(" | ")
        };
        assert!(find(2).is_empty(), "{}", find(2));
        assert!(find(3).contains("nhiều hơn một cụm trưởng"), "{}", find(3));
        assert!(find(4).starts_with("Năm 2027 chưa được mở"), "{}", find(4));
        assert!(find(5).contains("không hoạt động trong năm 2026"), "{}", find(5));
        assert!(find(6).contains(CB) && find(6).contains(HN), "{}", find(6));
        assert!(find(7).contains("Chưa có cụm, khối \"Cụm không có\""), "{}", find(7));
        assert!(find(8).contains("đã có ở dòng 2"), "{}", find(8));
        let mut tx = t.st.db.read().await.expect("read");
        assert!(q::memberships(&mut tx, None, None).await.expect("members").is_empty());
        assert!(q::groups(&mut tx, None, &[]).await.expect("groups").is_empty());
        tx.rollback().await.expect("rollback");

        // the unit's authority tells apart two units of the same name
        let mut headers = MEMBER_HEADERS.to_vec();
        headers.push(member_cols::UNIT_AUTHORITY);
        let file = xlsx(&headers, &[&["2026", "Khối Văn phòng", "Khối thi đua", TW, "Văn phòng", "Trưởng", HN]]);
        let r = import_memberships(&t.st, &a, &file, false).await.expect("import");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let exported = export_memberships(&t.st, &a, None, None).await.expect("export");
        let again = import_memberships(&t.st, &a, &exported, true).await.expect("dry re-import");
        assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 1), "{:?}", again.errors);
    }

    #[tokio::test]
    async fn a_stored_head_blocks_a_second_one() {
        let t = setup().await;
        seed_units(&t).await;
        let a = admin();
        let g = "Cụm thi đua số 2";
        let first = xlsx(&MEMBER_HEADERS, &[&["2026", g, "Cụm thi đua", TW, "Tỉnh Cao Bằng", "Trưởng"]]);
        assert!(import_memberships(&t.st, &a, &first, false).await.expect("first").committed);
        let second = xlsx(&MEMBER_HEADERS, &[&["2026", g, "", TW, "Tỉnh Lạng Sơn", "Trưởng"]]);
        let r = import_memberships(&t.st, &a, &second, false).await.expect("second");
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        assert_eq!((r.errors[0].row, r.errors[0].column.as_deref()), (2, Some("Vai trò")));
        assert!(
            r.errors[0].message.contains("\"Tỉnh Cao Bằng\" (đã là cụm trưởng trong hệ thống)"),
            "{}",
            r.errors[0].message
        );
    }

    #[tokio::test]
    async fn memberships_of_another_authority_are_denied() {
        let t = setup().await;
        seed_units(&t).await;
        let cb_secretariat = ctx(Role::Secretariat, Some(t.cb), None);
        let file = xlsx(&MEMBER_HEADERS, &[&["2026", "Cụm mới", "Cụm thi đua", TW, "Tỉnh Cao Bằng", ""]]);
        match import_memberships(&t.st, &cb_secretariat, &file, true).await {
            Err(AppError::Forbidden(m)) => assert!(m.contains(&format!("{TW} (dòng 2)")), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(audit_actions(&t).await.contains(&"denied:manage_group".to_string()));
        let _ = t.tw;
    }

    #[tokio::test]
    async fn templates_have_the_import_columns() {
        let units = template_units().await.expect("template");
        let t = thidua_export::read_table(&units, &limits(), &UNIT_HEADERS).expect("units template");
        assert!(t.rows.is_empty());
        let members = template_memberships().await.expect("template");
        let t = thidua_export::read_table(&members, &limits(), &member_cols::ALL).expect("members template");
        assert_eq!(t.header_row, 2);
    }
}
