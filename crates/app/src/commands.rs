//! The commands other than user management.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use thidua_db::audit::{self, Verdict};
use thidua_db::{Backend, Db};
use thidua_web::{AppState, WebConfig};

use crate::cli::{AuditCommand, Cli, Command, TableCommand};
use crate::config::{Settings, ensure_sqlite_dir, sqlite_path};
use crate::{Failure, demo, table_cmd, transfer, users};

/// Runs a parsed command; returns the exit code.
pub async fn run(cli: Cli, settings: Settings) -> Result<u8, Failure> {
    match cli.command {
        Command::Serve => serve(&settings).await.map(|_| 0),
        Command::Migrate => migrate(&settings).await.map(|_| 0),
        Command::Demo { dir, listen, prepare_only } => {
            run_demo(&settings, &dir, listen.as_deref(), prepare_only).await.map(|_| 0)
        }
        Command::User(cmd) => users::run(&settings, cmd).await.map(|_| 0),
        Command::Backup { out } => backup(&settings, &out).await,
        Command::Audit(AuditCommand::Verify) => verify_audit(&settings).await,
        Command::Import { kind, file, as_user, dry_run } => {
            transfer::import(&settings, kind, &file, &as_user, dry_run).await
        }
        Command::Export { kind, out, year, authority_id, as_user } => {
            transfer::export(&settings, kind, &out, year, authority_id, &as_user).await
        }
        Command::Table(TableCommand::Export { group_id, year, out, version, as_user }) => {
            table_cmd::export(&settings, group_id, year, &out, version, &as_user).await
        }
        Command::Table(TableCommand::Import { group_id, year, file, as_user }) => {
            table_cmd::import(&settings, group_id, year, &file, &as_user).await
        }
    }
}

/// Opens the database of the settings, creating a SQLite file (and its directory) if missing.
pub async fn open(url: &str) -> Result<Db, Failure> {
    open_with(url, thidua_db::PoolOptions::default()).await
}

/// [`open`] with a pool of the given size and wait.
pub async fn open_with(url: &str, pool: thidua_db::PoolOptions) -> Result<Db, Failure> {
    ensure_sqlite_dir(url)?;
    Db::connect_with(url, pool).await.map_err(|e| connect_failure(url, e))
}

/// Opens an existing database: a missing SQLite file is an error, not a new empty database.
pub async fn open_existing(url: &str) -> Result<Db, Failure> {
    if let Some(p) = sqlite_path(url)
        && !p.is_file()
    {
        return Err(Failure::msg(format!("Không tìm thấy tệp cơ sở dữ liệu \"{}\".", p.display())));
    }
    Db::connect(url).await.map_err(|e| connect_failure(url, e))
}

fn connect_failure(url: &str, e: thidua_db::DbError) -> Failure {
    match e {
        thidua_db::DbError::Other(m) => Failure::msg(m),
        other => Failure::msg(format!("Không kết nối được cơ sở dữ liệu {}: {other}.", redact(url))),
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((cred, host)) = rest.split_once('@')
        && let Some((user, _)) = cred.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

/// Opens and migrates.
pub async fn open_migrated(url: &str) -> Result<Db, Failure> {
    open_migrated_with(url, thidua_db::PoolOptions::default()).await
}

/// [`open_migrated`] with a pool of the given size and wait.
pub async fn open_migrated_with(url: &str, pool: thidua_db::PoolOptions) -> Result<Db, Failure> {
    let db = open_with(url, pool).await?;
    db.migrate().await.map_err(|e| Failure::msg(format!("Không cập nhật được cấu trúc cơ sở dữ liệu: {e}.")))?;
    Ok(db)
}

async fn migrate(s: &Settings) -> Result<(), Failure> {
    let db = open_migrated(&s.database_url).await?;
    db.close().await;
    println!("Đã cập nhật cấu trúc cơ sở dữ liệu {}.", redact(&s.database_url));
    Ok(())
}

async fn serve(s: &Settings) -> Result<(), Failure> {
    // bind first: a wrong address is reported before anything touches the database
    let listener = bind(&s.listen).await?;
    let db = open_migrated_with(&s.database_url, s.pool_options()).await?;
    tracing::info!(database = %redact(&s.database_url), "đã kết nối cơ sở dữ liệu");
    run_server(listener, db, s.web_config(), |url| {
        tracing::info!(%url, "thidua đang chạy; nhấn Ctrl+C để dừng");
    })
    .await
}

/// Opens the listening socket.
pub async fn bind(listen: &str) -> Result<tokio::net::TcpListener, Failure> {
    tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        Failure::msg(format!(
            "Không mở được địa chỉ lắng nghe \"{listen}\": {e}. Hãy dùng dạng máy:cổng, ví dụ 127.0.0.1:8080, \
             với cổng chưa bị chương trình khác dùng."
        ))
    })
}

