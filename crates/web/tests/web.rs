//! The web crate's one integration-test binary: the real router on a fresh
//! database per test (SQLite, or PostgreSQL with THIDUA_TEST_POSTGRES).

#[path = "web/support.rs"]
mod support;

#[path = "web/access.rs"]
mod access;
#[path = "web/auth.rs"]
mod auth;
#[path = "web/calendar.rs"]
mod calendar;
#[path = "web/chain.rs"]
mod chain;
#[path = "web/covenant.rs"]
mod covenant;
#[path = "web/documents.rs"]
mod documents;
#[path = "web/import.rs"]
mod import;
#[path = "web/inspection.rs"]
mod inspection;
#[path = "web/operations.rs"]
mod operations;
#[path = "web/registry.rs"]
mod registry;
#[path = "web/scores.rs"]
mod scores;
#[path = "web/tables.rs"]
mod tables;
