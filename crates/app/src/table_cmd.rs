//! `thidua table export|import`: a group-year's scoring table as an officer's
//! "bảng chấm điểm" in Excel, and back into the group-year's draft. Both run
//! as a named user through the web's operations, so the policy decides as on
//! the web (reading needs the group in view; importing needs the head or
//! deputy unit or the secretariat) and the import is in the audit log.

use std::io::Write;
use std::path::Path;

use thidua_core::scoring::Line;
use thidua_db::scoring::TableRow;
use thidua_export::{TableImportError, export_problems, table_from_xlsx, table_to_xlsx};
use thidua_web::auth::Ctx;
use thidua_web::ops::import;
use thidua_web::ops::tables::{self, TableOverview};
use thidua_web::view::date_vn;
use thidua_web::{AppError, AppState};

use crate::Failure;
use crate::commands::open_migrated;
use crate::config::Settings;
use crate::transfer::read_file;
use crate::users::cli_ctx;

/// `thidua table export`: writes one version of the group-year's table to a new `.xlsx`.
pub async fn export(
    s: &Settings,
    group_id: i64,
    year: i32,
    out: &Path,
    version: Option<i32>,
    as_user: &str,
) -> Result<u8, Failure> {
    if out.exists() {
        return Err(Failure::msg(format!("Tệp \"{}\" đã có; hãy chọn một tên tệp khác.", out.display())));
    }
    let db = open_migrated(&s.database_url).await?;
    let res = async {
        let ctx = cli_ctx(&db, as_user).await?;
        let st = AppState::new(db.clone(), s.web_config());
        let ov = overview(&st, &ctx, group_id, year).await?;
        let chosen = choose(&ov, version)?;
        let status = status_of(&ov, &chosen);
        let (row, table, group, _, _) = tables::get_version(&st, &ctx, chosen.id)
            .await
            .map_err(|e| if matches!(e, AppError::NotFound) { not_found(group_id) } else { Failure::from(e) })?;
        Ok::<_, Failure>((row, table, group, status))
    }
    .await;
    db.close().await;
    let (row, table, group, status) = res?;

    let problems = export_problems(&table);
    if !problems.is_empty() {
        let mut lines = vec![format!(
            "Không xuất được phiên bản {} của bảng chấm điểm năm {year} ({}): khi đọc lại tệp, phần mềm xếp các dòng theo mã \
             nên bảng này sẽ không được đọc lại đúng. Cần sửa:",
            row.version, group.name
        )];
        lines.extend(problems.iter().map(|p| format!("- {p}")));
        lines.push("Hãy sửa mã các dòng trên trong trình soạn bảng điểm trên web rồi xuất lại.".into());
        return Err(Failure { lines, code: 1 });
    }
    let title = format!("Bảng chấm điểm thi đua năm {year} — {} (phiên bản {})", group.name, row.version);
    let bytes = table_to_xlsx(&title, &table)
        .map_err(|e| Failure::msg(format!("Không tạo được tệp Excel: {}", e.message_vi())))?;
    write_new(out, &bytes)?;
    println!(
        "Đã xuất bảng chấm điểm năm {year} của \"{}\", phiên bản {} ({status}), ra \"{}\" ({} KB).",
        group.name,
        row.version,
        out.display(),
        bytes.len().div_ceil(1024)
    );
    Ok(0)
}

/// `thidua table import`: replaces the group-year's draft with the table read from the file.
pub async fn import(s: &Settings, group_id: i64, year: i32, file: &Path, as_user: &str) -> Result<u8, Failure> {
    let bytes = read_file(file)?;
    let db = open_migrated(&s.database_url).await?;
    let res = async {
        let ctx = cli_ctx(&db, as_user).await?;
        let st = AppState::new(db.clone(), s.web_config());
        let ov = overview(&st, &ctx, group_id, year).await?;
        let Some(draft) = ov.draft.clone() else {
            return Err(no_draft(&ov));
        };
        let table = table_from_xlsx(&bytes, &import::limits()).map_err(|e| bad_file(file, &e))?;
        // a head unit importing the draft unchanged changes nothing; anyone else is refused by the operation
        let unchanged = ov.may_lead && tables::parse_content(&draft.content)? == table;
        if !unchanged {
            tables::replace_draft(&st, &ctx, draft.id, &table).await?;
        }
        Ok::<_, Failure>((ov.group, draft, table, unchanged))
    }
    .await;
    db.close().await;
    let (group, draft, table, unchanged) = res?;
    if unchanged {
        println!(
            "Tệp \"{}\" giống hệt phiên bản dự thảo {} của bảng chấm điểm năm {year} ({}); không có thay đổi nào cần lưu.",
            file.display(),
            draft.version,
            group.name
        );
        return Ok(0);
    }
    let (sections, criteria) = (table.lines.len(), table.lines.iter().map(count).sum::<usize>() - table.lines.len());
    println!(
        "Đã nhập \"{}\" vào phiên bản dự thảo {} của bảng chấm điểm năm {year} ({}): {sections} phần, {criteria} tiêu chí, \
         {} mục điểm thưởng, {} mục điểm trừ, {} mức xếp loại.",
        file.display(),
        draft.version,
        group.name,
        table.bonus.len(),
        table.penalties.len(),
        table.bands.len()
    );
    println!("Phiên bản dự thảo chỉ có hiệu lực sau khi cụm, khối thông qua (trên trang Bảng điểm của cụm, khối).");
    Ok(0)
}

