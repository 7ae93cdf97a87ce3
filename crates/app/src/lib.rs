//! The `thidua` binary: configuration, logging, and the command-line commands
//! (serve, migrate, demo, user, backup, audit, import, export, table). `main.rs` only
//! calls [`main_with_args`]; tests call the pieces directly.

pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod table_cmd;
pub mod transfer;
pub mod users;

use std::fmt;
use std::process::ExitCode;

use thidua_web::AppError;

pub use config::Settings;

/// Who the audit log names for changes made from the command line.
pub const CLI_ACTOR: &str = "(dòng lệnh)";
/// The request id of command-line changes.
pub const CLI_REQUEST: &str = "cli";

/// A command that did not succeed: the Vietnamese message for the user and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub lines: Vec<String>,
    pub code: u8,
}

impl Failure {
    pub fn msg(text: impl Into<String>) -> Self {
        Failure { lines: vec![text.into()], code: 1 }
    }

    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines.join("\n"))
    }
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        match &e {
            AppError::Invalid(fields) if !fields.is_empty() => {
                Failure { lines: fields.iter().map(|f| f.message.clone()).collect(), code: 1 }
            }
            AppError::Internal(detail) => {
                tracing::error!(%detail, "lỗi hệ thống");
                Failure::msg(e.user_message())
            }
            _ => Failure::msg(e.user_message()),
        }
    }
}

impl From<thidua_db::DbError> for Failure {
    fn from(e: thidua_db::DbError) -> Self {
        match e {
            thidua_db::DbError::Other(m) => Failure::msg(m),
            other => AppError::from(other).into(),
        }
    }
}

/// Starts logging to standard error: RUST_LOG, else "info,sqlx=warn"; JSON lines when asked.
pub fn init_logging(format: config::LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        config::LogFormat::Json => builder.json().try_init(),
        config::LogFormat::Text => builder.try_init(),
    };
}

/// The whole program: parse, configure, run, and turn the outcome into an exit code.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match cli::parse(args) {
        cli::Parsed::Run(cli) => cli,
        cli::Parsed::Exit(code) => return ExitCode::from(code),
    };
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(f) => return report(f),
    };
    init_logging(settings.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return report(Failure::msg(format!("Không khởi động được bộ thực thi: {e}."))),
    };
    match rt.block_on(commands::run(*cli, settings)) {
        Ok(code) => ExitCode::from(code),
        Err(f) => report(f),
    }
}

fn report(f: Failure) -> ExitCode {
    for line in &f.lines {
        eprintln!("{line}");
    }
    ExitCode::from(f.code)
}
