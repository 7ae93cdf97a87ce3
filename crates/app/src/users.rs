//! `thidua user …`: accounts managed from the command line. Every change runs
//! in one transaction with its audit entry, by the actor "(dòng lệnh)".

use std::io::{BufRead, IsTerminal};

use thidua_core::policy::{Actor, Role};
use thidua_db::users::{self as q, GrantRow, UserRow};
use thidua_db::{Db, audit};
use thidua_web::auth::Ctx;
use thidua_web::ops::users::{GrantInput, NewUser, add_grant_tx, create_user_tx, reset_password_tx, set_disabled_tx};
use thidua_web::{AppError, ReqMeta};

use crate::cli::UserCommand;
use crate::commands::open_migrated;
use crate::config::Settings;
use crate::{CLI_ACTOR, CLI_REQUEST, Failure};

/// The audit entry skeleton of a command-line change.
pub fn cli_entry() -> audit::Entry {
    audit::Entry { actor_name: CLI_ACTOR.into(), request_id: CLI_REQUEST.into(), ..Default::default() }
}

pub async fn run(s: &Settings, cmd: UserCommand) -> Result<(), Failure> {
    let db = open_migrated(&s.database_url).await?;
    let res = run_on(&db, cmd).await;
    db.close().await;
    res
}

async fn run_on(db: &Db, cmd: UserCommand) -> Result<(), Failure> {
    match cmd {
        UserCommand::Add { username, full_name, role, authority_id, unit_id, password_stdin } => {
            let username = thidua_core::password::parse_username(&username).map_err(AppError::from)?;
            if find(db, &username).await?.is_some() {
                return Err(AppError::Conflict(format!("Tên đăng nhập \"{username}\" đã có người dùng.")).into());
            }
            let password = read_password(password_stdin)?;
            let input = NewUser { username, full_name, password };
            let grant = role.map(|role| GrantInput { role, authority_id, unit_id });
            let (user, grant) = add_user(db, &input, grant.as_ref()).await?;
            println!("Đã tạo tài khoản \"{}\" ({}).", user.username, user.full_name);
            if let Some(g) = grant {
                println!("Vai trò: {}.", grant_label(&g));
            }
            Ok(())
        }
        UserCommand::Passwd { username, password_stdin } => {
            let user = existing(db, &username).await?;
            let password = read_password(password_stdin)?;
            let mut tx = db.begin().await?;
            reset_password_tx(&mut tx, &user, &password, cli_entry()).await?;
            tx.commit().await?;
            println!("Đã đặt mật khẩu mới cho \"{}\"; mọi phiên đăng nhập của tài khoản đã kết thúc.", user.username);
            Ok(())
        }
        UserCommand::List => {
            let mut tx = db.read().await?;
            let all = q::users(&mut tx).await?;
            let grants = q::all_grants(&mut tx).await?;
            tx.rollback().await?;
            print!("{}", users_table(&all, &grants));
            Ok(())
        }
        UserCommand::Disable { username } => set_disabled(db, &username, true).await,
        UserCommand::Enable { username } => set_disabled(db, &username, false).await,
    }
}

/// Creates a user and, if given, its first role, in one transaction.
pub async fn add_user(
    db: &Db,
    input: &NewUser,
    grant: Option<&GrantInput>,
) -> Result<(UserRow, Option<GrantRow>), AppError> {
    let mut tx = db.begin().await?;
    let user = create_user_tx(&mut tx, input, cli_entry()).await?;
    let g = match grant {
        Some(g) => Some(add_grant_tx(&mut tx, user.id, g, cli_entry()).await?),
        None => None,
    };
    tx.commit().await?;
    Ok((user, g))
}

async fn set_disabled(db: &Db, username: &str, disabled: bool) -> Result<(), Failure> {
    let user = existing(db, username).await?;
    if user.disabled == disabled {
        println!("Tài khoản \"{}\" {} rồi.", user.username, if disabled { "đã bị khoá" } else { "đang hoạt động" });
        return Ok(());
    }
    let mut tx = db.begin().await?;
    set_disabled_tx(&mut tx, &user, disabled, cli_entry()).await?;
    tx.commit().await?;
    if disabled {
        println!("Đã khoá tài khoản \"{}\"; mọi phiên đăng nhập của tài khoản đã kết thúc.", user.username);
    } else {
        println!("Đã mở khoá tài khoản \"{}\".", user.username);
    }
    Ok(())
}

