//! The scoring table as an officer's "bảng chấm điểm" in `.xlsx`, and back.
//!
//! [`table_to_xlsx`] writes one sheet, **"Bảng chấm điểm"**, laid out as
//! officers lay out the table they adopt:
//!
//! 1. a title row (merged across the table; left out when the title is empty);
//! 2. the header row: `TT | Nội dung, tiêu chí | Điểm tối đa | Cách chấm |
//!    Tham số | Minh chứng | Hướng dẫn chấm`;
//! 3. one row per line, parents before children: the code in "TT" (I, I.1,
//!    I.1.a), the name indented by depth with the cell's indent format (never
//!    leading spaces, so the text reads back as written), sections in bold;
//!    the method in Vietnamese ("Đạt/không đạt", "Theo mức", "Theo chỉ tiêu",
//!    "Theo số lần", "Chấm trực tiếp"; empty for a section or a parent) and
//!    its parameters in plain words ("Đạt: 40; Không đạt: 0",
//!    "10 điểm/lần, tối đa 50"); "Bắt buộc" when evidence is required;
//! 4. a bold "Tổng cộng" row with the nominal maximum (for the reader; the
//!    import skips it);
//! 5. after a blank row each, five blocks, each a title row (one cell) then
//!    its own header row then its rows: **"Điểm thưởng"** and **"Điểm trừ"**
//!    (`Mã | Nội dung | Điểm mỗi lần | Tối đa | Chỉ cơ quan thường trực chấm`,
//!    then a "Tổng điểm … tối đa" row whose "Tối đa" is the total cap, empty
//!    when unbounded), **"Xếp loại"** (`Mã | Xếp loại | Tổng điểm từ |
//!    Mỗi phần đạt tối thiểu (%)`), **"Thứ tự ưu tiên khi bằng điểm"**
//!    (`TT | Tiêu chí phụ | Mã phần, tiêu chí`) and **"Quy định chung"**
//!    (`Quy định | Lựa chọn`: whether the total may exceed the nominal
//!    maximum, "Có"/"Không"; how a unit with not-applicable criteria is
//!    compared, "Quy đổi theo điểm áp dụng"/"Không quy đổi").
//!
//! Every value is a text cell; points are written with [`Points`]' Display
//! (comma decimals, dot thousands: "12,5", "1.000") and read back with
//! [`Points::parse`], so they round-trip exactly. The document date is fixed,
//! so the same table always gives the same bytes.
//!
//! # Reading back ([`table_from_xlsx`])
//!
//! - The sheet named "Bảng chấm điểm", else the first visible sheet. Headers
//!   are found and matched by [`crate::table_from_sheet`] (case, diacritics
//!   and spacing ignored; columns in any order; other columns ignored).
//!   "Minh chứng" and "Hướng dẫn chấm" may be absent.
//! - **The hierarchy comes from the codes, and only from them**: a line's
//!   parent is the line whose code is its own code up to the last dot
//!   ("I.1.a" is a child of "I.1", "I.1" of "I"; a code without a dot is a
//!   section; case and a trailing dot are ignored). The parent must be on a
//!   row above. The indentation and bold of the name are for the reader and
//!   are ignored: an officer's formatting is not reliable, a code is unique.
//!   Children keep the order of their rows. So [`table_to_xlsx`] refuses a
//!   table whose tree its codes do not tell (see [`export_problems`]).
//! - Numbers may be text ("12,5", "1.000", "12.5") or number cells.
//! - A row without a code whose name starts with "Tổng" (the total row) is
//!   skipped; any other row without a code is an error.
//! - The lines end at the first block title (a row whose only cell is one of
//!   the titles above, optionally numbered: "B. ĐIỂM THƯỞNG"). A missing
//!   block means none of it: no bonus, no penalties, no bands, no
//!   tie-breaks; the total may not exceed the nominal maximum and
//!   not-applicable criteria are scaled. A threshold of the review's flags
//!   missing from the settings block keeps the usual one.
//! - Merged cells are allowed only above the header row (the title).
//! - Every bad row is reported with its Excel row number and a Vietnamese
//!   message saying what to fix. Only when every row reads well is the table
//!   checked with [`ScoringTable::validate`], whose messages are mapped to the
//!   row of the line, bonus, penalty or band they name (0 for the table as a
//!   whole): a table missing a bad row would only add misleading messages.
//!   On any error nothing is returned.
//!
//! # Round trip
//!
//! For every valid table (see [`ScoringTable::validate`]) that
//! [`table_to_xlsx`] accepts, `table_from_xlsx` gives back the same table, except that surrounding whitespace of texts (codes,
//! names, guidance, labels) is trimmed (a spreadsheet does not show it and
//! the reader trims cells); exporting the result gives the same bytes.

use std::collections::BTreeMap;
use std::fmt;

use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet};
use thidua_core::scoring::{
    AdjustLine, Band, FlagRules, Level, Line, MAX_CODE_CHARS, Method, NotApplicableRule, Points, ScoringTable, TieBreak,
};

use crate::XlsxError;
use crate::fold::fold_vi;
use crate::xlsx_in::{Cell, Limits, Sheet, column_letter, read_sheet, table_from_sheet};

/// The name of the sheet written and looked for first.
pub const TABLE_SHEET_NAME: &str = "Bảng chấm điểm";

const H_CODE: &str = "TT";
const H_NAME: &str = "Nội dung, tiêu chí";
const H_MAX: &str = "Điểm tối đa";
const H_METHOD: &str = "Cách chấm";
const H_PARAMS: &str = "Tham số";
const H_EVIDENCE: &str = "Minh chứng";
const H_GUIDANCE: &str = "Hướng dẫn chấm";
const LINE_REQUIRED: [&str; 5] = [H_CODE, H_NAME, H_MAX, H_METHOD, H_PARAMS];
const LINE_OPTIONAL: [&str; 2] = [H_EVIDENCE, H_GUIDANCE];

const M_MET: &str = "Đạt/không đạt";
const M_LEVELS: &str = "Theo mức";
const M_TARGET: &str = "Theo chỉ tiêu";
const M_COUNT: &str = "Theo số lần";
const M_MANUAL: &str = "Chấm trực tiếp";
const EVIDENCE_REQUIRED: &str = "Bắt buộc";
const TOTAL_ROW: &str = "Tổng cộng";

const A_CODE: &str = "Mã";
const A_NAME: &str = "Nội dung";
const A_PER: &str = "Điểm mỗi lần";
const A_CAP: &str = "Tối đa";
const A_SECRETARIAT: &str = "Chỉ cơ quan thường trực chấm";
/// Earlier names of columns, read as today's: files written before a
/// column was renamed keep their meaning.
const RENAMED: &[(&str, &str)] = &[("Chỉ Ban thường trực chấm", A_SECRETARIAT)];
const B_CODE: &str = "Mã";
const B_LABEL: &str = "Xếp loại";
const B_MIN: &str = "Tổng điểm từ";
const B_SHARE: &str = "Mỗi phần đạt tối thiểu (%)";
const T_NO: &str = "TT";
const T_RULE: &str = "Tiêu chí phụ";
const T_CODE: &str = "Mã phần, tiêu chí";
const S_RULE: &str = "Quy định";
const S_CHOICE: &str = "Lựa chọn";

