//! The domain of thidua: pure rules, no I/O.
//!
//! Everything a handler needs to decide is here: parsing input into domain
//! types, the access policy, the registry's rules, Vietnamese text order.

pub mod calendar;
pub mod documents;
pub mod error;
pub mod inspection;
pub mod org;
pub mod password;
pub mod policy;
pub mod rng;
pub mod scoring;
pub mod table_edit;
pub mod text;
pub mod workflow;

pub use error::Invalid;
