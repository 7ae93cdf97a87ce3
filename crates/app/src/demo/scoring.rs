//! The demo's scoring tables: Cao Bằng publishes the sample table of
//! DOMAIN §7 as its template; every block of provincial bodies adopts it
//! for 2026, and one block has adjusted it at the mid-year review.

use serde_json::json;
use thidua_core::scoring::sample_table;
use thidua_db::{Tx, audit, org as q, scoring as s};
use thidua_web::AppError;

use super::data::GROUPS;
use super::{DEMO_YEAR, Ids, entry, missing};

/// The template and the blocks' 2026 tables. Returns the ids of the adopted
/// versions in force, by group key.
pub async fn load_tables(tx: &mut Tx, ids: &Ids, admin: i64) -> Result<Vec<(&'static str, i64)>, AppError> {
    let cb = *ids.authorities.get("cb").ok_or_else(|| missing("authority", "cb"))?;
    let content = serde_json::to_string(&sample_table()).map_err(|e| AppError::Internal(e.to_string()))?;
    let tpl = s::insert_template(
        tx,
        cb,
        "Bảng chấm điểm thi đua các khối thi đua của tỉnh năm 2026",
        "Quyết định số 25/QĐ-HĐTĐKT ngày 15/01/2026 của Hội đồng Thi đua - Khen thưởng tỉnh (dữ liệu mẫu)",
        &content,
        Some(admin),
    )
    .await?;
    s::publish_template(tx, tpl, "2026-01-15").await?;
    let mut e = entry("template.publish", "template", tpl, Some(cb));
    e.after = Some(json!({ "published_on": "2026-01-15" }));
    audit::append(tx, e).await?;

    let mut adopted = Vec::new();
    for g in GROUPS.iter().filter(|g| g.authority == "cb" && g.kind == "block") {
        if !g.years.iter().any(|y| y.year == DEMO_YEAR) {
            continue;
        }
        let gid = *ids.groups.get(g.key).ok_or_else(|| missing("group", g.key))?;
        let gy = q::group_year(tx, gid, DEMO_YEAR).await?;
        let v1 = s::insert_version(tx, gy, 1, &content, &format!("template:{tpl}"), "", Some(admin)).await?;
        s::adopt(tx, v1, admin, "2026-02-01", "Hội nghị ký kết giao ước thi đua năm 2026 thống nhất thông qua.")
            .await?;
        let mut e = entry("table.adopt", "table", v1, Some(cb));
        e.after = Some(json!({ "version": 1, "effective_from": "2026-02-01" }));
        audit::append(tx, e).await?;
        let mut in_force = v1;
        if adopted.is_empty() {
            // the first block adjusted its table at the mid-year review
            let mut t = sample_table();
            if let Some(l) = t.lines.iter_mut().flat_map(|l| l.children.iter_mut()).find(|l| l.code == "II.3") {
                l.guidance =
                    "Từ 6 tháng cuối năm: điển hình phải được cơ quan báo chí của tỉnh giới thiệu mới được tính."
                        .into();
            }
            let c2 = serde_json::to_string(&t).map_err(|e| AppError::Internal(e.to_string()))?;
            let v2 = s::insert_version(tx, gy, 2, &c2, "version:1", "", Some(admin)).await?;
            s::adopt(tx, v2, admin, "2026-07-15", "Theo kết luận Hội nghị sơ kết 6 tháng đầu năm 2026 của khối.")
                .await?;
            let mut e = entry("table.adopt", "table", v2, Some(cb));
            e.after = Some(json!({ "version": 2, "effective_from": "2026-07-15" }));
            audit::append(tx, e).await?;
            in_force = v2;
        }
        adopted.push((g.key, in_force));
    }
    Ok(adopted)
}
