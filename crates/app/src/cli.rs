//! The command line, with Vietnamese help.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Phần mềm quản lý thi đua, khen thưởng theo cụm, khối thi đua.
#[derive(Debug, Parser)]
#[command(name = "thidua", version, disable_help_flag = true, disable_version_flag = true)]
#[command(disable_help_subcommand = true)]
pub struct Cli {
    /// Tệp cấu hình TOML (mặc định: thidua.toml trong thư mục hiện tại, nếu có).
    #[arg(long, global = true, env = "THIDUA_CONFIG", value_name = "TỆP")]
    pub config: Option<PathBuf>,

    /// In hướng dẫn sử dụng.
    #[arg(short = 'h', long = "help", global = true, action = ArgAction::Help)]
    help: Option<bool>,

    /// In số phiên bản.
    #[arg(short = 'V', long = "version", action = ArgAction::Version)]
    version: Option<bool>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Chạy máy chủ web (áp dụng các bản cập nhật cơ sở dữ liệu trước khi chạy).
    Serve,
    /// Áp dụng các bản cập nhật cấu trúc cơ sở dữ liệu rồi thoát.
    Migrate,
    /// Tạo mới một cơ sở dữ liệu mẫu (tỉnh Cao Bằng, các cụm, khối Trung ương) và chạy bản trình diễn.
    Demo {
        /// Thư mục riêng của bản trình diễn (cơ sở dữ liệu mẫu cũ trong đó bị xoá).
        #[arg(long, value_name = "THƯ_MỤC", default_value = "data/demo")]
        dir: PathBuf,
        /// Địa chỉ lắng nghe, dạng máy:cổng (mặc định: theo cấu hình).
        #[arg(long, value_name = "ĐỊA_CHỈ")]
        listen: Option<String>,
        /// Chỉ tạo cơ sở dữ liệu mẫu, không chạy máy chủ.
        #[arg(long)]
        prepare_only: bool,
    },
    /// Quản lý tài khoản người dùng.
    #[command(subcommand)]
    User(UserCommand),
    /// Sao lưu cơ sở dữ liệu SQLite ra một tệp (với PostgreSQL, dùng pg_dump).
    Backup {
        /// Tệp sao lưu sẽ tạo (không được trùng tệp đã có).
        #[arg(long, value_name = "TỆP")]
        out: PathBuf,
    },
    /// Nhật ký hệ thống.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Nhập đơn vị hoặc thành viên cụm, khối từ tệp Excel.
    Import {
        /// Loại dữ liệu.
        #[arg(value_enum, value_name = "LOẠI")]
        kind: DataKind,
        /// Tệp Excel (.xlsx) cần nhập.
        #[arg(long, value_name = "TỆP")]
        file: PathBuf,
        /// Tên đăng nhập của người thực hiện (quyền được kiểm tra như trên web).
        #[arg(long = "as", value_name = "TÊN_ĐĂNG_NHẬP")]
        as_user: String,
        /// Chỉ kiểm tra tệp và báo cáo, không lưu gì.
        #[arg(long)]
        dry_run: bool,
    },
    /// Xuất đơn vị hoặc thành viên cụm, khối ra tệp Excel.
    Export {
        /// Loại dữ liệu.
        #[arg(value_enum, value_name = "LOẠI")]
        kind: DataKind,
        /// Tệp Excel (.xlsx) sẽ tạo.
        #[arg(long, value_name = "TỆP")]
        out: PathBuf,
        /// Năm thi đua (chỉ với thành viên; mặc định: mọi năm).
        #[arg(long, value_name = "NĂM")]
        year: Option<i32>,
        /// Chỉ cơ quan này và các cơ quan cấp dưới (mặc định: mọi cơ quan người thực hiện được xem).
        #[arg(long, value_name = "SỐ")]
        authority_id: Option<i64>,
        /// Tên đăng nhập của người thực hiện (quyền được kiểm tra như trên web).
        #[arg(long = "as", value_name = "TÊN_ĐĂNG_NHẬP")]
        as_user: String,
    },
    /// Xuất, nhập bảng chấm điểm của một cụm, khối trong một năm thi đua (tệp Excel).
    #[command(subcommand)]
    Table(TableCommand),
}

