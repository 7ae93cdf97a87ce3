//! The demo: loads [`data`] (authorities, units, lineage, groups and their
//! yearly memberships) and a set of demo accounts into an empty database, in
//! one transaction, with an audit entry for every object created; then the
//! scoring tables, covenants and calendar of 2026 ([`covenant`],
//! [`calendar`]) and the scoring years ([`scores`]: 2025 final and published
//! for some groups, 2026 in self-assessment).
//!
//! The 2026 dates from the self-assessment deadline on follow the day the demo
//! is loaded, so that a demo loaded on any day up to 10/03/2027 has its 2026
//! self-assessment open for at least three more weeks: see [`calendar`].

pub mod calendar;
pub mod covenant;
pub mod data;
pub mod files;
pub mod scores;
mod scoring;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde_json::json;
use thidua_core::policy::Role;
use thidua_db::org::{self as q, UnitData};
use thidua_db::{Backend, Db, Tx, audit};
use thidua_web::AppError;
use thidua_web::ops::users::{GrantInput, NewUser, add_grant_tx, create_user_tx};

use data::{AUTHORITIES, GROUPS, LINEAGE, UNITS, UnitDef};

/// Who the audit log names for the demo data.
pub const DEMO_ACTOR: &str = "(dữ liệu mẫu)";
/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "thidua-demo-2026";
/// The year the demo accounts are chosen for.
pub const DEMO_YEAR: i32 = 2026;

/// A demo account, as printed and as listed on the login page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    /// The role, in Vietnamese, with its scope.
    pub role: String,
}

/// What the loader created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    pub authorities: usize,
    pub units: usize,
    pub lineage: usize,
    pub years: usize,
    pub groups: usize,
    pub memberships: usize,
}

fn entry(action: &str, object_type: &str, object_id: i64, authority_id: Option<i64>) -> audit::Entry {
    audit::Entry {
        actor_name: DEMO_ACTOR.into(),
        action: action.into(),
        object_type: object_type.into(),
        object_id: object_id.to_string(),
        authority_id,
        request_id: "demo".into(),
        ..Default::default()
    }
}

fn missing(what: &str, key: &str) -> AppError {
    AppError::Internal(format!("demo data: unknown {what} \"{key}\""))
}

/// Loads everything into an empty, migrated database; returns the demo accounts.
/// Evidence files go to the file store next to a SQLite database file
/// ([`files_dir_of`]), as `thidua demo` serves it; see [`load_with_files`].
pub async fn load(db: &Db) -> Result<Vec<DemoAccount>, AppError> {
    let files = files_dir_of(db).await?;
    load_with_files(db, files.as_deref()).await
}

/// Loads everything; the evidence files of the score chain are stored in
/// `files` (the file store's directory, `data_dir/files`). Without it, the
/// score entries carry no evidence file. The 2026 calendar is the one for
/// today in Vietnam ([`calendar::calendar_for`]).
pub async fn load_with_files(db: &Db, files: Option<&Path>) -> Result<Vec<DemoAccount>, AppError> {
    load_on(db, files, thidua_web::ops::today()).await
}

/// Loads everything as [`load_with_files`] does, with the 2026 calendar of a
/// demo loaded on `today` ([`calendar::calendar_for`]).
pub async fn load_on(db: &Db, files: Option<&Path>, today: NaiveDate) -> Result<Vec<DemoAccount>, AppError> {
    let mut tx = db.begin().await?;
    let ids = load_registry(&mut tx).await?;
    let accounts = load_accounts(&mut tx, &ids).await?;
    let admin = thidua_db::users::user_by_name(&mut tx, "admin")
        .await?
        .map(|u| u.id)
        .ok_or_else(|| missing("user", "admin"))?;
    let tables = scoring::load_tables(&mut tx, &ids, admin).await?;
    tx.commit().await?;
    covenant::load_covenants(db, &ids, &tables).await?;
    calendar::load_calendar(db, &ids, today).await?;
    scores::load_scores(db, &ids, files).await?;
    Ok(accounts)
}

