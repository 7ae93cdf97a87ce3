//! Managing accounts and their roles (administrators), shared with the CLI.

use serde::{Deserialize, Serialize};
use serde_json::json;
use thidua_core::password::{check_new_password, parse_username};
use thidua_core::policy::{Action, Role, Target};
use thidua_db::users::{self, GrantRow, UserRow};
use thidua_db::{Tx, audit};
use utoipa::ToSchema;

use super::authorize;
use crate::AppState;
use crate::auth::{self, Ctx};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewUser {
    pub username: String,
    pub full_name: String,
    pub password: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct GrantInput {
    /// admin | secretariat | council | viewer | unit_leader | unit_officer
    pub role: String,
    /// For secretariat, council and viewer.
    #[serde(default)]
    pub authority_id: Option<i64>,
    /// For unit_leader and unit_officer.
    #[serde(default)]
    pub unit_id: Option<i64>,
}

/// A user with their roles.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub user: UserRow,
    pub grants: Vec<GrantRow>,
}

/// Creates a user inside a transaction; `who` is the audit entry to fill.
pub async fn create_user_tx(tx: &mut Tx, input: &NewUser, mut who: audit::Entry) -> AppResult<UserRow> {
    let username = parse_username(&input.username)?;
    let full_name = thidua_core::org::Name::parse("Họ và tên", &input.full_name)?;
    check_new_password(&input.password, &username)?;
    if users::user_by_name(tx, &username).await?.is_some() {
        return Err(AppError::Conflict(format!("Tên đăng nhập \"{username}\" đã có người dùng.")));
    }
    let hash = auth::hash_password(&input.password)?;
    let id = users::insert_user(tx, &username, full_name.as_str(), &hash).await?;
    let row = users::user(tx, id).await?.ok_or(AppError::NotFound)?;
    who.action = "user.create".into();
    who.object_type = "user".into();
    who.object_id = id.to_string();
    who.after = Some(json!(row));
    audit::append(tx, who).await?;
    Ok(row)
}

/// Adds a role to a user inside a transaction, checking its scope.
pub async fn add_grant_tx(tx: &mut Tx, user_id: i64, input: &GrantInput, mut who: audit::Entry) -> AppResult<GrantRow> {
    let role =
        Role::parse(&input.role).ok_or_else(|| AppError::invalid("Vai trò", "Vai trò không có trong danh mục."))?;
    let (authority_id, unit_id) = if role == Role::Admin {
        (None, None)
    } else if role.is_authority_role() {
        let a = input.authority_id.ok_or_else(|| AppError::invalid("Cơ quan", "Vai trò này cần chọn cơ quan."))?;
        thidua_db::org::authority(tx, a)
            .await?
            .ok_or_else(|| AppError::invalid("Cơ quan", "Cơ quan không tồn tại."))?;
        (Some(a), None)
    } else {
        let u = input.unit_id.ok_or_else(|| AppError::invalid("Đơn vị", "Vai trò này cần chọn đơn vị."))?;
        thidua_db::org::unit(tx, u).await?.ok_or_else(|| AppError::invalid("Đơn vị", "Đơn vị không tồn tại."))?;
        (None, Some(u))
    };
    let existing = users::grants_of(tx, user_id).await?;
    if existing.iter().any(|g| g.role == role.code() && g.authority_id == authority_id && g.unit_id == unit_id) {
        return Err(AppError::Conflict("Người dùng đã có vai trò này.".into()));
    }
    let gid = users::insert_grant(tx, user_id, role, authority_id, unit_id).await?;
    let row = users::grants_of(tx, user_id).await?.into_iter().find(|g| g.id == gid).ok_or(AppError::NotFound)?;
    who.action = "user.grant".into();
    who.object_type = "user".into();
    who.object_id = user_id.to_string();
    who.after = Some(json!(row));
    audit::append(tx, who).await?;
    Ok(row)
}

/// Sets a new password inside a transaction and ends all the user's sessions.
pub async fn reset_password_tx(tx: &mut Tx, user: &UserRow, password: &str, mut who: audit::Entry) -> AppResult<()> {
    check_new_password(password, &user.username)?;
    let hash = auth::hash_password(password)?;
    users::set_password(tx, user.id, &hash).await?;
    let ended = users::delete_sessions_except(tx, user.id, None).await?;
    who.action = "user.password_reset".into();
    who.object_type = "user".into();
    who.object_id = user.id.to_string();
    who.after = Some(json!({ "sessions_ended": ended }));
    audit::append(tx, who).await?;
    Ok(())
}

