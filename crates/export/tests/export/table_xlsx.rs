//! The scoring table's xlsx round trip: `table_to_xlsx`, `table_from_xlsx`.

use rust_xlsxwriter::{Format, Workbook};
use thidua_core::scoring::{
    AdjustLine, Band, Level, Line, Method, NotApplicableRule, Points, ScoringTable, TieBreak, sample_table,
};
use thidua_core::table_edit::{Edit, apply};
use thidua_export::{
    Cell, Limits, MergedRegion, Sheet, TableImportError, XlsxError, export_problems, read_sheet, table_from_xlsx,
    table_to_xlsx,
};

const TITLE: &str = "BẢNG CHẤM ĐIỂM THI ĐUA KHỐI CÁC SỞ, BAN, NGÀNH NĂM 2025";

fn w(n: i64) -> Points {
    Points::whole(n)
}

fn h(n: i64) -> Points {
    Points::from_hundredths(n)
}

fn import(bytes: &[u8]) -> Result<ScoringTable, TableImportError> {
    table_from_xlsx(bytes, &Limits::default())
}

fn sheet_of(bytes: &[u8]) -> Sheet {
    read_sheet(bytes, &Limits::default(), None).expect("sheet")
}

/// The Excel row (1-based) whose column A holds `text`.
fn row_of(sheet: &Sheet, text: &str) -> usize {
    sheet.rows.iter().position(|r| r.first().is_some_and(|c| c.as_text() == text)).expect(text) + 1
}

/// Sets the cell at Excel row `row` (1-based), column `col` (0 = A).
fn set(sheet: &mut Sheet, row: usize, col: usize, value: &str) {
    let cells = &mut sheet.rows[row - 1];
    if cells.len() <= col {
        cells.resize(col + 1, Cell::Empty);
    }
    cells[col] = if value.is_empty() { Cell::Empty } else { Cell::Text(value.to_string()) };
}

