//! Accounts and sessions: argon2id hashes, server-side sessions stored in the
//! database (so several servers share them), session id rotated at login,
//! idle and absolute expiry, CSRF tokens, login throttling.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use thidua_core::policy::Actor;
use thidua_db::users::{GrantRow, SessionRow, UserRow};
use thidua_db::{Db, audit, stamp, users};

use crate::error::{AppError, AppResult};
use crate::{AppState, ReqMeta};

pub const SESSION_COOKIE: &str = "thidua_session";
pub const PRE_CSRF_COOKIE: &str = "thidua_csrf";

/// Hashes a password with argon2id (the crate's default parameters).
pub fn hash_password(password: &str) -> AppResult<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hash: {e}")))
}

/// Verifies a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash computed once, verified against when the user does not exist, so
/// that an unknown user and a wrong password take the same time.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("không-phải-mật-khẩu-của-ai").unwrap_or_default())
}

/// 32 random bytes, hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    hex::encode(b)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user: UserRow,
    pub actor: Actor,
    pub grants: Vec<GrantRow>,
    pub session_hash: String,
    pub csrf: String,
    pub meta: ReqMeta,
    /// The audit log's head, read with the session by a GET or HEAD
    /// request: a kept group-year stamped with it is what that request
    /// shows, as of its start. None for other requests, which read the head
    /// again when they need it. A GET handler must not write before it
    /// reads a kept group-year (none does: `authorize` writes a denial and
    /// then refuses); one that would must read with `head: None`.
    pub head: Option<i64>,
}

impl Ctx {
    /// The audit entry skeleton for this user's action.
    pub fn entry(&self, action: &str, object_type: &str, object_id: impl ToString) -> audit::Entry {
        audit::Entry {
            actor_user_id: Some(self.user.id),
            actor_name: self.user.username.clone(),
            action: action.into(),
            object_type: object_type.into(),
            object_id: object_id.to_string(),
            request_id: self.meta.request_id.clone(),
            ..Default::default()
        }
    }

    /// A short, non-secret handle of this session (a prefix of its hash).
    pub fn session_handle(&self) -> &str {
        &self.session_hash[..16]
    }
}

/// Why there is no user on a request that carried a session cookie.
#[derive(Debug, Clone, Copy)]
pub struct SessionExpired;

/// The sessions this server has read, with their users and grants, kept
/// while the database's `signed_in_epoch` keeps its value (migration 0009):
/// a signed-in request then reads that one row, which comes with the log's
/// head, instead of its session, user and grants. Every server keeps its
/// own, and none answers from it after another changed what it holds: a
/// sign-out, a grant, a password or a unit's name changes the value.
#[derive(Debug, Default)]
pub struct KeptSessions {
    inner: std::sync::Mutex<KeptInner>,
    /// Signed-in requests answered with a kept session, and those that read it.
    answered: [std::sync::atomic::AtomicU64; 2],
}

#[derive(Debug, Default)]
struct KeptInner {
    /// The value the kept sessions were read at (none kept without one).
    epoch: Option<i64>,
    by_hash: std::collections::HashMap<String, Arc<KeptSession>>,
}

/// At most this many sessions are kept; past it, all are let go and read again.
const KEPT_SESSIONS_MAX: usize = 50_000;

#[derive(Debug)]
struct KeptSession {
    user: UserRow,
    grants: Vec<GrantRow>,
    actor: Actor,
    csrf: String,
    expires: DateTime<Utc>,
    /// When the session was last seen as far as this server knows (read
    /// with it or written by it), in microseconds since 1970: another
    /// server may have written a later time, so an idle session is read
    /// again before it is ended.
    last_seen: AtomicI64,
}

impl KeptSession {
    fn last_seen(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.last_seen.load(Ordering::Relaxed)).unwrap_or_default()
    }
}

