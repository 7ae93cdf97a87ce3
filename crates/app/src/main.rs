//! `thidua`: the web server and its administration commands.

fn main() -> std::process::ExitCode {
    thidua_app::main_with_args(std::env::args_os())
}
