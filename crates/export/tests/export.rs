//! Integration tests of thidua-export: xlsx round trip and upload defences.

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use thidua_export::{
    Cell, Limits, MergedRegion, XlsxError, check_container, read_sheet, read_table, read_table_with_optional,
    sheet_names, write_table,
};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

const HEADERS: [&str; 5] = ["STT", "Mã đơn vị", "Tên đơn vị", "Điểm tự chấm", "Ngày ký"];

fn sample_rows() -> Vec<Vec<String>> {
    let rows: [[&str; 5]; 5] = [
        ["1", "001", "Sở Nội vụ tỉnh Thái Nguyên", "95.50", "2024-01-15"],
        ["2", "0020", "Ủy ban nhân dân huyện Đồng Hỷ", "", "15/01/2024"],
        ["3", "", "Ban Thi đua - Khen thưởng", "1e5", ""],
        ["4", "=SUM(A1:A3)", "Dòng 1\nDòng 2 “ngoặc” & <thẻ>", "-0.0", "TRUE"],
        ["5", "12345678901234567890", "Cụm thi đua các tỉnh trung du, miền núi phía Bắc", "100", "x"],
    ];
    rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in entries {
        zip.start_file(*name, options).expect("start entry");
        zip.write_all(data).expect("write entry");
    }
    zip.finish().expect("finish zip").into_inner()
}

#[test]
fn round_trip_with_title_keeps_every_cell() {
    let rows = sample_rows();
    let bytes = write_table("Đơn vị", Some("DANH SÁCH ĐƠN VỊ THÀNH VIÊN NĂM 2025"), &HEADERS, &rows).expect("write");

    let table = read_table(&bytes, &Limits::default(), &HEADERS).expect("read");
    assert_eq!(table.sheet_name, "Đơn vị");
    assert_eq!(table.header_row, 2);
    assert_eq!(table.headers, HEADERS.map(String::from).to_vec());
    assert!(table.extra_columns.is_empty());
    let expected: Vec<(usize, Vec<String>)> = rows.into_iter().enumerate().map(|(i, r)| (i + 3, r)).collect();
    assert_eq!(table.rows, expected);

    // The title is one merged region over the header width.
    let sheet = read_sheet(&bytes, &Limits::default(), None).expect("sheet");
    assert_eq!(sheet.merged, vec![MergedRegion { first_row: 0, first_col: 0, last_row: 0, last_col: 4 }]);
    assert_eq!(sheet.cell(0, 0), &Cell::Text("DANH SÁCH ĐƠN VỊ THÀNH VIÊN NĂM 2025".into()));
    assert_eq!(sheet.cell(2, 1), &Cell::Text("001".into()));
    assert_eq!(sheet.cell(3, 3), &Cell::Empty);
    assert_eq!(sheet.cell(4, 3), &Cell::Text("1e5".into()));
    assert_eq!(sheet.cell(999, 999), &Cell::Empty);
}

#[test]
fn round_trip_without_title_and_with_empty_rows() {
    let mut rows = sample_rows();
    rows.insert(1, vec![String::new(); 5]);
    rows.push(vec!["6".into()]); // short row: the rest is empty
    let bytes = write_table("Sheet", None, &HEADERS, &rows).expect("write");

    let table = read_table(&bytes, &Limits::default(), &HEADERS).expect("read");
    assert_eq!(table.header_row, 1);
    let numbers: Vec<usize> = table.rows.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, vec![2, 4, 5, 6, 7, 8]); // row 3 is empty, skipped
    assert_eq!(table.rows[0].1, rows[0]);
    assert_eq!(table.rows[5].1, vec!["6", "", "", "", ""]);
}

#[test]
fn export_is_byte_stable() {
    let rows = sample_rows();
    let a = write_table("Đơn vị", Some("Tiêu đề"), &HEADERS, &rows).expect("write");
    std::thread::sleep(Duration::from_millis(1100));
    let b = write_table("Đơn vị", Some("Tiêu đề"), &HEADERS, &rows).expect("write");
    assert_eq!(a, b);
}

