//! The results reports: `summary_to_xlsx`, `unit_sheet_to_xlsx`, read back.

use std::io::{Cursor, Read};

use chrono::NaiveDate;
use thidua_export::results_xlsx::{ResultRow, SheetLineX, Summary, UnitSheet, summary_to_xlsx, unit_sheet_to_xlsx};
use thidua_export::{Cell, Limits, MergedRegion, Sheet, XlsxError, read_sheet, sheet_names};

const SUMMARY_HEADERS: [&str; 10] = [
    "TT",
    "Đơn vị",
    "Điểm tự chấm",
    "Điểm thưởng",
    "Điểm trừ",
    "Tổng điểm",
    "Chênh lệch so với tự chấm",
    "Xếp loại",
    "Xếp hạng",
    "Ghi chú",
];

const UNIT_HEADERS: [&str; 10] = [
    "TT",
    "Nội dung tiêu chí",
    "Điểm tối đa",
    "Đơn vị tự chấm (giá trị)",
    "Điểm tự chấm",
    "Đề xuất điều chỉnh",
    "Kết quả (giá trị)",
    "Điểm",
    "Minh chứng (số tệp)",
    "Lý do / giải trình",
];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn text(s: &str) -> Cell {
    Cell::Text(s.into())
}

fn dec(s: &str) -> Cell {
    Cell::Decimal(s.into())
}

fn sheet_of(bytes: &[u8]) -> Sheet {
    read_sheet(bytes, &Limits::default(), None).expect("sheet")
}

/// The 0-based index of the row whose cell in `col` reads `value`.
fn row_where(sheet: &Sheet, col: usize, value: &str) -> usize {
    sheet
        .rows
        .iter()
        .position(|r| r.get(col).is_some_and(|c| c.as_text() == value))
        .unwrap_or_else(|| panic!("no row with {value:?} in column {col}"))
}

/// The texts of row `row`, columns A to J.
fn texts(sheet: &Sheet, row: usize) -> Vec<String> {
    (0..10).map(|c| sheet.cell(row, c).as_text().into_owned()).collect()
}

/// One part of the `.xlsx` zip, as text.
fn part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    let mut out = String::new();
    zip.by_name(name).expect(name).read_to_string(&mut out).expect("utf-8");
    out
}

fn row(
    rank: Option<u32>,
    unit: &str,
    self_total: Option<i64>,
    bonus: i64,
    penalty: i64,
    total: Option<i64>,
) -> ResultRow {
    ResultRow { rank, unit: unit.into(), self_total, bonus, penalty, total, class: String::new(), note: String::new() }
}

fn summary() -> Summary {
    Summary {
        authority: "Ủy ban nhân dân tỉnh Cao Bằng".into(),
        group: "Khối các cơ quan Đảng".into(),
        year: 2026,
        status: "Kết quả cuối cùng".into(),
        table_version: Some(2),
        max_total: 100_000,
        made_on: date(2026, 11, 22),
        rows: vec![
            ResultRow {
                class: "Xuất sắc".into(),
                ..row(Some(1), "Ban Tuyên giáo Tỉnh ủy", Some(95_000), 2_000, 0, Some(95_050))
            },
            ResultRow {
                class: "Tốt".into(),
                ..row(Some(2), "Ban Tổ chức Tỉnh ủy", Some(93_000), 550, 800, Some(92_000))
            },
            ResultRow {
                note: "Chưa nộp phiếu tự chấm".into(), ..row(None, "Văn phòng Tỉnh ủy", None, 0, 0, None)
            },
        ],
    }
}