/// Serves until SIGINT/SIGTERM, then closes the pools.
pub async fn run_server(
    listener: tokio::net::TcpListener,
    db: Db,
    cfg: WebConfig,
    announce: impl FnOnce(&str),
) -> Result<(), Failure> {
    let addr = listener.local_addr().map_err(|e| Failure::msg(format!("Không đọc được địa chỉ lắng nghe: {e}.")))?;
    let st = AppState::new(db.clone(), cfg);
    let app = thidua_web::router(st.clone());
    announce(&format!("http://{addr}"));
    let res = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await;
    st.writes.close().await;
    db.close().await;
    tracing::info!("đã dừng máy chủ");
    res.map_err(|e| Failure::msg(format!("Máy chủ dừng vì lỗi: {e}.")))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("nhận tín hiệu dừng, đang kết thúc các yêu cầu dở dang");
}

/// The demo database file inside its directory.
pub const DEMO_FILE: &str = "thidua-demo.db";

/// Builds a fresh demo database in `dir`; returns it with its URL and accounts.
pub async fn prepare_demo(dir: &Path) -> Result<(Db, String, Vec<demo::DemoAccount>), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::msg(format!("Không tạo được thư mục \"{}\": {e}.", dir.display())))?;
    let file = dir.join(DEMO_FILE);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = file.clone().into_os_string();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            std::fs::remove_file(&p)
                .map_err(|e| Failure::msg(format!("Không xoá được tệp mẫu cũ \"{}\": {e}.", p.display())))?;
        }
    }
    let url = format!("sqlite://{}", file.display());
    let db = open_migrated(&url).await?;
    let accounts = demo::load(&db).await?;
    Ok((db, url, accounts))
}

async fn run_demo(s: &Settings, dir: &Path, listen: Option<&str>, prepare_only: bool) -> Result<(), Failure> {
    let listener = if prepare_only { None } else { Some(bind(listen.unwrap_or(&s.listen)).await?) };
    let started = std::time::Instant::now();
    let (db, url, accounts) = prepare_demo(dir).await?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "đã nạp dữ liệu mẫu");
    println!("Đã tạo cơ sở dữ liệu mẫu: {}", dir.join(DEMO_FILE).display());
    println!();
    println!("Tài khoản mẫu (mật khẩu chung: {}):", demo::DEMO_PASSWORD);
    print!("{}", demo::accounts_table(&accounts));
    println!();
    println!("Lịch năm {} của dữ liệu mẫu (các hạn dời theo ngày nạp):", demo::DEMO_YEAR);
    print!("{}", demo::calendar::calendar_for(thidua_web::ops::today()).text());
    let Some(listener) = listener else {
        db.close().await;
        println!();
        println!("Để chạy máy chủ với dữ liệu này: THIDUA_DATABASE_URL={url} thidua serve");
        return Ok(());
    };
    let mut cfg = s.web_config();
    cfg.data_dir = dir.to_path_buf();
    cfg.demo_accounts = accounts.iter().map(|a| (a.username.clone(), a.password.clone(), a.role.clone())).collect();
    run_server(listener, db, cfg, |url| {
        println!();
        println!("Bản trình diễn đang chạy tại {url}");
        println!("Nhấn Ctrl+C để dừng.");
    })
    .await
}

async fn backup(s: &Settings, out: &Path) -> Result<u8, Failure> {
    match Backend::of_url(&s.database_url) {
        Some(Backend::Postgres) => {
            eprintln!("Lệnh backup chỉ dùng cho SQLite. Với PostgreSQL, hãy sao lưu bằng pg_dump, ví dụ:");
            eprintln!("  pg_dump -Fc -f thidua.dump \"{}\"", redact(&s.database_url));
            eprintln!("(thay *** bằng mật khẩu nếu có) và phục hồi bằng pg_restore.");
            return Ok(2);
        }
        Some(Backend::Sqlite) => {}
        None => return Err(Failure::msg(format!("Địa chỉ cơ sở dữ liệu không hợp lệ: \"{}\".", s.database_url))),
    }
    if out.exists() {
        return Err(Failure::msg(format!("Tệp \"{}\" đã có; hãy chọn một tên tệp khác.", out.display())));
    }
    if let Some(parent) = out.parent()
        && !parent.as_os_str().is_empty()
        && !parent.is_dir()
    {
        return Err(Failure::msg(format!("Không có thư mục \"{}\".", parent.display())));
    }
    let Some(dest) = out.to_str() else {
        return Err(Failure::msg("Đường dẫn tệp sao lưu chứa ký tự không hợp lệ."));
    };
    let db = open_existing(&s.database_url).await?;
    let res = db.backup_sqlite(dest).await;
    db.close().await;
    res.map_err(|e| Failure::msg(format!("Sao lưu không thành công: {e}.")))?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!("Đã sao lưu cơ sở dữ liệu vào \"{}\" ({} KB).", out.display(), size.div_ceil(1024));
    Ok(0)
}

async fn verify_audit(s: &Settings) -> Result<u8, Failure> {
    let db = open_existing(&s.database_url).await?;
    let verdict = audit::verify(&db).await;
    db.close().await;
    match verdict.map_err(|e| Failure::msg(format!("Không đọc được nhật ký: {e}.")))? {
        Verdict::Intact(n) => {
            println!("Nhật ký toàn vẹn: {n} bản ghi.");
            Ok(0)
        }
        Verdict::Broken { id, why } => {
            println!("Nhật ký bị sửa đổi tại bản ghi số {id}: {why}");
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