/// Writes a sheet back to xlsx as text cells, with its merged regions and `extra` ones.
fn rewrite(sheet: &Sheet, extra: &[MergedRegion]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let ws = workbook.add_worksheet();
    ws.set_name(&sheet.name).unwrap();
    let merges: Vec<MergedRegion> = sheet.merged.iter().chain(extra).copied().collect();
    let merged = |r: usize, c: usize| {
        merges.iter().any(|m| (m.first_row..=m.last_row).contains(&r) && (m.first_col..=m.last_col).contains(&c))
    };
    for m in &merges {
        let text = sheet.cell(m.first_row, m.first_col).as_text().into_owned();
        ws.merge_range(
            m.first_row as u32,
            m.first_col as u16,
            m.last_row as u32,
            m.last_col as u16,
            &text,
            &Format::new(),
        )
        .unwrap();
    }
    for (r, cells) in sheet.rows.iter().enumerate() {
        for (c, cell) in cells.iter().enumerate() {
            if !cell.is_empty() && !merged(r, c) {
                ws.write_string(r as u32, c as u16, cell.as_text()).unwrap();
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

/// The sample table exported, as cells to tamper with.
fn sample_sheet() -> Sheet {
    sheet_of(&table_to_xlsx(TITLE, &sample_table()).unwrap())
}

/// Imports a tampered sheet, expecting errors.
fn refused(sheet: &Sheet, extra: &[MergedRegion]) -> TableImportError {
    import(&rewrite(sheet, extra)).expect_err("the import should be refused")
}

fn assert_one(err: &TableImportError, row: usize, needles: &[&str]) {
    assert_eq!(err.rows.len(), 1, "{:#?}", err.rows);
    assert_eq!(err.rows[0].0, row, "{:#?}", err.rows);
    for n in needles {
        assert!(err.rows[0].1.contains(n), "expected {n:?} in {:?}", err.rows[0].1);
    }
    assert!(err.xlsx.is_none());
}

#[test]
fn sample_table_round_trips_and_re_exports_byte_for_byte() {
    let table = sample_table();
    let bytes = table_to_xlsx(TITLE, &table).expect("export");
    assert_eq!(table_to_xlsx(TITLE, &table).unwrap(), bytes, "the same table gives the same bytes");

    let back = import(&bytes).expect("import");
    assert_eq!(back, table);
    assert_eq!(table_to_xlsx(TITLE, &back).unwrap(), bytes);
}

#[test]
fn the_sheet_is_laid_out_as_officers_do() {
    let bytes = table_to_xlsx(TITLE, &sample_table()).unwrap();
    let sheet = sheet_of(&bytes);
    assert_eq!(sheet.name, "Bảng chấm điểm");
    let texts = |row: usize| -> Vec<String> { sheet.rows[row - 1].iter().map(|c| c.as_text().into_owned()).collect() };

    assert_eq!(texts(1), vec![TITLE.to_string()]);
    assert_eq!(sheet.merged, vec![MergedRegion { first_row: 0, first_col: 0, last_row: 0, last_col: 6 }]);
    assert_eq!(
        texts(2),
        ["TT", "Nội dung, tiêu chí", "Điểm tối đa", "Cách chấm", "Tham số", "Minh chứng", "Hướng dẫn chấm"]
    );
    assert_eq!(texts(3), ["I", "Thực hiện nhiệm vụ chính trị, chuyên môn", "500"]);
    assert_eq!(
        texts(4),
        [
            "I.1",
            "Kết quả thực hiện các chỉ tiêu được giao",
            "300",
            "Theo chỉ tiêu",
            "",
            "Bắt buộc",
            "Ghi kết quả thực hiện so với chỉ tiêu được giao trong giao ước; đơn vị dẫn đầu khối được điểm tối đa."
        ]
    );
    assert_eq!(row_of(&sheet, "II.1"), 8);
    assert_eq!(
        texts(8),
        [
            "II.1",
            "Phát động, đăng ký, ký kết giao ước thi đua",
            "40",
            "Đạt/không đạt",
            "Đạt: 40; Không đạt: 0",
            "Bắt buộc"
        ]
    );
    assert_eq!(texts(10)[3..5], ["Theo số lần", "10 điểm/lần, tối đa 50"]);
    assert_eq!(texts(14)[3..5], ["Theo mức", "Đạt: 50; Đạt một phần: 25; Không đạt: 0"]);
    assert_eq!(texts(18)[3], "Chấm trực tiếp");
    assert_eq!(texts(20), ["", "Tổng cộng", "950"]);

    let bonus = row_of(&sheet, "Điểm thưởng");
    assert_eq!(bonus, 22);
    assert_eq!(texts(23), ["Mã", "Nội dung", "Điểm mỗi lần", "Tối đa", "Chỉ cơ quan thường trực chấm"]);
    assert_eq!(texts(24), ["TH.1", "Được Chính phủ, bộ, ngành trung ương khen thưởng đột xuất", "10"]);
    assert_eq!(texts(25)[3], "20");
    assert_eq!(texts(27), ["", "Tổng điểm thưởng tối đa", "", "50"]);
    let penalty = row_of(&sheet, "Điểm trừ");
    assert_eq!(
        texts(penalty + 2),
        ["TR.1", "Không phát động, không ký giao ước, không đăng ký thi đua đầu năm", "8", "8", "Có"]
    );
    assert_eq!(texts(penalty + 7), ["", "Tổng điểm trừ tối đa"]);
    let bands = row_of(&sheet, "Xếp loại");
    assert_eq!(texts(bands + 1), ["Mã", "Xếp loại", "Tổng điểm từ", "Mỗi phần đạt tối thiểu (%)"]);
    assert_eq!(texts(bands + 2), ["xuat_sac", "Xuất sắc", "900", "85"]);
    assert_eq!(texts(bands + 5), ["khong_hoan_thanh", "Không hoàn thành", "0"]);
    let ties = row_of(&sheet, "Thứ tự ưu tiên khi bằng điểm");
    assert_eq!(texts(ties + 2), ["1", "Nhiều điểm thưởng hơn"]);
    assert_eq!(texts(ties + 4), ["3", "Nhiều điểm hơn ở phần, tiêu chí", "I"]);
    let settings = row_of(&sheet, "Quy định chung");
    assert_eq!(texts(settings + 2)[1], "Có");
    assert_eq!(texts(settings + 3), ["Đơn vị có tiêu chí không áp dụng", "Quy đổi theo điểm áp dụng"]);

    // Names are indented by the cell format (no leading spaces); sections are bold.
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(&bytes)).unwrap();
    let styles = wb.worksheet_style("Bảng chấm điểm").unwrap();
    let style = |row: usize, col: u32| styles.get((row as u32 - 1, col)).cloned().unwrap_or_default();
    let indent = |row: usize| style(row, 1).alignment.and_then(|a| a.indent).unwrap_or(0);
    let bold = |row: usize| style(row, 1).font.is_some_and(|f| f.is_bold());
    assert_eq!((indent(3), bold(3)), (0, true));
    assert_eq!((indent(4), bold(4)), (1, false));
    assert!(bold(7) && !bold(8));
}

/// A table using every feature: three levels, ladders, counts with decimals,
/// target, manual, guidance with diacritics, newlines and formula-like text,
/// big figures, flags, caps, bands with custom codes, tie-breaks.
fn rich_table() -> ScoringTable {
    let mut i1 = Line::leaf("I.1", "Chỉ tiêu thu ngân sách nhà nước", w(40), Method::Target);
    i1.guidance = "Ghi kết quả thực hiện / chỉ tiêu giao.\nĐơn vị dẫn đầu được 40 điểm;\r\nđơn vị không được giao: không áp dụng.".into();
    i1.evidence_required = true;
    let ladder = Method::Qualitative {
        levels: vec![
            Level::new("Tốt", h(3050)),
            Level::new("Khá (kế hoạch: đủ)", w(20)),
            Level::new("Trung bình", h(1025)),
            Level::new("Kém", Points::ZERO),
        ],
    };
    let mut i2a = Line::leaf("I.2.a", "Chỉ số cải cách hành chính (PAR INDEX)", h(3050), ladder);
    i2a.guidance = "=A1+1 không phải công thức; “ngoặc kép” & <thẻ>".into();
    let i2b = Line::leaf("I.2.b", "Số hoá hồ sơ", h(2950), Method::Count { per: h(250), cap: h(2950) });
    let mut i2 = Line::parent("I.2", "Cải cách hành chính, chuyển đổi số", w(60), vec![i2a, i2b]);
    i2.evidence_required = true;
    let sec1 = Line::parent("I", "Nhiệm vụ chuyên môn", w(100), vec![i1, i2]);
    let sec2 = Line::parent(
        "II",
        "Công tác thi đua, khen thưởng",
        w(1000),
        vec![
            Line::leaf("II.1", "Tham mưu tổ chức phong trào", h(99_999), Method::Manual),
            Line::leaf("II.2", "Ký giao ước", h(1), Method::met_or_not(h(1))),
        ],
    );
    let mut th1 = AdjustLine::new("TH.1", "Sáng kiến được công nhận", h(250), None);
    th1.secretariat_only = true;
    ScoringTable {
        lines: vec![sec1, sec2],
        bonus: vec![th1],
        penalties: vec![AdjustLine::new("TR.1", "Vi phạm kỷ luật", w(1500), Some(w(3000)))],
        bonus_cap: None,
        penalty_cap: Some(h(400_050)),
        may_exceed_nominal: false,
        not_applicable_rule: NotApplicableRule::Unscaled,
        bands: vec![
            Band {
                code: "loai_a".into(), label: "Loại A".into(), min_total: w(1000), min_section_share_pct: Some(90)
            },
            Band { code: "B".into(), label: "Loại B".into(), min_total: w(800), min_section_share_pct: None },
            Band {
                code: "hang_3".into(),
                label: "Hạng ba (đặc biệt)".into(),
                min_total: h(50_050),
                min_section_share_pct: Some(50),
            },
        ],
        tie_breaks: vec![TieBreak::MoreInSection("II".into()), TieBreak::FewerPenalties, TieBreak::MoreBonus],
        review_flags: thidua_core::scoring::FlagRules {
            far_above_percent: 15,
            outlier_percent: 25,
            outlier_min_units: 4,
        },
    }
}

#[test]
fn a_table_with_every_feature_round_trips() {
    let table = rich_table();
    assert_eq!(table.validate(), Ok(()));
    let bytes = table_to_xlsx("Bảng điểm", &table).expect("export");
    let sheet = sheet_of(&bytes);
    let row = row_of(&sheet, "I.2.b");
    assert_eq!(sheet.cell(row - 1, 4).as_text(), "2,5 điểm/lần, tối đa 29,5");
    assert_eq!(sheet.cell(row_of(&sheet, "II") - 1, 2).as_text(), "1.000");
    assert_eq!(
        sheet.cell(row_of(&sheet, "I.2.a") - 1, 4).as_text(),
        "Tốt: 30,5; Khá (kế hoạch: đủ): 20; Trung bình: 10,25; Kém: 0"
    );

    let back = import(&bytes).expect("import");
    assert_eq!(back, table);
    assert_eq!(table_to_xlsx("Bảng điểm", &back).unwrap(), bytes);

    // A file written before the secretariat's column was renamed reads the same.
    let mut sheet = sheet_of(&table_to_xlsx("Bảng điểm", &table).unwrap());
    let renamed: Vec<(usize, usize)> = sheet
        .rows
        .iter()
        .enumerate()
        .flat_map(|(r, cells)| cells.iter().enumerate().map(move |(c, cell)| (r, c, cell.as_text())))
        .filter(|(_, _, t)| t == "Chỉ cơ quan thường trực chấm")
        .map(|(r, c, _)| (r, c))
        .collect();
    assert_eq!(renamed.len(), 2, "the bonus and the penalty blocks");
    for (r, c) in renamed {
        set(&mut sheet, r + 1, c, "Chỉ Ban thường trực chấm");
    }
    let back = import(&rewrite(&sheet, &[])).expect("import");
    assert!(back.bonus.iter().chain(&back.penalties).any(|a| a.secretariat_only));
    assert_eq!(back, table);

    // Without a title the header is the first row, and it still round-trips.
    let bytes = table_to_xlsx("  ", &table).unwrap();
    assert_eq!(sheet_of(&bytes).cell(0, 0).as_text(), "TT");
    assert_eq!(import(&bytes).unwrap(), table);
}

#[test]
fn surrounding_whitespace_is_not_content() {
    let mut table = sample_table();
    table.lines[0].guidance = "  Hướng dẫn\n".into();
    table.lines[0].children[0].name = " Kết quả ".into();
    let back = import(&table_to_xlsx(TITLE, &table).unwrap()).unwrap();
    assert_eq!(back.lines[0].guidance, "Hướng dẫn");
    assert_eq!(back.lines[0].children[0].name, "Kết quả");
    assert_eq!(table_to_xlsx(TITLE, &back).unwrap(), table_to_xlsx(TITLE, &table).unwrap());
}

#[test]
fn a_tree_its_codes_do_not_tell_is_not_exported() {
    // The editor's "indent" keeps the code: II under I.
    let table = apply(&sample_table(), Edit::Indent { code: "II".into() }).unwrap();
    let problems = export_problems(&table);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].starts_with("Dòng II nằm dưới I nhưng mã không bắt đầu bằng \"I.\""), "{}", problems[0]);
    match table_to_xlsx(TITLE, &table) {
        Err(XlsxError::Write(msg)) => assert_eq!(msg, problems[0]),
        other => panic!("{other:?}"),
    }

    let mut table = sample_table();
    table.lines[3].code = "III.4".into();
    table.lines[2].children[0].method = Some(Method::Qualitative {
        levels: vec![Level::new("Đạt; tốt", w(50)), Level::new("Không đạt", Points::ZERO)],
    });
    let problems = export_problems(&table);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].contains("Mức \"Đạt; tốt\" của III.1 có dấu chấm phẩy"));
    assert!(problems[1].starts_with("Dòng III.4 là một phần (cấp cao nhất) nhưng mã có dạng mã con của III:"));
    assert!(problems[2].starts_with("Dòng IV.1 nằm dưới III.4 nhưng mã không bắt đầu bằng \"III.4.\""));
    assert!(problems[3].starts_with("Dòng IV.2 nằm dưới III.4"));
    assert!(export_problems(&sample_table()).is_empty());
}