/// The file store of a demo on SQLite: `files/` beside the database file
/// (`thidua demo` serves its directory as the data directory). `None` on
/// PostgreSQL or for a database in memory.
pub async fn files_dir_of(db: &Db) -> Result<Option<PathBuf>, AppError> {
    if db.backend() != Backend::Sqlite {
        return Ok(None);
    }
    let mut tx = db.read().await?;
    let rows: Vec<(i64, String, String)> = tx.all("PRAGMA database_list", vec![]).await?;
    tx.rollback().await?;
    Ok(rows
        .into_iter()
        .find(|r| r.1 == "main")
        .map(|r| PathBuf::from(r.2))
        .filter(|f| !f.as_os_str().is_empty())
        .and_then(|f| f.parent().map(|d| d.join("files"))))
}

/// The database ids of the data's keys.
#[derive(Debug, Default)]
pub struct Ids {
    pub authorities: HashMap<&'static str, i64>,
    pub units: HashMap<&'static str, i64>,
    pub groups: HashMap<&'static str, i64>,
    pub loaded: Loaded,
}

/// Authorities, units, lineage, years, groups and memberships.
pub async fn load_registry(tx: &mut Tx) -> Result<Ids, AppError> {
    let mut ids = Ids::default();

    // Authorities, parents first whatever the order of the list.
    let mut pending: Vec<_> = AUTHORITIES.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for a in pending {
            let parent = match a.parent {
                None => None,
                Some(p) => match ids.authorities.get(p) {
                    Some(id) => Some(*id),
                    None => {
                        rest.push(a);
                        continue;
                    }
                },
            };
            let id = q::insert_authority(tx, a.name, a.short_name, a.level, parent).await?;
            let mut e = entry("authority.create", "authority", id, Some(id));
            e.after = Some(
                json!({ "id": id, "name": a.name, "short_name": a.short_name, "level": a.level, "parent_id": parent }),
            );
            audit::append(tx, e).await?;
            ids.authorities.insert(a.key, id);
        }
        if rest.len() == before {
            return Err(missing("parent authority", rest[0].parent.unwrap_or("")));
        }
        pending = rest;
    }
    ids.loaded.authorities = ids.authorities.len();

    for u in UNITS {
        let authority_id = *ids.authorities.get(u.authority).ok_or_else(|| missing("authority", u.authority))?;
        let data = UnitData {
            name: u.name.into(),
            short_name: u.short_name.into(),
            kind: u.kind.into(),
            authority_id,
            active_from: u.active_from.map(str::to_string),
            active_to: u.active_to.map(str::to_string),
        };
        let id = q::insert_unit(tx, &data).await?;
        let mut e = entry("unit.create", "unit", id, Some(authority_id));
        e.after = Some(json!({ "id": id, "unit": data }));
        audit::append(tx, e).await?;
        ids.units.insert(u.key, id);
    }
    ids.loaded.units = ids.units.len();

    let unit_def: HashMap<&str, &UnitDef> = UNITS.iter().map(|u| (u.key, u)).collect();
    for l in LINEAGE {
        let pred = *ids.units.get(l.predecessor).ok_or_else(|| missing("unit", l.predecessor))?;
        let succ = *ids.units.get(l.successor).ok_or_else(|| missing("unit", l.successor))?;
        let lid = q::insert_lineage(tx, pred, succ, l.kind, l.effective_on, l.note).await?;
        let authority = unit_def.get(l.predecessor).and_then(|u| ids.authorities.get(u.authority)).copied();
        let mut e = entry("unit.lineage", "unit", pred, authority);
        e.after = Some(json!({
            "id": lid, "predecessor_id": pred, "successor_id": succ, "kind": l.kind,
            "effective_on": l.effective_on, "note": l.note,
        }));
        audit::append(tx, e).await?;
        ids.loaded.lineage += 1;
    }

    let years: BTreeSet<i32> = GROUPS.iter().flat_map(|g| g.years.iter().map(|y| y.year)).collect();
    for &y in &years {
        q::insert_year(tx, y).await?;
        let mut e = entry("year.open", "year", i64::from(y), None);
        e.after = Some(json!({ "year": y }));
        audit::append(tx, e).await?;
    }
    ids.loaded.years = years.len();

    for g in GROUPS {
        let authority_id = *ids.authorities.get(g.authority).ok_or_else(|| missing("authority", g.authority))?;
        let gid = q::insert_group(tx, g.kind, g.name, authority_id).await?;
        let mut e = entry("group.create", "group", gid, Some(authority_id));
        e.after = Some(json!({ "id": gid, "kind": g.kind, "name": g.name, "authority_id": authority_id }));
        audit::append(tx, e).await?;
        ids.groups.insert(g.key, gid);
        for gy in g.years {
            let gy_id = q::group_year(tx, gid, gy.year).await?;
            for &m in gy.members {
                let unit_id = *ids.units.get(m).ok_or_else(|| missing("unit", m))?;
                let role = member_role(gy, m);
                let mid = q::insert_membership(tx, gy_id, unit_id, role).await?;
                let mut e = entry("membership.add", "membership", mid, Some(authority_id));
                e.after = Some(json!({
                    "membership_id": mid, "group_id": gid, "group_name": g.name, "year": gy.year,
                    "unit_id": unit_id, "role": role,
                }));
                audit::append(tx, e).await?;
                ids.loaded.memberships += 1;
            }
        }
    }
    ids.loaded.groups = ids.groups.len();
    Ok(ids)
}