const TIE_BONUS: &str = "Nhiều điểm thưởng hơn";
const TIE_PENALTY: &str = "Ít điểm trừ hơn";
const TIE_SECTION: &str = "Nhiều điểm hơn ở phần, tiêu chí";
const SET_EXCEED: &str = "Tổng điểm được vượt điểm tối đa của bảng nhờ điểm thưởng";
const SET_NA: &str = "Đơn vị có tiêu chí không áp dụng";
const SET_FLAG_FAR: &str = "Cảnh báo khi tự chấm cao hơn đề xuất kiểm tra chéo quá (% điểm tối đa của tiêu chí)";
const SET_FLAG_OUTLIER: &str = "Cảnh báo khi tự chấm cao hơn trung vị của cụm, khối quá (% điểm tối đa của tiêu chí)";
const SET_FLAG_UNITS: &str = "Số đơn vị tối thiểu để so với trung vị";
const NA_SCALED: &str = "Quy đổi theo điểm áp dụng";
const NA_UNSCALED: &str = "Không quy đổi";
const YES: &str = "Có";
const NO: &str = "Không";

/// Font of every cell, as in [`crate::write_table`].
const FONT_NAME: &str = "Times New Roman";
const FONT_SIZE: u32 = 12;
const DEFAULT_ROW_PX: u32 = 21;
const DEFAULT_COL_PX: u32 = 72;
/// Fixed creation date, so the same table gives the same bytes.
const CREATED: (u16, u8, u8) = (2000, 1, 1);
/// Column widths (characters) and whether the column wraps, A to G.
const COLUMNS: [(f64, bool); 7] =
    [(10.0, false), (55.0, true), (12.0, false), (16.0, false), (34.0, true), (12.0, false), (55.0, true)];

/// The blocks below the lines, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Bonus,
    Penalty,
    Bands,
    Ties,
    Settings,
}

impl Block {
    const ALL: [Block; 5] = [Block::Bonus, Block::Penalty, Block::Bands, Block::Ties, Block::Settings];

    fn title(self) -> &'static str {
        match self {
            Block::Bonus => "Điểm thưởng",
            Block::Penalty => "Điểm trừ",
            Block::Bands => "Xếp loại",
            Block::Ties => "Thứ tự ưu tiên khi bằng điểm",
            Block::Settings => "Quy định chung",
        }
    }

    fn headers(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Block::Bonus | Block::Penalty => (&[A_CODE, A_NAME, A_PER], &[A_CAP, A_SECRETARIAT]),
            Block::Bands => (&[B_LABEL, B_MIN], &[B_CODE, B_SHARE]),
            Block::Ties => (&[T_RULE], &[T_NO, T_CODE]),
            Block::Settings => (&[S_RULE, S_CHOICE], &[]),
        }
    }
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// What keeps a table from coming back unchanged from its `.xlsx`, one
/// Vietnamese sentence each (empty when it round-trips). [`table_to_xlsx`]
/// refuses such a table; show these to the officer.
///
/// - A line whose code does not tell its place in the tree (see the module
///   documentation): a section coded like a child ("I.1" at the top), or a
///   line under a parent whose code is not its own up to the last dot (after
///   "Thụt vào" in the editor, "II" under "I").
/// - A level name with a ";" (the levels are separated by ";").
pub fn export_problems(table: &ScoringTable) -> Vec<String> {
    let mut out = Vec::new();
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let mut stack: Vec<(&Line, Option<String>)> = table.lines.iter().rev().map(|l| (l, None)).collect();
    while let Some((line, parent)) = stack.pop() {
        let code = line.code.trim();
        let derived = parent_key(code).map(|k| (keys.get(&k).cloned(), k));
        match (&parent, derived) {
            (None, None) => {}
            (Some(p), Some((Some(found), _))) if code_key(p) == code_key(&found) => {}
            (None, Some(_)) => out.push(format!(
                "Dòng {code} là một phần (cấp cao nhất) nhưng mã có dạng mã con của {}: khi đọc lại tệp, phần mềm xếp dòng theo mã. Đổi mã phần {code} thành mã không có dấu chấm, ví dụ V.",
                parent_shown(code)
            )),
            (Some(p), _) => out.push(format!(
                "Dòng {code} nằm dưới {p} nhưng mã không bắt đầu bằng \"{p}.\": khi đọc lại tệp, phần mềm xếp dòng theo mã (I.1.a thuộc I.1). Đổi mã dòng {code} thành {p}.1, {p}.2… hoặc đưa dòng ra đúng chỗ của mã."
            )),
        }
        keys.entry(code_key(code)).or_insert_with(|| code.to_string());
        if let Some(Method::Qualitative { levels }) = &line.method {
            for lv in levels.iter().filter(|lv| lv.label.contains(';')) {
                out.push(format!(
                    "Mức \"{}\" của {code} có dấu chấm phẩy (;), là dấu ngăn cách các mức trong tệp: bỏ dấu chấm phẩy khỏi tên mức.",
                    lv.label.trim()
                ));
            }
        }
        for ch in line.children.iter().rev() {
            stack.push((ch, Some(code.to_string())));
        }
    }
    out
}

/// Writes the table to a one-sheet `.xlsx` laid out as officers lay out a
/// "bảng chấm điểm" (see the module documentation), byte-stable.
///
/// A table [`export_problems`] finds fault with gives [`XlsxError::Write`]
/// carrying those Vietnamese sentences; so does a text over Excel's limit.
pub fn table_to_xlsx(title: &str, table: &ScoringTable) -> Result<Vec<u8>, XlsxError> {
    let problems = export_problems(table);
    if !problems.is_empty() {
        return Err(XlsxError::Write(problems.join(" ")));
    }
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(CREATED.0, CREATED.1, CREATED.2).map_err(write_err)?;
    workbook.set_properties(&DocProperties::new().set_title(title.trim()).set_creation_datetime(&created));
    workbook.set_default_format(&base(), DEFAULT_ROW_PX, DEFAULT_COL_PX).map_err(write_err)?;
    let sheet = workbook.add_worksheet();
    sheet.set_name(TABLE_SHEET_NAME).map_err(write_err)?;
    Writer::new(sheet).table(title.trim(), table).map_err(write_err)?;
    workbook.save_to_buffer().map_err(write_err)
}

fn write_err(e: rust_xlsxwriter::XlsxError) -> XlsxError {
    XlsxError::Write(e.to_string())
}