#[test]
fn an_officers_own_layout_is_read() {
    // Headers without diacritics, in another order, an extra column, no
    // optional columns, numbers as number cells, a total row, a numbered
    // block title and only one block.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Sheet1").unwrap();
    ws.write_string(0, 0, "BẢNG ĐIỂM").unwrap();
    for (c, hd) in ["tt", "NOI DUNG, TIEU CHI", "Cách chấm", "Điểm tối đa *", "tham so", "Ghi chú"].iter().enumerate()
    {
        ws.write_string(1, c as u16, *hd).unwrap();
    }
    ws.write_string(2, 0, "I").unwrap();
    ws.write_string(2, 1, "Phần một").unwrap();
    ws.write_number(2, 3, 50).unwrap();
    ws.write_string(3, 0, "I.1").unwrap();
    ws.write_string(3, 1, "Tiêu chí một").unwrap();
    ws.write_string(3, 2, "đạt / không đạt").unwrap();
    ws.write_number(3, 3, 20).unwrap();
    ws.write_string(3, 5, "bất kỳ").unwrap();
    ws.write_string(4, 0, "I.2").unwrap();
    ws.write_string(4, 1, "Tiêu chí hai").unwrap();
    ws.write_string(4, 2, "THEO SO LAN").unwrap();
    ws.write_number(4, 3, 30).unwrap();
    ws.write_string(4, 4, "7,5 điểm mỗi lần").unwrap();
    ws.write_string(5, 1, "Tổng cộng").unwrap();
    ws.write_number(5, 3, 50).unwrap();
    ws.write_string(7, 0, "B. ĐIỂM THƯỞNG").unwrap();
    for (c, hd) in ["Mã", "Nội dung", "Điểm mỗi lần"].iter().enumerate() {
        ws.write_string(8, c as u16, *hd).unwrap();
    }
    ws.write_string(9, 0, "TH1").unwrap();
    ws.write_string(9, 1, "Sáng kiến").unwrap();
    ws.write_number(9, 2, 2.5).unwrap();
    let bytes = wb.save_to_buffer().unwrap();

    let t = import(&bytes).expect("import");
    let expected = ScoringTable {
        lines: vec![Line::parent(
            "I",
            "Phần một",
            w(50),
            vec![
                Line::leaf("I.1", "Tiêu chí một", w(20), Method::met_or_not(w(20))),
                Line::leaf("I.2", "Tiêu chí hai", w(30), Method::Count { per: h(750), cap: w(30) }),
            ],
        )],
        bonus: vec![AdjustLine::new("TH1", "Sáng kiến", h(250), None)],
        penalties: vec![],
        bonus_cap: None,
        penalty_cap: None,
        may_exceed_nominal: false,
        not_applicable_rule: NotApplicableRule::Scaled,
        bands: vec![],
        tie_breaks: vec![],
        review_flags: Default::default(),
    };
    assert_eq!(t, expected);
}

