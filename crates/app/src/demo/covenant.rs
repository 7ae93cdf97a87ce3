//! The demo's covenants: every Cao Bằng block signs its 2026 covenant on the
//! adopted table in force, with a target for every member on every target
//! criterion. A few units have not signed: the head of the party block (so
//! that its demo leader can sign in the browser), and two others, one of
//! which the secretariat has penalized.
//!
//! Everything goes through the same operations as the pages
//! (`thidua_web::ops::covenant`), each in its own transaction, so it runs after
//! the registry's transaction is committed. The leaders who sign are accounts
//! that cannot log in (password hash "!"), one per signing unit, except where
//! the unit already has a demo leader account.

use std::collections::HashMap;

use serde_json::json;
use thidua_core::policy::{Actor, Role};
use thidua_db::{Db, audit, users};
use thidua_web::auth::Ctx;
use thidua_web::ops::covenant::{self as ops, CovenantInput, PenaltyInput, SignInput, TargetInput, TargetsInput};
use thidua_web::{AppError, AppState, ReqMeta};

use super::data::{GROUPS, GroupDef};
use super::{DEMO_YEAR, Ids, entry, missing, slug, unit_name};

/// The units that have not signed, by group key. The first is the head of the
/// party block, whose demo leader signs in the browser test.
pub const UNSIGNED: &[(&str, &str)] = &[
    ("cb-khoi-dang", "cb-ban-to-chuc"),
    ("cb-khoi-mttq", "cb-hoi-nan-nhan-da-cam"),
    ("cb-khoi-vhxh", "cb-tt-bao-tro"),
];
/// The unsigned unit the secretariat has penalized.
pub const PENALIZED: &str = "cb-hoi-nan-nhan-da-cam";
/// The points of that penalty.
pub const PENALTY_POINTS: &str = "8";
/// The secretariat account that writes the covenants and their targets.
const SECRETARIAT: &str = "banthuongtruc.caobang";
/// The target criterion of the sample table.
const TARGET_LINE: &str = "I.1";

/// What the covenant loader did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CovenantsLoaded {
    pub covenants: usize,
    pub signatures: usize,
    pub unsigned: usize,
    pub penalties: usize,
}

fn meta() -> ReqMeta {
    ReqMeta { request_id: "demo".into(), ip: "demo".into(), ..Default::default() }
}

/// A request context for a stored user, with the user's grants.
pub(super) async fn ctx_of(db: &Db, username: &str) -> Result<Ctx, AppError> {
    let mut tx = db.read().await?;
    let user = users::user_by_name(&mut tx, username).await?.ok_or_else(|| missing("user", username))?;
    let grants = users::grants_of(&mut tx, user.id).await?;
    tx.rollback().await?;
    let actor = Actor { user_id: user.id, grants: grants.iter().filter_map(|g| g.to_grant()).collect() };
    Ok(Ctx { user, actor, grants, session_hash: "0".repeat(64), csrf: String::new(), meta: meta() })
}

/// The leader account of a unit: the demo account when there is one, else an
/// account that cannot log in, created with its UnitLeader grant.
async fn leader_of(db: &Db, unit_key: &'static str, unit_id: i64, authority_id: i64) -> Result<Ctx, AppError> {
    let username = format!("lanhdao.{}", slug(unit_key));
    let mut tx = db.begin().await?;
    match users::user_by_name(&mut tx, &username).await? {
        Some(u) => {
            let grants = users::grants_of(&mut tx, u.id).await?;
            if !grants.iter().any(|g| g.role == Role::UnitLeader.code() && g.unit_id == Some(unit_id)) {
                return Err(AppError::Internal(format!("demo data: {username} is not the leader of {unit_key}")));
            }
            tx.rollback().await?;
        }
        None => {
            let full_name = format!("Lãnh đạo {}", unit_name(unit_key));
            let id = users::insert_user(&mut tx, &username, &full_name, "!").await?;
            let row = users::user(&mut tx, id).await?.ok_or_else(|| missing("user", &username))?;
            let mut e = entry("user.create", "user", id, None);
            e.after = Some(json!(row));
            e.reason = Some("Tài khoản người ký giao ước của dữ liệu mẫu (không đăng nhập được).".into());
            audit::append(&mut tx, e).await?;
            let gid = users::insert_grant(&mut tx, id, Role::UnitLeader, None, Some(unit_id)).await?;
            let grant = users::grants_of(&mut tx, id).await?.into_iter().find(|g| g.id == gid);
            let mut e = entry("user.grant", "user", id, Some(authority_id));
            e.after = Some(json!(grant));
            audit::append(&mut tx, e).await?;
            tx.commit().await?;
        }
    }
    ctx_of(db, &username).await
}

