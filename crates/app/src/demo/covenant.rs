//! The demo's covenants: every Cao Bằng block signs its 2026 covenant on the
//! adopted table in force, with a target for every member on every target
//! criterion. A few units have not signed: the head of the party block (so
//! that its demo leader can sign in the browser), and two others, one of
//! which the secretariat has penalized.
//!
//! The text, the targets and the penalty go through the same operations as
//! the pages (`thidua_web::ops::covenant`), each in its own transaction, so it
//! runs after the registry's transaction is committed. The signatures are
//! written directly ([`sign_members`], one transaction per group: signing
//! through the operation, one transaction and two reloads per unit, took most
//! of the demo's loading time), exactly as the operation records them: the
//! SHA-256 of the signed document, and the document in the audit entry
//! `covenant.sign`. The leaders who sign are accounts that cannot log in
//! (password hash "!"), one per signing unit, except where the unit already
//! has a demo leader account.

use serde_json::json;
use thidua_core::policy::{Actor, Role};
use thidua_core::scoring::{Method, ScoringTable};
use thidua_db::{Db, Tx, audit, org as q, scoring as s, users};
use thidua_web::auth::Ctx;
use thidua_web::files::BlobKey;
use thidua_web::ops::covenant::{
    self as ops, CovenantInput, DOCUMENT_FORMAT, PenaltyInput, SignedDocument, SignedTarget, TargetInput, TargetsInput,
};
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
    Ok(Ctx { user, actor, grants, session_hash: "0".repeat(64), csrf: String::new(), meta: meta(), head: None })
}

/// The account of a unit role (`lanhdao.<slug>` for the leader,
/// `canbo.<slug>` for the emulation officer): the demo account when there is
/// one, else an account that cannot log in, created with its grant. Returns
/// its id and full name.
pub(super) async fn unit_account(
    tx: &mut Tx,
    role: Role,
    unit_key: &'static str,
    unit_id: i64,
    authority_id: i64,
) -> Result<(i64, String), AppError> {
    let (prefix, title) = match role {
        Role::UnitLeader => ("lanhdao", "Lãnh đạo"),
        _ => ("canbo", "Cán bộ thi đua"),
    };
    let username = format!("{prefix}.{}", slug(unit_key));
    if let Some(u) = users::user_by_name(tx, &username).await? {
        let grants = users::grants_of(tx, u.id).await?;
        if !grants.iter().any(|g| g.role == role.code() && g.unit_id == Some(unit_id)) {
            return Err(AppError::Internal(format!("demo data: {username} is not the {} of {unit_key}", role.code())));
        }
        return Ok((u.id, u.full_name));
    }
    let full_name = format!("{title} {}", unit_name(unit_key));
    let id = users::insert_user(tx, &username, &full_name, "!").await?;
    let row = users::user(tx, id).await?.ok_or_else(|| missing("user", &username))?;
    let mut e = entry("user.create", "user", id, None);
    e.after = Some(json!(row));
    e.reason = Some("Tài khoản của dữ liệu mẫu (không đăng nhập được).".into());
    audit::append(tx, e).await?;
    let gid = users::insert_grant(tx, id, role, None, Some(unit_id)).await?;
    let grant = users::grants_of(tx, id).await?.into_iter().find(|g| g.id == gid);
    let mut e = entry("user.grant", "user", id, Some(authority_id));
    e.after = Some(json!(grant));
    audit::append(tx, e).await?;
    Ok((id, full_name))
}