fn base() -> Format {
    Format::new().set_font_name(FONT_NAME).set_font_size(FONT_SIZE).set_font_family(1)
}

type WResult<T> = Result<T, rust_xlsxwriter::XlsxError>;

/// Texts as written: surrounding whitespace trimmed (the reader trims cells).
fn clean(s: &str) -> String {
    s.trim().to_string()
}

fn yes_no(b: bool) -> &'static str {
    if b { YES } else { NO }
}

/// The cell text of an optional figure: empty for none.
fn opt(p: Option<Points>) -> String {
    p.map(|p| p.to_string()).unwrap_or_default()
}

fn method_cells(m: Option<&Method>, max: Points) -> (&'static str, String) {
    match m {
        None => ("", String::new()),
        Some(q @ Method::Qualitative { levels }) => {
            let params = levels.iter().map(|l| format!("{}: {}", clean(&l.label), l.points)).collect::<Vec<_>>();
            let name = if *q == Method::met_or_not(max) { M_MET } else { M_LEVELS };
            (name, params.join("; "))
        }
        Some(Method::Target) => (M_TARGET, String::new()),
        Some(Method::Count { per, cap }) => (M_COUNT, format!("{per} điểm/lần, tối đa {cap}")),
        Some(Method::Manual) => (M_MANUAL, String::new()),
    }
}

struct Writer<'a> {
    sheet: &'a mut Worksheet,
    row: u32,
    header: Format,
    cells: Vec<Format>,
}

impl<'a> Writer<'a> {
    fn new(sheet: &'a mut Worksheet) -> Self {
        let header = base()
            .set_bold()
            .set_text_wrap()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter)
            .set_border(FormatBorder::Thin)
            .set_background_color(Color::RGB(0xD9_E1_F2))
            .set_num_format("@");
        let cells = COLUMNS.iter().map(|&(_, wrap)| cell_format(wrap)).collect();
        Writer { sheet, row: 0, header, cells }
    }

    fn table(mut self, title: &str, t: &ScoringTable) -> WResult<()> {
        let text = base().set_num_format("@");
        for (col, &(width, _)) in COLUMNS.iter().enumerate() {
            self.sheet.set_column_format(col as u16, &text)?;
            self.sheet.set_column_width(col as u16, width)?;
        }
        if !title.is_empty() {
            let f = base().set_bold().set_font_size(14).set_align(FormatAlign::Center).set_text_wrap();
            self.sheet.merge_range(0, 0, 0, (COLUMNS.len() - 1) as u16, title, &f)?;
            self.sheet.set_row_height(0, 36)?;
            self.row = 1;
        }
        let headers = [H_CODE, H_NAME, H_MAX, H_METHOD, H_PARAMS, H_EVIDENCE, H_GUIDANCE];
        self.headers(&headers)?;
        self.sheet.set_freeze_panes(self.row, 0)?;

        let mut stack: Vec<(&Line, u8)> = t.lines.iter().rev().map(|l| (l, 0)).collect();
        while let Some((l, depth)) = stack.pop() {
            let (method, params) = method_cells(l.method.as_ref(), l.max);
            let evidence = if l.evidence_required { EVIDENCE_REQUIRED } else { "" };
            let bold = depth == 0;
            let code_f = if bold { self.cells[0].clone().set_bold() } else { self.cells[0].clone() };
            let mut name_f = self.cells[1].clone().set_indent(depth);
            if bold {
                name_f = name_f.set_bold();
            }
            let max_f = if bold { self.cells[2].clone().set_bold() } else { self.cells[2].clone() };
            let r = self.row;
            self.put(r, 0, &clean(&l.code), &code_f)?;
            self.put(r, 1, &clean(&l.name), &name_f)?;
            self.put(r, 2, &l.max.to_string(), &max_f)?;
            let [method_f, params_f, evidence_f, guidance_f] = [3, 4, 5, 6].map(|c| self.cells[c].clone());
            self.put(r, 3, method, &method_f)?;
            self.put(r, 4, &params, &params_f)?;
            self.put(r, 5, evidence, &evidence_f)?;
            self.put(r, 6, &clean(&l.guidance), &guidance_f)?;
            self.row += 1;
            for ch in l.children.iter().rev() {
                stack.push((ch, depth.saturating_add(1)));
            }
        }
        let r = self.row;
        let total = [String::new(), TOTAL_ROW.to_string(), t.nominal_max().to_string()];
        let bold: Vec<Format> = self.cells[..3].iter().map(|f| f.clone().set_bold()).collect();
        for (col, v) in total.iter().enumerate() {
            self.put(r, col as u16, v, &bold[col])?;
        }
        self.row += 1;

        for block in Block::ALL {
            self.row += 1;
            let f = base().set_bold();
            self.sheet.write_string_with_format(self.row, 0, block.title(), &f)?;
            self.row += 1;
            match block {
                Block::Bonus => self.adjust(&t.bonus, t.bonus_cap, "Tổng điểm thưởng tối đa")?,
                Block::Penalty => self.adjust(&t.penalties, t.penalty_cap, "Tổng điểm trừ tối đa")?,
                Block::Bands => {
                    self.headers(&[B_CODE, B_LABEL, B_MIN, B_SHARE])?;
                    for b in &t.bands {
                        let share = b.min_section_share_pct.map(|p| p.to_string()).unwrap_or_default();
                        self.data(&[clean(&b.code), clean(&b.label), b.min_total.to_string(), share])?;
                    }
                }
                Block::Ties => {
                    self.headers(&[T_NO, T_RULE, T_CODE])?;
                    for (i, tb) in t.tie_breaks.iter().enumerate() {
                        let (rule, code) = match tb {
                            TieBreak::MoreBonus => (TIE_BONUS, String::new()),
                            TieBreak::FewerPenalties => (TIE_PENALTY, String::new()),
                            TieBreak::MoreInSection(c) => (TIE_SECTION, clean(c)),
                        };
                        self.data(&[(i + 1).to_string(), rule.to_string(), code])?;
                    }
                }
                Block::Settings => {
                    self.headers(&[S_RULE, S_CHOICE])?;
                    let na = match t.not_applicable_rule {
                        NotApplicableRule::Scaled => NA_SCALED,
                        NotApplicableRule::Unscaled => NA_UNSCALED,
                    };
                    self.data(&[SET_EXCEED.to_string(), yes_no(t.may_exceed_nominal).to_string()])?;
                    self.data(&[SET_NA.to_string(), na.to_string()])?;
                    let f = &t.review_flags;
                    self.data(&[SET_FLAG_FAR.to_string(), f.far_above_percent.to_string()])?;
                    self.data(&[SET_FLAG_OUTLIER.to_string(), f.outlier_percent.to_string()])?;
                    self.data(&[SET_FLAG_UNITS.to_string(), f.outlier_min_units.to_string()])?;
                }
            }
        }
        Ok(())
    }

    fn adjust(&mut self, lines: &[AdjustLine], cap: Option<Points>, cap_label: &str) -> WResult<()> {
        self.headers(&[A_CODE, A_NAME, A_PER, A_CAP, A_SECRETARIAT])?;
        for l in lines {
            let secretariat = if l.secretariat_only { YES } else { "" };
            self.data(&[clean(&l.code), clean(&l.name), l.per.to_string(), opt(l.cap), secretariat.to_string()])?;
        }
        self.data(&[String::new(), cap_label.to_string(), String::new(), opt(cap), String::new()])
    }

    fn headers(&mut self, names: &[&str]) -> WResult<()> {
        for (col, name) in names.iter().enumerate() {
            self.sheet.write_string_with_format(self.row, col as u16, *name, &self.header)?;
        }
        self.row += 1;
        Ok(())
    }

    fn data(&mut self, values: &[String]) -> WResult<()> {
        for (col, v) in values.iter().enumerate() {
            let f = self.cells[col].clone();
            self.put(self.row, col as u16, v, &f)?;
        }
        self.row += 1;
        Ok(())
    }

    fn put(&mut self, row: u32, col: u16, value: &str, f: &Format) -> WResult<()> {
        if value.is_empty() {
            self.sheet.write_blank(row, col, f)?;
        } else {
            self.sheet.write_string_with_format(row, col, value, f)?;
        }
        Ok(())
    }
}

