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

/// Whether the rules of `kind` read one of its sensitive fields (a card application's
/// biometrics flags: no fingerprints or iris under 6), so that its findings are computed
/// with the values kept apart from the document.
pub fn read_by_rules(kind: Kind) -> bool {
    kind == Kind::CccdApplication
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

/// The suffix of a unit's **restricted scope** (`07132#r`): the change feed of the unit's
/// restricted records ([`is_restricted`]), which only roles that [`reads_sensitive`] pull.
pub const RESTRICTED_SUFFIX: &str = "#r";

/// Grounds of a temporary absence that state a criminal-procedure status (Residence Law
/// Art. 31(1)(a) accused, defendant or on bail; (b) on probation or a similar sentence).
pub const CRIMINAL_PROCEDURE_GROUNDS: &[&str] = &[
    "absence_a_accused_or_on_bail",
    "absence_b_probation_or_similar",
];

/// Whether a whole record is sensitive: a temporary-absence declaration on a ground of
/// Art. 31(1)(a)(b) says that its citizen is in a criminal procedure, and every field of it
/// (the supervising body's consent, the dates, the reason) tells as much. Such a record is
/// **restricted**: it is filed in its unit's restricted scope and reaches only the devices
/// of roles that [`reads_sensitive`] (`docs/protocol.md` §12.1).
pub fn is_restricted(record: &super::Record) -> bool {
    record.kind == Kind::ResidenceDeclaration
        && record.text("procedure") == Some("temporary_absence")
        && record
            .text("ground")
            .is_some_and(|g| CRIMINAL_PROCEDURE_GROUNDS.contains(&g))
}

/// The feed scope of a record of `unit`: the unit, or its restricted scope.
pub fn feed_scope(unit: &str, restricted: bool) -> String {
    if restricted {
        format!("{unit}{RESTRICTED_SUFFIX}")
    } else {
        unit.to_owned()
    }
}

/// The unit of a feed scope (`07132#r` → `07132`), and whether it is a restricted scope.
pub fn scope_unit(scope: &str) -> (&str, bool) {
    match scope.strip_suffix(RESTRICTED_SUFFIX) {
        Some(unit) => (unit, true),
        None => (scope, false),
    }
}

/// The feed scopes a user of `role` pulls for `units`: each unit, and for roles that read
/// sensitive data its restricted scope after it.
pub fn pull_scopes(role: Role, units: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(units.len() * 2);
    for u in units {
        out.push(u.clone());
        if reads_sensitive(role) {
            out.push(feed_scope(u, true));
        }
    }
    out
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
    fn a_temporary_absence_on_ground_a_or_b_is_restricted_and_its_scope_is_marked() {
        let mut fields = Fields::new();
        fields.insert("procedure".into(), Value::Text("temporary_absence".into()));
        fields.insert(
            "ground".into(),
            Value::Text("absence_b_probation_or_similar".into()),
        );
        let mut record = super::super::Record {
            id: uuid::Uuid::nil(),
            kind: Kind::ResidenceDeclaration,
            unit: "07132".into(),
            fields,
        };
        assert!(is_restricted(&record));
        record
            .fields
            .insert("ground".into(), Value::Text("absence_d_12_months".into()));
        assert!(!is_restricted(&record));
        assert_eq!(feed_scope("07132", true), "07132#r");
        assert_eq!(scope_unit("07132#r"), ("07132", true));
        assert_eq!(scope_unit("07132"), ("07132", false));
        assert_eq!(
            pull_scopes(Role::Staff, &["07132".into()]),
            ["07132", "07132#r"]
        );
        assert_eq!(pull_scopes(Role::Officer, &["07132".into()]), ["07132"]);
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
