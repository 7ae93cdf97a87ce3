//! Browsing the audit log.

use serde::Deserialize;
use thidua_core::policy::{Action, Target, managed_authorities};
use thidua_db::audit::{self, Filter, Row};
use thidua_db::org as q;
use utoipa::IntoParams;

use super::{authorize, tree};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct AuditQuery {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub object_type: String,
    #[serde(default)]
    pub object_id: String,
    /// dd/mm/yyyy
    #[serde(default)]
    pub from: String,
    /// dd/mm/yyyy
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub page: Option<i64>,
}

pub const PAGE_SIZE: i64 = 50;

/// Rows newest first. A secretariat sees the rows of its authorities and below.
pub async fn browse(st: &AppState, ctx: &Ctx, query: &AuditQuery) -> AppResult<Vec<Row>> {
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    // days are Vietnam days (UTC+7): from 00:00 of the first to 00:00 after the last
    let bound = |field: &'static str, s: &str, next_day: bool| -> AppResult<Option<String>> {
        Ok(thidua_core::org::parse_opt_date(field, s)?.and_then(|d| {
            let d = if next_day { d.succ_opt()? } else { d };
            let local = d.and_hms_opt(0, 0, 0)?;
            Some(thidua_db::stamp(local.and_utc() - chrono::Duration::hours(7)))
        }))
    };
    let from = bound("Từ ngày", &query.from, false)?;
    let to = bound("Đến ngày", &query.to, true)?;
    let mut tx = st.db.read().await?;
    tx = authorize(st, ctx, tx, Action::ViewAudit, &Target::system(), "audit:*").await?;
    let all = q::authorities(&mut tx).await?;
    let scope = managed_authorities(&ctx.actor, &tree(&all));
    let page = query.page.unwrap_or(1).max(1);
    let f = Filter {
        actor: opt(&query.actor),
        action: opt(&query.action),
        object_type: opt(&query.object_type),
        object_id: opt(&query.object_id),
        from,
        to,
        authorities: scope,
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
    };
    let rows = audit::browse(&mut tx, &f).await.map_err(AppError::from)?;
    tx.rollback().await?;
    Ok(rows)
}
