//! Scoring results as the officers' Excel reports.
//!
//! - [`summary_to_xlsx`]: **"Bảng tổng hợp kết quả chấm điểm thi đua"** of a
//!   group for a year, one row per unit (sheet "Tổng hợp");
//! - [`unit_sheet_to_xlsx`]: **"Phiếu chấm điểm thi đua"** of one unit, one row
//!   per line of the scoring table (sheet "Phiếu chấm điểm").
//!
//! Both follow the layout of Vietnamese administrative reports (Decree
//! 30/2020/NĐ-CP): top left the authority in upper case and, below it, the
//! group in upper case bold; top right the national title and motto; a
//! centered bold title; a line with the status of the figures; the bordered
//! table, whose header row is frozen and repeated on every printed page;
//! below it the place and date ("Cao Bằng, ngày 22 tháng 11 năm 2026") and the
//! signature block. Times New Roman 13 for the document, 12 in the table;
//! landscape A4, fitted to the page width.
//!
//! Points are written as **number cells** (hundredths / 100) formatted
//! `#,##0.00`, so Excel shows "950,50" in a Vietnamese locale and the officer
//! can add them up; a missing figure is an empty cell. The difference with
//! the self-assessed total is signed ("+12,50", "-3,00"). The files are
//! byte-stable: the document creation date is fixed.

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet};
use thidua_core::text::format_hundredths;

use crate::XlsxError;

/// One unit's line of the summary.
///
/// Points are exact hundredths (i64): 95050 means 950,50.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// The rank; `None`: not ranked (no result).
    pub rank: Option<u32>,
    /// The unit's name.
    pub unit: String,
    /// The unit's self-assessed total.
    pub self_total: Option<i64>,
    /// Bonus points.
    pub bonus: i64,
    /// Penalty points: a positive number of points taken off.
    pub penalty: i64,
    /// The final (or current) total.
    pub total: Option<i64>,
    /// Xếp loại, e.g. "Xuất sắc".
    pub class: String,
    /// Ghi chú.
    pub note: String,
}

/// The summary of a group's results for a year.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The organising authority (cơ quan), e.g. "Ủy ban nhân dân tỉnh Cao Bằng".
    pub authority: String,
    /// The group, e.g. "Khối các cơ quan Đảng".
    pub group: String,
    /// The emulation year.
    pub year: i32,
    /// E.g. "Kết quả cuối cùng" or "Tạm tính (chưa chốt)".
    pub status: String,
    /// The version of the scoring table, if known.
    pub table_version: Option<i32>,
    /// The table's maximum, in hundredths.
    pub max_total: i64,
    /// The date of the report, shown dd/mm/yyyy style in the place-and-date line.
    pub made_on: NaiveDate,
    /// The units, already in the order to print (by rank).
    pub rows: Vec<ResultRow>,
}

/// One line of a unit's scoring sheet. Points are hundredths.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetLineX {
    /// "I", "1", "1.1" ...
    pub code: String,
    /// The criterion's name.
    pub name: String,
    /// 0 = top heading; used to indent the name.
    pub depth: u32,
    /// A line without children (headings, `leaf == false`, are bold).
    pub leaf: bool,
    /// The line's maximum.
    pub max: i64,
    /// What the unit entered, as text ("Hoàn thành tốt", "12", "Không áp dụng").
    pub self_value: String,
    /// The unit's points.
    pub self_points: Option<i64>,
    /// Inspection / head-review proposals summarised as text, "" if none.
    pub proposal: String,
    /// The result's value, as text.
    pub final_value: String,
    /// The result's points.
    pub final_points: Option<i64>,
    /// Number of evidence files.
    pub evidence: u32,
    /// Reasons / explanations summarised.
    pub reason: String,
}

