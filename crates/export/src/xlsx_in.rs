//! Safe reading of uploaded `.xlsx` files.
//!
//! Every entry point first calls [`check_container`], which inspects the zip
//! central directory without decompressing anything (size, entry count,
//! declared uncompressed size, compression ratio, required parts). Only then
//! is the workbook handed to calamine, and cells are streamed so that row and
//! column limits are enforced before anything large is allocated.
//!
//! Numbers are never handed out as `f64`: a [`Cell`] carries integers as
//! `i64` and other numbers as their decimal text, as Excel shows them.

use std::borrow::Cow;
use std::io::Cursor;

use calamine::{DataRef, ExcelDateTime, Reader, SheetType, SheetVisible, Xlsx};
use zip::{CompressionMethod, ZipArchive};

use crate::XlsxError;
use crate::fold::fold_vi;

/// Entries bigger than this (uncompressed) are checked for their compression ratio.
const BOMB_MIN_SIZE: u64 = 1024 * 1024;
/// Highest accepted uncompressed:compressed ratio for big entries.
const BOMB_MAX_RATIO: u64 = 200;
/// How many non-empty rows at the top of a sheet are searched for the header row.
const HEADER_SCAN_ROWS: usize = 10;

/// Limits applied to an uploaded workbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of the uploaded file, in bytes.
    pub max_bytes: usize,
    /// Maximum number of entries (parts) in the zip container.
    pub max_entries: usize,
    /// Maximum total declared uncompressed size of all entries, in bytes.
    pub max_uncompressed: u64,
    /// Maximum number of rows (data beyond this row is refused).
    pub max_rows: usize,
    /// Maximum number of columns (data beyond this column is refused).
    pub max_cols: usize,
}

impl Default for Limits {
    /// 5 MiB file, 200 entries, 50 MiB uncompressed, 20 000 rows, 100 columns.
    fn default() -> Self {
        Limits {
            max_bytes: 5 * 1024 * 1024,
            max_entries: 200,
            max_uncompressed: 50 * 1024 * 1024,
            max_rows: 20_000,
            max_cols: 100,
        }
    }
}

/// One cell value, as read from a sheet. Text is trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cell {
    /// No value (or only whitespace).
    #[default]
    Empty,
    /// Text.
    Text(String),
    /// A number with an integral value.
    Int(i64),
    /// A non-integral number, as decimal text with `.` (e.g. `"8.75"`),
    /// rounded to 15 significant digits like Excel displays it.
    Decimal(String),
    /// A boolean (`TRUE`/`FALSE`).
    Bool(bool),
    /// A date (`YYYY-MM-DD`), a date-time (`YYYY-MM-DDTHH:MM:SS`), a time of
    /// day or a duration (`HH:MM:SS`).
    Date(String),
    /// An Excel error value such as `#N/A` or `#REF!`.
    Error(String),
}

impl Cell {
    /// True for [`Cell::Empty`].
    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// The cell as text: numbers without a trailing `.0` (`12`, `8.75`),
    /// dates in ISO form (`2024-12-31`), booleans as `TRUE`/`FALSE`, empty as `""`.
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(s) | Cell::Decimal(s) | Cell::Date(s) | Cell::Error(s) => Cow::Borrowed(s),
            Cell::Int(i) => Cow::Owned(i.to_string()),
            Cell::Bool(true) => Cow::Borrowed("TRUE"),
            Cell::Bool(false) => Cow::Borrowed("FALSE"),
        }
    }
}

/// A merged cell region; 0-based, bounds inclusive, clipped to the [`Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergedRegion {
    /// First row (0-based).
    pub first_row: usize,
    /// First column (0-based).
    pub first_col: usize,
    /// Last row (0-based, inclusive).
    pub last_row: usize,
    /// Last column (0-based, inclusive).
    pub last_col: usize,
}

/// The cells of one worksheet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sheet {
    /// Sheet name as shown on its tab.
    pub name: String,
    /// `rows[i]` is Excel row `i + 1`; `rows[i][j]` is column `j` (0 = `A`).
    /// Rows are ragged: each stops at its last non-empty cell, and trailing
    /// empty rows are absent. Use [`Sheet::cell`] for bounds-free access.
    pub rows: Vec<Vec<Cell>>,
    /// Merged cell regions of the sheet. The value of a merged region is in
    /// its top-left cell; the other cells read as empty.
    pub merged: Vec<MergedRegion>,
}

