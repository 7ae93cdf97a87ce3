//! The operations: one function per user action, shared by the pages and the
//! API. Each parses nothing itself (it takes parsed input), asks the policy,
//! runs one transaction, appends to the audit log, and returns plain data.

pub mod account;
pub mod audit_log;
pub mod calendar;
pub mod chain;
pub mod covenant;
pub mod documents;
pub mod import;
pub mod inspection;
pub mod org;
pub mod scores;
pub mod tables;
pub mod users;

use thidua_core::policy::{Action, Target, decide};
use thidua_db::Tx;
use thidua_db::org::AuthorityRow;

use crate::AppState;
use crate::auth::{Ctx, record_denial_in};
use crate::error::AppResult;

/// Asks the policy; on refusal, rolls the transaction back, records the
/// denial in the audit log and returns the error.
pub async fn authorize(
    st: &AppState,
    ctx: &Ctx,
    tx: Tx,
    action: Action,
    target: &Target,
    object: &str,
) -> AppResult<Tx> {
    match decide(&ctx.actor, action, target) {
        Ok(()) => Ok(tx),
        Err(denied) => {
            tx.rollback().await?;
            Err(record_denial_in(
                &st.db,
                &ctx.meta,
                Some(ctx),
                action.code(),
                object,
                &denied.to_string(),
                target.authority_path.first().copied(),
            )
            .await)
        }
    }
}

/// A write the score workflow refuses (its stage not open, its date past, the
/// sheet submitted or the year final): answered as invalid input, so the form
/// shows why and what to do, and recorded in the audit log as a denial
/// (`denied:{action}`), so the secretariat sees who tried to write late.
/// The caller has rolled its transaction back.
pub async fn refused_write(
    st: &AppState,
    ctx: &Ctx,
    action: &str,
    object: &str,
    authority_id: i64,
    refusal: thidua_core::Invalid,
) -> crate::error::AppError {
    record_denial_in(&st.db, &ctx.meta, Some(ctx), action, object, &refusal.message, Some(authority_id)).await;
    crate::error::AppError::Invalid(vec![refusal])
}

/// (id, parent) of every authority, as the policy's list functions want.
pub fn tree(all: &[AuthorityRow]) -> Vec<(i64, Option<i64>)> {
    all.iter().map(|a| (a.id, a.parent_id)).collect()
}

/// Today in Vietnam (UTC+7), `YYYY-MM-DD`.
pub fn today() -> chrono::NaiveDate {
    thidua_core::workflow::local_date(chrono::Utc::now().naive_utc())
}

/// Splits a search text into folded words.
pub fn search_words(q: &str) -> Vec<String> {
    thidua_core::text::fold(q).split(' ').filter(|w| !w.is_empty()).map(|w| w.replace(['%', '_'], "")).collect()
}
