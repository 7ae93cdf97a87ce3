//! `thidua`: the web server and its administration commands.

/// mimalloc instead of the system's allocator: a server's requests allocate
/// and free many small buffers on several threads at once, where glibc's
/// allocator spends a noticeable share of the time (see bench/RESULTS.md).
/// Built without transparent huge pages (feature `no_thp`): memory freed in
/// a quiet spell is given back, and at the next burst of saves each 2 MB
/// huge page was zeroed at its first touch, on the grouped commits' path.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    thidua_app::main_with_args(std::env::args_os())
}