/// A unit's scoring sheet for a year.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitSheet {
    /// The organising authority.
    pub authority: String,
    /// The group.
    pub group: String,
    /// The unit.
    pub unit: String,
    /// The emulation year.
    pub year: i32,
    /// E.g. "Kết quả cuối cùng".
    pub status: String,
    /// The lines, parents before children; bonus and penalty lines at the end
    /// (leaf = true, depth 0).
    pub lines: Vec<SheetLineX>,
    /// The self-assessed total.
    pub self_total: Option<i64>,
    /// The final (or current) total.
    pub total: Option<i64>,
    /// Xếp loại.
    pub class: String,
    /// Xếp hạng.
    pub rank: Option<u32>,
    /// The date of the sheet.
    pub made_on: NaiveDate,
}

const SUMMARY_SHEET: &str = "Tổng hợp";
const UNIT_SHEET: &str = "Phiếu chấm điểm";

/// Header and width (characters) of each column of the summary, A to J.
const SUMMARY_COLUMNS: [(&str, f64); 10] = [
    ("TT", 6.0),
    ("Đơn vị", 38.0),
    ("Điểm tự chấm", 12.0),
    ("Điểm thưởng", 11.0),
    ("Điểm trừ", 11.0),
    ("Tổng điểm", 12.0),
    ("Chênh lệch so với tự chấm", 14.0),
    ("Xếp loại", 16.0),
    ("Xếp hạng", 9.0),
    ("Ghi chú", 24.0),
];

/// Header and width (characters) of each column of the unit sheet, A to J.
const UNIT_COLUMNS: [(&str, f64); 10] = [
    ("TT", 7.0),
    ("Nội dung tiêu chí", 42.0),
    ("Điểm tối đa", 9.0),
    ("Đơn vị tự chấm (giá trị)", 15.0),
    ("Điểm tự chấm", 9.0),
    ("Đề xuất điều chỉnh", 24.0),
    ("Kết quả (giá trị)", 15.0),
    ("Điểm", 9.0),
    ("Minh chứng (số tệp)", 10.0),
    ("Lý do / giải trình", 26.0),
];

const FONT_NAME: &str = "Times New Roman";
/// Document text (header, title, date, signatures).
const DOC_SIZE: u32 = 13;
/// Table text.
const TABLE_SIZE: u32 = 12;
const TITLE_SIZE: u32 = 14;
/// Default row height (px) and column width (px) for Times New Roman 12.
const DEFAULT_ROW_PX: u32 = 21;
const DEFAULT_COL_PX: u32 = 72;
/// Fixed creation date, so the same content gives the same bytes.
const CREATED: (u16, u8, u8) = (2000, 1, 1);
/// Excel's A4 paper.
const PAPER_A4: u8 = 9;
/// Excel's deepest indent.
const MAX_INDENT: u32 = 15;
/// Columns of the left (A:C) and right (F:J) blocks of the document header
/// and the signature block.
const LEFT: (u16, u16) = (0, 2);
const RIGHT: (u16, u16) = (5, 9);

const POINTS_FORMAT: &str = "#,##0.00";
const SIGNED_FORMAT: &str = "+#,##0.00;-#,##0.00;0.00";

type WResult<T> = Result<T, rust_xlsxwriter::XlsxError>;

/// Writes the group's results summary ("Bảng tổng hợp kết quả chấm điểm thi
/// đua") to a one-sheet `.xlsx`, sheet "Tổng hợp".
///
/// Columns: TT, Đơn vị, Điểm tự chấm, Điểm thưởng, Điểm trừ, Tổng điểm,
/// Chênh lệch so với tự chấm (total − self, signed, empty unless both are
/// known), Xếp loại, Xếp hạng, Ghi chú. "TT" numbers the rows as printed.
/// A text over Excel's limit gives [`XlsxError::Write`].
pub fn summary_to_xlsx(s: &Summary) -> Result<Vec<u8>, XlsxError> {
    let title = format!("BẢNG TỔNG HỢP KẾT QUẢ CHẤM ĐIỂM THI ĐUA NĂM {}", s.year);
    let mut workbook = new_workbook(&title)?;
    let sheet = workbook.add_worksheet();
    sheet.set_name(SUMMARY_SHEET).map_err(write_err)?;
    write_summary(sheet, &title, s).map_err(write_err)?;
    workbook.save_to_buffer().map_err(write_err)
}