async fn find(db: &Db, username: &str) -> Result<Option<UserRow>, AppError> {
    let mut tx = db.read().await?;
    let u = q::user_by_name(&mut tx, username).await?;
    tx.rollback().await?;
    Ok(u)
}

async fn existing(db: &Db, username: &str) -> Result<UserRow, Failure> {
    let name = username.trim().to_lowercase();
    find(db, &name).await?.ok_or_else(|| Failure::msg(format!("Không có tài khoản \"{}\".", username.trim())))
}

/// The signed-in context of a named user, for commands that act as that user
/// (import, export): the policy then decides as it would on the web.
pub async fn cli_ctx(db: &Db, username: &str) -> Result<Ctx, Failure> {
    let user = existing(db, username).await?;
    if user.disabled {
        return Err(Failure::msg(format!("Tài khoản \"{}\" đang bị khoá.", user.username)));
    }
    let mut tx = db.read().await?;
    let grants = q::grants_of(&mut tx, user.id).await?;
    tx.rollback().await?;
    let actor = Actor { user_id: user.id, grants: grants.iter().filter_map(GrantRow::to_grant).collect() };
    Ok(Ctx {
        user,
        actor,
        grants,
        session_hash: "0".repeat(64),
        csrf: String::new(),
        meta: ReqMeta {
            request_id: CLI_REQUEST.into(),
            ip: "cli".into(),
            user_agent: "thidua".into(),
            path: String::new(),
        },
        head: None,
    })
}

/// Reads a password: the first line of standard input when asked to or when
/// it is not a terminal; else prompts twice without echo.
fn read_password(from_stdin: bool) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if from_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::msg(format!("Không đọc được mật khẩu từ đầu vào chuẩn: {e}.")))?;
        let pw = line.trim_end_matches(['\n', '\r']).to_string();
        if pw.is_empty() {
            return Err(Failure::msg("Chưa có mật khẩu: hãy đưa mật khẩu vào dòng đầu tiên của đầu vào chuẩn."));
        }
        return Ok(pw);
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|e| Failure::msg(format!("Không đọc được mật khẩu: {e}.")))
    };
    let first = ask("Mật khẩu mới (ít nhất 12 ký tự): ")?;
    let second = ask("Nhập lại mật khẩu: ")?;
    if first != second {
        return Err(Failure::msg("Hai lần nhập mật khẩu không giống nhau."));
    }
    Ok(first)
}

/// "Lãnh đạo đơn vị (Sở Tư pháp)".
pub fn grant_label(g: &GrantRow) -> String {
    let role = Role::parse(&g.role).map(Role::label).unwrap_or(g.role.as_str());
    match &g.scope_name {
        Some(scope) => format!("{role} ({scope})"),
        None => role.to_string(),
    }
}

/// The user list as a plain-text table.
pub fn users_table(all: &[UserRow], grants: &[GrantRow]) -> String {
    if all.is_empty() {
        return "Chưa có tài khoản nào.\n".into();
    }
    let rows: Vec<[String; 4]> = all
        .iter()
        .map(|u| {
            let roles: Vec<String> = grants.iter().filter(|g| g.user_id == u.id).map(grant_label).collect();
            [
                u.username.clone(),
                u.full_name.clone(),
                if u.disabled { "Đã khoá" } else { "Hoạt động" }.to_string(),
                if roles.is_empty() { "(chưa có vai trò)".to_string() } else { roles.join("; ") },
            ]
        })
        .collect();
    let mut out = table(&["Tên đăng nhập", "Họ và tên", "Trạng thái", "Vai trò"], &rows);
    out.push_str(&format!("Tổng cộng: {} tài khoản.\n", all.len()));
    out
}

/// Left-aligned columns separated by two spaces (widths in characters).
pub fn table<const N: usize>(head: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = head.map(|h| h.chars().count());
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            s.push_str(c);
            if i + 1 < N {
                s.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(head.to_vec());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().iter().map(|s| s.as_str()).collect()));
    for r in rows {
        out.push_str(&line(r.iter().map(|s| s.as_str()).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_by_characters() {
        let t = table(&["Tên", "Vai trò"], &[["ả".into(), "x".into()], ["abcd".into(), "Người xem".into()]]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "Tên   Vai trò");
        assert_eq!(lines[2], "ả     x");
        assert_eq!(lines[3], "abcd  Người xem");
    }
}