#[test]
fn summary_reads_back_with_header_title_rows_and_date() {
    let bytes = summary_to_xlsx(&summary()).expect("write");
    assert_eq!(sheet_names(&bytes, &Limits::default()).unwrap(), vec!["Tổng hợp".to_string()]);
    let sheet = sheet_of(&bytes);

    // Decree 30 header: authority upper case, group upper case; national title and motto on the right.
    assert_eq!(sheet.cell(0, 0), &text("ỦY BAN NHÂN DÂN TỈNH CAO BẰNG"));
    assert_eq!(sheet.cell(1, 0), &text("KHỐI CÁC CƠ QUAN ĐẢNG"));
    assert_eq!(sheet.cell(0, 5), &text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"));
    assert_eq!(sheet.cell(1, 5), &text("Độc lập - Tự do - Hạnh phúc"));

    let title = row_where(&sheet, 0, "BẢNG TỔNG HỢP KẾT QUẢ CHẤM ĐIỂM THI ĐUA NĂM 2026");
    assert!(sheet.merged.contains(&MergedRegion { first_row: title, first_col: 0, last_row: title, last_col: 9 }));
    assert_eq!(sheet.cell(title + 1, 0), &text("Kết quả cuối cùng - Bảng điểm phiên bản 2 - Điểm tối đa: 1.000"));

    let header = row_where(&sheet, 0, "TT");
    assert!(header > title + 1);
    assert_eq!(texts(&sheet, header), SUMMARY_HEADERS.map(String::from).to_vec());

    // Rows in the given order, numbered; points as numbers (hundredths / 100).
    let r1 = header + 1;
    assert_eq!(sheet.cell(r1, 0), &Cell::Int(1));
    assert_eq!(sheet.cell(r1, 1), &text("Ban Tuyên giáo Tỉnh ủy"));
    assert_eq!(sheet.cell(r1, 2), &Cell::Int(950));
    assert_eq!(sheet.cell(r1, 3), &Cell::Int(20));
    assert_eq!(sheet.cell(r1, 4), &Cell::Int(0));
    assert_eq!(sheet.cell(r1, 5), &dec("950.5"));
    assert_eq!(sheet.cell(r1, 6), &dec("0.5"));
    assert_eq!(sheet.cell(r1, 7), &text("Xuất sắc"));
    assert_eq!(sheet.cell(r1, 8), &Cell::Int(1));
    assert_eq!(sheet.cell(r1, 9), &Cell::Empty);

    let r2 = header + 2;
    assert_eq!(sheet.cell(r2, 0), &Cell::Int(2));
    assert_eq!(sheet.cell(r2, 1), &text("Ban Tổ chức Tỉnh ủy"));
    assert_eq!(sheet.cell(r2, 3), &dec("5.5"));
    assert_eq!(sheet.cell(r2, 4), &Cell::Int(8));
    assert_eq!(sheet.cell(r2, 5), &Cell::Int(920));
    assert_eq!(sheet.cell(r2, 6), &Cell::Int(-10)); // 920 − 930: signed
    assert_eq!(sheet.cell(r2, 8), &Cell::Int(2));

    // No result: total, difference and rank are empty.
    let r3 = header + 3;
    assert_eq!(sheet.cell(r3, 1), &text("Văn phòng Tỉnh ủy"));
    assert_eq!(sheet.cell(r3, 2), &Cell::Empty);
    assert_eq!(sheet.cell(r3, 5), &Cell::Empty);
    assert_eq!(sheet.cell(r3, 6), &Cell::Empty);
    assert_eq!(sheet.cell(r3, 7), &Cell::Empty);
    assert_eq!(sheet.cell(r3, 8), &Cell::Empty);
    assert_eq!(sheet.cell(r3, 9), &text("Chưa nộp phiếu tự chấm"));
    assert!((0..10).all(|c| sheet.cell(r3 + 1, c).is_empty()), "a blank row after the table");

    // Place and date on the right, then the signatures.
    let dated = row_where(&sheet, 5, "Cao Bằng, ngày 22 tháng 11 năm 2026");
    assert!(dated > r3);
    assert_eq!(sheet.cell(dated + 1, 0), &text("NGƯỜI LẬP BIỂU"));
    assert_eq!(sheet.cell(dated + 1, 5), &text("THỦ TRƯỞNG ĐƠN VỊ"));
}

#[test]
fn summary_page_setup_and_number_formats() {
    let bytes = summary_to_xlsx(&summary()).expect("write");
    let styles = part(&bytes, "xl/styles.xml");
    assert!(styles.contains(r##"formatCode="#,##0.00""##), "points format");
    assert!(styles.contains(r##"formatCode="+#,##0.00;-#,##0.00;0.00""##), "signed format");
    assert!(styles.contains(r#"<name val="Times New Roman"/>"#));
    let ws = part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(ws.contains(r#"orientation="landscape""#));
    assert!(ws.contains(r#"paperSize="9""#));
    // Frozen below the header row (row 7 in Excel: header at 0-based 6).
    let header = row_where(&sheet_of(&bytes), 0, "TT") + 1;
    assert!(ws.contains(&format!(r#"topLeftCell="A{}""#, header + 1)), "{ws}");
    let wb = part(&bytes, "xl/workbook.xml");
    assert!(wb.contains(&format!("'Tổng hợp'!${header}:${header}")), "header repeated on print: {wb}");
}

#[test]
fn summary_without_place_or_version_and_without_rows() {
    let s = Summary {
        authority: "Bộ Tài chính".into(),
        group: "Khối các Bộ, ngành kinh tế".into(),
        status: "Tạm tính (chưa chốt)".into(),
        table_version: None,
        max_total: 95_050,
        made_on: date(2026, 2, 5),
        rows: Vec::new(),
        ..summary()
    };
    let sheet = sheet_of(&summary_to_xlsx(&s).expect("write"));
    assert_eq!(sheet.cell(1, 0), &text("KHỐI CÁC BỘ, NGÀNH KINH TẾ"));
    let title = row_where(&sheet, 0, "BẢNG TỔNG HỢP KẾT QUẢ CHẤM ĐIỂM THI ĐUA NĂM 2026");
    assert_eq!(sheet.cell(title + 1, 0), &text("Tạm tính (chưa chốt) - Điểm tối đa: 950,5"));
    let header = row_where(&sheet, 0, "TT");
    assert_eq!(texts(&sheet, header), SUMMARY_HEADERS.map(String::from).to_vec());
    // Decree 30: a leading zero for days below 10 and for January and February; dots for an unknown place.
    row_where(&sheet, 5, "……………, ngày 05 tháng 02 năm 2026");
}

#[test]
fn exports_are_byte_stable() {
    let a = summary_to_xlsx(&summary()).unwrap();
    let b = summary_to_xlsx(&summary()).unwrap();
    assert_eq!(a, b);
    assert_eq!(unit_sheet_to_xlsx(&unit_sheet()).unwrap(), unit_sheet_to_xlsx(&unit_sheet()).unwrap());
}

#[test]
fn too_long_text_is_a_write_error() {
    let mut s = summary();
    s.rows[0].note = "x".repeat(40_000);
    assert!(matches!(summary_to_xlsx(&s), Err(XlsxError::Write(_))));
}

#[allow(clippy::too_many_arguments)]
fn line(
    code: &str,
    name: &str,
    depth: u32,
    leaf: bool,
    max: i64,
    self_value: &str,
    self_points: Option<i64>,
    final_points: Option<i64>,
) -> SheetLineX {
    SheetLineX {
        code: code.into(),
        name: name.into(),
        depth,
        leaf,
        max,
        self_value: self_value.into(),
        self_points,
        proposal: String::new(),
        final_value: self_value.into(),
        final_points,
        evidence: 0,
        reason: String::new(),
    }
}

fn unit_sheet() -> UnitSheet {
    UnitSheet {
        authority: "Ủy ban nhân dân tỉnh Cao Bằng".into(),
        group: "Khối các cơ quan Đảng".into(),
        unit: "Ban Tuyên giáo Tỉnh ủy".into(),
        year: 2026,
        status: "Kết quả cuối cùng".into(),
        lines: vec![
            line("I", "Thực hiện nhiệm vụ chính trị, chuyên môn", 0, false, 50_000, "", Some(48_050), Some(47_500)),
            SheetLineX {
                proposal: "Đoàn kiểm tra đề xuất: 275".into(),
                final_value: "11".into(),
                evidence: 3,
                reason: "Chỉ tiêu 12 chưa có minh chứng đủ".into(),
                ..line("1", "Kết quả thực hiện chỉ tiêu được giao", 1, true, 30_000, "12", Some(28_050), Some(27_500))
            },
            line("1.1", "Tham mưu ban hành văn bản đúng hạn", 1, false, 20_000, "", Some(20_000), Some(20_000)),
            SheetLineX {
                evidence: 1,
                ..line("1.1.a", "Văn bản đúng hạn", 2, true, 20_000, "Hoàn thành tốt", Some(20_000), Some(20_000))
            },
            line("II", "Thực hiện giao ước thi đua", 0, true, 20_000, "Không áp dụng", None, None),
            line("Thưởng", "Được Chính phủ tặng bằng khen đột xuất", 0, true, 1_000, "1 lần", Some(1_000), Some(1_000)),
            line("Trừ", "Chậm nộp báo cáo", 0, true, 500, "1 lần", Some(-500), Some(-500)),
        ],
        self_total: Some(48_550),
        total: Some(48_000),
        class: "Hoàn thành xuất sắc nhiệm vụ".into(),
        rank: Some(3),
        made_on: date(2026, 11, 22),
    }
}

#[test]
fn unit_sheet_reads_back_with_lines_totals_and_date() {
    let bytes = unit_sheet_to_xlsx(&unit_sheet()).expect("write");
    assert_eq!(sheet_names(&bytes, &Limits::default()).unwrap(), vec!["Phiếu chấm điểm".to_string()]);
    let sheet = sheet_of(&bytes);

    assert_eq!(sheet.cell(0, 0), &text("ỦY BAN NHÂN DÂN TỈNH CAO BẰNG"));
    assert_eq!(sheet.cell(1, 0), &text("KHỐI CÁC CƠ QUAN ĐẢNG"));
    assert_eq!(sheet.cell(0, 5), &text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"));
    let title = row_where(&sheet, 0, "PHIẾU CHẤM ĐIỂM THI ĐUA NĂM 2026");
    assert_eq!(sheet.cell(title + 1, 0), &text("Ban Tuyên giáo Tỉnh ủy"));
    assert_eq!(sheet.cell(title + 2, 0), &text("Kết quả cuối cùng"));

    let header = row_where(&sheet, 0, "TT");
    assert_eq!(texts(&sheet, header), UNIT_HEADERS.map(String::from).to_vec());

    let i = header + 1;
    assert_eq!(sheet.cell(i, 0), &text("I"));
    assert_eq!(sheet.cell(i, 1), &text("Thực hiện nhiệm vụ chính trị, chuyên môn"));
    assert_eq!(sheet.cell(i, 2), &Cell::Int(500));
    assert_eq!(sheet.cell(i, 3), &Cell::Empty);
    assert_eq!(sheet.cell(i, 4), &dec("480.5"));
    assert_eq!(sheet.cell(i, 7), &Cell::Int(475));
    assert_eq!(sheet.cell(i, 8), &Cell::Empty, "no evidence count on a heading");

    let one = header + 2;
    assert_eq!(
        texts(&sheet, one),
        vec![
            "1",
            "Kết quả thực hiện chỉ tiêu được giao",
            "300",
            "12",
            "280.5",
            "Đoàn kiểm tra đề xuất: 275",
            "11",
            "275",
            "3",
            "Chỉ tiêu 12 chưa có minh chứng đủ"
        ]
    );
    assert_eq!(sheet.cell(one, 3), &text("12"), "the entered value stays text");
    assert_eq!(sheet.cell(one, 4), &dec("280.5"));
    assert_eq!(sheet.cell(one, 8), &Cell::Int(3));

    assert_eq!(sheet.cell(header + 3, 0), &text("1.1"));
    let a = row_where(&sheet, 0, "1.1.a");
    assert_eq!(a, header + 4);
    assert_eq!(sheet.cell(a, 1), &text("Văn bản đúng hạn"));
    assert_eq!(sheet.cell(a, 3), &text("Hoàn thành tốt"));
    assert_eq!(sheet.cell(a, 7), &Cell::Int(200));

    // Not applicable: points empty, evidence 0 on a leaf.
    let ii = row_where(&sheet, 0, "II");
    assert_eq!(sheet.cell(ii, 3), &text("Không áp dụng"));
    assert_eq!(sheet.cell(ii, 4), &Cell::Empty);
    assert_eq!(sheet.cell(ii, 7), &Cell::Empty);
    assert_eq!(sheet.cell(ii, 8), &Cell::Int(0));

    // Bonus and penalty lines at the end.
    let bonus = row_where(&sheet, 0, "Thưởng");
    assert_eq!(bonus, ii + 1);
    assert_eq!(sheet.cell(bonus, 1), &text("Được Chính phủ tặng bằng khen đột xuất"));
    assert_eq!(sheet.cell(bonus, 2), &Cell::Int(10));
    assert_eq!(sheet.cell(bonus, 7), &Cell::Int(10));
    let penalty = bonus + 1;
    assert_eq!(sheet.cell(penalty, 0), &text("Trừ"));
    assert_eq!(sheet.cell(penalty, 1), &text("Chậm nộp báo cáo"));
    assert_eq!(sheet.cell(penalty, 4), &Cell::Int(-5));
    assert_eq!(sheet.cell(penalty, 7), &Cell::Int(-5));

    // Totals.
    let own = row_where(&sheet, 0, "Tổng điểm tự chấm");
    assert_eq!(own, penalty + 1);
    assert_eq!(sheet.cell(own, 4), &dec("485.5"));
    let total = row_where(&sheet, 0, "Tổng điểm");
    assert_eq!(total, own + 1);
    assert_eq!(sheet.cell(total, 7), &Cell::Int(480));
    assert_eq!(sheet.cell(total + 1, 0), &text("Xếp loại"));
    assert_eq!(sheet.cell(total + 1, 7), &text("Hoàn thành xuất sắc nhiệm vụ"));
    assert_eq!(sheet.cell(total + 2, 0), &text("Xếp hạng"));
    assert_eq!(sheet.cell(total + 2, 7), &Cell::Int(3));

    let dated = row_where(&sheet, 5, "Cao Bằng, ngày 22 tháng 11 năm 2026");
    assert!(dated > total + 2);
    assert_eq!(sheet.cell(dated + 1, 0), &text("NGƯỜI LẬP BIỂU"));
    assert_eq!(sheet.cell(dated + 1, 5), &text("THỦ TRƯỞNG ĐƠN VỊ"));

    let ws = part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(ws.contains(r#"orientation="landscape""#));
    assert!(ws.contains(&format!(r#"topLeftCell="A{}""#, header + 2)));
}

#[test]
fn unit_sheet_without_totals_leaves_them_empty() {
    let s = UnitSheet { self_total: None, total: None, class: String::new(), rank: None, ..unit_sheet() };
    let sheet = sheet_of(&unit_sheet_to_xlsx(&s).expect("write"));
    let own = row_where(&sheet, 0, "Tổng điểm tự chấm");
    assert_eq!(sheet.cell(own, 4), &Cell::Empty);
    let total = row_where(&sheet, 0, "Tổng điểm");
    assert_eq!(sheet.cell(total, 7), &Cell::Empty);
    assert_eq!(sheet.cell(total + 1, 7), &Cell::Empty);
    assert_eq!(sheet.cell(total + 2, 7), &Cell::Empty);
}