/// Writes one unit's scoring sheet ("Phiếu chấm điểm thi đua") to a
/// one-sheet `.xlsx`, sheet "Phiếu chấm điểm".
///
/// Columns: TT (the code), Nội dung tiêu chí (indented by depth, headings
/// bold), Điểm tối đa, Đơn vị tự chấm (giá trị), Điểm tự chấm, Đề xuất điều
/// chỉnh, Kết quả (giá trị), Điểm, Minh chứng (số tệp; empty for headings),
/// Lý do / giải trình. Then four rows whose label is in column A: "Tổng điểm
/// tự chấm" (in the "Điểm tự chấm" column), "Tổng điểm" (in the "Điểm"
/// column), "Xếp loại" and "Xếp hạng" (from the "Điểm" column on).
/// A text over Excel's limit gives [`XlsxError::Write`].
pub fn unit_sheet_to_xlsx(s: &UnitSheet) -> Result<Vec<u8>, XlsxError> {
    let title = format!("PHIẾU CHẤM ĐIỂM THI ĐUA NĂM {}", s.year);
    let mut workbook = new_workbook(&title)?;
    let sheet = workbook.add_worksheet();
    sheet.set_name(UNIT_SHEET).map_err(write_err)?;
    write_unit_sheet(sheet, &title, s).map_err(write_err)?;
    workbook.save_to_buffer().map_err(write_err)
}

fn new_workbook(title: &str) -> Result<Workbook, XlsxError> {
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(CREATED.0, CREATED.1, CREATED.2).map_err(write_err)?;
    workbook.set_properties(&DocProperties::new().set_title(title).set_creation_datetime(&created));
    workbook.set_default_format(&font(TABLE_SIZE), DEFAULT_ROW_PX, DEFAULT_COL_PX).map_err(write_err)?;
    Ok(workbook)
}

fn write_err(e: rust_xlsxwriter::XlsxError) -> XlsxError {
    XlsxError::Write(e.to_string())
}

fn font(size: u32) -> Format {
    Format::new().set_font_name(FONT_NAME).set_font_size(size).set_font_family(1) // Roman (serif)
}

/// "dd tháng mm năm yyyy" as Decree 30/2020 writes it: a leading zero for
/// days below 10 and for January and February.
fn date_vi(d: NaiveDate) -> String {
    let month = d.month();
    let month = if month < 3 { format!("{month:02}") } else { month.to_string() };
    format!("ngày {:02} tháng {month} năm {}", d.day(), d.year())
}

/// The place of the date line, from the authority's name: the province or
/// city it names ("Ủy ban nhân dân tỉnh Cao Bằng" → "Cao Bằng"); `None` when
/// it names none (a ministry, the Central council).
fn place_of(authority: &str) -> Option<String> {
    let words: Vec<&str> = authority.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let start = lower.iter().enumerate().find_map(|(i, w)| match w.as_str() {
        "tỉnh" => Some(i + 1),
        "thành" if lower.get(i + 1).is_some_and(|n| n == "phố") => Some(i + 2),
        _ => None,
    })?;
    let place = words.get(start..)?.join(" ");
    if place.is_empty() {
        None
    } else if place == "Hồ Chí Minh" {
        Some("Thành phố Hồ Chí Minh".to_string())
    } else {
        Some(place)
    }
}

/// "Cao Bằng, ngày 22 tháng 11 năm 2026"; dots for the officer to fill in
/// when the place is not known.
fn place_and_date(authority: &str, d: NaiveDate) -> String {
    let place = place_of(authority).unwrap_or_else(|| "……………".to_string());
    format!("{place}, {}", date_vi(d))
}

fn hundredths(v: i64) -> f64 {
    v as f64 / 100.0
}

/// The formats of a report.
struct Formats {
    authority: Format,
    group: Format,
    nation: Format,
    motto: Format,
    title: Format,
    subtitle: Format,
    status: Format,
    date: Format,
    sign_title: Format,
    sign_note: Format,
    header: Format,
    text: Format,
    text_bold: Format,
    center: Format,
    center_bold: Format,
    points: Format,
    points_bold: Format,
    signed: Format,
    int: Format,
}