#[test]
fn an_unknown_method_is_refused_with_the_accepted_ones() {
    let mut sheet = sample_sheet();
    let row = row_of(&sheet, "II.2");
    set(&mut sheet, row, 3, "Chấm theo cảm nhận");
    let err = refused(&sheet, &[]);
    assert_eq!(row, 9);
    assert_one(
        &err,
        9,
        &[
            "Cách chấm \"Chấm theo cảm nhận\" của II.2 không có trong danh sách",
            "Đạt/không đạt, Theo mức, Theo chỉ tiêu, Theo số lần, Chấm trực tiếp",
        ],
    );
    assert!(err.message_vi().starts_with("Không nhập được bảng chấm điểm; chưa lưu gì. Dòng 9: Cách chấm"));
}

#[test]
fn a_bad_number_is_refused() {
    let mut sheet = sample_sheet();
    let row = row_of(&sheet, "II.4");
    set(&mut sheet, row, 2, "4O");
    let err = refused(&sheet, &[]);
    assert_one(&err, row, &["Điểm tối đa của II.4 \"4O\" không phải là số"]);

    // A ladder level without points, and three decimals, in the bonus block.
    let mut sheet = sample_sheet();
    let iii = row_of(&sheet, "III.2");
    set(&mut sheet, iii, 4, "Đạt: 50; Đạt một phần; Không đạt: 0");
    let th2 = row_of(&sheet, "TH.2");
    set(&mut sheet, th2, 2, "10,125");
    let err = refused(&sheet, &[]);
    assert_eq!(err.rows.len(), 2, "{:#?}", err.rows);
    assert_eq!(err.rows[0].0, iii);
    assert!(err.rows[0].1.contains("Mức \"Đạt một phần\" của III.2 thiếu điểm"), "{}", err.rows[0].1);
    assert_eq!(err.rows[1].0, th2);
    assert!(err.rows[1].1.contains("Điểm mỗi lần của TH.2 \"10,125\" có quá 2 chữ số thập phân"));
    assert!(err.message_vi().contains(&format!("Có 2 lỗi cần sửa:\n- Dòng {iii}: ")));
}

