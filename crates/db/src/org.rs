//! The organisation registry's tables: plain reads and writes. Validation,
//! policy and audit are the caller's (the operations layer).

use serde::Serialize;

use crate::{Arg, Result, Tx, args, now};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct AuthorityRow {
    pub id: i64,
    pub name: String,
    pub short_name: String,
    pub level: String,
    pub parent_id: Option<i64>,
    pub closed_on: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct UnitRow {
    pub id: i64,
    pub name: String,
    pub short_name: String,
    pub kind: String,
    pub authority_id: i64,
    pub authority_name: String,
    pub active_from: Option<String>,
    pub active_to: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct LineageRow {
    pub id: i64,
    pub predecessor_id: i64,
    pub predecessor_name: String,
    pub successor_id: i64,
    pub successor_name: String,
    pub kind: String,
    pub effective_on: String,
    pub note: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct GroupRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub authority_id: i64,
    pub authority_name: String,
    pub closed_on: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq, utoipa::ToSchema)]
pub struct MemberRow {
    pub membership_id: i64,
    pub group_year_id: i64,
    pub year: i32,
    pub group_id: i64,
    pub group_name: String,
    pub group_kind: String,
    pub group_authority_id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub unit_short_name: String,
    pub unit_authority_name: String,
    pub role: String,
}

// ---------- authorities ----------

pub async fn authorities(tx: &mut Tx) -> Result<Vec<AuthorityRow>> {
    tx.all("SELECT id, name, short_name, level, parent_id, closed_on FROM authorities ORDER BY id", vec![]).await
}

pub async fn authority(tx: &mut Tx, id: i64) -> Result<Option<AuthorityRow>> {
    tx.opt("SELECT id, name, short_name, level, parent_id, closed_on FROM authorities WHERE id = $1", args![id]).await
}

/// The authority and its ancestors, nearest first.
pub async fn authority_path(tx: &mut Tx, id: i64) -> Result<Vec<i64>> {
    let all = authorities(tx).await?;
    Ok(path_in(&all, id))
}

/// The path of `id` in a list of authorities (cycle-safe).
pub fn path_in(all: &[AuthorityRow], id: i64) -> Vec<i64> {
    let tree: Vec<(i64, Option<i64>)> = all.iter().map(|a| (a.id, a.parent_id)).collect();
    thidua_core::policy::authority_path(id, &tree)
}

/// The authority and all authorities below it.
pub fn descendants_in(all: &[AuthorityRow], id: i64) -> Vec<i64> {
    all.iter().filter(|a| path_in(all, a.id).contains(&id)).map(|a| a.id).collect()
}

pub async fn insert_authority(
    tx: &mut Tx,
    name: &str,
    short_name: &str,
    level: &str,
    parent_id: Option<i64>,
) -> Result<i64> {
    let t = now();
    tx.scalar(
        "INSERT INTO authorities (name, short_name, level, parent_id, search_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        args![name, short_name, level, parent_id, thidua_core::text::fold(name), t],
    )
    .await
}

pub async fn update_authority(
    tx: &mut Tx,
    id: i64,
    name: &str,
    short_name: &str,
    level: &str,
    parent_id: Option<i64>,
) -> Result<u64> {
    tx.exec(
        "UPDATE authorities SET name = $2, short_name = $3, level = $4, parent_id = $5, search_key = $6, updated_at = $7 WHERE id = $1",
        args![id, name, short_name, level, parent_id, thidua_core::text::fold(name), now()],
    )
    .await
}

pub async fn close_authority(tx: &mut Tx, id: i64, closed_on: Option<String>) -> Result<u64> {
    tx.exec("UPDATE authorities SET closed_on = $2, updated_at = $3 WHERE id = $1", args![id, closed_on, now()]).await
}

// ---------- units ----------

const UNIT_SELECT: &str = "SELECT u.id, u.name, u.short_name, u.kind, u.authority_id, a.name AS authority_name, \
     u.active_from, u.active_to FROM units u JOIN authorities a ON a.id = u.authority_id";

/// Search criteria for units.
#[derive(Debug, Clone, Default)]
pub struct UnitQuery {
    /// Folded words; a unit matches when its folded name or short name contains all of them.
    pub words: Vec<String>,
    /// Only units of these authorities (None: any).
    pub authorities: Option<Vec<i64>>,
    pub kind: Option<String>,
    pub include_closed: bool,
    /// Today, `YYYY-MM-DD`, to tell closed units.
    pub today: String,
    pub limit: i64,
}

pub async fn search_units(tx: &mut Tx, q: &UnitQuery) -> Result<Vec<UnitRow>> {
    let mut sql = format!("{UNIT_SELECT} WHERE 1 = 1");
    let mut a: Vec<Arg> = Vec::new();
    for w in &q.words {
        a.push(format!("%{w}%").into());
        sql.push_str(&format!(" AND u.search_key LIKE ${}", a.len()));
    }
    if let Some(k) = &q.kind {
        a.push(k.clone().into());
        sql.push_str(&format!(" AND u.kind = ${}", a.len()));
    }
    if !q.include_closed {
        a.push(q.today.clone().into());
        sql.push_str(&format!(" AND (u.active_to IS NULL OR u.active_to >= ${})", a.len()));
    }
    if let Some(auths) = &q.authorities {
        push_id_list(&mut sql, "u.authority_id", auths);
    }
    a.push(q.limit.clamp(1, 10_000).into());
    sql.push_str(&format!(" ORDER BY u.id LIMIT ${}", a.len()));
    tx.all_dyn(sql, a).await
}

/// ` AND col IN (1,2,3)`, or a false condition for an empty list. Ids are integers, never input text.
pub fn push_id_list(sql: &mut String, col: &str, ids: &[i64]) {
    if ids.is_empty() {
        sql.push_str(" AND 1 = 0");
    } else {
        let list: Vec<String> = ids.iter().map(|x| x.to_string()).collect();
        sql.push_str(&format!(" AND {col} IN ({})", list.join(",")));
    }
}

pub async fn unit(tx: &mut Tx, id: i64) -> Result<Option<UnitRow>> {
    tx.opt_dyn(format!("{UNIT_SELECT} WHERE u.id = $1"), args![id]).await
}

pub async fn unit_by_name(tx: &mut Tx, authority_id: i64, name: &str) -> Result<Option<UnitRow>> {
    tx.opt_dyn(format!("{UNIT_SELECT} WHERE u.authority_id = $1 AND u.name = $2"), args![authority_id, name]).await
}

/// A new or changed unit.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct UnitData {
    pub name: String,
    pub short_name: String,
    pub kind: String,
    pub authority_id: i64,
    pub active_from: Option<String>,
    pub active_to: Option<String>,
}