/// Each unit's leader signs the group-year's covenant (its stored text, table
/// version and targets), as `ops::covenant::sign` records it. Returns the
/// (unit, leader) pairs.
pub(super) async fn sign_members(
    tx: &mut Tx,
    group_id: i64,
    year: i32,
    authority_id: i64,
    units: &[(&'static str, i64)],
) -> Result<Vec<(i64, i64)>, AppError> {
    let gy = q::find_group_year(tx, group_id, year).await?.ok_or_else(|| missing("group year", &year.to_string()))?;
    let c = s::covenant(tx, gy).await?.ok_or_else(|| missing("covenant of group", &group_id.to_string()))?;
    let table_id = c.table_id.ok_or_else(|| missing("table of covenant", &c.id.to_string()))?;
    let row = s::table(tx, table_id).await?.ok_or_else(|| missing("table", &table_id.to_string()))?;
    let table: ScoringTable = serde_json::from_str(&row.content).map_err(|e| AppError::Internal(e.to_string()))?;
    let lines: Vec<String> = table
        .walk()
        .into_iter()
        .filter(|l| l.is_leaf() && matches!(l.method, Some(Method::Target)))
        .map(|l| l.code.clone())
        .collect();
    let targets = s::targets(tx, c.id).await?;
    let table_sha256 = BlobKey::of(row.content.as_bytes()).as_str().to_string();
    let mut out = Vec::new();
    for &(key, unit_id) in units {
        let (leader, leader_name) = unit_account(tx, Role::UnitLeader, key, unit_id, authority_id).await?;
        let mut signed: Vec<SignedTarget> = targets
            .iter()
            .filter(|t| t.unit_id == unit_id && lines.contains(&t.line_code))
            .map(|t| SignedTarget { line_code: t.line_code.clone(), target: t.target })
            .collect();
        signed.sort_by(|a, b| a.line_code.cmp(&b.line_code));
        let doc = SignedDocument {
            format: DOCUMENT_FORMAT.into(),
            group_id,
            year,
            unit_id,
            text: c.text.clone(),
            table_id,
            table_version: row.version,
            table_sha256: table_sha256.clone(),
            targets: signed,
        };
        let hash = doc.hash();
        s::insert_signature(tx, c.id, unit_id, leader, &leader_name, &hash).await?;
        let mut e = entry("covenant.sign", "covenant_signature", 0, Some(authority_id));
        e.object_id = format!("{}/{unit_id}", c.id);
        e.after = Some(json!({
            "covenant_id": c.id,
            "unit_id": unit_id,
            "unit_name": unit_name(key),
            "signed_by": leader,
            "signer_name": leader_name,
            "content_hash": hash,
            "document": doc,
        }));
        audit::append(tx, e).await?;
        out.push((unit_id, leader));
    }
    Ok(out)
}

/// The covenant's text of a group for a year ("khối" or "cụm" as the group is).
pub(super) fn covenant_text(group: &GroupDef, year: i32) -> String {
    let kind = if group.kind == "cluster" { "cụm" } else { "khối" };
    format!(
        "Thực hiện Luật Thi đua, khen thưởng năm 2022 và Quy chế hoạt động của {kind}, các cơ quan, đơn vị thành viên \
         {name} cùng giao ước thi đua năm {year} như sau:\n\n\
         1. Tổ chức quán triệt, triển khai thực hiện nghiêm túc các chủ trương của Đảng, chính sách, pháp luật của \
         Nhà nước; phấn đấu hoàn thành xuất sắc các chỉ tiêu, nhiệm vụ chính trị được giao trong năm {year}, với \
         chỉ tiêu cụ thể của từng đơn vị theo bảng chỉ tiêu kèm theo giao ước này.\n\
         2. Đẩy mạnh các phong trào thi đua yêu nước, gắn với việc học tập và làm theo tư tưởng, đạo đức, phong cách \
         Hồ Chí Minh; phát hiện, bồi dưỡng, nhân rộng các điển hình tiên tiến.\n\
         3. Thực hiện tốt công tác cải cách hành chính, chuyển đổi số, thực hành tiết kiệm, chống lãng phí; xây dựng \
         tổ chức đảng, chính quyền, đoàn thể trong sạch, vững mạnh.\n\
         4. Thực hiện đúng chế độ thông tin, báo cáo; tham gia đầy đủ các hoạt động của {kind}; tự chấm điểm và chấm \
         điểm chéo theo bảng chấm điểm đã được {kind} thông qua.\n\n\
         Giao ước được ký kết tại Hội nghị ký kết giao ước thi đua năm {year} của {name}; các đơn vị thành viên cam \
         kết thực hiện.",
        name = group.name,
    )
}

/// A plausible target of criterion I.1 for the i-th member (units of "chỉ tiêu").
pub(super) fn target_for(i: usize) -> String {
    (100 + (i * 37 % 9) * 5).to_string()
}

/// Loads the covenants of the blocks listed in `tables` (group key, in-force adopted table id).
pub async fn load_covenants(db: &Db, ids: &Ids, tables: &[(&'static str, i64)]) -> Result<CovenantsLoaded, AppError> {
    let st = AppState::new(db.clone(), Default::default());
    let secretariat = ctx_of(db, SECRETARIAT).await?;
    let cb = *ids.authorities.get("cb").ok_or_else(|| missing("authority", "cb"))?;
    let mut out = CovenantsLoaded::default();
    for &(key, table_id) in tables {
        let g = GROUPS.iter().find(|g| g.key == key).ok_or_else(|| missing("group", key))?;
        let gy = g.years.iter().find(|y| y.year == DEMO_YEAR).ok_or_else(|| missing("group year of", key))?;
        let gid = *ids.groups.get(key).ok_or_else(|| missing("group", key))?;
        let input = CovenantInput { text: covenant_text(g, DEMO_YEAR), table_id: Some(table_id) };
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

        let mut signing = Vec::new();
        for &(m, unit_id) in &members {
            if !UNSIGNED.contains(&(key, m)) {
                signing.push((m, unit_id));
                continue;
            }
            out.unsigned += 1;
            if m == PENALIZED {
                let p = PenaltyInput {
                    unit_id,
                    points: PENALTY_POINTS.into(),
                    reason: format!(
                        "Không ký giao ước thi đua năm {DEMO_YEAR} tại Hội nghị ký kết của khối, đã được nhắc bằng văn \
                         bản số 12/KTĐ-TB (dữ liệu mẫu)."
                    ),
                };
                ops::penalize(&st, &secretariat, gid, DEMO_YEAR, &p).await?;
                out.penalties += 1;
            }
        }
        let mut tx = db.begin().await?;
        out.signatures += sign_members(&mut tx, gid, DEMO_YEAR, cb, &signing).await?.len();
        tx.commit().await?;
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