#[test]
fn a_merged_tt_cell_is_refused_with_the_cells_to_unmerge() {
    let sheet = sample_sheet();
    let row = row_of(&sheet, "II.1");
    let merge = MergedRegion { first_row: row - 1, first_col: 0, last_row: row, last_col: 0 };
    let err = refused(&sheet, &[merge]);
    assert_one(&err, row, &["Các ô TT A8:A9 đang được gộp", "Bỏ gộp các ô này (Unmerge Cells)"]);

    // Merged cells elsewhere below the title are refused too.
    let merge = MergedRegion { first_row: 2, first_col: 1, last_row: 2, last_col: 2 };
    let err = refused(&sheet, &[merge]);
    assert_one(&err, 3, &["Các ô B3:C3 đang được gộp"]);
}

#[test]
fn a_code_whose_parent_is_missing_is_refused() {
    let mut sheet = sample_sheet();
    let row = row_of(&sheet, "III.3");
    set(&mut sheet, row, 0, "V.3");
    let err = refused(&sheet, &[]);
    assert_one(&err, row, &["Mã V.3 là mã con của V nhưng phía trên không có dòng nào mã V"]);

    // The parent must be above its children.
    let mut sheet = sample_sheet();
    let (r1, r2) = (row_of(&sheet, "IV"), row_of(&sheet, "IV.1"));
    sheet.rows.swap(r1 - 1, r2 - 1);
    let err = refused(&sheet, &[]);
    assert_one(&err, r1, &["Mã IV.1 là mã con của IV"]);
}

