//! `thidua import …` and `thidua export …`: the web's Excel import and export,
//! run as a named user (the policy decides as on the web, and the audit log
//! names that user with the request id "cli").

use std::io::Read;
use std::path::Path;

use thidua_web::AppState;
use thidua_web::ops::import::{self, ImportReport};

use crate::Failure;
use crate::cli::DataKind;
use crate::commands::open_migrated;
use crate::config::Settings;
use crate::users::cli_ctx;

pub async fn import(s: &Settings, kind: DataKind, file: &Path, as_user: &str, dry_run: bool) -> Result<u8, Failure> {
    let bytes = read_file(file)?;
    let db = open_migrated(&s.database_url).await?;
    let res = async {
        let ctx = cli_ctx(&db, as_user).await?;
        let st = AppState::new(db.clone(), s.web_config());
        let report = match kind {
            DataKind::Units => import::import_units(&st, &ctx, &bytes, dry_run).await?,
            DataKind::Memberships => import::import_memberships(&st, &ctx, &bytes, dry_run).await?,
        };
        Ok::<_, Failure>(report)
    }
    .await;
    db.close().await;
    let report = res?;
    print_report(&report);
    Ok(if report.errors.is_empty() { 0 } else { 1 })
}

/// Reads the workbook, refusing a file larger than the import accepts before reading it whole.
pub(crate) fn read_file(file: &Path) -> Result<Vec<u8>, Failure> {
    let f = std::fs::File::open(file)
        .map_err(|e| Failure::msg(format!("Không mở được tệp \"{}\": {e}.", file.display())))?;
    let mut bytes = Vec::new();
    f.take(import::MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::msg(format!("Không đọc được tệp \"{}\": {e}.", file.display())))?;
    if bytes.len() > import::MAX_BYTES {
        return Err(Failure::msg(import::too_large_message()));
    }
    Ok(bytes)
}

fn print_report(r: &ImportReport) {
    println!("Đã đọc {} dòng dữ liệu.", r.rows);
    for c in &r.changes {
        if c.detail.is_empty() {
            println!("  Dòng {}: {} {}", c.row, c.action, c.object);
        } else {
            println!("  Dòng {}: {} {} ({})", c.row, c.action, c.object, c.detail);
        }
    }
    let mut counts = format!("Thêm mới: {}; cập nhật: {}; không đổi: {}", r.created, r.updated, r.unchanged);
    if r.groups_created > 0 {
        counts.push_str(&format!("; cụm, khối tạo mới: {}", r.groups_created));
    }
    println!("{counts}.");
    if !r.errors.is_empty() {
        for e in &r.errors {
            match &e.column {
                Some(col) => eprintln!("Dòng {}, cột \"{col}\": {}", e.row, e.message),
                None => eprintln!("Dòng {}: {}", e.row, e.message),
            }
        }
        eprintln!("Tệp có lỗi ở {} dòng; không có dữ liệu nào được lưu. Hãy sửa tệp rồi nhập lại.", r.bad_rows());
    } else if r.committed && r.changes.is_empty() && r.groups_created == 0 {
        println!("Không có thay đổi nào cần lưu.");
    } else if r.committed {
        println!("Đã lưu.");
    } else {
        println!("Chỉ kiểm tra: tệp hợp lệ, chưa lưu dữ liệu nào.");
    }
}

pub async fn export(
    s: &Settings,
    kind: DataKind,
    out: &Path,
    year: Option<i32>,
    authority_id: Option<i64>,
    as_user: &str,
) -> Result<u8, Failure> {
    if kind == DataKind::Units && year.is_some() {
        return Err(Failure::msg("Tùy chọn --year chỉ dùng khi xuất thành viên cụm, khối."));
    }
    if out.exists() {
        return Err(Failure::msg(format!("Tệp \"{}\" đã có; hãy chọn một tên tệp khác.", out.display())));
    }
    let db = open_migrated(&s.database_url).await?;
    let res = async {
        let ctx = cli_ctx(&db, as_user).await?;
        let st = AppState::new(db.clone(), s.web_config());
        let bytes = match kind {
            DataKind::Units => import::export_units(&st, &ctx, authority_id).await?,
            DataKind::Memberships => import::export_memberships(&st, &ctx, year, authority_id).await?,
        };
        Ok::<_, Failure>(bytes)
    }
    .await;
    db.close().await;
    let bytes = res?;
    std::fs::write(out, &bytes).map_err(|e| Failure::msg(format!("Không ghi được tệp \"{}\": {e}.", out.display())))?;
    println!("Đã xuất ra \"{}\" ({} KB).", out.display(), bytes.len().div_ceil(1024));
    Ok(0)
}