fn cell_format(wrap: bool) -> Format {
    let f = base().set_num_format("@").set_border(FormatBorder::Thin).set_align(FormatAlign::Top);
    if wrap { f.set_text_wrap() } else { f }
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// Why a scoring table could not be imported. Nothing was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableImportError {
    /// Every problem found: the Excel row number (1-based; 0 for the file or
    /// the table as a whole) and a Vietnamese message saying what to fix.
    /// Sorted by row, table-level problems first.
    pub rows: Vec<(usize, String)>,
    /// The file-level error when the file could not be read as a table at
    /// all (not an `.xlsx`, too large, missing columns…); its message is also
    /// in `rows`.
    pub xlsx: Option<XlsxError>,
}

impl TableImportError {
    fn rows(mut rows: Vec<(usize, String)>) -> Self {
        rows.sort_by_key(|(r, _)| *r);
        TableImportError { rows, xlsx: None }
    }

    /// A Vietnamese summary for the officer: that nothing was stored, then
    /// every problem, one a line, with its row.
    pub fn message_vi(&self) -> String {
        let line = |(row, msg): &(usize, String)| {
            if *row == 0 { msg.clone() } else { format!("Dòng {row}: {msg}") }
        };
        match self.rows.as_slice() {
            [] => "Không nhập được bảng chấm điểm; chưa lưu gì.".to_string(),
            [one] => format!("Không nhập được bảng chấm điểm; chưa lưu gì. {}", line(one)),
            all => {
                let mut s = format!("Không nhập được bảng chấm điểm; chưa lưu gì. Có {} lỗi cần sửa:", all.len());
                for r in all {
                    s.push_str("\n- ");
                    s.push_str(&line(r));
                }
                s
            }
        }
    }
}

impl From<XlsxError> for TableImportError {
    fn from(e: XlsxError) -> Self {
        TableImportError { rows: vec![(0, e.message_vi())], xlsx: Some(e) }
    }
}

impl fmt::Display for TableImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_vi())
    }
}

impl std::error::Error for TableImportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.xlsx.as_ref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The key a code is looked up by: case and a trailing dot ignored.
fn code_key(code: &str) -> String {
    code.trim().trim_end_matches('.').to_lowercase()
}

/// The parent code as written ("I.1.a" → "I.1"), for messages.
fn parent_shown(code: &str) -> String {
    let c = code.trim().trim_end_matches('.');
    c.rsplit_once('.').map_or(String::new(), |(p, _)| p.trim_end_matches('.').to_string())
}

/// The key of the parent a code names: up to its last dot ("I.1.a" → "i.1");
/// `None` for a code without one (a section).
fn parent_key(code: &str) -> Option<String> {
    let key = code_key(code);
    let (parent, _) = key.rsplit_once('.')?;
    let parent = parent.trim_end_matches('.');
    (!parent.is_empty()).then(|| parent.to_string())
}

/// A cell as text for a name, a code or a label.
fn text(cell: &Cell) -> String {
    cell.as_text().into_owned()
}

/// A cell as text for a number: a number cell's decimal point becomes the
/// Vietnamese comma, so that [`Points::parse`] reads 12.345 as twelve and
/// not as twelve thousand.
fn number_text(cell: &Cell) -> String {
    match cell {
        Cell::Decimal(s) => s.replace('.', ","),
        c => c.as_text().into_owned(),
    }
}

fn points(field: &str, s: &str) -> Result<Points, String> {
    Points::parse(field, s).map_err(|e| e.message)
}

fn optional_points(field: &str, s: &str) -> Result<Option<Points>, String> {
    if s.trim().is_empty() { Ok(None) } else { points(field, s).map(Some) }
}

/// Folded and without spaces: "Đạt / không đạt" → "dat/khongdat".
fn squash(s: &str) -> String {
    fold_vi(s).replace(' ', "")
}

fn row_is_empty(row: &[Cell]) -> bool {
    row.iter().all(Cell::is_empty)
}

/// The block a row opens: its only non-empty cell is a block title,
/// possibly numbered ("B. ĐIỂM THƯỞNG", "Điểm trừ:").
fn block_title(row: &[Cell]) -> Option<Block> {
    let mut cells = row.iter().filter(|c| !c.is_empty());
    let only = cells.next()?;
    if cells.next().is_some() {
        return None;
    }
    let folded = fold_vi(&only.as_text());
    let folded = folded.trim_end_matches([':', '.', ' ']);
    let unnumbered = match folded.split_once(' ') {
        Some((n, rest)) if n.len() <= 5 && (n.ends_with('.') || n.ends_with(')')) => rest,
        _ => folded,
    };
    Block::ALL.into_iter().find(|b| {
        let t = fold_vi(b.title());
        folded == t || unnumbered == t
    })
}