/// The covenant's text of a block.
fn covenant_text(group: &GroupDef) -> String {
    format!(
        "Thực hiện Luật Thi đua, khen thưởng năm 2022 và Quy chế hoạt động của khối, các cơ quan, đơn vị thành viên \
         {name} cùng giao ước thi đua năm {year} như sau:\n\n\
         1. Tổ chức quán triệt, triển khai thực hiện nghiêm túc các chủ trương của Đảng, chính sách, pháp luật của \
         Nhà nước; phấn đấu hoàn thành xuất sắc các chỉ tiêu, nhiệm vụ chính trị được giao trong năm {year}, với \
         chỉ tiêu cụ thể của từng đơn vị theo bảng chỉ tiêu kèm theo giao ước này.\n\
         2. Đẩy mạnh các phong trào thi đua yêu nước, gắn với việc học tập và làm theo tư tưởng, đạo đức, phong cách \
         Hồ Chí Minh; phát hiện, bồi dưỡng, nhân rộng các điển hình tiên tiến.\n\
         3. Thực hiện tốt công tác cải cách hành chính, chuyển đổi số, thực hành tiết kiệm, chống lãng phí; xây dựng \
         tổ chức đảng, chính quyền, đoàn thể trong sạch, vững mạnh.\n\
         4. Thực hiện đúng chế độ thông tin, báo cáo; tham gia đầy đủ các hoạt động của khối; tự chấm điểm và chấm \
         điểm chéo theo bảng chấm điểm đã được khối thông qua.\n\n\
         Giao ước được ký kết tại Hội nghị ký kết giao ước thi đua năm {year} của {name}; các đơn vị thành viên cam \
         kết thực hiện.",
        name = group.name,
        year = DEMO_YEAR
    )
}

/// A plausible target of criterion I.1 for the i-th member (units of "chỉ tiêu").
fn target_for(i: usize) -> String {
    (100 + (i * 37 % 9) * 5).to_string()
}

/// Loads the covenants of the blocks listed in `tables` (group key, in-force adopted table id).
pub async fn load_covenants(db: &Db, ids: &Ids, tables: &[(&'static str, i64)]) -> Result<CovenantsLoaded, AppError> {
    let st = AppState::new(db.clone(), Default::default());
    let secretariat = ctx_of(db, SECRETARIAT).await?;
    let cb = *ids.authorities.get("cb").ok_or_else(|| missing("authority", "cb"))?;
    let mut leaders: HashMap<&'static str, Ctx> = HashMap::new();
    let mut out = CovenantsLoaded::default();
    for &(key, table_id) in tables {
        let g = GROUPS.iter().find(|g| g.key == key).ok_or_else(|| missing("group", key))?;
        let gy = g.years.iter().find(|y| y.year == DEMO_YEAR).ok_or_else(|| missing("group year of", key))?;
        let gid = *ids.groups.get(key).ok_or_else(|| missing("group", key))?;
        let input = CovenantInput { text: covenant_text(g), table_id: Some(table_id) };
        ops::update(&st, &secretariat, gid, DEMO_YEAR, &input).await?;
        out.covenants += 1;

        let mut members = Vec::new();
        for &m in gy.members {
            members.push((m, *ids.units.get(m).ok_or_else(|| missing("unit", m))?));
        }
        let targets = members
            .iter()
            .enumerate()
            .map(|(i, &(_, unit_id))| TargetInput { unit_id, line_code: TARGET_LINE.into(), target: target_for(i) })
            .collect();
        ops::set_targets(&st, &secretariat, gid, DEMO_YEAR, &TargetsInput { targets }).await?;

        for &(m, unit_id) in &members {
            if UNSIGNED.contains(&(key, m)) {
                out.unsigned += 1;
                if m == PENALIZED {
                    let p = PenaltyInput {
                        unit_id,
                        points: PENALTY_POINTS.into(),
                        reason: format!(
                            "Không ký giao ước thi đua năm {DEMO_YEAR} tại Hội nghị ký kết của khối, đã được nhắc bằng \
                             văn bản số 12/KTĐ-TB (dữ liệu mẫu)."
                        ),
                    };
                    ops::penalize(&st, &secretariat, gid, DEMO_YEAR, &p).await?;
                    out.penalties += 1;
                }
                continue;
            }
            if !leaders.contains_key(m) {
                let leader = leader_of(db, m, unit_id, cb).await?;
                leaders.insert(m, leader);
            }
            let leader = &leaders[m];
            ops::sign(&st, leader, gid, DEMO_YEAR, &SignInput { unit_id }).await?;
            out.signatures += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unsigned_units_are_members_of_their_blocks_in_the_demo_year() {
        for (g, u) in UNSIGNED {
            let group = GROUPS.iter().find(|x| x.key == *g).unwrap();
            assert_eq!(group.kind, "block");
            let gy = group.years.iter().find(|y| y.year == DEMO_YEAR).unwrap();
            assert!(gy.members.contains(u), "{u} in {g}");
        }
        assert_eq!(Some(UNSIGNED[0].1), super::super::block_head());
        assert!(UNSIGNED.iter().skip(1).any(|(_, u)| *u == PENALIZED));
        for i in 0..20 {
            let t: i64 = target_for(i).parse().unwrap();
            assert!((100..=140).contains(&t));
        }
    }
}