fn member_role(gy: &data::GroupYearDef, unit: &str) -> &'static str {
    if gy.head == unit {
        "head"
    } else if gy.deputy == Some(unit) {
        "deputy"
    } else {
        "member"
    }
}

/// A user name part from a unit key: "cb-so-tu-phap" → "sotuphap", "cb-x-hoa-an" → "xahoaan".
pub fn slug(unit_key: &str) -> String {
    let rest = unit_key.split_once('-').map_or(unit_key, |(_, r)| r);
    let rest = match rest.split_once('-') {
        Some(("x", r)) => format!("xa-{r}"),
        Some(("p", r)) => format!("phuong-{r}"),
        _ => rest.to_string(),
    };
    rest.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// One account to create.
struct Plan {
    username: String,
    full_name: String,
    role: Role,
    authority: Option<&'static str>,
    unit: Option<&'static str>,
    /// Added to the printed role, e.g. "khối trưởng năm 2026".
    note: String,
}

/// The Cao Bằng unit that heads the first block in the demo year.
fn block_head() -> Option<&'static str> {
    GROUPS
        .iter()
        .filter(|g| g.authority == "cb" && g.kind == "block")
        .find_map(|g| g.years.iter().find(|y| y.year == DEMO_YEAR).map(|y| y.head))
}

/// A commune (not a ward) that is a plain member of a cluster in the demo year.
fn plain_commune() -> Option<&'static str> {
    GROUPS.iter().filter(|g| g.authority == "cb" && g.kind == "cluster").find_map(|g| {
        let gy = g.years.iter().find(|y| y.year == DEMO_YEAR)?;
        gy.members.iter().copied().find(|m| m.starts_with("cb-x-") && member_role(gy, m) == "member")
    })
}

fn unit_name(key: &str) -> &'static str {
    UNITS.iter().find(|u| u.key == key).map_or("", |u| u.name)
}