/// Where the expected columns of a block are, read from its header row.
fn block_columns(row: &[Cell], block: Block) -> Result<Vec<Option<usize>>, String> {
    let (required, optional) = block.headers();
    let renamed = |c: &Cell| {
        let key = (!c.is_empty()).then(|| crate::xlsx_in::header_key(&c.as_text()));
        RENAMED.iter().find(|(old, _)| key.as_deref() == Some(crate::xlsx_in::header_key(old).as_str()))
    };
    let row: Vec<Cell> =
        row.iter().map(|c| renamed(c).map_or_else(|| c.clone(), |(_, now)| Cell::Text(now.to_string()))).collect();
    let one = Sheet { name: String::new(), rows: vec![row], merged: Vec::new() };
    let all: Vec<&str> = required.iter().chain(optional).copied().collect();
    match table_from_sheet(&one, required, optional) {
        Ok(t) => Ok(t.columns),
        Err(XlsxError::MissingColumns(missing)) => Err(format!(
            "Phần \"{}\": dòng ngay dưới tên phần phải là dòng tiêu đề với các cột {}; thiếu cột {}. Thêm dòng tiêu đề hoặc sửa tên cột.",
            block.title(),
            all.join(", "),
            missing.join(", ")
        )),
        Err(XlsxError::DuplicateColumns(dup)) => Err(format!(
            "Phần \"{}\": cột {} có hai lần trong dòng tiêu đề: xoá hoặc đổi tên cột trùng.",
            block.title(),
            dup.join(", ")
        )),
        Err(e) => Err(e.message_vi()),
    }
}

/// A data row read through a column mapping.
struct RowCells<'a> {
    row: &'a [Cell],
    columns: &'a [Option<usize>],
}

impl RowCells<'_> {
    fn cell(&self, i: usize) -> &Cell {
        static EMPTY: Cell = Cell::Empty;
        self.columns.get(i).copied().flatten().and_then(|c| self.row.get(c)).unwrap_or(&EMPTY)
    }
    fn text(&self, i: usize) -> String {
        text(self.cell(i))
    }
    fn number(&self, i: usize) -> String {
        number_text(self.cell(i))
    }
    fn is_empty(&self) -> bool {
        (0..self.columns.len()).all(|i| self.cell(i).is_empty())
    }
}

/// Reads a scoring table from an `.xlsx` laid out as [`table_to_xlsx`]
/// writes it (see the module documentation for what is tolerated).
///
/// Every bad row is reported, with its Excel row number and what to fix;
/// then the table is checked with [`ScoringTable::validate`]. Any problem
/// gives a [`TableImportError`] and no table.
pub fn table_from_xlsx(bytes: &[u8], limits: &Limits) -> Result<ScoringTable, TableImportError> {
    let sheet = match read_sheet(bytes, limits, Some(TABLE_SHEET_NAME)) {
        Err(XlsxError::SheetNotFound(_)) => read_sheet(bytes, limits, None)?,
        other => other?,
    };
    let found = table_from_sheet(&sheet, &LINE_REQUIRED, &LINE_OPTIONAL)?;
    let header_idx = found.header_row - 1;
    let code_col = found.columns[0];

    // Merged cells: only the title above the header may be merged.
    let mut merges: Vec<(usize, String)> = Vec::new();
    for m in &sheet.merged {
        if m.last_row < header_idx {
            continue;
        }
        let range = format!(
            "{}{}:{}{}",
            column_letter(m.first_col),
            m.first_row + 1,
            column_letter(m.last_col),
            m.last_row + 1
        );
        let msg = if Some(m.first_col) == code_col && m.last_col == m.first_col && m.first_row > header_idx {
            format!(
                "Các ô TT {range} đang được gộp (merge): mỗi dòng cần mã riêng ở cột TT. Bỏ gộp các ô này (Unmerge Cells) rồi ghi mã cho từng dòng, ví dụ I.1, I.2."
            )
        } else {
            format!(
                "Các ô {range} đang được gộp (merge): trong bảng chỉ dòng tên bảng phía trên dòng tiêu đề được gộp ô. Bỏ gộp các ô này (Unmerge Cells) và ghi giá trị vào từng ô của từng dòng."
            )
        };
        merges.push((m.first_row + 1, msg));
    }
    if !merges.is_empty() {
        return Err(TableImportError::rows(merges));
    }

    let mut p = Parser::default();
    let starts: Vec<(usize, Block)> =
        (header_idx + 1..sheet.rows.len()).filter_map(|i| block_title(&sheet.rows[i]).map(|b| (i, b))).collect();
    let lines_end = starts.first().map_or(sheet.rows.len(), |s| s.0);
    p.lines(&sheet.rows[header_idx + 1..lines_end], header_idx + 1, &found.columns);

    let mut table = ScoringTable {
        lines: Vec::new(),
        bonus: Vec::new(),
        penalties: Vec::new(),
        bonus_cap: None,
        penalty_cap: None,
        may_exceed_nominal: false,
        not_applicable_rule: NotApplicableRule::Scaled,
        bands: Vec::new(),
        tie_breaks: Vec::new(),
        review_flags: FlagRules::default(),
    };
    let mut seen_blocks: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (k, &(start, block)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(sheet.rows.len(), |s| s.0);
        if let Some(first) = seen_blocks.insert(block.title(), start + 1) {
            p.err(
                start + 1,
                format!("Phần \"{}\" đã có ở dòng {first}: gộp hai phần làm một, mỗi phần ghi một lần.", block.title()),
            );
            continue;
        }
        p.field_rows.insert(block_field(block).to_string(), start + 1);
        let Some(h) = (start + 1..end).find(|&i| !row_is_empty(&sheet.rows[i])) else {
            continue; // a title without rows: the block is empty
        };
        let columns = match block_columns(&sheet.rows[h], block) {
            Ok(c) => c,
            Err(msg) => {
                p.err(h + 1, msg);
                continue;
            }
        };
        let rows = (h + 1..end).map(|i| (i + 1, RowCells { row: &sheet.rows[i], columns: &columns }));
        let rows: Vec<(usize, RowCells<'_>)> = rows.filter(|(_, r)| !r.is_empty()).collect();
        match block {
            Block::Bonus => table.bonus_cap = p.adjust(&rows, block, &mut table.bonus),
            Block::Penalty => table.penalty_cap = p.adjust(&rows, block, &mut table.penalties),
            Block::Bands => table.bands = p.bands(&rows),
            Block::Ties => table.tie_breaks = p.ties(&rows),
            Block::Settings => {
                let (exceed, rule) = p.settings(&rows, &mut table.review_flags);
                table.may_exceed_nominal = exceed.unwrap_or(false);
                table.not_applicable_rule = rule.unwrap_or(NotApplicableRule::Scaled);
            }
        }
    }
    if !p.errors.is_empty() {
        return Err(TableImportError::rows(p.errors));
    }
    table.lines = p.tree();
    if let Err(errs) = table.validate() {
        let rows = errs.into_iter().map(|e| (p.field_rows.get(&e.field).copied().unwrap_or(0), e.message)).collect();
        return Err(TableImportError::rows(rows));
    }
    Ok(table)
}

/// The `field` of [`ScoringTable::validate`]'s messages about a whole block.
fn block_field(block: Block) -> &'static str {
    match block {
        Block::Bonus => "Điểm thưởng",
        Block::Penalty => "Điểm trừ",
        Block::Bands => "Xếp loại",
        Block::Ties => "Tiêu chí phụ xếp hạng",
        Block::Settings => "Quy định chung",
    }
}

