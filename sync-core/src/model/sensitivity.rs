//! Sensitivity classes of fields (Decree 13/2023 and Law 91/2025/QH15: religion, ethnicity,
//! health and biometrics, criminal-procedure status are *sensitive* personal data; see
//! `shared/domain/REVIEW.md` §6) and which roles read them.
//!
//! The marks are part of the schema (`docs/schema.md`, column *class*; JSON Schema
//! `x-ferry-class`) and they decide where a value lives
//! (`docs/adr/rights-sensitive-fields-and-redaction.md`, Decision 1; `docs/protocol.md` §12):
//!
//! - a sensitive value is **never** in a record's Automerge document, so no phone holds it in
//!   a document or its history (the server refuses a change that writes one, [`crate::check`]);
//! - a phone sends it once as a [`SensitiveWrite`](crate::protocol::SensitiveWrite) beside its
//!   changes, keeps it in its encrypted queue until the server acknowledges it, then drops it;
//! - the server keeps it (with who wrote it, when) apart from the document, and shows it only
//!   to roles that [`reads_sensitive`], each read audited.

use super::{Fields, Kind, Role, Value};

/// A field's sensitivity class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Ordinary personal data.
    Ordinary,
    /// Sensitive personal data: read only by roles that need it ([`reads_sensitive`]).
    Sensitive,
}

impl Class {
    /// `ordinary` or `sensitive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Ordinary => "ordinary",
            Class::Sensitive => "sensitive",
        }
    }
}

/// The sensitive fields of schema 1.
pub const SENSITIVE_FIELDS: &[(Kind, &str)] = &[
    (Kind::Citizen, "religion"),
    (Kind::Citizen, "ethnicity"),
    // Health data.
    (Kind::Citizen, "blood_type"),
    // Biometrics flags: whether fingerprints and iris were collected for a card.
    (Kind::CccdApplication, "fingerprints_taken"),
    (Kind::CccdApplication, "iris_taken"),
];

/// Whether `field` of `kind` is sensitive.
pub fn is_sensitive(kind: Kind, field: &str) -> bool {
    class_of(kind, field) == Class::Sensitive
}

/// The sensitive fields of `kind`, in schema order.
pub fn sensitive_fields(kind: Kind) -> impl Iterator<Item = &'static str> {
    SENSITIVE_FIELDS
        .iter()
        .filter(move |(k, _)| *k == kind)
        .map(|(_, f)| *f)
}

/// Takes the sensitive fields out of `fields` (which then hold what goes into the record's
/// document) and returns them with their values.
pub fn split_off(kind: Kind, fields: &mut Fields) -> Vec<(String, Value)> {
    sensitive_fields(kind)
        .filter_map(|f| fields.remove(f).map(|v| (f.to_owned(), v)))
        .collect()
}

/// The class of `field` of `kind`.
pub fn class_of(kind: Kind, field: &str) -> Class {
    if SENSITIVE_FIELDS.contains(&(kind, field)) {
        Class::Sensitive
    } else {
        Class::Ordinary
    }
}

/// Whether `role` reads sensitive fields: the police office (`staff`, which decides CCCD
/// applications) and admins. Officers and commune staff may enter them at intake but do not
/// receive them back; leaders see aggregates only.
pub fn reads_sensitive(role: Role) -> bool {
    matches!(role, Role::Staff | Role::Admin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::field_spec;

    #[test]
    fn every_sensitive_mark_names_a_real_field() {
        for (kind, field) in SENSITIVE_FIELDS {
            assert!(field_spec(*kind, field).is_some(), "{kind:?}.{field}");
        }
    }

    #[test]
    fn religion_and_ethnicity_are_sensitive_and_names_are_not() {
        assert_eq!(class_of(Kind::Citizen, "religion"), Class::Sensitive);
        assert_eq!(class_of(Kind::Citizen, "ethnicity"), Class::Sensitive);
        assert_eq!(class_of(Kind::Citizen, "full_name"), Class::Ordinary);
        assert_eq!(class_of(Kind::Household, "religion"), Class::Ordinary);
    }

    #[test]
    fn splitting_a_citizen_takes_out_religion_and_leaves_the_name() {
        let mut fields = Fields::new();
        fields.insert("full_name".into(), Value::Text("Lê Văn Tám".into()));
        fields.insert("religion".into(), Value::Text("Phật giáo".into()));
        let taken = split_off(Kind::Citizen, &mut fields);
        assert_eq!(
            taken,
            [("religion".to_owned(), Value::Text("Phật giáo".into()))]
        );
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["full_name"]);
        assert!(is_sensitive(Kind::CccdApplication, "iris_taken"));
        assert!(!is_sensitive(Kind::CccdApplication, "full_name"));
    }

    #[test]
    fn only_the_police_office_and_admins_read_sensitive_fields() {
        let readers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| reads_sensitive(*r))
            .collect();
        assert_eq!(readers, [Role::Staff, Role::Admin]);
    }
}