#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Xuất bảng chấm điểm ra tệp Excel (mặc định: phiên bản đang có hiệu lực hôm nay, nếu chưa có thì phiên bản mới nhất).
    Export {
        /// Mã cụm, khối thi đua.
        #[arg(long, value_name = "SỐ")]
        group_id: i64,
        /// Năm thi đua.
        #[arg(long, value_name = "NĂM")]
        year: i32,
        /// Tệp Excel (.xlsx) sẽ tạo (không được trùng tệp đã có).
        #[arg(long, value_name = "TỆP")]
        out: PathBuf,
        /// Số phiên bản cần xuất.
        #[arg(long, value_name = "SỐ")]
        version: Option<i32>,
        /// Tên đăng nhập của người thực hiện (quyền được kiểm tra như trên web).
        #[arg(long = "as", value_name = "TÊN_ĐĂNG_NHẬP")]
        as_user: String,
    },
    /// Nhập bảng chấm điểm từ tệp Excel, thay toàn bộ phiên bản dự thảo (chưa thông qua) của cụm, khối trong năm.
    Import {
        /// Mã cụm, khối thi đua.
        #[arg(long, value_name = "SỐ")]
        group_id: i64,
        /// Năm thi đua.
        #[arg(long, value_name = "NĂM")]
        year: i32,
        /// Tệp Excel (.xlsx) cần nhập.
        #[arg(long, value_name = "TỆP")]
        file: PathBuf,
        /// Tên đăng nhập của người thực hiện (đơn vị trưởng, phó cụm, khối hoặc cơ quan thường trực).
        #[arg(long = "as", value_name = "TÊN_ĐĂNG_NHẬP")]
        as_user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Tạo tài khoản (mật khẩu đọc từ đầu vào chuẩn, hoặc hỏi hai lần khi chạy trong cửa sổ lệnh).
    Add {
        /// Tên đăng nhập: 3 đến 64 ký tự a-z, 0-9, . - _
        #[arg(long, value_name = "TÊN")]
        username: String,
        /// Họ và tên.
        #[arg(long, value_name = "HỌ_TÊN")]
        full_name: String,
        /// Vai trò: admin, secretariat, council, viewer, unit_leader, unit_officer (hoặc tên tiếng Việt).
        #[arg(long, value_name = "VAI_TRÒ")]
        role: Option<String>,
        /// Mã cơ quan (với vai trò secretariat, council, viewer).
        #[arg(long, value_name = "SỐ", requires = "role", conflicts_with = "unit_id")]
        authority_id: Option<i64>,
        /// Mã đơn vị (với vai trò unit_leader, unit_officer).
        #[arg(long, value_name = "SỐ", requires = "role")]
        unit_id: Option<i64>,
        /// Đọc mật khẩu từ dòng đầu tiên của đầu vào chuẩn.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Đặt lại mật khẩu (mọi phiên đăng nhập của tài khoản bị kết thúc).
    Passwd {
        #[arg(long, value_name = "TÊN")]
        username: String,
        /// Đọc mật khẩu từ dòng đầu tiên của đầu vào chuẩn.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Liệt kê các tài khoản và vai trò.
    List,
    /// Khoá tài khoản (mọi phiên đăng nhập bị kết thúc).
    Disable {
        #[arg(long, value_name = "TÊN")]
        username: String,
    },
    /// Mở khoá tài khoản.
    Enable {
        #[arg(long, value_name = "TÊN")]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Kiểm tra chuỗi mã băm của nhật ký: phát hiện bản ghi bị sửa, xoá hoặc đảo thứ tự.
    Verify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataKind {
    /// Danh sách đơn vị.
    Units,
    /// Thành viên cụm, khối theo năm.
    Memberships,
}

const TEMPLATE: &str = "\
{before-help}{about-with-newline}
Cách dùng: {usage}

{all-args}{after-help}";

/// The clap command with Vietnamese headings everywhere.
pub fn command() -> clap::Command {
    localise(Cli::command())
}

fn localise(cmd: clap::Command) -> clap::Command {
    cmd.help_template(TEMPLATE)
        .subcommand_help_heading("Lệnh")
        .subcommand_value_name("LỆNH")
        .mut_args(|a| {
            if a.get_help_heading().is_some() {
                a
            } else if a.is_positional() {
                a.help_heading("Đối số")
            } else {
                a.help_heading("Tùy chọn")
            }
        })
        .mut_subcommands(localise)
}

/// What parsing the command line gave.
pub enum Parsed {
    Run(Box<Cli>),
    /// Help or version was printed, or the line was wrong (the message is printed); exit with this code.
    Exit(u8),
}

/// Parses the arguments; prints help, version or a Vietnamese error itself.
pub fn parse<I, T>(args: I) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cmd = command();
    let res = cmd.try_get_matches_from_mut(args).and_then(|m| Cli::from_arg_matches(&m));
    match res {
        Ok(cli) => Parsed::Run(Box::new(cli)),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                print!("{}", localise_text(&e.render().to_string()));
                Parsed::Exit(0)
            }
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
                eprint!("{}", localise_text(&e.render().to_string()));
                Parsed::Exit(2)
            }
            _ => {
                eprintln!("Lỗi: {}", vietnamese(&e));
                eprintln!("Xem hướng dẫn: thidua --help");
                Parsed::Exit(2)
            }
        },
    }
}