impl KeptSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, KeptInner> {
        // what is kept is whole at every step: a panic elsewhere leaves nothing half-done
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, epoch: i64, id_hash: &str) -> Option<Arc<KeptSession>> {
        let kept = self.lock();
        if kept.epoch != Some(epoch) {
            return None;
        }
        kept.by_hash.get(id_hash).cloned()
    }

    /// Keeps a session read after `epoch` was read: if the value changed
    /// in between, the next request sees another value and reads it again.
    fn keep(&self, epoch: i64, id_hash: String, session: Arc<KeptSession>) {
        let mut kept = self.lock();
        if kept.epoch != Some(epoch) || kept.by_hash.len() >= KEPT_SESSIONS_MAX {
            kept.by_hash.clear();
            kept.epoch = Some(epoch);
        }
        kept.by_hash.insert(id_hash, session);
    }

    /// How many sessions are kept.
    pub fn len(&self) -> usize {
        self.lock().by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Signed-in requests answered with a kept session, and those that read it.
    pub fn counts(&self) -> (u64, u64) {
        (self.answered[0].load(Ordering::Relaxed), self.answered[1].load(Ordering::Relaxed))
    }

    /// The lines of `/metrics` about the kept sessions.
    pub fn metrics(&self) -> String {
        let (kept, read) = self.counts();
        format!(
            "# HELP thidua_session_reads_total Sessions of signed-in requests: answered as kept (after one small read), read.\n\
             # TYPE thidua_session_reads_total counter\n\
             thidua_session_reads_total{{outcome=\"kept\"}} {kept}\n\
             thidua_session_reads_total{{outcome=\"read\"}} {read}\n\
             # HELP thidua_sessions_kept Sessions kept.\n\
             # TYPE thidua_sessions_kept gauge\n\
             thidua_sessions_kept {}\n",
            self.len()
        )
    }
}

/// Loads the session named by a cookie value, enforcing idle and absolute expiry.
/// Returns Ok(None) when there is no valid session (and removes an expired one).
/// `safe`: the request changes nothing before it answers (GET, HEAD), so
/// the log's head read here may say whether a kept group-year is current
/// ([`Ctx::head`]).
pub async fn load_session(st: &AppState, raw: &str, meta: &ReqMeta, safe: bool) -> AppResult<Option<Ctx>> {
    let id_hash = sha256_hex(raw);
    let (epoch, head) = users::epoch_and_head(&st.db).await?;
    let now = Utc::now();
    let idle = |last: DateTime<Utc>| now.signed_duration_since(last) > st.cfg.idle_timeout;
    let kept = epoch.and_then(|e| st.sessions.get(e, &id_hash)).filter(|k| now < k.expires && !idle(k.last_seen()));
    let kept = match kept {
        Some(k) => {
            st.sessions.answered[0].fetch_add(1, Ordering::Relaxed);
            k
        }
        None => {
            st.sessions.answered[1].fetch_add(1, Ordering::Relaxed);
            let Some((s, user, grants)) = users::signed_in(&st.db, &id_hash).await? else {
                return Ok(None);
            };
            let last = thidua_db::parse_stamp(&s.last_seen_at).unwrap_or(now);
            let expires = thidua_db::parse_stamp(&s.expires_at).unwrap_or(now);
            if user.disabled || idle(last) || now >= expires {
                let mut w = st.db.begin_unlogged().await?;
                users::delete_session(&mut w, &id_hash).await?;
                w.commit().await?;
                return Ok(None);
            }
            let actor = Actor { user_id: user.id, grants: grants.iter().filter_map(|g| g.to_grant()).collect() };
            let k = Arc::new(KeptSession {
                user,
                grants,
                actor,
                csrf: s.csrf_token,
                expires,
                last_seen: AtomicI64::new(last.timestamp_micros()),
            });
            if let Some(e) = epoch {
                st.sessions.keep(e, id_hash.clone(), k.clone());
            }
            k
        }
    };
    // write last_seen at most once a minute
    if now.signed_duration_since(kept.last_seen()) > Duration::seconds(60) {
        let mut w = st.db.begin_unlogged().await?;
        users::touch_session(&mut w, &id_hash, &stamp(now)).await?;
        w.commit().await?;
        kept.last_seen.store(now.timestamp_micros(), Ordering::Relaxed);
    }
    Ok(Some(Ctx {
        user: kept.user.clone(),
        actor: kept.actor.clone(),
        grants: kept.grants.clone(),
        session_hash: id_hash,
        csrf: kept.csrf.clone(),
        meta: meta.clone(),
        head: safe.then_some(head),
    }))
}