impl Sheet {
    /// The cell at 0-based `(row, col)`, or [`Cell::Empty`] outside the data.
    pub fn cell(&self, row: usize, col: usize) -> &Cell {
        static EMPTY: Cell = Cell::Empty;
        self.rows.get(row).and_then(|r| r.get(col)).unwrap_or(&EMPTY)
    }
}

/// A table read from a sheet, with columns in the order the caller asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// Name of the sheet the table was read from.
    pub sheet_name: String,
    /// Excel row number (1-based) of the header row.
    pub header_row: usize,
    /// The expected column names, as given by the caller (required, then optional).
    pub headers: Vec<String>,
    /// For each of `headers`, the 0-based sheet column it was found in
    /// (`None` for an absent optional column). See [`column_letter`].
    pub columns: Vec<Option<usize>>,
    /// Data rows: Excel row number (1-based) and one text per header, in
    /// `headers` order (`""` for empty cells and absent optional columns).
    /// Rows whose cells are all empty are skipped.
    pub rows: Vec<(usize, Vec<String>)>,
    /// Header texts of the sheet that match no expected column (ignored).
    pub extra_columns: Vec<String>,
}

/// Checks the zip container of an uploaded `.xlsx` without decompressing it.
///
/// Refuses: more than `max_bytes` ([`XlsxError::TooLarge`]); anything not a
/// zip, with encrypted entries, unusual compression methods, duplicate names,
/// or lacking `[Content_Types].xml` or `xl/workbook.xml` ([`XlsxError::NotXlsx`]);
/// more than `max_entries` entries ([`XlsxError::TooManyEntries`]); an entry
/// over 1 MiB compressed more than 200:1 ([`XlsxError::ZipBomb`]); declared
/// uncompressed sizes summing over `max_uncompressed`
/// ([`XlsxError::ContentTooLarge`]). The zip reader later refuses to inflate
/// any entry beyond its declared size, so the declared sizes are binding.
pub fn check_container(bytes: &[u8], limits: &Limits) -> Result<(), XlsxError> {
    if bytes.len() > limits.max_bytes {
        return Err(XlsxError::TooLarge { limit: limits.max_bytes });
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(XlsxError::NotXlsx);
    }
    let archive = ZipArchive::new(Cursor::new(bytes)).map_err(|_| XlsxError::NotXlsx)?;
    if archive.has_duplicate_names() {
        return Err(XlsxError::NotXlsx);
    }
    if archive.len() > limits.max_entries {
        return Err(XlsxError::TooManyEntries { limit: limits.max_entries });
    }
    let mut total: u64 = 0;
    let mut has_content_types = false;
    let mut has_workbook = false;
    for index in 0..archive.len() {
        let entry = archive.by_index_data(index).map_err(|_| XlsxError::NotXlsx)?;
        if entry.encrypted() || !matches!(entry.compression(), CompressionMethod::Stored | CompressionMethod::Deflated)
        {
            return Err(XlsxError::NotXlsx);
        }
        let size = entry.size();
        if size > BOMB_MIN_SIZE && size / entry.compressed_size().max(1) > BOMB_MAX_RATIO {
            return Err(XlsxError::ZipBomb);
        }
        total = total.saturating_add(size);
        if total > limits.max_uncompressed {
            return Err(XlsxError::ContentTooLarge { limit: limits.max_uncompressed });
        }
        let name = entry.name_raw();
        has_content_types |= name.eq_ignore_ascii_case(b"[Content_Types].xml");
        has_workbook |= name.eq_ignore_ascii_case(b"xl/workbook.xml");
    }
    if !has_content_types || !has_workbook {
        return Err(XlsxError::NotXlsx);
    }
    Ok(())
}

/// Opens a checked workbook with calamine.
fn open<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Xlsx<Cursor<&'a [u8]>>, XlsxError> {
    check_container(bytes, limits)?;
    calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(read_err)
}

fn read_err(e: calamine::XlsxError) -> XlsxError {
    XlsxError::Read(e.to_string())
}

/// Names of the worksheets (chart sheets excluded), in workbook order.
pub fn sheet_names(bytes: &[u8], limits: &Limits) -> Result<Vec<String>, XlsxError> {
    let workbook = open(bytes, limits)?;
    Ok(workbook.sheets_metadata().iter().filter(|s| s.typ == SheetType::WorkSheet).map(|s| s.name.clone()).collect())
}