impl Formats {
    fn new() -> Self {
        let centered = |size: u32| {
            font(size).set_align(FormatAlign::Center).set_align(FormatAlign::VerticalCenter).set_text_wrap()
        };
        let cell = || font(TABLE_SIZE).set_border(FormatBorder::Thin).set_align(FormatAlign::VerticalCenter);
        let text = cell().set_text_wrap();
        let center = cell().set_align(FormatAlign::Center).set_text_wrap();
        let points = cell().set_num_format(POINTS_FORMAT);
        Formats {
            authority: centered(DOC_SIZE),
            group: centered(DOC_SIZE).set_bold(),
            nation: centered(DOC_SIZE).set_bold(),
            motto: centered(DOC_SIZE).set_bold(),
            title: centered(TITLE_SIZE).set_bold(),
            subtitle: centered(DOC_SIZE).set_bold(),
            status: centered(DOC_SIZE).set_italic(),
            date: centered(DOC_SIZE).set_italic(),
            sign_title: centered(DOC_SIZE).set_bold(),
            sign_note: centered(DOC_SIZE).set_italic(),
            header: cell().set_bold().set_align(FormatAlign::Center).set_text_wrap(),
            text_bold: text.clone().set_bold(),
            text,
            center_bold: center.clone().set_bold(),
            center,
            points_bold: points.clone().set_bold(),
            points,
            signed: cell().set_num_format(SIGNED_FORMAT),
            int: cell().set_align(FormatAlign::Center).set_num_format("0"),
        }
    }
}

/// A text cell, or a blank cell with the format when `s` is empty.
fn put_text(sheet: &mut Worksheet, row: u32, col: u16, s: &str, f: &Format) -> WResult<()> {
    let s = s.trim();
    if s.is_empty() {
        sheet.write_blank(row, col, f)?;
    } else {
        sheet.write_string_with_format(row, col, s, f)?;
    }
    Ok(())
}

/// A number cell of points, or a blank cell for `None`.
fn put_points(sheet: &mut Worksheet, row: u32, col: u16, v: Option<i64>, f: &Format) -> WResult<()> {
    match v {
        Some(v) => sheet.write_number_with_format(row, col, hundredths(v), f)?,
        None => sheet.write_blank(row, col, f)?,
    };
    Ok(())
}

/// An integer cell, or a blank cell for `None`.
fn put_int(sheet: &mut Worksheet, row: u32, col: u16, v: Option<u32>, f: &Format) -> WResult<()> {
    match v {
        Some(v) => sheet.write_number_with_format(row, col, f64::from(v), f)?,
        None => sheet.write_blank(row, col, f)?,
    };
    Ok(())
}

/// Text merged over `cols` of `row`.
fn merged(sheet: &mut Worksheet, row: u32, cols: (u16, u16), s: &str, f: &Format) -> WResult<()> {
    sheet.merge_range(row, cols.0, row, cols.1, s.trim(), f)?;
    Ok(())
}

/// Column widths, page setup, the document header (authority, group,
/// national title and motto) and the title lines. Returns the next free row.
fn document_top(
    sheet: &mut Worksheet,
    f: &Formats,
    columns: &[(&str, f64)],
    authority: &str,
    group: &str,
    titles: &[(&str, &Format)],
) -> WResult<u32> {
    for (col, &(_, width)) in columns.iter().enumerate() {
        sheet.set_column_width(col as u16, width)?;
    }
    sheet.set_landscape();
    sheet.set_paper_size(PAPER_A4);
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_print_center_horizontally(true);
    sheet.set_margins(0.5, 0.5, 0.6, 0.6, 0.3, 0.3);
    sheet.set_footer("&CTrang &P/&N");

    let last = (columns.len() - 1) as u16;
    merged(sheet, 0, LEFT, &authority.trim().to_uppercase(), &f.authority)?;
    merged(sheet, 0, RIGHT, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &f.nation)?;
    merged(sheet, 1, LEFT, &group.trim().to_uppercase(), &f.group)?;
    merged(sheet, 1, RIGHT, "Độc lập - Tự do - Hạnh phúc", &f.motto)?;
    let mut row = 3;
    for (text, format) in titles {
        if !text.trim().is_empty() {
            merged(sheet, row, (0, last), text, format)?;
            row += 1;
        }
    }
    Ok(row + 1)
}

