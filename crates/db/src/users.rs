//! Users, their role grants, sessions and login attempts.

use serde::Serialize;
use thidua_core::policy::{Grant, Role};

use crate::{Backend, Db, DbError, Result, Tx, args, now};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: String,
    pub password_changed_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct GrantRow {
    pub id: i64,
    pub user_id: i64,
    pub role: String,
    pub authority_id: Option<i64>,
    pub unit_id: Option<i64>,
    /// The authority's name, or for a unit role the unit's name.
    pub scope_name: Option<String>,
    /// For a unit role: the unit's authority.
    pub unit_authority_id: Option<i64>,
}

impl GrantRow {
    /// The grant as the policy sees it (a unit role is scoped by its unit's authority).
    pub fn to_grant(&self) -> Option<Grant> {
        let role = Role::parse(&self.role)?;
        Some(Grant {
            role,
            authority_id: if role.is_unit_role() { self.unit_authority_id } else { self.authority_id },
            unit_id: self.unit_id,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct SessionRow {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub ip: String,
    pub user_agent: String,
}

pub async fn user_by_name(tx: &mut Tx, username: &str) -> Result<Option<UserRow>> {
    tx.opt("SELECT * FROM users WHERE username = $1", args![username]).await
}

pub async fn user(tx: &mut Tx, id: i64) -> Result<Option<UserRow>> {
    tx.opt("SELECT * FROM users WHERE id = $1", args![id]).await
}

pub async fn users(tx: &mut Tx) -> Result<Vec<UserRow>> {
    tx.all("SELECT * FROM users ORDER BY username", vec![]).await
}

pub async fn insert_user(tx: &mut Tx, username: &str, full_name: &str, password_hash: &str) -> Result<i64> {
    let t = now();
    tx.scalar(
        "INSERT INTO users (username, full_name, password_hash, disabled, created_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        args![username, full_name, password_hash, false, t],
    )
    .await
}

pub async fn set_password(tx: &mut Tx, id: i64, password_hash: &str) -> Result<u64> {
    tx.exec(
        "UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE id = $1",
        args![id, password_hash, now()],
    )
    .await
}

pub async fn set_disabled(tx: &mut Tx, id: i64, disabled: bool) -> Result<u64> {
    tx.exec("UPDATE users SET disabled = $2 WHERE id = $1", args![id, disabled]).await
}

pub async fn set_full_name(tx: &mut Tx, id: i64, full_name: &str) -> Result<u64> {
    tx.exec("UPDATE users SET full_name = $2 WHERE id = $1", args![id, full_name]).await
}

const GRANT_SELECT: &str = "SELECT g.id, g.user_id, g.role, g.authority_id, g.unit_id, \
     COALESCE(u.name, a.name) AS scope_name, u.authority_id AS unit_authority_id \
     FROM role_grants g LEFT JOIN authorities a ON a.id = g.authority_id LEFT JOIN units u ON u.id = g.unit_id";

pub async fn grants_of(tx: &mut Tx, user_id: i64) -> Result<Vec<GrantRow>> {
    tx.all_dyn(format!("{GRANT_SELECT} WHERE g.user_id = $1 ORDER BY g.id"), args![user_id]).await
}

pub async fn all_grants(tx: &mut Tx) -> Result<Vec<GrantRow>> {
    tx.all_dyn(format!("{GRANT_SELECT} ORDER BY g.user_id, g.id"), vec![]).await
}

pub async fn insert_grant(
    tx: &mut Tx,
    user_id: i64,
    role: Role,
    authority_id: Option<i64>,
    unit_id: Option<i64>,
) -> Result<i64> {
    tx.scalar(
        "INSERT INTO role_grants (user_id, role, authority_id, unit_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        args![user_id, role.code(), authority_id, unit_id, now()],
    )
    .await
}

pub async fn delete_grant(tx: &mut Tx, user_id: i64, grant_id: i64) -> Result<u64> {
    tx.exec("DELETE FROM role_grants WHERE id = $1 AND user_id = $2", args![grant_id, user_id]).await
}

// ---------- sessions ----------

pub async fn insert_session(tx: &mut Tx, s: &SessionRow) -> Result<u64> {
    tx.exec(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            s.id_hash.clone(),
            s.user_id,
            s.csrf_token.clone(),
            s.created_at.clone(),
            s.last_seen_at.clone(),
            s.expires_at.clone(),
            s.ip.clone(),
            s.user_agent.clone()
        ],
    )
    .await
}

pub async fn session(tx: &mut Tx, id_hash: &str) -> Result<Option<SessionRow>> {
    tx.opt("SELECT * FROM sessions WHERE id_hash = $1", args![id_hash]).await
}

/// A session with its user and the user's grants, as every request reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct SignedInRow {
    id_hash: String,
    user_id: i64,
    csrf_token: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    ip: String,
    user_agent: String,
    username: String,
    full_name: String,
    password_hash: String,
    disabled: bool,
    user_created_at: String,
    password_changed_at: String,
    /// The grants as a JSON array of arrays, in the columns' order of [`GrantRow`].
    grants: String,
}

type GrantCells = (i64, i64, String, Option<i64>, Option<i64>, Option<String>, Option<i64>);

/// [`signed_in`] on SQLite (its columns in the order of [`SignedInRow`]).
const SIGNED_IN_SQLITE: &str = "SELECT s.id_hash, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.ip, \
    s.user_agent, u.username, u.full_name, u.password_hash, u.disabled, u.created_at AS user_created_at, \
    u.password_changed_at, (SELECT COALESCE(json_group_array(json_array(g.id, g.user_id, g.role, \
    g.authority_id, g.unit_id, g.scope_name, g.unit_authority_id)), '[]') \
    FROM (SELECT g.id, g.user_id, \
    g.role, g.authority_id, g.unit_id, COALESCE(un.name, a.name) AS scope_name, \
    un.authority_id AS unit_authority_id FROM role_grants g LEFT JOIN authorities a ON a.id = g.authority_id \
    LEFT JOIN units un ON un.id = g.unit_id WHERE g.user_id = s.user_id) AS g) AS grants \
    FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1";

/// The session of `id_hash` with its user and the user's grants (by id), in
/// one statement outside a transaction: what every signed-in request reads.
/// None when there is no such session (or its user is gone).
pub async fn signed_in(db: &Db, id_hash: &str) -> Result<Option<(SessionRow, UserRow, Vec<GrantRow>)>> {
    let row: Option<SignedInRow> = match db.backend() {
        Backend::Sqlite => {
            // on the request's own thread (`hot`): every signed-in request makes it
            db.read_one_hot(SIGNED_IN_SQLITE, args![id_hash], |r| {
                Ok(SignedInRow {
                    id_hash: r.get(0)?,
                    user_id: r.get(1)?,
                    csrf_token: r.get(2)?,
                    created_at: r.get(3)?,
                    last_seen_at: r.get(4)?,
                    expires_at: r.get(5)?,
                    ip: r.get(6)?,
                    user_agent: r.get(7)?,
                    username: r.get(8)?,
                    full_name: r.get(9)?,
                    password_hash: r.get(10)?,
                    disabled: r.get(11)?,
                    user_created_at: r.get(12)?,
                    password_changed_at: r.get(13)?,
                    grants: r.get(14)?,
                })
            })
            .await?
        }
        Backend::Postgres => {
            db.read_one(
                "SELECT s.id_hash, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.ip, \
                 s.user_agent, u.username, u.full_name, u.password_hash, u.disabled, u.created_at AS user_created_at, \
                 u.password_changed_at, (SELECT COALESCE(json_agg(json_build_array(g.id, g.user_id, g.role, \
                 g.authority_id, g.unit_id, COALESCE(un.name, a.name), un.authority_id) ORDER BY g.id)::text, '[]') \
                 FROM role_grants g LEFT JOIN authorities a ON a.id = g.authority_id \
                 LEFT JOIN units un ON un.id = g.unit_id WHERE g.user_id = s.user_id) AS grants \
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
                args![id_hash],
            )
            .await?
        }
    };
    let Some(r) = row else { return Ok(None) };
    let cells: Vec<GrantCells> =
        serde_json::from_str(&r.grants).map_err(|e| DbError::Other(format!("grants of user {}: {e}", r.user_id)))?;
    // by id: SQLite's arm leaves the order to the index on the user (an
    // ORDER BY in the aggregate would build a sorter on every request)
    let mut grants: Vec<GrantRow> = cells
        .into_iter()
        .map(|(id, user_id, role, authority_id, unit_id, scope_name, unit_authority_id)| GrantRow {
            id,
            user_id,
            role,
            authority_id,
            unit_id,
            scope_name,
            unit_authority_id,
        })
        .collect();
    grants.sort_by_key(|g| g.id);
    let user = UserRow {
        id: r.user_id,
        username: r.username,
        full_name: r.full_name,
        password_hash: r.password_hash,
        disabled: r.disabled,
        created_at: r.user_created_at,
        password_changed_at: r.password_changed_at,
    };
    let session = SessionRow {
        id_hash: r.id_hash,
        user_id: r.user_id,
        csrf_token: r.csrf_token,
        created_at: r.created_at,
        last_seen_at: r.last_seen_at,
        expires_at: r.expires_at,
        ip: r.ip,
        user_agent: r.user_agent,
    };
    Ok(Some((session, user, grants)))
}

/// The value that changes with anything [`signed_in`] reads, but for a
/// session's last_seen_at moving forward (migration 0009's triggers), and
/// the audit log's head ([`crate::audit::head_now`]), in one statement
/// outside any transaction, on the request's own thread where it can: what
/// a request reads before a session it keeps may answer for [`signed_in`].
///
/// The value is None if its row is missing (the triggers refuse to delete
/// it): then nothing may be kept.
pub async fn epoch_and_head(db: &Db) -> Result<(Option<i64>, i64)> {
    const SQL: &str = "SELECT (SELECT value FROM signed_in_epoch WHERE id = 1), \
        COALESCE((SELECT last_id FROM audit_head WHERE id = 1), CAST(0 AS BIGINT))";
    // while no transaction commits, the answer read before is given again (ADR 0006)
    let row: Option<(Option<i64>, i64)> = db.read_one_hot_kept(SQL, |r| Ok((r.get(0)?, r.get(1)?))).await?;
    Ok(row.unwrap_or((None, 0)))
}

pub async fn touch_session(tx: &mut Tx, id_hash: &str, at: &str) -> Result<u64> {
    tx.exec("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1", args![id_hash, at]).await
}

pub async fn sessions_of(tx: &mut Tx, user_id: i64) -> Result<Vec<SessionRow>> {
    tx.all("SELECT * FROM sessions WHERE user_id = $1 ORDER BY last_seen_at DESC", args![user_id]).await
}

pub async fn delete_session(tx: &mut Tx, id_hash: &str) -> Result<u64> {
    tx.exec("DELETE FROM sessions WHERE id_hash = $1", args![id_hash]).await
}

/// Ends every session of a user but one (None: all of them).
pub async fn delete_sessions_except(tx: &mut Tx, user_id: i64, keep: Option<&str>) -> Result<u64> {
    tx.exec("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2", args![user_id, keep.unwrap_or("")]).await
}

/// Removes sessions past their expiry.
pub async fn purge_sessions(tx: &mut Tx, now: &str) -> Result<u64> {
    tx.exec("DELETE FROM sessions WHERE expires_at < $1", args![now]).await
}

// ---------- login attempts ----------

pub async fn record_attempt(tx: &mut Tx, username: &str, ip: &str, success: bool) -> Result<u64> {
    tx.exec(
        "INSERT INTO login_attempts (username, ip, at, success) VALUES ($1, $2, $3, $4)",
        args![username, ip, now(), success],
    )
    .await
}

/// Serialises the password checks' reservations until the end of `tx`
/// (PostgreSQL: an advisory lock; SQLite: a write transaction already is one),
/// so that two checks arriving together never both find room under the limit.
pub async fn lock_attempts(tx: &mut Tx) -> Result<()> {
    if tx.backend() == crate::Backend::Postgres {
        tx.exec("SELECT pg_advisory_xact_lock(7243002)", vec![]).await?;
    }
    Ok(())
}

/// Failed attempts since a time, for an account and for an address.
pub async fn failures_since(tx: &mut Tx, username: &str, ip: &str, since: &str) -> Result<(i64, i64)> {
    let by_user = tx
        .scalar(
            "SELECT COUNT(*) FROM login_attempts WHERE username = $1 AND at >= $2 AND success = $3",
            args![username, since, false],
        )
        .await?;
    let by_ip = tx
        .scalar(
            "SELECT COUNT(*) FROM login_attempts WHERE ip = $1 AND at >= $2 AND success = $3",
            args![ip, since, false],
        )
        .await?;
    Ok((by_user, by_ip))
}

/// A success clears the account's failure count.
pub async fn clear_failures(tx: &mut Tx, username: &str) -> Result<u64> {
    tx.exec("DELETE FROM login_attempts WHERE username = $1 AND success = $2", args![username, false]).await
}