#[test]
fn a_duplicate_code_is_refused() {
    let mut sheet = sample_sheet();
    let first = row_of(&sheet, "I.2");
    let row = row_of(&sheet, "I.3");
    set(&mut sheet, row, 0, "i.2");
    let err = refused(&sheet, &[]);
    assert_one(&err, row, &[&format!("Mã i.2 trùng với mã ở dòng {first}")]);

    // Across lines and bonus lines too.
    let mut sheet = sample_sheet();
    let row = row_of(&sheet, "TH.3");
    set(&mut sheet, row, 0, "II.5");
    assert_one(&refused(&sheet, &[]), row, &[&format!("Mã II.5 trùng với mã ở dòng {}", row_of(&sheet, "II.5"))]);
}

#[test]
fn children_exceeding_their_parent_are_reported_on_the_parents_row() {
    let mut sheet = sample_sheet();
    let row = row_of(&sheet, "I.3");
    set(&mut sheet, row, 2, "150");
    let err = refused(&sheet, &[]);
    assert_one(
        &err,
        row_of(&sheet, "I"),
        &["Các tiêu chí con của I (I.1 300, I.2 100, I.3 150) cộng lại 550 điểm, vượt điểm tối đa 500 của I"],
    );

    // Validation messages about a band or a bonus line land on their rows.
    let mut sheet = sample_sheet();
    let band = row_of(&sheet, "tot");
    set(&mut sheet, band, 2, "950");
    set(&mut sheet, band, 3, "90");
    let th2 = row_of(&sheet, "TH.2");
    set(&mut sheet, th2, 3, "5");
    let err = refused(&sheet, &[]);
    let rows: Vec<usize> = err.rows.iter().map(|r| r.0).collect();
    assert_eq!(rows, vec![th2, band], "{:#?}", err.rows);
}