/// The bold header row, frozen and repeated on every printed page.
fn header_row(sheet: &mut Worksheet, f: &Formats, row: u32, columns: &[(&str, f64)]) -> WResult<()> {
    for (col, &(name, _)) in columns.iter().enumerate() {
        sheet.write_string_with_format(row, col as u16, name, &f.header)?;
    }
    sheet.set_freeze_panes(row + 1, 0)?;
    sheet.set_repeat_rows(row, row)?;
    Ok(())
}

/// The place and date on the right, then the signature block, from `row`.
fn signatures(sheet: &mut Worksheet, f: &Formats, row: u32, authority: &str, made_on: NaiveDate) -> WResult<()> {
    merged(sheet, row, RIGHT, &place_and_date(authority, made_on), &f.date)?;
    merged(sheet, row + 1, LEFT, "NGƯỜI LẬP BIỂU", &f.sign_title)?;
    merged(sheet, row + 1, RIGHT, "THỦ TRƯỞNG ĐƠN VỊ", &f.sign_title)?;
    merged(sheet, row + 2, LEFT, "(Ký, ghi rõ họ tên)", &f.sign_note)?;
    merged(sheet, row + 2, RIGHT, "(Ký tên, đóng dấu)", &f.sign_note)?;
    Ok(())
}

/// "Kết quả cuối cùng - Bảng điểm phiên bản 2 - Điểm tối đa: 1.000".
fn summary_status(s: &Summary) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !s.status.trim().is_empty() {
        parts.push(s.status.trim().to_string());
    }
    if let Some(v) = s.table_version {
        parts.push(format!("Bảng điểm phiên bản {v}"));
    }
    parts.push(format!("Điểm tối đa: {}", format_hundredths(s.max_total)));
    parts.join(" - ")
}

fn write_summary(sheet: &mut Worksheet, title: &str, s: &Summary) -> WResult<()> {
    let f = Formats::new();
    let status = summary_status(s);
    let titles = [(title, &f.title), (status.as_str(), &f.status)];
    let mut row = document_top(sheet, &f, &SUMMARY_COLUMNS, &s.authority, &s.group, &titles)?;
    header_row(sheet, &f, row, &SUMMARY_COLUMNS)?;
    for (i, r) in s.rows.iter().enumerate() {
        row += 1;
        let no = u32::try_from(i + 1).map_err(|_| rust_xlsxwriter::XlsxError::RowColumnLimitError)?;
        put_int(sheet, row, 0, Some(no), &f.int)?;
        put_text(sheet, row, 1, &r.unit, &f.text)?;
        put_points(sheet, row, 2, r.self_total, &f.points)?;
        put_points(sheet, row, 3, Some(r.bonus), &f.points)?;
        put_points(sheet, row, 4, Some(r.penalty), &f.points)?;
        put_points(sheet, row, 5, r.total, &f.points_bold)?;
        let diff = r.total.zip(r.self_total).map(|(t, own)| t.saturating_sub(own));
        put_points(sheet, row, 6, diff, &f.signed)?;
        put_text(sheet, row, 7, &r.class, &f.center)?;
        put_int(sheet, row, 8, r.rank, &f.int)?;
        put_text(sheet, row, 9, &r.note, &f.text)?;
    }
    signatures(sheet, &f, row + 2, &s.authority, s.made_on)
}

