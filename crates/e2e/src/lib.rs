//! Browser tests of thidua: a real Chromium, driven through chromedriver with
//! fantoccini, against the real router served in-process on the demo database.
//!
//! Everything here is behind the `browser` feature, so that a plain
//! `cargo test` of the workspace neither builds fantoccini nor needs a browser:
//!
//! ```text
//! cargo test -p thidua-e2e --features browser
//! THIDUA_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432 cargo test -p thidua-e2e --features browser
//! ```
//!
//! With the feature on, Chromium and chromedriver are required: Debian's
//! `/usr/bin/chromium` and `/usr/bin/chromedriver` (packages `chromium` and
//! `chromium-driver`), or the paths in `CHROMIUM` and `CHROMEDRIVER`. A missing
//! one fails the tests; they are never skipped.

#[cfg(feature = "browser")]
pub mod browser;
#[cfg(feature = "browser")]
pub mod server;

#[cfg(feature = "browser")]
pub use browser::{Browser, Chromedriver};
#[cfg(feature = "browser")]
pub use server::Server;
