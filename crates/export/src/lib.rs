//! Excel import and export for thidua.
//!
//! - [`xlsx_in`]: safe reading of uploaded `.xlsx` files (size, zip-bomb and
//!   limit checks before parsing), into cells or into tables matched by
//!   Vietnamese column names.
//! - [`xlsx_out`]: writing a table to a byte-stable `.xlsx`.
//! - [`table_xlsx`]: the scoring table as an officer's "bảng chấm điểm" and back.
//!
//! Errors carry a Vietnamese message for users: [`XlsxError::message_vi`].

mod error;
mod fold;
pub mod results_xlsx;
pub mod table_xlsx;
pub mod xlsx_in;
pub mod xlsx_out;

pub use error::XlsxError;
pub use fold::fold_vi;
pub use table_xlsx::{TABLE_SHEET_NAME, TableImportError, export_problems, table_from_xlsx, table_to_xlsx};
pub use xlsx_in::{
    Cell, Limits, MergedRegion, Sheet, Table, check_container, column_letter, read_sheet, read_table,
    read_table_with_optional, sheet_names, table_from_sheet,
};
pub use xlsx_out::write_table;