/// Picks the sheet to read: by name (exact, else accent- and case-insensitive),
/// or the first visible worksheet.
fn pick_sheet(metadata: &[calamine::Sheet], wanted: Option<&str>) -> Result<String, XlsxError> {
    let mut worksheets = metadata.iter().filter(|s| s.typ == SheetType::WorkSheet);
    let found = match wanted {
        Some(name) => worksheets
            .clone()
            .find(|s| s.name == name)
            .or_else(|| {
                let key = fold_vi(name);
                worksheets.find(|s| fold_vi(&s.name) == key)
            })
            .ok_or_else(|| XlsxError::SheetNotFound(name.to_string()))?,
        None => worksheets
            .clone()
            .find(|s| s.visible == SheetVisible::Visible)
            .or_else(|| worksheets.next())
            .ok_or(XlsxError::Empty)?,
    };
    Ok(found.name.clone())
}

/// Reads one worksheet: the named one, or the first visible worksheet.
///
/// Fails with [`XlsxError::TooManyRows`] / [`XlsxError::TooManyColumns`] as
/// soon as a non-empty cell lies beyond the limits. An empty sheet gives a
/// [`Sheet`] without rows.
pub fn read_sheet(bytes: &[u8], limits: &Limits, name: Option<&str>) -> Result<Sheet, XlsxError> {
    let mut workbook = open(bytes, limits)?;
    let name = pick_sheet(workbook.sheets_metadata(), name)?;

    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut reader = workbook.worksheet_cells_reader(&name).map_err(read_err)?;
    while let Some(raw) = reader.next_cell().map_err(read_err)? {
        let cell = convert(raw.get_value());
        if cell.is_empty() {
            continue;
        }
        let (row, col) = raw.get_position();
        let (row, col) = (row as usize, col as usize);
        if row >= limits.max_rows {
            return Err(XlsxError::TooManyRows { limit: limits.max_rows });
        }
        if col >= limits.max_cols {
            return Err(XlsxError::TooManyColumns { limit: limits.max_cols });
        }
        if rows.len() <= row {
            rows.resize_with(row + 1, Vec::new);
        }
        let cells = &mut rows[row];
        if cells.len() <= col {
            cells.resize(col + 1, Cell::Empty);
        }
        cells[col] = cell;
    }
    drop(reader);

    let merged = workbook
        .merge_cells_by_sheet_name(&name)
        .map_err(read_err)?
        .into_iter()
        .filter_map(|d| clip_region(d, limits))
        .collect();

    Ok(Sheet { name, rows, merged })
}

/// Converts a calamine region to ours, clipped to the limits (`None` if outside).
fn clip_region(d: calamine::Dimensions, limits: &Limits) -> Option<MergedRegion> {
    let (r0, c0) = (d.start.0 as usize, d.start.1 as usize);
    let (r1, c1) = (d.end.0 as usize, d.end.1 as usize);
    if r0 >= limits.max_rows || c0 >= limits.max_cols || r1 < r0 || c1 < c0 {
        return None;
    }
    Some(MergedRegion {
        first_row: r0,
        first_col: c0,
        last_row: r1.min(limits.max_rows.saturating_sub(1)),
        last_col: c1.min(limits.max_cols.saturating_sub(1)),
    })
}

/// Converts a calamine value into our [`Cell`].
fn convert(value: &DataRef<'_>) -> Cell {
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) => text_cell(s),
        DataRef::SharedString(s) => text_cell(s),
        DataRef::Int(i) => Cell::Int(*i),
        DataRef::Float(f) => number_cell(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) => Cell::Date(render_datetime(dt)),
        DataRef::DateTimeIso(s) => Cell::Date(s.trim().to_string()),
        DataRef::DurationIso(s) => text_cell(s),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

fn text_cell(s: &str) -> Cell {
    let trimmed = s.trim();
    if trimmed.is_empty() { Cell::Empty } else { Cell::Text(trimmed.to_string()) }
}

/// A number as Excel's "General" format shows it: rounded to 15 significant
/// digits, integral values as [`Cell::Int`], others as decimal text.
fn number_cell(f: f64) -> Cell {
    if !f.is_finite() {
        return Cell::Error("#NUM!".to_string());
    }
    // `{:.14e}` keeps 15 significant digits; Display of the re-parsed value
    // is the shortest decimal for it, so no binary noise like ...0000001.
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    if rounded.fract() == 0.0 && rounded.abs() < 9.0e18 {
        Cell::Int(rounded as i64)
    } else {
        Cell::Decimal(format!("{rounded}"))
    }
}