/// Disables or enables an account inside a transaction (disabling ends its sessions).
pub async fn set_disabled_tx(tx: &mut Tx, user: &UserRow, disabled: bool, mut who: audit::Entry) -> AppResult<()> {
    users::set_disabled(tx, user.id, disabled).await?;
    if disabled {
        users::delete_sessions_except(tx, user.id, None).await?;
    }
    who.action = if disabled { "user.disable" } else { "user.enable" }.into();
    who.object_type = "user".into();
    who.object_id = user.id.to_string();
    who.before = Some(json!({ "disabled": user.disabled }));
    who.after = Some(json!({ "disabled": disabled }));
    audit::append(tx, who).await?;
    Ok(())
}

pub async fn list(st: &AppState, ctx: &Ctx) -> AppResult<Vec<UserView>> {
    let mut tx = st.db.read().await?;
    tx = authorize(st, ctx, tx, Action::ManageUsers, &Target::system(), "user:*").await?;
    let all = users::users(&mut tx).await?;
    let grants = users::all_grants(&mut tx).await?;
    tx.rollback().await?;
    Ok(all
        .into_iter()
        .map(|u| {
            let g = grants.iter().filter(|g| g.user_id == u.id).cloned().collect();
            UserView { user: u, grants: g }
        })
        .collect())
}

pub async fn get(st: &AppState, ctx: &Ctx, id: i64) -> AppResult<UserView> {
    let mut tx = st.db.read().await?;
    tx = authorize(st, ctx, tx, Action::ManageUsers, &Target::system(), &format!("user:{id}")).await?;
    let user = users::user(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let grants = users::grants_of(&mut tx, id).await?;
    tx.rollback().await?;
    Ok(UserView { user, grants })
}

pub async fn create(st: &AppState, ctx: &Ctx, input: &NewUser) -> AppResult<UserRow> {
    let mut tx = st.db.begin().await?;
    tx = authorize(st, ctx, tx, Action::ManageUsers, &Target::system(), "user:new").await?;
    let row = create_user_tx(&mut tx, input, ctx.entry("", "", "")).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn add_grant(st: &AppState, ctx: &Ctx, user_id: i64, input: &GrantInput) -> AppResult<GrantRow> {
    let mut tx = st.db.begin().await?;
    tx = authorize(st, ctx, tx, Action::ManageUsers, &Target::system(), &format!("user:{user_id}")).await?;
    users::user(&mut tx, user_id).await?.ok_or(AppError::NotFound)?;
    let row = add_grant_tx(&mut tx, user_id, input, ctx.entry("", "", "")).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn remove_grant(st: &AppState, ctx: &Ctx, user_id: i64, grant_id: i64) -> AppResult<()> {
    let mut tx = st.db.begin().await?;
    tx = authorize(st, ctx, tx, Action::ManageUsers, &Target::system(), &format!("user:{user_id}")).await?;
    let before =
        users::grants_of(&mut tx, user_id).await?.into_iter().find(|g| g.id == grant_id).ok_or(AppError::NotFound)?;
    if user_id == ctx.user.id && before.role == Role::Admin.code() {
        return Err(AppError::invalid("Vai trò", "Bạn không thể tự bỏ quyền quản trị của chính mình."));
    }
    users::delete_grant(&mut tx, user_id, grant_id).await?;
    let mut e = ctx.entry("user.revoke", "user", user_id);
    e.before = Some(json!(before));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn reset_password(st: &AppState, ctx: &Ctx, user_id: i64, password: &str) -> AppResult<()> {
    let mut tx = st.db.begin().await?;
    tx = authorize(st, ctx, tx, Action::ManageUsers, &Target::system(), &format!("user:{user_id}")).await?;
    let user = users::user(&mut tx, user_id).await?.ok_or(AppError::NotFound)?;
    reset_password_tx(&mut tx, &user, password, ctx.entry("", "", "")).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_disabled(st: &AppState, ctx: &Ctx, user_id: i64, disabled: bool) -> AppResult<()> {
    let mut tx = st.db.begin().await?;
    tx = authorize(st, ctx, tx, Action::ManageUsers, &Target::system(), &format!("user:{user_id}")).await?;
    let user = users::user(&mut tx, user_id).await?.ok_or(AppError::NotFound)?;
    if user.id == ctx.user.id && disabled {
        return Err(AppError::invalid("Tài khoản", "Bạn không thể tự khoá tài khoản của chính mình."));
    }
    set_disabled_tx(&mut tx, &user, disabled, ctx.entry("", "", "")).await?;
    tx.commit().await?;
    Ok(())
}
