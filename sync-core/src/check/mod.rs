//! What the server (and the phone, where it applies) checks about pushed changes beyond
//! reading the record: hostile-input limits and the rules every written value must satisfy.
//!
//! - [`limits`]: the numbers (operations per change and per push, objects, depth, record
//!   size); field text limits live in the field table ([`crate::model::FieldSpec::max_chars`]).
//! - [`check_changes`]: a record's pushed changes, operation by operation, before they are
//!   applied (shape, types, sizes).
//! - [`judge`]: after they are applied to a fork, scope, role and frozen-field rules on the
//!   merged winners *and* on every value the new changes wrote, whether it wins or not.
//!
//! The server's push path (`server/src/sync.rs`) calls both; the convergence property test
//! routes its in-memory hub through [`judge`] too, so both decide alike.

pub mod fuzz;
pub mod limits;
mod ops;
mod rules;

pub use ops::{Written, check_changes, count_ops, count_push_ops};
pub use rules::{judge, judge_written, rule_violation};

use crate::protocol::RejectCode;

/// Why pushed changes are refused: the rejection code and a message free of personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rejection code sent to the device.
    pub code: RejectCode,
    /// Why, for the officer.
    pub message: String,
}

impl Violation {
    /// A violation with `code`.
    pub fn new(code: RejectCode, message: impl Into<String>) -> Violation {
        Violation {
            code,
            message: message.into(),
        }
    }

    /// An `invalid` violation.
    pub fn invalid(message: impl Into<String>) -> Violation {
        Violation::new(RejectCode::Invalid, message)
    }

    /// A `malformed` violation.
    pub fn malformed(message: impl Into<String>) -> Violation {
        Violation::new(RejectCode::Malformed, message)
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}