pub async fn insert_unit(tx: &mut Tx, u: &UnitData) -> Result<i64> {
    let t = now();
    let key = format!("{} | {}", thidua_core::text::fold(&u.name), thidua_core::text::fold(&u.short_name));
    tx.scalar(
        "INSERT INTO units (name, short_name, kind, authority_id, active_from, active_to, search_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        args![u.name.clone(), u.short_name.clone(), u.kind.clone(), u.authority_id, u.active_from.clone(), u.active_to.clone(), key, t],
    )
    .await
}

pub async fn update_unit(tx: &mut Tx, id: i64, u: &UnitData) -> Result<u64> {
    let key = format!("{} | {}", thidua_core::text::fold(&u.name), thidua_core::text::fold(&u.short_name));
    tx.exec(
        "UPDATE units SET name = $2, short_name = $3, kind = $4, authority_id = $5, active_from = $6, active_to = $7, \
         search_key = $8, updated_at = $9 WHERE id = $1",
        args![
            id,
            u.name.clone(),
            u.short_name.clone(),
            u.kind.clone(),
            u.authority_id,
            u.active_from.clone(),
            u.active_to.clone(),
            key,
            now()
        ],
    )
    .await
}

// ---------- lineage ----------

const LINEAGE_SELECT: &str = "SELECT l.id, l.predecessor_id, p.name AS predecessor_name, l.successor_id, \
     s.name AS successor_name, l.kind, l.effective_on, l.note FROM unit_lineage l \
     JOIN units p ON p.id = l.predecessor_id JOIN units s ON s.id = l.successor_id";

