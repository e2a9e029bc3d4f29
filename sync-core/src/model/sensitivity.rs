//! Sensitivity classes of fields (Decree 13/2023 and Law 91/2025/QH15: religion, ethnicity,
//! health and biometrics, criminal-procedure status are *sensitive* personal data; see
//! `shared/domain/REVIEW.md` §6) and which roles read them.
//!
//! The marks are part of the schema (`docs/schema.md`, column *class*; JSON Schema
//! `x-ferry-class`). Keeping sensitive fields off the phones of roles that do not read them
//! needs a companion document per record (`docs/adr/rights-sensitive-fields-and-redaction.md`);
//! until that is built, sync sends records whole and these marks only describe.

use super::{Kind, Role};

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

/// The sensitive fields of schema 1. Biometrics flags and the criminal-procedure status behind
/// temporary-absence categories a/b join this list when the schema gains them.
pub const SENSITIVE_FIELDS: &[(Kind, &str)] = &[
    (Kind::Citizen, "religion"),
    (Kind::Citizen, "ethnicity"),
    // Health data.
    (Kind::Citizen, "blood_type"),
];

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
    fn only_the_police_office_and_admins_read_sensitive_fields() {
        let readers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| reads_sensitive(*r))
            .collect();
        assert_eq!(readers, [Role::Staff, Role::Admin]);
    }
}