#[test]
fn numeric_and_date_cells_render_as_text() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    sheet.write_string(0, 0, "Mã").unwrap();
    sheet.write_string(0, 1, "Điểm").unwrap();
    sheet.write_string(0, 2, "Ngày").unwrap();
    sheet.write_number(1, 0, 12.0).unwrap();
    sheet.write_number(1, 1, 8.75).unwrap();
    let d = ExcelDateTime::from_ymd(2024, 12, 31).unwrap();
    sheet.write_datetime_with_format(1, 2, &d, &date).unwrap();
    sheet.write_number(2, 0, -3.0).unwrap();
    sheet.write_number(2, 1, 0.1 + 0.2).unwrap();
    sheet.write_boolean(2, 2, true).unwrap();
    let bytes = workbook.save_to_buffer().unwrap();

    let table = read_table(&bytes, &Limits::default(), &["mã", "điểm", "NGÀY"]).expect("read");
    assert_eq!(
        table.rows,
        vec![
            (2, vec!["12".into(), "8.75".into(), "2024-12-31".into()]),
            (3, vec!["-3".into(), "0.3".into(), "TRUE".into()]),
        ]
    );
    let sheet = read_sheet(&bytes, &Limits::default(), None).expect("sheet");
    assert_eq!(sheet.cell(1, 0), &Cell::Int(12));
    assert_eq!(sheet.cell(1, 1), &Cell::Decimal("8.75".into()));
    assert_eq!(sheet.cell(1, 2), &Cell::Date("2024-12-31".into()));
}

#[test]
fn header_matching_ignores_case_diacritics_and_spaces() {
    let rows = vec![vec!["Sở Tư pháp".to_string(), "cơ quan".to_string()]];
    let bytes = write_table("S", None, &["  ten   don vi ", "LOAI"], &rows).expect("write");
    let table = read_table(&bytes, &Limits::default(), &["Tên đơn vị", "Loại"]).expect("read");
    assert_eq!(table.rows, vec![(2, rows[0].clone())]);

    // And the other way round, with columns in another order.
    let bytes = write_table("S", None, &["Loại", "Tên đơn vị", "Ghi chú"], &[]).expect("write");
    let table = read_table(&bytes, &Limits::default(), &["ten don vi", "loai"]).expect("read");
    assert_eq!(table.columns, vec![Some(1), Some(0)]);
    assert_eq!(table.extra_columns, vec!["Ghi chú".to_string()]);
    assert!(table.rows.is_empty());
}

#[test]
fn missing_columns_are_listed_with_their_vietnamese_names() {
    let bytes = write_table("S", Some("Tiêu đề"), &["STT", "Mã"], &[vec!["1".into()]]).expect("write");
    let err =
        read_table_with_optional(&bytes, &Limits::default(), &["Tên đơn vị", "Mã", "Loại"], &["Ghi chú"]).unwrap_err();
    assert_eq!(err, XlsxError::MissingColumns(vec!["Tên đơn vị".into(), "Loại".into()]));
    assert_eq!(err.message_vi(), "Thiếu cột: Tên đơn vị, Loại. Hãy thêm các cột này vào dòng tiêu đề.");
}

