//! `Debug` and `Display` of the types that carry personal data, without it.
//!
//! These impls are exported (`#[uniffi::export(Debug, Display)]`), so they are also Python's
//! `__repr__`/`__str__`, Kotlin's `toString()` and Swift's `description`: an app that logs a
//! record, a conflict or an error report logs ids, kinds, units, field names, codes and times,
//! never a name, an ID number or a date of birth. Values print as `…` (with their type).

use std::fmt::{self, Debug, Display, Formatter};

use crate::types::{
    ConflictValue, Edit, FieldChange, FieldConflict, FieldValue, Record, RecordDetails, RecordPage,
    RecordQuery, RejectedEdit, SaveResult,
};

/// Implements `Display` as the (redacting) `Debug`.
macro_rules! display_as_debug {
    ($($t:ty),*) => {$(
        impl Display for $t {
            fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
                Debug::fmt(self, f)
            }
        }
    )*};
}

display_as_debug!(
    FieldValue,
    Edit,
    Record,
    SaveResult,
    RecordDetails,
    ConflictValue,
    FieldConflict,
    FieldChange,
    RecordQuery,
    RejectedEdit,
    RecordPage
);

/// A set marker for optional criteria: `Some(…)` without the value.
fn given<T>(v: &Option<T>) -> &'static str {
    if v.is_some() { "Some(…)" } else { "None" }
}

impl Debug for FieldValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Text { .. } => f.write_str("Text(…)"),
            FieldValue::Int { .. } => f.write_str("Int(…)"),
            FieldValue::Bool { .. } => f.write_str("Bool(…)"),
            FieldValue::Entries { entries } => write!(f, "Entries({} entries)", entries.len()),
        }
    }
}

impl Debug for Edit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Edit::Set { field, value } => write!(f, "Set({field} = {value:?})"),
            Edit::Clear { field } => write!(f, "Clear({field})"),
            // A unit code is not personal data.
            Edit::SetUnit { unit } => write!(f, "SetUnit({unit})"),
            Edit::PutEntry { field, value, .. } => write!(f, "PutEntry({field}[…] = {value:?})"),
            Edit::RemoveEntry { field, .. } => write!(f, "RemoveEntry({field}[…])"),
        }
    }
}

impl Debug for Record {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.fields.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Record")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("unit", &self.unit)
            .field("fields", &names)
            .finish()
    }
}

impl Debug for SaveResult {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaveResult")
            .field("record", &self.record)
            .field("findings", &self.findings)
            .field("changed", &self.changed)
            .finish()
    }
}

impl Debug for RecordDetails {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordDetails")
            .field("record", &self.record)
            .field("findings", &self.findings)
            .field("conflicts", &self.conflicts)
            .field("pending_changes", &self.pending_changes)
            .finish()
    }
}

impl Debug for ConflictValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConflictValue")
            .field("value", &self.value)
            .field("actor", &self.actor)
            .field("author", &self.author)
            .field("own", &self.own)
            .field("time_ms", &self.time_ms)
            .finish_non_exhaustive()
    }
}

impl Debug for FieldConflict {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldConflict")
            .field("field", &self.field)
            .field("values", &self.values)
            .finish()
    }
}

impl Debug for FieldChange {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldChange")
            .field("field", &self.field)
            .field("actor", &self.actor)
            .field("author", &self.author)
            .field("own", &self.own)
            .field("time_ms", &self.time_ms)
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl Debug for RecordQuery {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordQuery")
            .field("name", &given(&self.name))
            .field("id_number", &given(&self.id_number))
            .field("unit", &self.unit)
            .field("status", &self.status)
            .field("kind", &self.kind)
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .finish()
    }
}

impl Debug for RejectedEdit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.debug_struct("RejectedEdit")
            .field("id", &self.id)
            .field("record_id", &self.record_id)
            .field("kind", &self.kind)
            .field("code", &self.code)
            .field("edits", &self.edits)
            .field("rejected_ms", &self.rejected_ms)
            .finish_non_exhaustive()
    }
}

impl Debug for RecordPage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordPage")
            .field("records", &self.records)
            .field("total", &self.total)
            .field("offset", &self.offset)
            .field("next_offset", &self.next_offset)
            .finish()
    }
}