/// The group-year's versions, as the table page shows them; a missing group is named.
async fn overview(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> Result<TableOverview, Failure> {
    tables::overview(st, ctx, group_id, year).await.map_err(|e| match e {
        AppError::NotFound => not_found(group_id),
        other => other.into(),
    })
}

fn not_found(group_id: i64) -> Failure {
    Failure::msg(format!("Không có cụm, khối thi đua mã số {group_id}."))
}

/// The asked version; by default the one in force today, else the latest.
fn choose(ov: &TableOverview, version: Option<i32>) -> Result<TableRow, Failure> {
    let name = &ov.group.name;
    let year = ov.year;
    if ov.versions.is_empty() {
        return Err(Failure::msg(format!("Cụm, khối \"{name}\" chưa có bảng chấm điểm năm {year}.")));
    }
    match version {
        Some(n) => ov.versions.iter().find(|v| v.version == n).cloned().ok_or_else(|| {
            let have: Vec<String> = ov.versions.iter().map(|v| v.version.to_string()).collect();
            Failure::msg(format!(
                "Bảng chấm điểm năm {year} của \"{name}\" không có phiên bản {n}; các phiên bản hiện có: {}.",
                have.join(", ")
            ))
        }),
        None => Ok(ov.in_force.clone().or_else(|| ov.versions.last().cloned()).expect("a version")),
    }
}

/// "đang có hiệu lực từ 15/07/2026", "dự thảo, chưa thông qua"…
fn status_of(ov: &TableOverview, row: &TableRow) -> String {
    if row.adopted_at.is_none() {
        "dự thảo, chưa thông qua".into()
    } else if ov.in_force.as_ref().is_some_and(|f| f.id == row.id) {
        format!("đang có hiệu lực từ {}", date_vn(&row.effective_from))
    } else {
        format!("đã thông qua, hiệu lực từ {}", date_vn(&row.effective_from))
    }
}

/// Why there is nothing to import into, and what to do.
fn no_draft(ov: &TableOverview) -> Failure {
    let (name, year) = (&ov.group.name, ov.year);
    if ov.versions.is_empty() {
        return Failure::msg(format!(
            "Cụm, khối \"{name}\" chưa có bảng chấm điểm năm {year} nên chưa có phiên bản dự thảo để nhập. Hãy bắt đầu \
             bảng chấm điểm trên trang Bảng điểm của cụm, khối (từ bảng điểm mẫu, bảng năm trước hoặc bảng trống) rồi nhập lại."
        ));
    }
    Failure::msg(format!(
        "Bảng chấm điểm năm {year} của \"{name}\" không có phiên bản dự thảo: các phiên bản đã thông qua không sửa trực tiếp \
         được. Hãy tạo phiên bản mới (ghi lý do thay đổi) trên trang Bảng điểm của cụm, khối rồi nhập lại; tệp sẽ thay nội \
         dung của phiên bản dự thảo đó."
    ))
}

/// The file's problems, one a line, with their rows.
fn bad_file(file: &Path, e: &TableImportError) -> Failure {
    let mut lines = vec![format!("Tệp \"{}\":", file.display())];
    lines.extend(e.message_vi().lines().map(str::to_string));
    Failure { lines, code: 1 }
}

/// Lines in a tree, the root included.
fn count(l: &Line) -> usize {
    1 + l.children.iter().map(count).sum::<usize>()
}

/// Writes a file that must not exist yet (never overwrites one made meanwhile).
fn write_new(out: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::msg(format!("Tệp \"{}\" đã có; hãy chọn một tên tệp khác.", out.display()))
        } else {
            Failure::msg(format!("Không ghi được tệp \"{}\": {e}.", out.display()))
        }
    };
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(out).map_err(fail)?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| {
        let _ = std::fs::remove_file(out);
        fail(e)
    })
}