/// A line read from its row, before the tree is built.
struct RowLine {
    line: Line,
    parent: Option<usize>,
}

#[derive(Default)]
struct Parser {
    errors: Vec<(usize, String)>,
    /// Lower-cased code → row, over lines, bonus and penalties (codes are unique).
    codes: BTreeMap<String, usize>,
    /// [`code_key`] → index in `lines`, for finding parents.
    keys: BTreeMap<String, usize>,
    lines: Vec<RowLine>,
    /// A `field` of validate's messages → the row it is about.
    field_rows: BTreeMap<String, usize>,
}

impl Parser {
    fn err(&mut self, row: usize, msg: String) {
        self.errors.push((row, msg));
    }

    /// Checks a code and records it; false (with the error reported) when it is unusable.
    fn code(&mut self, row: usize, code: &str, what: &str) -> bool {
        if code.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.err(row, format!("Mã \"{code}\" có khoảng trắng: ghi liền, ví dụ I.1.a."));
            return false;
        }
        if code.chars().count() > MAX_CODE_CHARS {
            self.err(row, format!("Mã \"{code}\" dài quá {MAX_CODE_CHARS} ký tự: ghi mã ngắn như I.1.a."));
            return false;
        }
        if let Some(first) = self.codes.get(&code.to_lowercase()) {
            let first = *first;
            self.err(
                row,
                format!(
                    "Mã {code} trùng với mã ở dòng {first}: mỗi tiêu chí, dòng thưởng, dòng trừ cần một mã riêng (không phân biệt chữ hoa, chữ thường). Đổi mã {what} này."
                ),
            );
            return false;
        }
        self.codes.insert(code.to_lowercase(), row);
        self.field_rows.entry(code.to_string()).or_insert(row);
        true
    }

    fn lines(&mut self, rows: &[Vec<Cell>], first_idx: usize, columns: &[Option<usize>]) {
        for (i, row) in rows.iter().enumerate() {
            let n = first_idx + i + 1;
            let r = RowCells { row, columns };
            if r.is_empty() {
                continue;
            }
            let code = r.text(0);
            let name = r.text(1);
            if code.is_empty() {
                if fold_vi(&name).starts_with("tong") {
                    continue; // the total row, for the reader
                }
                self.err(n, "Dòng này chưa có mã ở cột TT: ghi mã như I, I.1, I.1.a (mỗi dòng một mã riêng) hoặc xoá dòng nếu không dùng.".to_string());
                continue;
            }
            let code_ok = self.code(n, &code, "tiêu chí");
            let mut bad = !code_ok;
            let parent = match parent_key(&code) {
                None => None,
                Some(pk) => match self.keys.get(&pk) {
                    Some(&idx) => Some(idx),
                    None => {
                        let shown = parent_shown(&code);
                        self.err(
                            n,
                            format!(
                                "Mã {code} là mã con của {shown} nhưng phía trên không có dòng nào mã {shown}: thêm dòng {shown} ở phía trên, hoặc sửa mã dòng này (phần mềm xếp dòng theo mã: I.1.a thuộc I.1)."
                            ),
                        );
                        bad = true;
                        None
                    }
                },
            };
            let max = points(&format!("Điểm tối đa của {code}"), &r.number(2));
            let method = parse_method(&code, &r.text(3), &r.number(4), max.as_ref().ok().copied());
            let evidence = parse_evidence(&code, &r.text(5));
            let guidance = r.text(6);
            let max = max.map_err(|e| self.err(n, e));
            let method = method.map_err(|e| self.err(n, e));
            let evidence = evidence.map_err(|e| self.err(n, e));
            let line = match (max, method, evidence) {
                (Ok(max), Ok(method), Ok(evidence_required)) => Ok(Line {
                    code: code.clone(),
                    name,
                    guidance,
                    max,
                    evidence_required,
                    method,
                    children: Vec::new(),
                }),
                _ => Err(()),
            };
            // Children may name this line even when its other cells are bad:
            // report their own problems, not a missing parent.
            self.keys.entry(code_key(&code)).or_insert(self.lines.len());
            match line {
                Ok(line) if !bad => self.lines.push(RowLine { line, parent }),
                _ => self.lines.push(RowLine { line: Line::parent(&code, "", Points::ZERO, Vec::new()), parent: None }),
            }
        }
    }

    /// The lines as a tree, in row order (only called without errors).
    fn tree(&mut self) -> Vec<Line> {
        let n = self.lines.len();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut roots = Vec::new();
        for (i, l) in self.lines.iter().enumerate() {
            match l.parent {
                Some(p) => children[p].push(i),
                None => roots.push(i),
            }
        }
        let mut slots: Vec<Option<Line>> = std::mem::take(&mut self.lines).into_iter().map(|l| Some(l.line)).collect();
        // Parents come before their children: assemble from the last row up.
        for i in (0..n).rev() {
            let kids: Vec<Line> = children[i].iter().filter_map(|&c| slots[c].take()).collect();
            if let Some(l) = slots[i].as_mut() {
                l.children = kids;
            }
        }
        roots.into_iter().filter_map(|i| slots[i].take()).collect()
    }

    /// Reads a bonus or penalty block; returns the total cap.
    fn adjust(&mut self, rows: &[(usize, RowCells<'_>)], block: Block, out: &mut Vec<AdjustLine>) -> Option<Points> {
        let what = if block == Block::Bonus { "điểm thưởng" } else { "điểm trừ" };
        let mut cap: Option<(usize, Option<Points>)> = None;
        for (n, r) in rows {
            let n = *n;
            let code = r.text(0);
            let name = r.text(1);
            if code.is_empty() && fold_vi(&name).starts_with("tong") {
                if let Some((first, _)) = cap {
                    self.err(n, format!("Dòng tổng {what} tối đa đã có ở dòng {first}: chỉ ghi một dòng."));
                    continue;
                }
                let value = if r.cell(3).is_empty() { r.number(2) } else { r.number(3) };
                match optional_points(&format!("Tổng {what} tối đa"), &value) {
                    Ok(v) => cap = Some((n, v)),
                    Err(e) => self.err(n, format!("{e} Để trống nếu không giới hạn.")),
                }
                self.field_rows.insert(block_field(block).to_string(), n);
                continue;
            }
            if code.is_empty() {
                self.err(
                    n,
                    format!(
                        "Dòng {what} này chưa có mã ở cột Mã: ghi mã riêng, ví dụ {}.1.",
                        if block == Block::Bonus { "TH" } else { "TR" }
                    ),
                );
                continue;
            }
            let code_ok = self.code(n, &code, &format!("dòng {what}"));
            let per = points(&format!("Điểm mỗi lần của {code}"), &r.number(2));
            let line_cap = optional_points(&format!("Mức tối đa của {code}"), &r.number(3));
            let secretariat = parse_yes(&r.text(4)).ok_or_else(|| {
                format!(
                    "Ô \"Chỉ cơ quan thường trực chấm\" của {code} ghi \"{}\": ghi \"Có\" nếu chỉ cơ quan thường trực chấm dòng này, để trống nếu không.",
                    r.text(4)
                )
            });
            match (per, line_cap, secretariat) {
                (Ok(per), Ok(cap), Ok(secretariat_only)) if code_ok => {
                    out.push(AdjustLine { code, name, per, cap, secretariat_only })
                }
                (per, cap, sec) => {
                    for e in [per.err(), cap.err(), sec.err()].into_iter().flatten() {
                        self.err(n, e);
                    }
                }
            }
        }
        cap.and_then(|(_, v)| v)
    }

    fn bands(&mut self, rows: &[(usize, RowCells<'_>)]) -> Vec<Band> {
        let mut out = Vec::new();
        for (n, r) in rows {
            let n = *n;
            let label = r.text(0);
            let code = match r.text(2) {
                c if c.is_empty() => fold_vi(&label).replace(' ', "_"),
                c => c,
            };
            let min = points(&format!("Tổng điểm từ của mức {label}"), &r.number(1));
            let share = parse_share(&label, &r.number(3));
            self.field_rows.entry(format!("Xếp loại {label}")).or_insert(n);
            self.field_rows.entry(format!("mức xếp loại thứ {}", out.len() + 1)).or_insert(n);
            match (min, share) {
                (Ok(min_total), Ok(min_section_share_pct)) => {
                    out.push(Band { code, label, min_total, min_section_share_pct })
                }
                (min, share) => {
                    for e in [min.err(), share.err()].into_iter().flatten() {
                        self.err(n, e);
                    }
                    out.push(Band { code, label, min_total: Points::ZERO, min_section_share_pct: None });
                }
            }
        }
        out
    }

    fn ties(&mut self, rows: &[(usize, RowCells<'_>)]) -> Vec<TieBreak> {
        let mut out = Vec::new();
        for (n, r) in rows {
            let rule = r.text(0);
            let key = fold_vi(&rule);
            let code = r.text(2);
            if key.starts_with(&fold_vi(TIE_BONUS)) {
                out.push(TieBreak::MoreBonus);
            } else if key.starts_with(&fold_vi(TIE_PENALTY)) {
                out.push(TieBreak::FewerPenalties);
            } else if key.starts_with("nhieu diem hon") {
                if code.is_empty() {
                    self.err(
                        *n,
                        format!("Tiêu chí phụ \"{rule}\" cần mã phần hay tiêu chí ở cột \"{T_CODE}\", ví dụ I."),
                    );
                } else {
                    out.push(TieBreak::MoreInSection(code));
                }
            } else {
                self.err(
                    *n,
                    format!(
                        "Tiêu chí phụ \"{rule}\" không có trong danh sách. Ghi một trong: {TIE_BONUS}; {TIE_PENALTY}; {TIE_SECTION} (ghi mã phần ở cột \"{T_CODE}\")."
                    ),
                );
            }
        }
        out
    }

    /// The settings block: the two choices, and the flags' thresholds into
    /// `flags` (a threshold left out keeps the usual one).
    fn settings(
        &mut self,
        rows: &[(usize, RowCells<'_>)],
        flags: &mut FlagRules,
    ) -> (Option<bool>, Option<NotApplicableRule>) {
        let mut exceed = None;
        let mut rule = None;
        for (n, r) in rows {
            let n = *n;
            let label = r.text(0);
            let choice = r.text(1);
            let key = fold_vi(&label);
            let c = fold_vi(&choice);
            let whole = |s: &str| s.trim().parse::<u32>().ok();
            if key.contains("so don vi") || key.contains("it nhat") {
                match whole(&choice) {
                    Some(v) => flags.outlier_min_units = v as usize,
                    None => self.err(n, format!("Quy định \"{label}\": ghi một số nguyên ở cột {S_CHOICE}, ví dụ 3.")),
                }
            } else if key.contains("kiem tra cheo") || key.contains("trung vi") {
                match whole(choice.trim_end_matches('%')) {
                    Some(v) if key.contains("kiem tra cheo") => flags.far_above_percent = v,
                    Some(v) => flags.outlier_percent = v,
                    None => self.err(
                        n,
                        format!("Quy định \"{label}\": ghi một số nguyên từ 1 đến 100 ở cột {S_CHOICE}, ví dụ 20."),
                    ),
                }
            } else if key.contains("vuot") {
                match parse_yes(&choice) {
                    Some(b) if !c.is_empty() => exceed = Some(b),
                    _ => self.err(n, format!("Quy định \"{label}\": ghi \"{YES}\" hoặc \"{NO}\" ở cột {S_CHOICE}.")),
                }
            } else if key.contains("khong ap dung") {
                if c.starts_with("khong quy doi") {
                    rule = Some(NotApplicableRule::Unscaled);
                } else if c.starts_with("quy doi") {
                    rule = Some(NotApplicableRule::Scaled);
                } else {
                    self.err(
                        n,
                        format!("Quy định \"{label}\": ghi \"{NA_SCALED}\" hoặc \"{NA_UNSCALED}\" ở cột {S_CHOICE}."),
                    );
                }
            } else {
                self.err(
                    n,
                    format!(
                        "Quy định \"{label}\" không có trong danh sách. Các quy định nhận được: \"{SET_EXCEED}\"; \"{SET_NA}\"; \"{SET_FLAG_FAR}\"; \"{SET_FLAG_OUTLIER}\"; \"{SET_FLAG_UNITS}\"."
                    ),
                );
            }
        }
        (exceed, rule)
    }
}

/// "Có" / "x" → true, "" / "Không" → false, else `None`.
fn parse_yes(s: &str) -> Option<bool> {
    match fold_vi(s).as_str() {
        "" | "khong" | "k" => Some(false),
        "co" | "x" | "bat buoc" => Some(true),
        _ => None,
    }
}

fn parse_evidence(code: &str, s: &str) -> Result<bool, String> {
    parse_yes(s).ok_or_else(|| {
        format!(
            "Ô Minh chứng của {code} ghi \"{s}\": ghi \"{EVIDENCE_REQUIRED}\" nếu cần minh chứng, để trống nếu không."
        )
    })
}

fn parse_share(label: &str, s: &str) -> Result<Option<u32>, String> {
    let t = s.trim().trim_end_matches('%').trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<u32>().map(Some).map_err(|_| {
        format!("Tỷ lệ mỗi phần đạt tối thiểu của mức {label} ghi \"{s}\": ghi số nguyên phần trăm từ 0 đến 100, ví dụ 85, hoặc để trống.")
    })
}

fn parse_method(code: &str, method: &str, params: &str, max: Option<Points>) -> Result<Option<Method>, String> {
    let key = squash(method);
    let no_params = |name: &str| {
        if params.trim().is_empty() {
            Ok(())
        } else {
            Err(format!(
                "Tiêu chí {code} {name} nên không dùng ô Tham số (đang ghi \"{}\"): xoá ô Tham số hoặc chọn cách chấm khác.",
                params.trim()
            ))
        }
    };
    match key.as_str() {
        "" => no_params("không có cách chấm (là phần hay tiêu chí có tiêu chí con)").map(|_| None),
        "dat/khongdat" | "dat,khongdat" | "dat-khongdat" | "dat;khongdat" | "datkhongdat" => {
            if params.trim().is_empty() {
                Ok(max.map(Method::met_or_not))
            } else {
                parse_levels(code, params).map(Some)
            }
        }
        "theomuc" | "chamtheomuc" => parse_levels(code, params).map(Some),
        "theochitieu" | "sovoichitieu" | "sovoichitieuduocgiao" => {
            no_params(&format!("chấm \"{M_TARGET}\"")).map(|_| Some(Method::Target))
        }
        "theosolan" | "tinhtheosolan" => parse_count(code, params, max).map(Some),
        "chamtructiep" | "chamdiemtructiep" => no_params(&format!("chấm \"{M_MANUAL}\"")).map(|_| Some(Method::Manual)),
        _ => Err(format!(
            "Cách chấm \"{}\" của {code} không có trong danh sách. Ghi một trong: {M_MET}, {M_LEVELS}, {M_TARGET}, {M_COUNT}, {M_MANUAL}; để trống nếu dòng là phần hay tiêu chí có tiêu chí con.",
            method.trim()
        )),
    }
}

/// "Đạt: 50; Đạt một phần: 25; Không đạt: 0" (also one level a line).
fn parse_levels(code: &str, params: &str) -> Result<Method, String> {
    let example = "ví dụ \"Đạt: 50; Đạt một phần: 25; Không đạt: 0\"";
    if params.trim().is_empty() {
        return Err(format!(
            "Tiêu chí {code} chấm theo mức nhưng ô Tham số trống: ghi các mức từ cao xuống thấp, {example}."
        ));
    }
    let mut levels = Vec::new();
    let mut errs = Vec::new();
    for part in params.split([';', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
        match part.rsplit_once(':') {
            None => errs.push(format!(
                "Mức \"{part}\" của {code} thiếu điểm: ghi tên mức, dấu hai chấm rồi số điểm, {example}."
            )),
            Some((label, pts)) => match points(&format!("Điểm của mức \"{}\" ({code})", label.trim()), pts) {
                Ok(p) => levels.push(Level::new(label.trim(), p)),
                Err(e) => errs.push(e),
            },
        }
    }
    if errs.is_empty() { Ok(Method::Qualitative { levels }) } else { Err(errs.join(" ")) }
}

/// "10 điểm/lần, tối đa 50"; without "tối đa" the cap is the line's maximum.
fn parse_count(code: &str, params: &str, max: Option<Points>) -> Result<Method, String> {
    let example = "ví dụ \"10 điểm/lần, tối đa 50\"";
    let folded = fold_vi(params).replace(" / ", "/").replace("/ ", "/").replace(" /", "/");
    if folded.is_empty() {
        return Err(format!(
            "Tiêu chí {code} chấm theo số lần nhưng ô Tham số trống: ghi số điểm mỗi lần và mức tối đa, {example}."
        ));
    }
    let (per_part, cap_part) = match folded.find("toi da") {
        Some(i) => (&folded[..i], Some(&folded[i + "toi da".len()..])),
        None => (folded.as_str(), None),
    };
    let mut per = per_part.trim().trim_end_matches([',', ';', ' ']).trim();
    for suffix in ["diem/lan", "diem moi lan", "d/lan", "/lan", "diem"] {
        if let Some(p) = per.strip_suffix(suffix) {
            per = p.trim();
            break;
        }
    }
    let per = if per.is_empty() {
        Err(format!("Tiêu chí {code} chấm theo số lần nhưng Tham số không ghi số điểm mỗi lần: {example}."))
    } else {
        points(&format!("Điểm mỗi lần của {code}"), per)
    };
    let cap = match cap_part {
        Some(c) => {
            let c = c.trim().trim_start_matches(':').trim();
            let c = c.strip_suffix("diem").unwrap_or(c).trim();
            points(&format!("Mức tối đa của {code}"), c)
        }
        None => Ok(max.unwrap_or(Points::ZERO)),
    };
    match (per, cap) {
        (Ok(per), Ok(cap)) => Ok(Method::Count { per, cap }),
        (per, cap) => Err([per.err(), cap.err()].into_iter().flatten().collect::<Vec<_>>().join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_keys() {
        assert_eq!(parent_key("I"), None);
        assert_eq!(parent_key("I.1"), Some("i".into()));
        assert_eq!(parent_key("I.1.a"), Some("i.1".into()));
        assert_eq!(parent_key("1."), None);
        assert_eq!(parent_key("1.1."), Some("1".into()));
        assert_eq!(parent_key(".5"), None);
    }

    #[test]
    fn methods_and_parameters() {
        let w = Points::whole;
        assert_eq!(parse_method("X", "đạt / KHÔNG đạt", "", Some(w(40))), Ok(Some(Method::met_or_not(w(40)))));
        assert_eq!(
            parse_method("X", "Theo số lần", "12,5 điểm / lần, tối đa: 50 điểm", Some(w(50))),
            Ok(Some(Method::Count { per: Points::from_hundredths(1250), cap: w(50) }))
        );
        assert_eq!(
            parse_method("X", "theo so lan", "10 điểm/lần", Some(w(40))),
            Ok(Some(Method::Count { per: w(10), cap: w(40) }))
        );
        assert_eq!(
            parse_method("X", "Theo mức", "Tốt: 10\nKhá: 7,5\nĐạt: yêu cầu: 5", Some(w(10))),
            Ok(Some(Method::Qualitative {
                levels: vec![
                    Level::new("Tốt", w(10)),
                    Level::new("Khá", Points::from_hundredths(750)),
                    Level::new("Đạt: yêu cầu", w(5))
                ]
            }))
        );
        assert!(parse_method("X", "Chấm trực tiếp", "0-100", Some(w(10))).unwrap_err().contains("xoá ô Tham số"));
        assert!(parse_method("X", "Theo mức", "Tốt 10", Some(w(10))).unwrap_err().contains("thiếu điểm"));
    }

    #[test]
    fn block_titles() {
        let row = |s: &str| vec![Cell::Empty, Cell::Text(s.into())];
        assert_eq!(block_title(&row("B. ĐIỂM THƯỞNG")), Some(Block::Bonus));
        assert_eq!(block_title(&row("Điểm trừ:")), Some(Block::Penalty));
        assert_eq!(block_title(&row("Điểm trừ khác")), None);
        assert_eq!(block_title(&[Cell::Text("Xếp loại".into()), Cell::Int(1)]), None);
    }
}