fn plans() -> Result<Vec<Plan>, AppError> {
    let auth = |username: &str, full_name: &str, role: Role, a: &'static str| Plan {
        username: username.into(),
        full_name: full_name.into(),
        role,
        authority: Some(a),
        unit: None,
        note: String::new(),
    };
    let unit = |username: String, full_name: String, role: Role, u: &'static str, note: String| Plan {
        username,
        full_name,
        role,
        authority: None,
        unit: Some(u),
        note,
    };
    let head = block_head().ok_or_else(|| missing("block head in", "2026"))?;
    let commune = plain_commune().ok_or_else(|| missing("plain commune member in", "2026"))?;
    let head_note = format!("khối trưởng năm {DEMO_YEAR}");
    Ok(vec![
        Plan {
            username: "admin".into(),
            full_name: "Quản trị viên hệ thống".into(),
            role: Role::Admin,
            authority: None,
            unit: None,
            note: String::new(),
        },
        auth("banthuongtruc.caobang", "Chuyên viên Ban Thi đua - Khen thưởng tỉnh Cao Bằng", Role::Secretariat, "cb"),
        auth("hoidong.caobang", "Thành viên Hội đồng Thi đua - Khen thưởng tỉnh Cao Bằng", Role::Council, "cb"),
        auth("xem.caobang", "Người xem (tỉnh Cao Bằng)", Role::Viewer, "cb"),
        auth("bantdkt.tw", "Chuyên viên Ban Thi đua - Khen thưởng Trung ương", Role::Secretariat, "tw"),
        unit(
            format!("lanhdao.{}", slug(head)),
            format!("Lãnh đạo {}", unit_name(head)),
            Role::UnitLeader,
            head,
            head_note.clone(),
        ),
        unit(
            format!("canbo.{}", slug(head)),
            format!("Cán bộ thi đua {}", unit_name(head)),
            Role::UnitOfficer,
            head,
            head_note,
        ),
        unit(
            format!("canbo.{}", slug(commune)),
            format!("Cán bộ thi đua {}", unit_name(commune)),
            Role::UnitOfficer,
            commune,
            format!("thành viên cụm năm {DEMO_YEAR}"),
        ),
        unit(
            "lanhdao.tinhcaobang".into(),
            "Lãnh đạo Ủy ban nhân dân tỉnh Cao Bằng".into(),
            Role::UnitLeader,
            "tw-cao-bang",
            format!("thành viên cụm thi đua của Trung ương năm {DEMO_YEAR}"),
        ),
    ])
}

/// The demo accounts, each with one role.
pub async fn load_accounts(tx: &mut Tx, ids: &Ids) -> Result<Vec<DemoAccount>, AppError> {
    let mut out = Vec::new();
    for p in plans()? {
        let input =
            NewUser { username: p.username.clone(), full_name: p.full_name.clone(), password: DEMO_PASSWORD.into() };
        let who = || entry("", "", 0, None);
        let user = create_user_tx(tx, &input, who()).await?;
        let authority_id = match p.authority {
            Some(k) => Some(*ids.authorities.get(k).ok_or_else(|| missing("authority", k))?),
            None => None,
        };
        let unit_id = match p.unit {
            Some(k) => Some(*ids.units.get(k).ok_or_else(|| missing("unit", k))?),
            None => None,
        };
        let grant =
            add_grant_tx(tx, user.id, &GrantInput { role: p.role.code().into(), authority_id, unit_id }, who()).await?;
        let mut role = p.role.label().to_string();
        if let Some(scope) = &grant.scope_name {
            role.push_str(&format!(" — {scope}"));
        }
        if !p.note.is_empty() {
            role.push_str(&format!(", {}", p.note));
        }
        out.push(DemoAccount { username: user.username, password: DEMO_PASSWORD.into(), role });
    }
    Ok(out)
}

/// The accounts as a plain-text table: user name, password, role.
pub fn accounts_table(accounts: &[DemoAccount]) -> String {
    let rows: Vec<[String; 3]> =
        accounts.iter().map(|a| [a.username.clone(), a.password.clone(), a.role.clone()]).collect();
    crate::users::table(&["Tên đăng nhập", "Mật khẩu", "Vai trò"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_valid_user_names() {
        assert_eq!(slug("cb-so-tu-phap"), "sotuphap");
        assert_eq!(slug("cb-x-hoa-an"), "xahoaan");
        assert_eq!(slug("cb-p-tan-giang"), "phuongtangiang");
        for p in plans().unwrap() {
            assert!(thidua_core::password::parse_username(&p.username).is_ok(), "{}", p.username);
        }
    }

    #[test]
    fn accounts_cover_the_roles_asked_for() {
        let plans = plans().unwrap();
        assert_eq!(plans.len(), 9);
        let head = block_head().unwrap();
        assert!(plans.iter().any(|p| p.role == Role::UnitLeader && p.unit == Some(head)));
        let commune = plain_commune().unwrap();
        assert!(commune.starts_with("cb-x-"));
        assert!(plans.iter().any(|p| p.username == "lanhdao.tinhcaobang" && p.unit == Some("tw-cao-bang")));
        assert!(DEMO_PASSWORD.chars().count() >= thidua_core::password::MIN_CHARS);
    }
}