/// The outcome of a login.
pub struct LoggedIn {
    /// The new session id, to set in the cookie.
    pub session_id: String,
    pub csrf: String,
    pub user: UserRow,
}

/// The one message for an unknown user and a wrong password.
pub const BAD_CREDENTIALS: &str = "Tên đăng nhập hoặc mật khẩu không đúng.";

/// Checks credentials with throttling, and opens a new session (a fresh id:
/// any session id the browser had before is ended, so the id rotates at login).
/// The password is verified off the async threads and outside any write
/// transaction, so a burst of logins never holds the database's write lock.
pub async fn login(
    st: &AppState,
    username: &str,
    password: &str,
    old_session: Option<&str>,
    meta: &ReqMeta,
) -> AppResult<LoggedIn> {
    let username = username.trim().to_lowercase();
    // counted as a failure until it succeeds
    throttle(st, &username, meta).await?;
    let mut tx = st.db.read().await?;
    let user = users::user_by_name(&mut tx, &username).await?;
    tx.rollback().await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| dummy_hash().to_string());
    let given = password.to_string();
    let matches = tokio::task::spawn_blocking(move || verify_password(&given, &stored))
        .await
        .map_err(|e| AppError::Internal(format!("verify: {e}")))?;
    let Some(user) = user.filter(|u| matches && !u.disabled) else {
        record_failure(st, &username, meta, "login_failed").await?;
        return Err(AppError::Forbidden(BAD_CREDENTIALS.into()));
    };
    let mut tx = st.db.begin().await?;
    users::clear_failures(&mut tx, &username).await?;
    if let Some(old) = old_session {
        users::delete_session(&mut tx, &sha256_hex(old)).await?;
    }
    let session_id = random_token();
    let csrf = random_token();
    let now = Utc::now();
    users::insert_session(
        &mut tx,
        &SessionRow {
            id_hash: sha256_hex(&session_id),
            user_id: user.id,
            csrf_token: csrf.clone(),
            created_at: stamp(now),
            last_seen_at: stamp(now),
            expires_at: stamp(now + st.cfg.absolute_timeout),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.chars().take(300).collect(),
        },
    )
    .await?;
    users::purge_sessions(&mut tx, &stamp(now)).await?;
    let mut e = denial_entry(meta, &username, "login", "user", user.id);
    e.actor_user_id = Some(user.id);
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(LoggedIn { session_id, csrf, user })
}

/// Before a password check: refuses (and audits) it for an account or an
/// address with too many recent failures; else counts it as a failure
/// until it succeeds (`users::clear_failures`). The count and the
/// reservation are one transaction, serialised with the others, so checks
/// arriving together cannot all find room under the limit.
pub async fn throttle(st: &AppState, username: &str, meta: &ReqMeta) -> AppResult<()> {
    let since = stamp(Utc::now() - st.cfg.throttle_window);
    let mut tx = st.db.begin_unlogged().await?;
    users::lock_attempts(&mut tx).await?;
    let (by_user, by_ip) = users::failures_since(&mut tx, username, &meta.ip, &since).await?;
    if by_user < st.cfg.max_failures_per_account && by_ip < st.cfg.max_failures_per_ip {
        users::record_attempt(&mut tx, username, &meta.ip, false).await?;
        tx.commit().await?;
        return Ok(());
    }
    // the refusal is audited in a transaction of its own: the reservations'
    // lock is not held while waiting for the log
    tx.rollback().await?;
    let mut tx = st.db.begin().await?;
    let mut e = denial_entry(meta, username, "login_throttled", "user", username);
    e.reason = Some(format!("{by_user} lần sai theo tài khoản, {by_ip} lần sai theo địa chỉ"));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    let minutes = st.cfg.throttle_window.num_minutes();
    Err(AppError::TooMany(format!(
        "Nhập sai mật khẩu quá nhiều lần. Vì an toàn, hãy thử lại sau {minutes} phút hoặc liên hệ quản trị viên."
    )))
}

