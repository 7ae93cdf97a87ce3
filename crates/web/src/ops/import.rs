//! Spreadsheet imports: see the functions below.
