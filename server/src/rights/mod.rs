//! Citizens' data rights (Law 91/2025/QH15; `docs/ARCHITECTURE.md` §"Data rights"): the
//! subject-access report ([`subject`]) and the retention rules ([`retention`]).
//!
//! Nothing here changes a record's document: the report only reads (and is audited); the
//! retention task deletes rows the rules say are past their time and reports what it did.

pub mod printable;
pub mod retention;
pub mod subject;