fn write_unit_sheet(sheet: &mut Worksheet, title: &str, s: &UnitSheet) -> WResult<()> {
    let f = Formats::new();
    let status = s.status.trim();
    let titles = [(title, &f.title), (s.unit.as_str(), &f.subtitle), (status, &f.status)];
    let mut row = document_top(sheet, &f, &UNIT_COLUMNS, &s.authority, &s.group, &titles)?;
    header_row(sheet, &f, row, &UNIT_COLUMNS)?;
    for l in &s.lines {
        row += 1;
        let heading = !l.leaf;
        let (text, center, points) =
            if heading { (&f.text_bold, &f.center_bold, &f.points_bold) } else { (&f.text, &f.center, &f.points) };
        let indent = u8::try_from(l.depth.min(MAX_INDENT)).unwrap_or(0);
        let name = text.clone().set_indent(indent);
        put_text(sheet, row, 0, &l.code, center)?;
        put_text(sheet, row, 1, &l.name, &name)?;
        put_points(sheet, row, 2, Some(l.max), points)?;
        put_text(sheet, row, 3, &l.self_value, center)?;
        put_points(sheet, row, 4, l.self_points, points)?;
        put_text(sheet, row, 5, &l.proposal, text)?;
        put_text(sheet, row, 6, &l.final_value, center)?;
        put_points(sheet, row, 7, l.final_points, points)?;
        put_int(sheet, row, 8, (!heading).then_some(l.evidence), &f.int)?;
        put_text(sheet, row, 9, &l.reason, text)?;
    }

    // The totals: label over A:B, the figure in its column, the rest blank.
    let totals: [(&str, Option<(u16, Total)>); 4] = [
        ("Tổng điểm tự chấm", s.self_total.map(|v| (4, Total::Points(v)))),
        ("Tổng điểm", s.total.map(|v| (7, Total::Points(v)))),
        ("Xếp loại", Some((7, Total::Text(s.class.trim())))),
        ("Xếp hạng", s.rank.map(|r| (7, Total::Rank(r)))),
    ];
    for (label, value) in totals {
        row += 1;
        merged(sheet, row, (0, 1), label, &f.text_bold)?;
        for col in 2..UNIT_COLUMNS.len() as u16 {
            sheet.write_blank(row, col, &f.text)?;
        }
        match value {
            Some((col, Total::Points(v))) => put_points(sheet, row, col, Some(v), &f.points_bold)?,
            Some((col, Total::Text(t))) if !t.is_empty() => merged(sheet, row, (col, col + 2), t, &f.center_bold)?,
            Some((col, Total::Rank(r))) => merged(sheet, row, (col, col + 2), "", &f.center_bold)
                .and_then(|_| put_int(sheet, row, col, Some(r), &f.center_bold))?,
            _ => {}
        }
    }
    signatures(sheet, &f, row + 2, &s.authority, s.made_on)
}

/// The figure of a total row of the unit sheet.
enum Total<'a> {
    Points(i64),
    Text(&'a str),
    Rank(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_decree_30() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(date_vi(d(2026, 11, 22)), "ngày 22 tháng 11 năm 2026");
        assert_eq!(date_vi(d(2026, 2, 5)), "ngày 05 tháng 02 năm 2026");
        assert_eq!(date_vi(d(2026, 3, 15)), "ngày 15 tháng 3 năm 2026");
    }

    #[test]
    fn places_from_the_authority() {
        assert_eq!(place_of("Ủy ban nhân dân tỉnh Cao Bằng").as_deref(), Some("Cao Bằng"));
        assert_eq!(place_of("Ủy ban nhân dân tỉnh Hà Tĩnh").as_deref(), Some("Hà Tĩnh"));
        assert_eq!(place_of("UBND Thành phố Hà Nội").as_deref(), Some("Hà Nội"));
        assert_eq!(place_of("Sở Nội vụ thành phố Hồ Chí Minh").as_deref(), Some("Thành phố Hồ Chí Minh"));
        assert_eq!(place_of("Bộ Tài chính"), None);
        assert_eq!(place_of("Ban tỉnh"), None);
        assert_eq!(
            place_and_date("Bộ Tài chính", NaiveDate::from_ymd_opt(2026, 1, 2).unwrap()),
            "……………, ngày 02 tháng 01 năm 2026"
        );
    }
}
