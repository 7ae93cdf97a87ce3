//! A user's own account: password and sessions.

use serde::{Deserialize, Serialize};
use serde_json::json;
use thidua_db::{audit, users};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{self, Ctx};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PasswordInput {
    pub current: String,
    pub new: String,
    /// The new password again.
    pub confirm: String,
}

/// Changes the user's password and ends their other sessions.
pub async fn change_password(st: &AppState, ctx: &Ctx, input: &PasswordInput) -> AppResult<()> {
    auth::throttle(st, &ctx.user.username, &ctx.meta).await?;
    let (given, stored) = (input.current.clone(), ctx.user.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&given, &stored))
        .await
        .map_err(|e| AppError::Internal(format!("verify: {e}")))?;
    if !ok {
        auth::record_failure(st, &ctx.user.username, &ctx.meta, "password_check_failed").await?;
        return Err(AppError::invalid("Mật khẩu hiện tại", "Mật khẩu hiện tại không đúng."));
    }
    auth::clear_failures(st, &ctx.user.username).await?;
    if input.new != input.confirm {
        return Err(AppError::invalid("Nhập lại mật khẩu mới", "Hai lần nhập mật khẩu mới không giống nhau."));
    }
    thidua_core::password::check_new_password(&input.new, &ctx.user.username)?;
    let hash = auth::hash_password(&input.new)?;
    let mut tx = st.db.begin().await?;
    users::set_password(&mut tx, ctx.user.id, &hash).await?;
    let ended = users::delete_sessions_except(&mut tx, ctx.user.id, Some(&ctx.session_hash)).await?;
    let mut e = ctx.entry("user.password", "user", ctx.user.id);
    e.after = Some(json!({ "other_sessions_ended": ended }));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(())
}

/// One session as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionView {
    /// A handle to end the session with (not the session id).
    pub handle: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub ip: String,
    pub user_agent: String,
    pub current: bool,
}

pub async fn my_sessions(st: &AppState, ctx: &Ctx) -> AppResult<Vec<SessionView>> {
    let mut tx = st.db.read().await?;
    let rows = users::sessions_of(&mut tx, ctx.user.id).await?;
    tx.rollback().await?;
    Ok(rows
        .into_iter()
        .map(|s| SessionView {
            handle: s.id_hash[..16].to_string(),
            current: s.id_hash == ctx.session_hash,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect())
}

/// Ends one of the user's own sessions, named by its handle.
pub async fn end_session(st: &AppState, ctx: &Ctx, handle: &str) -> AppResult<()> {
    let mut tx = st.db.begin().await?;
    let rows = users::sessions_of(&mut tx, ctx.user.id).await?;
    let Some(s) = rows.iter().find(|s| s.id_hash.starts_with(handle) && handle.len() == 16) else {
        return Err(AppError::NotFound);
    };
    users::delete_session(&mut tx, &s.id_hash).await?;
    let mut e = ctx.entry("session.end", "user", ctx.user.id);
    e.after = Some(json!({ "session": handle }));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(())
}