#[test]
fn a_missing_header_is_refused() {
    let mut sheet = sample_sheet();
    set(&mut sheet, 2, 3, "Phương pháp");
    let err = refused(&sheet, &[]);
    assert_eq!(err.rows, vec![(0, "Thiếu cột: Cách chấm. Hãy thêm cột này vào dòng tiêu đề.".to_string())]);
    assert_eq!(err.xlsx, Some(XlsxError::MissingColumns(vec!["Cách chấm".into()])));

    // A block's own header row too.
    let mut sheet = sample_sheet();
    let row = row_of(&sheet, "Xếp loại") + 1;
    set(&mut sheet, row, 2, "Điểm");
    assert_one(&refused(&sheet, &[]), row, &["Phần \"Xếp loại\"", "thiếu cột Tổng điểm từ"]);
}

#[test]
fn every_bad_row_is_reported_at_once() {
    let mut sheet = sample_sheet();
    let rows = [
        row_of(&sheet, "I.2"),
        row_of(&sheet, "II.3"),
        row_of(&sheet, "III.1"),
        row_of(&sheet, "TR.2"),
        row_of(&sheet, "Quy định chung") + 3,
    ];
    set(&mut sheet, rows[0], 5, "Có thể");
    set(&mut sheet, rows[1], 4, "mười điểm mỗi lần");
    set(&mut sheet, rows[2], 0, "");
    set(&mut sheet, rows[3], 4, "Ban thi đua");
    set(&mut sheet, rows[4], 1, "Tuỳ");
    let err = refused(&sheet, &[]);
    let got: Vec<usize> = err.rows.iter().map(|r| r.0).collect();
    assert_eq!(got, rows, "{:#?}", err.rows);
    assert!(err.rows[0].1.contains("Ô Minh chứng của I.2 ghi \"Có thể\""));
    assert!(err.rows[1].1.contains("Điểm mỗi lần của II.3"));
    assert!(err.rows[2].1.contains("chưa có mã ở cột TT"));
    assert!(err.rows[3].1.contains("Chỉ cơ quan thường trực chấm"));
    assert!(err.rows[4].1.contains("Quy đổi theo điểm áp dụng"));
}

#[test]
fn a_file_that_is_not_xlsx_is_refused() {
    let err = import(b"TT;Noi dung\n").unwrap_err();
    assert_eq!(err.xlsx, Some(XlsxError::NotXlsx));
    assert_eq!(err.rows, vec![(0, XlsxError::NotXlsx.message_vi())]);
}