/// Replaces the few English words clap puts in its help.
pub fn localise_text(help: &str) -> String {
    help.replace("[OPTIONS]", "[TÙY_CHỌN]")
        .replace("[env: ", "[biến môi trường: ")
        .replace("[default: ", "[mặc định: ")
        .replace("[possible values: ", "[giá trị: ")
        .replace("[aliases: ", "[tên khác: ")
}

/// The help of a command or subcommand (`path` = names below `thidua`), as printed.
pub fn help_of(path: &[&str]) -> Option<String> {
    let mut cmd = command();
    cmd.build();
    let mut cur = &mut cmd;
    for name in path {
        cur = cur.find_subcommand_mut(name)?;
    }
    Some(localise_text(&cur.render_long_help().to_string()))
}

fn ctx(e: &clap::Error, kind: ContextKind) -> String {
    match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        Some(ContextValue::StyledStr(s)) => s.to_string(),
        Some(ContextValue::StyledStrs(v)) => v.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
        Some(ContextValue::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A clap error in Vietnamese (clap's own text only as a last resort).
fn vietnamese(e: &clap::Error) -> String {
    let arg = ctx(e, ContextKind::InvalidArg);
    match e.kind() {
        ErrorKind::MissingRequiredArgument => format!("thiếu tham số bắt buộc: {arg}."),
        ErrorKind::UnknownArgument => format!("tham số không hợp lệ: {arg}."),
        ErrorKind::InvalidSubcommand => format!("không có lệnh \"{}\".", ctx(e, ContextKind::InvalidSubcommand)),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let valid = ctx(e, ContextKind::ValidValue);
            let mut m = format!("giá trị \"{}\" không hợp lệ cho {arg}.", ctx(e, ContextKind::InvalidValue));
            if !valid.is_empty() {
                m.push_str(&format!(" Các giá trị được dùng: {valid}."));
            }
            m
        }
        ErrorKind::ArgumentConflict => {
            format!("không dùng {arg} cùng với {}.", ctx(e, ContextKind::PriorArg))
        }
        ErrorKind::NoEquals | ErrorKind::TooManyValues | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!("số giá trị không đúng cho {arg}.")
        }
        ErrorKind::InvalidUtf8 => "tham số chứa ký tự không hợp lệ.".into(),
        _ => e.to_string().trim().trim_start_matches("error: ").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn help_is_vietnamese() {
        let help = help_of(&[]).unwrap();
        assert!(help.contains("Cách dùng"), "{help}");
        assert!(help.contains("Lệnh"));
        assert!(help.contains("Tùy chọn"));
        assert!(help.contains("Tạo mới một cơ sở dữ liệu mẫu"));
        for path in [
            &["user", "add"][..],
            &["demo"],
            &["import"],
            &["audit", "verify"],
            &["table"],
            &["table", "export"],
            &["table", "import"],
        ] {
            let h = help_of(path).unwrap();
            for english in ["Options", "OPTIONS", "Usage", "Commands", "Arguments", "Print help", "[default", "[env"] {
                assert!(!h.contains(english), "{path:?}: {h}");
            }
        }
        assert!(help_of(&["user", "add"]).unwrap().contains("Họ và tên"));
    }

    #[test]
    fn parses_user_add() {
        let Parsed::Run(cli) = parse([
            "thidua",
            "user",
            "add",
            "--username",
            "a.b",
            "--full-name",
            "Nguyễn Văn A",
            "--role",
            "secretariat",
            "--authority-id",
            "2",
            "--password-stdin",
        ]) else {
            panic!("should parse");
        };
        match cli.command {
            Command::User(UserCommand::Add { username, authority_id, password_stdin, .. }) => {
                assert_eq!(username, "a.b");
                assert_eq!(authority_id, Some(2));
                assert!(password_stdin);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(["thidua", "user", "add", "--username", "x"]), Parsed::Exit(2)));
        assert!(matches!(parse(["thidua", "import", "cars", "--file", "a", "--as", "b"]), Parsed::Exit(2)));
    }

    #[test]
    fn parses_table_commands() {
        let args = ["thidua", "table", "export", "--group-id", "3", "--year", "2026", "--out", "b.xlsx", "--as", "a"];
        let Parsed::Run(cli) = parse(args) else { panic!("should parse") };
        match cli.command {
            Command::Table(TableCommand::Export { group_id, year, version, as_user, .. }) => {
                assert_eq!((group_id, year, version, as_user.as_str()), (3, 2026, None, "a"));
            }
            other => panic!("{other:?}"),
        }
        let args = ["thidua", "table", "import", "--group-id", "3", "--year", "2026", "--file", "b.xlsx", "--as", "a"];
        assert!(matches!(parse(args), Parsed::Run(_)));
        assert!(matches!(
            parse(["thidua", "table", "import", "--group-id", "3", "--file", "b", "--as", "a"]),
            Parsed::Exit(2)
        ));
        let h = help_of(&["table", "export"]).unwrap();
        assert!(h.contains("phiên bản đang có hiệu lực") && h.contains("--version"), "{h}");
    }
}