pub async fn lineage_of(tx: &mut Tx, unit_id: i64) -> Result<Vec<LineageRow>> {
    tx.all_dyn(
        format!("{LINEAGE_SELECT} WHERE l.predecessor_id = $1 OR l.successor_id = $1 ORDER BY l.effective_on, l.id"),
        args![unit_id],
    )
    .await
}

pub async fn insert_lineage(
    tx: &mut Tx,
    predecessor: i64,
    successor: i64,
    kind: &str,
    effective_on: &str,
    note: &str,
) -> Result<i64> {
    tx.scalar(
        "INSERT INTO unit_lineage (predecessor_id, successor_id, kind, effective_on, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        args![predecessor, successor, kind, effective_on, note, now()],
    )
    .await
}

// ---------- years ----------

pub async fn years(tx: &mut Tx) -> Result<Vec<i32>> {
    let rows: Vec<(i32,)> = tx.all("SELECT year FROM years ORDER BY year DESC", vec![]).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn insert_year(tx: &mut Tx, year: i32) -> Result<u64> {
    tx.exec("INSERT INTO years (year, created_at) VALUES ($1, $2)", args![year, now()]).await
}

// ---------- groups ----------

const GROUP_SELECT: &str = "SELECT g.id, g.kind, g.name, g.authority_id, a.name AS authority_name, g.closed_on \
     FROM emulation_groups g JOIN authorities a ON a.id = g.authority_id";

pub async fn groups(tx: &mut Tx, authorities: Option<&[i64]>, words: &[String]) -> Result<Vec<GroupRow>> {
    let mut sql = format!("{GROUP_SELECT} WHERE 1 = 1");
    let mut a: Vec<Arg> = Vec::new();
    for w in words {
        a.push(format!("%{w}%").into());
        sql.push_str(&format!(" AND g.search_key LIKE ${}", a.len()));
    }
    if let Some(auths) = authorities {
        push_id_list(&mut sql, "g.authority_id", auths);
    }
    sql.push_str(" ORDER BY g.id");
    tx.all_dyn(sql, a).await
}

/// For each of `authorities`: how many groups it organises and how many of
/// its units are active on `today`, counted as [`groups`] and
/// [`search_units`] list them, in two statements (none listed has no entry).
pub async fn counts_by_authority(
    tx: &mut Tx,
    authorities: &[i64],
    today: &str,
) -> Result<std::collections::HashMap<i64, (i64, i64)>> {
    let mut sql = String::from("SELECT g.authority_id, COUNT(*) FROM emulation_groups g WHERE 1 = 1");
    push_id_list(&mut sql, "g.authority_id", authorities);
    sql.push_str(" GROUP BY g.authority_id");
    let groups: Vec<(i64, i64)> = tx.all_dyn(sql, vec![]).await?;
    let mut sql =
        String::from("SELECT u.authority_id, COUNT(*) FROM units u WHERE (u.active_to IS NULL OR u.active_to >= $1)");
    push_id_list(&mut sql, "u.authority_id", authorities);
    sql.push_str(" GROUP BY u.authority_id");
    let units: Vec<(i64, i64)> = tx.all_dyn(sql, args![today]).await?;
    let mut out = std::collections::HashMap::new();
    for (a, n) in groups {
        out.entry(a).or_insert((0, 0)).0 = n;
    }
    for (a, n) in units {
        out.entry(a).or_insert((0, 0)).1 = n;
    }
    Ok(out)
}

/// Groups that a unit belongs or belonged to.
pub async fn groups_of_units(tx: &mut Tx, units: &[i64]) -> Result<Vec<i64>> {
    let mut sql = String::from(
        "SELECT DISTINCT gy.group_id FROM memberships m JOIN group_years gy ON gy.id = m.group_year_id WHERE 1 = 1",
    );
    push_id_list(&mut sql, "m.unit_id", units);
    let rows: Vec<(i64,)> = tx.all_dyn(sql, vec![]).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn group(tx: &mut Tx, id: i64) -> Result<Option<GroupRow>> {
    tx.opt_dyn(format!("{GROUP_SELECT} WHERE g.id = $1"), args![id]).await
}

pub async fn group_by_name(tx: &mut Tx, authority_id: i64, name: &str) -> Result<Option<GroupRow>> {
    tx.opt_dyn(format!("{GROUP_SELECT} WHERE g.authority_id = $1 AND g.name = $2"), args![authority_id, name]).await
}

pub async fn insert_group(tx: &mut Tx, kind: &str, name: &str, authority_id: i64) -> Result<i64> {
    let t = now();
    tx.scalar(
        "INSERT INTO emulation_groups (kind, name, authority_id, search_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        args![kind, name, authority_id, thidua_core::text::fold(name), t],
    )
    .await
}

pub async fn update_group(tx: &mut Tx, id: i64, kind: &str, name: &str, closed_on: Option<String>) -> Result<u64> {
    tx.exec(
        "UPDATE emulation_groups SET kind = $2, name = $3, search_key = $4, closed_on = $5, updated_at = $6 WHERE id = $1",
        args![id, kind, name, thidua_core::text::fold(name), closed_on, now()],
    )
    .await
}

/// The id of a group-year, if it exists (reads only).
pub async fn find_group_year(tx: &mut Tx, group_id: i64, year: i32) -> Result<Option<i64>> {
    let found: Option<(i64,)> =
        tx.opt("SELECT id FROM group_years WHERE group_id = $1 AND year = $2", args![group_id, year]).await?;
    Ok(found.map(|r| r.0))
}

/// The group and the year of a group-year.
pub async fn group_year_key(tx: &mut Tx, id: i64) -> Result<Option<(i64, i32)>> {
    tx.opt("SELECT group_id, year FROM group_years WHERE id = $1", args![id]).await
}

/// The id of a group-year, created if missing. The year must exist.
pub async fn group_year(tx: &mut Tx, group_id: i64, year: i32) -> Result<i64> {
    let found: Option<(i64,)> =
        tx.opt("SELECT id FROM group_years WHERE group_id = $1 AND year = $2", args![group_id, year]).await?;
    if let Some((id,)) = found {
        return Ok(id);
    }
    tx.scalar(
        "INSERT INTO group_years (group_id, year, created_at) VALUES ($1, $2, $3) RETURNING id",
        args![group_id, year, now()],
    )
    .await
}

// ---------- memberships ----------

const MEMBER_SELECT: &str = "SELECT m.id AS membership_id, m.group_year_id, gy.year, g.id AS group_id, g.name AS group_name, \
     g.kind AS group_kind, g.authority_id AS group_authority_id, u.id AS unit_id, u.name AS unit_name, \
     u.short_name AS unit_short_name, a.name AS unit_authority_name, m.role \
     FROM memberships m JOIN group_years gy ON gy.id = m.group_year_id JOIN emulation_groups g ON g.id = gy.group_id \
     JOIN units u ON u.id = m.unit_id JOIN authorities a ON a.id = u.authority_id";

/// Ordered by year (newest first), then head, deputy, members.
pub async fn members_of_group(tx: &mut Tx, group_id: i64) -> Result<Vec<MemberRow>> {
    tx.all_dyn(
        format!(
            "{MEMBER_SELECT} WHERE g.id = $1 ORDER BY gy.year DESC, \
             CASE m.role WHEN 'head' THEN 0 WHEN 'deputy' THEN 1 ELSE 2 END, u.id"
        ),
        args![group_id],
    )
    .await
}

/// The members of these groups in one year, in one statement (the lists
/// that show each group's head and member count), ordered by group, then
/// head, deputy, members.
pub async fn members_in_year(tx: &mut Tx, group_ids: &[i64], year: i32) -> Result<Vec<MemberRow>> {
    let mut sql = format!("{MEMBER_SELECT} WHERE gy.year = $1");
    push_id_list(&mut sql, "g.id", group_ids);
    sql.push_str(" ORDER BY g.id, CASE m.role WHEN 'head' THEN 0 WHEN 'deputy' THEN 1 ELSE 2 END, u.id");
    tx.all_dyn(sql, args![year]).await
}

pub async fn memberships_of_unit(tx: &mut Tx, unit_id: i64) -> Result<Vec<MemberRow>> {
    tx.all_dyn(format!("{MEMBER_SELECT} WHERE u.id = $1 ORDER BY gy.year DESC, g.id"), args![unit_id]).await
}

/// Memberships of a set of groups in one year (for export), or of every year when `year` is None.
pub async fn memberships(tx: &mut Tx, authorities: Option<&[i64]>, year: Option<i32>) -> Result<Vec<MemberRow>> {
    let mut sql = format!("{MEMBER_SELECT} WHERE 1 = 1");
    let mut a: Vec<Arg> = Vec::new();
    if let Some(y) = year {
        a.push(y.into());
        sql.push_str(&format!(" AND gy.year = ${}", a.len()));
    }
    if let Some(auths) = authorities {
        push_id_list(&mut sql, "g.authority_id", auths);
    }
    sql.push_str(" ORDER BY gy.year, g.id, CASE m.role WHEN 'head' THEN 0 WHEN 'deputy' THEN 1 ELSE 2 END, u.id");
    tx.all_dyn(sql, a).await
}

pub async fn membership(tx: &mut Tx, id: i64) -> Result<Option<MemberRow>> {
    tx.opt_dyn(format!("{MEMBER_SELECT} WHERE m.id = $1"), args![id]).await
}

/// The membership of a unit in a group-year, if any.
pub async fn membership_in(tx: &mut Tx, group_year_id: i64, unit_id: i64) -> Result<Option<MemberRow>> {
    tx.opt_dyn(format!("{MEMBER_SELECT} WHERE m.group_year_id = $1 AND m.unit_id = $2"), args![group_year_id, unit_id])
        .await
}

/// Another group of the same authority that the unit is in that year.
pub async fn other_group_same_year(
    tx: &mut Tx,
    unit_id: i64,
    year: i32,
    group_id: i64,
    authority_id: i64,
) -> Result<Option<MemberRow>> {
    tx.opt_dyn(
        format!("{MEMBER_SELECT} WHERE u.id = $1 AND gy.year = $2 AND g.id <> $3 AND g.authority_id = $4"),
        args![unit_id, year, group_id, authority_id],
    )
    .await
}

pub async fn insert_membership(tx: &mut Tx, group_year_id: i64, unit_id: i64, role: &str) -> Result<i64> {
    tx.scalar(
        "INSERT INTO memberships (group_year_id, unit_id, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        args![group_year_id, unit_id, role, now()],
    )
    .await
}

pub async fn set_membership_role(tx: &mut Tx, id: i64, role: &str) -> Result<u64> {
    tx.exec("UPDATE memberships SET role = $2 WHERE id = $1", args![id, role]).await
}

pub async fn delete_membership(tx: &mut Tx, id: i64) -> Result<u64> {
    tx.exec("DELETE FROM memberships WHERE id = $1", args![id]).await
}

/// Head and deputy of a group-year, and the units ever members of the group.
pub async fn group_ctx(tx: &mut Tx, group_id: i64, year: Option<i32>) -> Result<thidua_core::policy::GroupCtx> {
    let members = members_of_group(tx, group_id).await?;
    let mut ctx = thidua_core::policy::GroupCtx::default();
    for m in &members {
        if !ctx.member_units.contains(&m.unit_id) {
            ctx.member_units.push(m.unit_id);
        }
        if Some(m.year) == year {
            match m.role.as_str() {
                "head" => ctx.head_unit = Some(m.unit_id),
                "deputy" => ctx.deputy_unit = Some(m.unit_id),
                _ => {}
            }
        }
    }
    Ok(ctx)
}