#[test]
fn zip_bomb_is_refused_before_decompression() {
    // One entry of 100 MB of zeros, deflated to about 100 KB.
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("[Content_Types].xml", options).unwrap();
    zip.write_all(b"<Types/>").unwrap();
    zip.start_file("xl/workbook.xml", options).unwrap();
    let chunk = vec![0u8; 1024 * 1024];
    for _ in 0..100 {
        zip.write_all(&chunk).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    assert!(bytes.len() < Limits::default().max_bytes);

    let started = Instant::now();
    let limits = Limits::default();
    assert_eq!(check_container(&bytes, &limits), Err(XlsxError::ZipBomb));
    assert_eq!(read_table(&bytes, &limits, &["A"]), Err(XlsxError::ZipBomb));
    // Inflating 100 MB would take far longer than walking the directory.
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn non_zip_is_not_xlsx() {
    let limits = Limits::default();
    for bytes in [&b""[..], b"STT,Ten don vi\n1,So Noi vu\n", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"] {
        assert_eq!(read_table(bytes, &limits, &["STT"]), Err(XlsxError::NotXlsx));
    }
    // Zip magic but garbage afterwards.
    assert_eq!(read_sheet(b"PK\x03\x04garbage", &limits, None), Err(XlsxError::NotXlsx));
    assert!(XlsxError::NotXlsx.message_vi().contains(".xlsx"));
}

#[test]
fn zip_without_workbook_is_not_xlsx() {
    let bytes = zip_of(&[("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")]);
    assert_eq!(read_sheet(&bytes, &Limits::default(), None), Err(XlsxError::NotXlsx));
    let bytes = zip_of(&[("xl/workbook.xml", b"<workbook/>")]);
    assert_eq!(check_container(&bytes, &Limits::default()), Err(XlsxError::NotXlsx));
}

#[test]
fn too_large_file_is_refused() {
    let bytes = write_table("S", None, &HEADERS, &sample_rows()).expect("write");
    let limits = Limits { max_bytes: 1024, ..Limits::default() };
    assert!(bytes.len() > 1024);
    let err = read_table(&bytes, &limits, &HEADERS).unwrap_err();
    assert_eq!(err, XlsxError::TooLarge { limit: 1024 });
    assert!(err.message_vi().starts_with("Tệp quá lớn (giới hạn 1 KB)."));

    let limits = Limits { max_uncompressed: 4096, ..Limits::default() };
    assert_eq!(check_container(&bytes, &limits), Err(XlsxError::ContentTooLarge { limit: 4096 }));
}

#[test]
fn too_many_entries_are_refused() {
    let names: Vec<String> = (0..201).map(|i| format!("xl/media/image{i}.png")).collect();
    let mut entries: Vec<(&str, &[u8])> =
        vec![("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>")];
    entries.extend(names.iter().map(|n| (n.as_str(), &b"x"[..])));
    let bytes = zip_of(&entries);
    assert_eq!(check_container(&bytes, &Limits::default()), Err(XlsxError::TooManyEntries { limit: 200 }));
}

#[test]
fn too_many_rows_and_columns_are_refused() {
    let rows: Vec<Vec<String>> = (0..30).map(|i| vec![i.to_string()]).collect();
    let bytes = write_table("S", None, &["STT"], &rows).expect("write");
    let limits = Limits { max_rows: 10, ..Limits::default() };
    let err = read_table(&bytes, &limits, &["STT"]).unwrap_err();
    assert_eq!(err, XlsxError::TooManyRows { limit: 10 });
    assert!(err.message_vi().contains("tối đa 10 dòng"));

    let headers: Vec<String> = (0..8).map(|i| format!("Cột {i}")).collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let bytes = write_table("S", None, &headers, &[]).expect("write");
    let limits = Limits { max_cols: 5, ..Limits::default() };
    assert_eq!(read_sheet(&bytes, &limits, None), Err(XlsxError::TooManyColumns { limit: 5 }));
}

#[test]
fn sheets_are_found_by_name() {
    let mut workbook = Workbook::new();
    workbook.add_worksheet().set_name("Hướng dẫn").unwrap();
    let data = workbook.add_worksheet();
    data.set_name("Dữ liệu").unwrap();
    data.write_string(0, 0, "Tên").unwrap();
    data.write_string(1, 0, "Sở Y tế").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    let limits = Limits::default();

    assert_eq!(sheet_names(&bytes, &limits).unwrap(), vec!["Hướng dẫn".to_string(), "Dữ liệu".to_string()]);
    assert!(read_sheet(&bytes, &limits, None).unwrap().rows.is_empty());
    let sheet = read_sheet(&bytes, &limits, Some("du lieu")).unwrap();
    assert_eq!(sheet.name, "Dữ liệu");
    assert_eq!(sheet.cell(1, 0).as_text(), "Sở Y tế");
    assert_eq!(read_sheet(&bytes, &limits, Some("Khác")), Err(XlsxError::SheetNotFound("Khác".into())));
    // The first sheet is empty.
    assert_eq!(read_table(&bytes, &limits, &["Tên"]), Err(XlsxError::Empty));
}

#[path = "export/table_xlsx.rs"]
mod table_xlsx;

#[path = "export/results.rs"]
mod results;
