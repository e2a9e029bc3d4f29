//! The domain model: record kinds, their fields, validation and the admin-unit catalog.
//!
//! The phone and the server apply exactly the same rules, so everything that decides whether
//! a record is acceptable lives here and nowhere else.
//!
//! Validation has two classes of outcome:
//! - [`StructuralError`]: the write is refused (wrong type, unknown kind, malformed id or date,
//!   unknown unit, unknown field).
//! - [`Finding`]: a data-quality observation that is saved with the record and reported
//!   (the paper the citizen shows may itself be wrong, and the officer must be able to save it).

mod date;
mod fields;
mod id_number;
pub mod rules;
pub mod schema;
pub mod sensitivity;
mod text;
mod units;
mod validate;
mod workflow;
pub mod working_days;

pub use fields::{FieldSpec, FieldType, field_spec, fields_of};
pub use id_number::{IdNumber, IdNumberError, province_name};
pub use text::{
    DISPLAY_NAME_MAX_CHARS, DisplayNameError, canonical_tones, clean_display_name, clean_name,
    exact_key, nfc, query_tokens, search_key, search_tokens, tokens_match,
};
pub use units::{Catalog, Unit, UnitLevel, catalog};
pub use validate::{
    Finding, StructuralError, ValidationContext, captured_on, check_value, validate,
};
pub use workflow::{Role, frozen_fields, transition_allowed};

pub use date::{Date, PartialDate};
pub use fields::{
    NAME_MAX_CHARS, NOTES_MAX_CHARS, RELATIONSHIP_NOTE_MAX_CHARS, RELATIONSHIPS, RESIDENCE_BASES,
    TEXT_MAX_CHARS,
};
pub use validate::{normalise, normalise_value};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

/// Version of the record layout written into every document's `schema` field.
pub const SCHEMA_VERSION: i64 = 1;

/// The four kinds of record Ferry keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Population data of one person.
    Citizen,
    /// A household: address, head and members.
    Household,
    /// An identity-card (CCCD) application.
    CccdApplication,
    /// A residence procedure: permanent or temporary registration, extension, temporary
    /// absence, stay notice or removal.
    ResidenceDeclaration,
}

impl Kind {
    /// Every kind, in a stable order.
    pub const ALL: [Kind; 4] = [
        Kind::Citizen,
        Kind::Household,
        Kind::CccdApplication,
        Kind::ResidenceDeclaration,
    ];

    /// The wire and storage name (`citizen`, `household`, `cccd_application`,
    /// `residence_declaration`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Citizen => "citizen",
            Kind::Household => "household",
            Kind::CccdApplication => "cccd_application",
            Kind::ResidenceDeclaration => "residence_declaration",
        }
    }

    /// Parses a wire name; `None` for an unknown kind.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field value. Absent fields are simply missing from [`Fields`] (there is no null).
///
/// Sets are [`Value::Map`]s keyed by a stable id (household members are keyed by citizen id),
/// never lists, so that concurrent adds on two devices merge cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// Text, always stored as NFC UTF-8. Dates are `YYYY-MM-DD` text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A yes/no flag.
    Bool(bool),
    /// A nested map (used for sets keyed by stable id and their entries).
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    /// The map, if this is a map.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// A record's kind fields by name (everything but `id`, `kind`, `schema` and `unit`).
pub type Fields = BTreeMap<String, Value>;

/// A record as read from its document: the root map, typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// UUIDv7, assigned by the device that created the record.
    pub id: Uuid,
    /// What kind of record this is.
    pub kind: Kind,
    /// Current admin-unit code, used for scoping who may see the record.
    pub unit: String,
    /// The kind fields.
    pub fields: Fields,
}

impl Record {
    /// A text field, if present and text.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_text)
    }

    /// The record's `status` field (every kind has one); `None` when unset.
    pub fn status(&self) -> Option<&str> {
        self.text("status")
    }
}
