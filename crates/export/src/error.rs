//! Errors of Excel import and export, with Vietnamese messages for users.

/// What went wrong while reading or writing an `.xlsx` file.
///
/// `Display` gives a short technical text for logs; [`XlsxError::message_vi`]
/// gives the Vietnamese sentence to show to the user, saying what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XlsxError {
    /// The uploaded file is bigger than `limit` bytes.
    #[error("file larger than {limit} bytes")]
    TooLarge {
        /// Maximum accepted size in bytes.
        limit: usize,
    },
    /// The declared uncompressed content is bigger than `limit` bytes.
    #[error("uncompressed content larger than {limit} bytes")]
    ContentTooLarge {
        /// Maximum accepted uncompressed size in bytes.
        limit: u64,
    },
    /// Not a zip archive, or a zip that is not an Excel workbook.
    #[error("not an .xlsx file")]
    NotXlsx,
    /// An entry has an absurd compression ratio (decompression bomb).
    #[error("suspicious compression ratio (zip bomb)")]
    ZipBomb,
    /// The archive has more than `limit` entries.
    #[error("more than {limit} zip entries")]
    TooManyEntries {
        /// Maximum accepted number of entries.
        limit: usize,
    },
    /// The sheet has data beyond row `limit`.
    #[error("more than {limit} rows")]
    TooManyRows {
        /// Maximum accepted number of rows.
        limit: usize,
    },
    /// The sheet has data beyond column `limit`.
    #[error("more than {limit} columns")]
    TooManyColumns {
        /// Maximum accepted number of columns.
        limit: usize,
    },
    /// Required columns (their expected Vietnamese names) are absent.
    #[error("missing columns: {}", .0.join(", "))]
    MissingColumns(Vec<String>),
    /// Expected columns that appear more than once in the header row.
    #[error("duplicate columns: {}", .0.join(", "))]
    DuplicateColumns(Vec<String>),
    /// The requested sheet does not exist.
    #[error("sheet not found: {0}")]
    SheetNotFound(String),
    /// The workbook has no worksheet or the sheet has no data.
    #[error("no data")]
    Empty,
    /// The file could not be parsed (corrupt or unsupported content).
    #[error("cannot read workbook: {0}")]
    Read(String),
    /// The workbook could not be produced.
    #[error("cannot write workbook: {0}")]
    Write(String),
}

impl XlsxError {
    /// A clear Vietnamese message for the user, saying what to fix.
    pub fn message_vi(&self) -> String {
        match self {
            XlsxError::TooLarge { limit } => format!(
                "Tệp quá lớn (giới hạn {}). Hãy chia nhỏ tệp hoặc xoá các trang tính không cần thiết.",
                format_size(*limit as u64)
            ),
            XlsxError::ContentTooLarge { limit } => format!(
                "Nội dung tệp sau khi giải nén quá lớn (giới hạn {}). Hãy xoá các trang tính, hình ảnh \
                 hoặc định dạng không cần thiết rồi tải lên lại.",
                format_size(*limit)
            ),
            XlsxError::NotXlsx => "Tệp không phải định dạng Excel .xlsx. Hãy lưu lại tệp bằng Excel với \
                 định dạng .xlsx rồi tải lên lại."
                .to_string(),
            XlsxError::ZipBomb => "Tệp có tỷ lệ nén bất thường nên không thể đọc an toàn. Hãy mở tệp bằng \
                 Excel, lưu lại với định dạng .xlsx rồi tải lên lại."
                .to_string(),
            XlsxError::TooManyEntries { limit } => format!(
                "Tệp chứa quá nhiều thành phần bên trong (giới hạn {}). Hãy xoá các trang tính, hình ảnh \
                 không cần thiết rồi lưu lại tệp.",
                format_count(*limit as u64)
            ),
            XlsxError::TooManyRows { limit } => format!(
                "Trang tính có quá nhiều dòng (tối đa {} dòng). Hãy chia dữ liệu thành nhiều tệp nhỏ hơn.",
                format_count(*limit as u64)
            ),
            XlsxError::TooManyColumns { limit } => format!(
                "Trang tính có quá nhiều cột (tối đa {} cột). Hãy xoá các cột không cần thiết.",
                format_count(*limit as u64)
            ),
            XlsxError::MissingColumns(cols) => {
                let these = if cols.len() > 1 { "các cột này" } else { "cột này" };
                format!("Thiếu cột: {}. Hãy thêm {these} vào dòng tiêu đề.", cols.join(", "))
            }
            XlsxError::DuplicateColumns(cols) => format!(
                "Cột bị trùng ở dòng tiêu đề: {}. Hãy xoá hoặc đổi tên cột trùng để mỗi cột chỉ xuất hiện \
                 một lần.",
                cols.join(", ")
            ),
            XlsxError::SheetNotFound(name) => {
                format!("Không tìm thấy trang tính “{name}” trong tệp. Hãy kiểm tra lại tên trang tính.")
            }
            XlsxError::Empty => "Tệp không có dữ liệu. Hãy kiểm tra trang tính đầu tiên có dòng tiêu đề \
                 và các dòng dữ liệu."
                .to_string(),
            XlsxError::Read(_) => "Không đọc được nội dung tệp Excel (tệp có thể bị hỏng). Hãy mở tệp bằng \
                 Excel, lưu lại với định dạng .xlsx rồi tải lên lại."
                .to_string(),
            XlsxError::Write(_) => "Không tạo được tệp Excel. Hãy thử lại; nếu vẫn lỗi, hãy báo cho quản \
                 trị hệ thống."
                .to_string(),
        }
    }
}

/// Formats a count with Vietnamese thousands separators: `20000` → `20.000`.
fn format_count(n: u64) -> String {
    thidua_core::text::group_thousands(n)
}

/// Formats a byte size in MB (MiB), with a decimal comma when needed: `5 MB`, `2,5 MB`.
fn format_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB {
        let tenths = (bytes * 10 + MIB / 2) / MIB;
        if tenths.is_multiple_of(10) {
            format!("{} MB", format_count(tenths / 10))
        } else {
            format!("{},{} MB", format_count(tenths / 10), tenths % 10)
        }
    } else if bytes >= 1024 {
        format!("{} KB", format_count(bytes.div_ceil(1024)))
    } else {
        format!("{} byte", bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sizes() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(200), "200");
        assert_eq!(format_count(20_000), "20.000");
        assert_eq!(format_count(1_234_567), "1.234.567");
        assert_eq!(format_size(5 * 1024 * 1024), "5 MB");
        assert_eq!(format_size(5 * 1024 * 1024 / 2), "2,5 MB");
        assert_eq!(format_size(2048), "2 KB");
    }

    #[test]
    fn messages() {
        assert_eq!(
            XlsxError::TooLarge { limit: 5 * 1024 * 1024 }.message_vi(),
            "Tệp quá lớn (giới hạn 5 MB). Hãy chia nhỏ tệp hoặc xoá các trang tính không cần thiết."
        );
        assert_eq!(
            XlsxError::MissingColumns(vec!["Tên đơn vị".into(), "Loại".into()]).message_vi(),
            "Thiếu cột: Tên đơn vị, Loại. Hãy thêm các cột này vào dòng tiêu đề."
        );
        assert_eq!(
            XlsxError::NotXlsx.message_vi(),
            "Tệp không phải định dạng Excel .xlsx. Hãy lưu lại tệp bằng Excel với định dạng .xlsx rồi tải lên lại."
        );
    }
}
