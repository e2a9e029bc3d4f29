//! placeholder
#![forbid(unsafe_code)]
pub mod doc;
pub mod model;
pub mod protocol;
pub mod replica;
pub mod store;
