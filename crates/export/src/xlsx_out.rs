//! Writing simple tables to `.xlsx`.

use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet};

use crate::XlsxError;

/// Font used for every cell.
const FONT_NAME: &str = "Times New Roman";
/// Font size, in points.
const FONT_SIZE: u32 = 12;
/// Default row height (px) and column width (px) for Times New Roman 12.
const DEFAULT_ROW_PX: u32 = 21;
const DEFAULT_COL_PX: u32 = 72;
/// Column width bounds, in characters.
const MIN_COL_CHARS: usize = 6;
const MAX_COL_CHARS: usize = 60;
/// Longest text Excel accepts in one cell.
const MAX_CELL_CHARS: usize = 32_767;
/// Fixed creation date of exported files, so the same content gives the same bytes.
const CREATED: (u16, u8, u8) = (2000, 1, 1);

/// Writes one table to a new `.xlsx` workbook and returns its bytes.
///
/// Layout: an optional bold `title` row merged across the columns, then a
/// bold bordered header row (frozen), then one row per entry of `rows`,
/// all in Times New Roman 12. Every value is written as a text cell (the
/// columns are also formatted as text), so leading zeros, dates and decimal
/// numbers come back exactly as given; empty strings become blank cells.
/// Column widths follow the longest text (6–60 characters; longer text wraps).
/// The output is byte-stable: the document creation date is fixed.
///
/// [`crate::read_table`] reads the result back: it skips the title row.
/// The sheet name is made valid for Excel (forbidden characters replaced,
/// at most 31 characters). A row longer than `headers`, a cell over 32 767
/// characters or more rows than Excel allows give [`XlsxError::Write`].
pub fn write_table(
    sheet_name: &str,
    title: Option<&str>,
    headers: &[&str],
    rows: &[Vec<String>],
) -> Result<Vec<u8>, XlsxError> {
    let ncols = headers.len();
    if ncols == 0 {
        return Err(XlsxError::Write("no columns".into()));
    }
    if let Some(i) = rows.iter().position(|r| r.len() > ncols) {
        return Err(XlsxError::Write(format!("row {i} has more cells than headers")));
    }
    let too_long = headers.iter().copied().chain(title).any(too_long) || rows.iter().flatten().any(|s| too_long(s));
    if too_long {
        return Err(XlsxError::Write(format!("a cell is longer than {MAX_CELL_CHARS} characters")));
    }

    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(CREATED.0, CREATED.1, CREATED.2).map_err(write_err)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    workbook.set_default_format(&base(), DEFAULT_ROW_PX, DEFAULT_COL_PX).map_err(write_err)?;
    let sheet = workbook.add_worksheet();
    sheet.set_name(sanitize_sheet_name(sheet_name)).map_err(write_err)?;
    fill_sheet(sheet, title, headers, rows).map_err(write_err)?;
    workbook.save_to_buffer().map_err(write_err)
}

fn too_long(s: &str) -> bool {
    s.chars().count() > MAX_CELL_CHARS
}

fn write_err(e: rust_xlsxwriter::XlsxError) -> XlsxError {
    XlsxError::Write(e.to_string())
}

/// The base format: Times New Roman 12.
fn base() -> Format {
    Format::new().set_font_name(FONT_NAME).set_font_size(FONT_SIZE).set_font_family(1) // Roman (serif)
}

fn fill_sheet(
    sheet: &mut Worksheet,
    title: Option<&str>,
    headers: &[&str],
    rows: &[Vec<String>],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let ncols = headers.len();
    let last_col = col_num(ncols - 1)?;
    let text = base().set_num_format("@");
    let title_fmt = base().set_bold().set_align(FormatAlign::Center).set_align(FormatAlign::VerticalCenter);
    let header_fmt = base()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color(Color::RGB(0xD9_E1_F2))
        .set_num_format("@");

    let widths = column_widths(headers, rows);
    let cell_fmt = |wrap: bool| {
        let f = base().set_num_format("@").set_border(FormatBorder::Thin).set_align(FormatAlign::Top);
        if wrap { f.set_text_wrap() } else { f }
    };
    let data_fmts: Vec<Format> = widths.iter().map(|&(_, wrap)| cell_fmt(wrap)).collect();
    for (col, &(width, _)) in widths.iter().enumerate() {
        let c = col_num(col)?;
        sheet.set_column_format(c, &text)?;
        sheet.set_column_width(c, width as f64)?;
    }

    let mut row: u32 = 0;
    if let Some(title) = title {
        if last_col == 0 {
            sheet.write_string_with_format(row, 0, title, &title_fmt)?;
        } else {
            sheet.merge_range(row, 0, row, last_col, title, &title_fmt)?;
        }
        row += 1;
    }
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string_with_format(row, col_num(col)?, *header, &header_fmt)?;
    }
    sheet.set_freeze_panes(row + 1, 0)?;
    for values in rows {
        row = row.checked_add(1).ok_or(rust_xlsxwriter::XlsxError::RowColumnLimitError)?;
        for (col, fmt) in data_fmts.iter().enumerate() {
            let c = col_num(col)?;
            match values.get(col).map(String::as_str) {
                Some(v) if !v.is_empty() => sheet.write_string_with_format(row, c, v, fmt)?,
                _ => sheet.write_blank(row, c, fmt)?,
            };
        }
    }
    Ok(())
}

fn col_num(col: usize) -> Result<u16, rust_xlsxwriter::XlsxError> {
    u16::try_from(col).map_err(|_| rust_xlsxwriter::XlsxError::RowColumnLimitError)
}

/// Width in characters of each column and whether its cells should wrap.
fn column_widths(headers: &[&str], rows: &[Vec<String>]) -> Vec<(usize, bool)> {
    headers
        .iter()
        .enumerate()
        .map(|(col, header)| {
            // Bold header text is a little wider.
            let header_len = display_len(header) + 2;
            let data_len = rows.iter().filter_map(|r| r.get(col)).map(|s| display_len(s)).max().unwrap_or(0);
            let wanted = header_len.max(data_len) + 2;
            (wanted.clamp(MIN_COL_CHARS, MAX_COL_CHARS), wanted > MAX_COL_CHARS)
        })
        .collect()
}

/// Length in characters of the longest line of `s`.
fn display_len(s: &str) -> usize {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// Makes a valid Excel sheet name: no `[]:*?/\`, no leading or trailing
/// apostrophe, 1–31 characters, not the reserved `History`.
fn sanitize_sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '-',
            c if c.is_control() => ' ',
            c => c,
        })
        .take(31)
        .collect();
    let cleaned = cleaned.trim().trim_matches('\'').trim();
    if cleaned.is_empty() || cleaned.eq_ignore_ascii_case("history") {
        "Trang 1".to_string()
    } else {
        cleaned.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_made_valid() {
        assert_eq!(sanitize_sheet_name("Đơn vị 2024/2025"), "Đơn vị 2024-2025");
        assert_eq!(sanitize_sheet_name("  "), "Trang 1");
        assert_eq!(sanitize_sheet_name("'x'"), "x");
        assert_eq!(sanitize_sheet_name(&"ạ".repeat(40)).chars().count(), 31);
    }

    #[test]
    fn widths() {
        let rows = vec![vec!["x".repeat(100), String::new()]];
        assert_eq!(column_widths(&["Tên", "Mã"], &rows), vec![(60, true), (6, false)]);
    }
}