/// Renders an Excel date/time as ISO text.
fn render_datetime(dt: &ExcelDateTime) -> String {
    let value = dt.as_f64();
    if dt.is_duration() || (0.0..1.0).contains(&value) {
        let total = (value.abs() * 86_400.0).round() as u64;
        let sign = if value < 0.0 { "-" } else { "" };
        return format!("{sign}{:02}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
    }
    let (y, mo, d, h, mi, s, _ms) = dt.to_ymd_hms_milli();
    if (h, mi, s) == (0, 0, 0) {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
    }
}

/// Spreadsheet column letters for a 0-based index: `0` → `A`, `27` → `AB`.
pub fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// Reads a table from the first visible worksheet; every expected column is required.
///
/// See [`table_from_sheet`] for how the header row is found and matched.
pub fn read_table(bytes: &[u8], limits: &Limits, expected_headers: &[&str]) -> Result<Table, XlsxError> {
    read_table_with_optional(bytes, limits, expected_headers, &[])
}

/// Like [`read_table`], with extra `optional` columns that may be absent.
pub fn read_table_with_optional(
    bytes: &[u8],
    limits: &Limits,
    required: &[&str],
    optional: &[&str],
) -> Result<Table, XlsxError> {
    let sheet = read_sheet(bytes, limits, None)?;
    table_from_sheet(&sheet, required, optional)
}

/// Header text key: folded (see [`fold_vi`]), without a trailing `*` or `:`.
pub(crate) fn header_key(s: &str) -> String {
    let folded = fold_vi(s);
    folded.trim_end_matches(['*', ':', ' ']).to_string()
}

/// Extracts a table from a sheet.
///
/// **Header row.** Normally the first non-empty row. To allow a title above
/// the table (as written by [`crate::write_table`]: one merged cell) or a
/// letterhead, the first 10 non-empty rows are examined and
/// the one matching the most expected columns is taken (the earliest on a
/// tie); if none matches any, the first non-empty row is used and all columns
/// are reported missing. In particular a first row with a single non-empty
/// cell is skipped when the next row holds the headers.
///
/// **Matching.** Header texts are compared case-insensitively, ignoring
/// Vietnamese diacritics, surrounding and repeated whitespace and a trailing
/// `*` or `:` (so `ten don vi` matches `Tên đơn vị`). Missing required
/// columns give [`XlsxError::MissingColumns`] with the caller's names; an
/// expected column present twice gives [`XlsxError::DuplicateColumns`];
/// other headers are listed in [`Table::extra_columns`] and ignored.
///
/// **Rows.** Rows below the header whose expected cells are all empty are
/// skipped. A sheet without any non-empty row gives [`XlsxError::Empty`]; a
/// header without data gives a table without rows.
pub fn table_from_sheet(sheet: &Sheet, required: &[&str], optional: &[&str]) -> Result<Table, XlsxError> {
    let expected: Vec<&str> = required.iter().chain(optional).copied().collect();
    let keys: Vec<String> = expected.iter().map(|h| header_key(h)).collect();
    let matches_in = |row: &[Cell]| {
        keys.iter().filter(|k| row.iter().any(|c| !c.is_empty() && header_key(&c.as_text()) == **k)).count()
    };

    let candidates: Vec<usize> = sheet
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.iter().any(|c| !c.is_empty()))
        .map(|(i, _)| i)
        .take(HEADER_SCAN_ROWS)
        .collect();
    let first = *candidates.first().ok_or(XlsxError::Empty)?;
    let mut header_idx = first;
    let mut best = 0;
    for &i in &candidates {
        let n = matches_in(&sheet.rows[i]);
        if n > best {
            best = n;
            header_idx = i;
        }
    }

    let mut columns: Vec<Option<usize>> = vec![None; expected.len()];
    let mut duplicates = Vec::new();
    let mut extra_columns = Vec::new();
    for (col, cell) in sheet.rows[header_idx].iter().enumerate() {
        if cell.is_empty() {
            continue;
        }
        let text = cell.as_text();
        let key = header_key(&text);
        match keys.iter().position(|k| *k == key) {
            Some(i) if columns[i].is_some() => {
                let name = expected[i].to_string();
                if !duplicates.contains(&name) {
                    duplicates.push(name);
                }
            }
            Some(i) => columns[i] = Some(col),
            None => extra_columns.push(text.into_owned()),
        }
    }

    let missing: Vec<String> =
        required.iter().zip(&columns).filter(|(_, c)| c.is_none()).map(|(h, _)| h.to_string()).collect();
    if !missing.is_empty() {
        return Err(XlsxError::MissingColumns(missing));
    }
    if !duplicates.is_empty() {
        return Err(XlsxError::DuplicateColumns(duplicates));
    }

    let rows = sheet
        .rows
        .iter()
        .enumerate()
        .skip(header_idx + 1)
        .filter_map(|(i, row)| {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| c.and_then(|c| row.get(c)).map(|cell| cell.as_text().into_owned()).unwrap_or_default())
                .collect();
            (!cells.iter().all(String::is_empty)).then_some((i + 1, cells))
        })
        .collect();

    Ok(Table {
        sheet_name: sheet.name.clone(),
        header_row: header_idx + 1,
        headers: expected.iter().map(|h| h.to_string()).collect(),
        columns,
        rows,
        extra_columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_render_without_float_noise() {
        assert_eq!(number_cell(12.0), Cell::Int(12));
        assert_eq!(number_cell(-0.0), Cell::Int(0));
        assert_eq!(number_cell(8.75), Cell::Decimal("8.75".into()));
        assert_eq!(number_cell(0.1 + 0.2), Cell::Decimal("0.3".into()));
        assert_eq!(number_cell(9.450000000000001), Cell::Decimal("9.45".into()));
        assert_eq!(number_cell(1e-7), Cell::Decimal("0.0000001".into()));
        assert_eq!(number_cell(f64::NAN), Cell::Error("#NUM!".into()));
        assert_eq!(Cell::Int(12).as_text(), "12");
    }

    #[test]
    fn dates_render_as_iso() {
        use calamine::ExcelDateTimeType::{DateTime, TimeDelta};
        let d = ExcelDateTime::new(45657.0, DateTime, false);
        assert_eq!(render_datetime(&d), "2024-12-31");
        let dt = ExcelDateTime::new(45657.5, DateTime, false);
        assert_eq!(render_datetime(&dt), "2024-12-31T12:00:00");
        let t = ExcelDateTime::new(0.75, DateTime, false);
        assert_eq!(render_datetime(&t), "18:00:00");
        let dur = ExcelDateTime::new(1.5, TimeDelta, false);
        assert_eq!(render_datetime(&dur), "36:00:00");
    }

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    fn sheet(rows: Vec<Vec<&str>>) -> Sheet {
        Sheet {
            name: "S".into(),
            rows: rows.into_iter().map(|r| r.into_iter().map(text_cell).collect()).collect(),
            merged: Vec::new(),
        }
    }

    #[test]
    fn header_after_title_and_blank_rows() {
        let s = sheet(vec![
            vec![],
            vec!["DANH SÁCH ĐƠN VỊ"],
            vec!["STT", "Tên đơn vị", "Loại *"],
            vec!["1", "Sở Nội vụ", "cơ quan"],
            vec!["", "", ""],
            vec!["2", "", "x"],
        ]);
        let t = table_from_sheet(&s, &["Loại", "ten don vi"], &["Ghi chú"]).unwrap();
        assert_eq!(t.header_row, 3);
        assert_eq!(t.columns, vec![Some(2), Some(1), None]);
        assert_eq!(t.extra_columns, vec!["STT".to_string()]);
        assert_eq!(
            t.rows,
            vec![
                (4, vec!["cơ quan".into(), "Sở Nội vụ".into(), String::new()]),
                (6, vec!["x".into(), String::new(), String::new()]),
            ]
        );
    }

    #[test]
    fn duplicates_and_empty() {
        let s = sheet(vec![vec!["Tên đơn vị", "TÊN ĐƠN VỊ"]]);
        assert_eq!(
            table_from_sheet(&s, &["Tên đơn vị"], &[]),
            Err(XlsxError::DuplicateColumns(vec!["Tên đơn vị".into()]))
        );
        assert_eq!(table_from_sheet(&sheet(vec![vec![], vec![""]]), &["A"], &[]), Err(XlsxError::Empty));
    }
}