/// Audits a failed password check (already counted by [`throttle`]).
pub async fn record_failure(st: &AppState, username: &str, meta: &ReqMeta, action: &str) -> AppResult<()> {
    let mut tx = st.db.begin().await?;
    audit::append(&mut tx, denial_entry(meta, username, action, "user", username)).await?;
    tx.commit().await?;
    Ok(())
}

/// A password check succeeded: the account's failures are cleared (the
/// check's own reservation with them).
pub async fn clear_failures(st: &AppState, username: &str) -> AppResult<()> {
    let mut tx = st.db.begin_unlogged().await?;
    users::clear_failures(&mut tx, username).await?;
    tx.commit().await?;
    Ok(())
}

fn denial_entry(
    meta: &ReqMeta,
    actor: &str,
    action: &str,
    object_type: &str,
    object_id: impl ToString,
) -> audit::Entry {
    audit::Entry {
        actor_user_id: None,
        actor_name: actor.into(),
        action: action.into(),
        object_type: object_type.into(),
        object_id: object_id.to_string(),
        request_id: meta.request_id.clone(),
        ..Default::default()
    }
}

/// Ends the current session.
pub async fn logout(st: &AppState, ctx: &Ctx) -> AppResult<()> {
    let mut tx = st.db.begin().await?;
    users::delete_session(&mut tx, &ctx.session_hash).await?;
    audit::append(&mut tx, ctx.entry("logout", "user", ctx.user.id)).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a denial in the audit log, in its own transaction (the refused
/// action's transaction, if any, is rolled back), and returns the error.
pub async fn record_denial(
    db: &Db,
    meta: &ReqMeta,
    ctx: Option<&Ctx>,
    action: &str,
    object: &str,
    reason: &str,
) -> AppError {
    record_denial_in(db, meta, ctx, action, object, reason, None).await
}

/// Like [`record_denial`], marking the row with the authority of the refused
/// object so that the authority's secretariat sees it in its audit log.
pub async fn record_denial_in(
    db: &Db,
    meta: &ReqMeta,
    ctx: Option<&Ctx>,
    action: &str,
    object: &str,
    reason: &str,
    authority_id: Option<i64>,
) -> AppError {
    record(db, denial_of(meta, ctx, action, object, reason, authority_id)).await;
    AppError::Forbidden(reason.into())
}

/// Appends a denial's entry in a transaction of its own (a failure is logged: the refusal is answered anyway).
pub async fn record(db: &Db, e: audit::Entry) {
    let res = async {
        let mut tx = db.begin().await?;
        audit::append(&mut tx, e).await?;
        tx.commit().await
    }
    .await;
    if let Err(err) = res {
        tracing::error!(error = %err, "could not audit a denial");
    }
}

/// The audit entry of a denial (`denied:{action}` on `object`, with its reason).
pub fn denial_of(
    meta: &ReqMeta,
    ctx: Option<&Ctx>,
    action: &str,
    object: &str,
    reason: &str,
    authority_id: Option<i64>,
) -> audit::Entry {
    // "group:1/year:2026/unit:7": the type before the first colon, the rest its id
    let (object_type, object_id) = object.split_once(':').unwrap_or((object, ""));
    audit::Entry {
        actor_user_id: ctx.map(|c| c.user.id),
        actor_name: ctx.map(|c| c.user.username.clone()).unwrap_or_else(|| "(khách)".into()),
        action: format!("denied:{action}"),
        object_type: object_type.into(),
        object_id: object_id.into(),
        request_id: meta.request_id.clone(),
        reason: Some(reason.into()),
        authority_id,
        ..Default::default()
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Ctx {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Ctx>().cloned().ok_or(AppError::Unauthenticated)
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Ctx>().cloned())
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ReqMeta {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ReqMeta>().cloned().unwrap_or_default())
    }
}
