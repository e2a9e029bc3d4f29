//! Scope, role and frozen-field rules on a pushed record, judged on every value the pushed
//! changes wrote, not only on the value that wins the merge.
//!
//! A change built on an older state of a record is concurrent with the stored heads: a value
//! it writes may lose the merge today and still sit in the document as a concurrent
//! candidate (`get_all`), where a review item lists it and an admin may pick it. So each
//! such value is judged as if it had won.

use std::collections::{BTreeSet, HashSet};

use automerge::{ObjId, ROOT, ReadDoc};

use super::Violation;
use crate::doc::{RecordDoc, scalar_value};
use crate::model::{self, Record, Role, ValidationContext};
use crate::protocol::RejectCode;
use crate::replica::{self, ReplicaError};

/// Judges a pushed record: `before` is the stored record (document and reading), `after` the
/// fork with the pushed changes applied and its reading. In order, the first failure decides:
///
/// 1. the unit before and after, and every `unit` value the changes wrote, is one of
///    `units` (`out_of_scope`);
/// 2. the role and frozen-field rules hold between the stored and the merged record
///    ([`rule_violation`]: `forbidden` / `frozen_field`);
/// 3. every other value the new changes wrote to a root field (whether it wins or not)
///    passes the same rules as if it had won, and structural validation (`invalid`);
///    a new `id` or `kind` value must equal the record's (`malformed`).
pub fn judge(
    before: Option<(&RecordDoc, &Record)>,
    after_doc: &RecordDoc,
    after: &Record,
    role: Role,
    units: &BTreeSet<String>,
    ctx: &ValidationContext,
) -> Result<(), Violation> {
    judge_written(before, after_doc, after, role, units, ctx, None)
}

/// [`judge`], with `written` the root keys the new changes write
/// ([`super::Written::root_keys`], from [`super::check_changes`] on the same changes): a
/// value the changes wrote sits at one of those keys, so only they are looked at (`None`:
/// every key of the merged document). Same verdicts as [`judge`].
pub fn judge_written(
    before: Option<(&RecordDoc, &Record)>,
    after_doc: &RecordDoc,
    after: &Record,
    role: Role,
    units: &BTreeSet<String>,
    ctx: &ValidationContext,
    written: Option<&BTreeSet<String>>,
) -> Result<(), Violation> {
    let out_of_scope = || {
        Violation::new(
            RejectCode::OutOfScope,
            "the record's unit is not one of your units",
        )
    };
    if before.is_some_and(|(_, b)| !units.contains(&b.unit)) || !units.contains(&after.unit) {
        return Err(out_of_scope());
    }
    let before_rec = before.map(|(_, r)| r);
    if let Some((code, message)) = rule_violation(before_rec, after, role) {
        return Err(Violation::new(code, message));
    }
    for (key, value) in new_values(before.map(|(d, _)| d), after_doc, written) {
        match key.as_str() {
            "unit" => {
                if !value.as_text().is_some_and(|u| units.contains(u)) {
                    return Err(out_of_scope());
                }
            }
            "id" | "kind" => {
                let current = if key == "id" {
                    after.id.to_string()
                } else {
                    after.kind.as_str().to_owned()
                };
                if value.as_text() != Some(current.as_str()) {
                    return Err(Violation::malformed(
                        "a change writes another id or kind into the record",
                    ));
                }
            }
            "schema" => {}
            field => {
                if after.fields.get(field) == Some(&value) {
                    continue;
                }
                let mut candidate = after.clone();
                candidate.fields.insert(field.to_owned(), value);
                if let Some((code, message)) = rule_violation(before_rec, &candidate, role) {
                    return Err(Violation::new(
                        code,
                        format!("a concurrent value of `{field}`: {message}"),
                    ));
                }
                if let Err(errors) = model::validate(&candidate, ctx) {
                    let msg = errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ");
                    return Err(Violation::invalid(format!(
                        "a concurrent value of `{field}` is invalid: {msg}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Every scalar value at a root key of `after` (of `keys`, when given) that `before` does
/// not hold (by the id of the operation that wrote it): what the new changes wrote and is
/// still visible, winner or concurrent candidate.
fn new_values(
    before: Option<&RecordDoc>,
    after: &RecordDoc,
    keys: Option<&BTreeSet<String>>,
) -> Vec<(String, model::Value)> {
    let doc = after.automerge();
    let mut out = Vec::new();
    let keys: Vec<String> = match keys {
        Some(k) => k.iter().cloned().collect(),
        None => doc.keys(ROOT).collect(),
    };
    for key in keys {
        let Ok(values) = doc.get_all(ROOT, key.as_str()) else {
            continue;
        };
        let old: HashSet<ObjId> = match before {
            Some(b) => b
                .automerge()
                .get_all(ROOT, key.as_str())
                .map(|v| v.into_iter().map(|(_, id)| id).collect())
                .unwrap_or_default(),
            None => HashSet::new(),
        };
        for (value, id) in values {
            if old.contains(&id) {
                continue;
            }
            if let automerge::Value::Scalar(s) = value
                && let Some(v) = scalar_value(&s)
            {
                out.push((key.clone(), v));
            }
        }
    }
    out
}

/// The role rules between the stored and the pushed state of a record, as the phone applies
/// them ([`replica::check_rules`]), with the rejection code they map to: a status move the
/// role may not make is `forbidden`; a changed field frozen by the stored status is
/// `frozen_field`. For a new record (`before` is `None`) the creation status must be allowed.
pub fn rule_violation(
    before: Option<&Record>,
    after: &Record,
    role: Role,
) -> Option<(RejectCode, String)> {
    let Some(before) = before else {
        let status = after.status().unwrap_or("");
        return (!model::transition_allowed(after.kind, None, status, role)).then(|| {
            (
                RejectCode::Forbidden,
                format!(
                    "a {} may not create a {} in status `{status}`",
                    role.as_str(),
                    after.kind.as_str()
                ),
            )
        });
    };
    let err = replica::check_rules(before, after, role).err()?;
    let (from, to) = (before.status(), after.status().unwrap_or(""));
    let transition_ok = from == Some(to) || model::transition_allowed(after.kind, from, to, role);
    let frozen_changed = model::frozen_fields(before.kind, from)
        .iter()
        .any(|f| before.fields.get(*f) != after.fields.get(*f));
    let code = if transition_ok && frozen_changed {
        RejectCode::FrozenField
    } else {
        RejectCode::Forbidden
    };
    let message = match err {
        ReplicaError::Forbidden(m) => m,
        other => other
            .to_string()
            .trim_start_matches("not allowed: ")
            .to_owned(),
    };
    Some((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Author, Edit};
    use crate::model::{Fields, Kind};
    use uuid::Uuid;

    const LOW: [u8; 16] = [0x01; 16];
    const HIGH: [u8; 16] = [0xff; 16];

    fn ctx() -> ValidationContext {
        ValidationContext::new("2026-11-26")
    }

    fn units(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn set(field: &str, value: &str) -> Edit {
        Edit::Set {
            field: field.into(),
            value: value.into(),
        }
    }

    fn application(status: &str) -> Record {
        let mut fields = Fields::new();
        for (k, v) in [
            ("full_name", "Đỗ Thị Hoa"),
            ("request_type", "first_issue"),
            ("date_of_birth", "2008-02-01"),
            ("sex", "female"),
            ("status", status),
        ] {
            fields.insert(k.into(), v.into());
        }
        Record {
            id: Uuid::now_v7(),
            kind: Kind::CccdApplication,
            unit: "07132".into(),
            fields,
        }
    }

    /// The stored document after `stored_edits` by the HIGH actor on top of `record`, and the
    /// fork with a LOW-actor change built on the state *before* those edits (concurrent, and
    /// losing every tie on the same fields).
    fn concurrent(
        record: &Record,
        stored_edits: &[Edit],
        pushed: &[Edit],
    ) -> (RecordDoc, Record, RecordDoc, Record) {
        let (base, _) = RecordDoc::create(record, &Author::new(&LOW, 1)).unwrap();
        let mut attacker = base.fork();
        let mut stored = base.fork();
        stored.edit(stored_edits, &Author::new(&HIGH, 2)).unwrap();
        let change = attacker
            .edit(pushed, &Author::new(&LOW, 3))
            .unwrap()
            .unwrap();
        let mut after = stored.fork();
        after.apply_changes(vec![change]).unwrap();
        let (before_rec, after_rec) = (stored.read().unwrap(), after.read().unwrap());
        (stored, before_rec, after, after_rec)
    }

    /// `judge_written`, given the root keys `check_changes` reports for the pushed change,
    /// decides as `judge` does on every concurrent case below (it looks only at those keys).
    #[test]
    fn judging_only_the_written_root_keys_decides_as_judging_every_key() {
        let unit = |u: &str| Edit::SetUnit { unit: u.into() };
        type Case = (Vec<Edit>, Vec<Edit>, Role, &'static [&'static str]);
        let cases: Vec<Case> = vec![
            (
                vec![set("status", "withdrawn")],
                vec![set("status", "accepted")],
                Role::Officer,
                &["07132"],
            ),
            (
                vec![set("full_name", "Đỗ Thị Hòa"), set("status", "accepted")],
                vec![set("full_name", "Someone Else")],
                Role::Staff,
                &["07132"],
            ),
            (
                vec![unit("07135")],
                vec![unit("07147")],
                Role::Staff,
                &["07132", "07135"],
            ),
            (
                vec![unit("07135")],
                vec![unit("07147")],
                Role::Staff,
                &["07132", "07135", "07147"],
            ),
            (
                vec![set("date_of_birth", "2008-02-03")],
                vec![set("date_of_birth", "not a date")],
                Role::Staff,
                &["07132"],
            ),
            (
                vec![set("full_name", "A")],
                vec![set("sex", "male")],
                Role::Officer,
                &["07132"],
            ),
        ];
        let mut refused = 0;
        for (stored_edits, pushed, role, scopes) in cases {
            let record = application("submitted");
            let (base, _) = RecordDoc::create(&record, &Author::new(&LOW, 1)).unwrap();
            let mut stored = base.fork();
            stored.edit(&stored_edits, &Author::new(&HIGH, 2)).unwrap();
            let change = base
                .fork()
                .edit(&pushed, &Author::new(&LOW, 3))
                .unwrap()
                .unwrap();
            let written =
                crate::check::check_changes(record.kind, &stored, std::slice::from_ref(&change))
                    .unwrap();
            assert_eq!(written.objects_made, 0);
            let mut after = stored.fork();
            after.apply_changes(vec![change]).unwrap();
            let (br, ar) = (stored.read().unwrap(), after.read().unwrap());
            assert_eq!(ar, after.read_known_shape().unwrap());
            let scopes = units(scopes);
            let every = judge(Some((&stored, &br)), &after, &ar, role, &scopes, &ctx());
            let only = judge_written(
                Some((&stored, &br)),
                &after,
                &ar,
                role,
                &scopes,
                &ctx(),
                Some(&written.root_keys),
            );
            assert_eq!(every, only, "{pushed:?}");
            refused += every.is_err() as usize;
        }
        assert_eq!(refused, 4, "the cases refused by judge are refused by both");
    }

    #[test]
    fn an_officers_losing_concurrent_acceptance_is_forbidden() {
        let (b, br, a, ar) = concurrent(
            &application("submitted"),
            &[set("status", "withdrawn")],
            &[set("status", "accepted")],
        );
        assert_eq!(
            ar.status(),
            Some("withdrawn"),
            "the acceptance loses the merge"
        );
        assert!(
            rule_violation(Some(&br), &ar, Role::Officer).is_none(),
            "winners alone pass"
        );
        let v = judge(
            Some((&b, &br)),
            &a,
            &ar,
            Role::Officer,
            &units(&["07132"]),
            &ctx(),
        )
        .unwrap_err();
        assert_eq!(v.code, RejectCode::Forbidden, "{v}");
    }

    #[test]
    fn a_losing_concurrent_edit_of_a_frozen_field_is_refused_for_every_role() {
        let (b, br, a, ar) = concurrent(
            &application("submitted"),
            &[set("full_name", "Đỗ Thị Hòa"), set("status", "accepted")],
            &[set("full_name", "Someone Else")],
        );
        assert_eq!(ar.text("full_name"), Some("Đỗ Thị Hòa"));
        for role in Role::ALL {
            let v = judge(Some((&b, &br)), &a, &ar, role, &units(&["07132"]), &ctx()).unwrap_err();
            assert_eq!(v.code, RejectCode::FrozenField, "{role:?}: {v}");
        }
    }

    #[test]
    fn a_losing_concurrent_move_to_another_unit_is_out_of_scope() {
        let (b, br, a, ar) = concurrent(
            &application("submitted"),
            &[Edit::SetUnit {
                unit: "07135".into(),
            }],
            &[Edit::SetUnit {
                unit: "07147".into(),
            }],
        );
        assert_eq!(ar.unit, "07135");
        let scopes = units(&["07132", "07135"]);
        let v = judge(Some((&b, &br)), &a, &ar, Role::Staff, &scopes, &ctx()).unwrap_err();
        assert_eq!(v.code, RejectCode::OutOfScope);
        let wider = units(&["07132", "07135", "07147"]);
        assert!(judge(Some((&b, &br)), &a, &ar, Role::Staff, &wider, &ctx()).is_ok());
    }

    #[test]
    fn a_losing_concurrent_value_that_is_structurally_invalid_is_refused() {
        let (b, br, a, ar) = concurrent(
            &application("submitted"),
            &[set("date_of_birth", "2008-02-03")],
            &[set("date_of_birth", "not a date")],
        );
        let v = judge(
            Some((&b, &br)),
            &a,
            &ar,
            Role::Staff,
            &units(&["07132"]),
            &ctx(),
        )
        .unwrap_err();
        assert_eq!(v.code, RejectCode::Invalid, "{v}");
    }

    #[test]
    fn ordinary_concurrent_edits_pass() {
        let (b, br, a, ar) = concurrent(
            &application("submitted"),
            &[set("date_of_birth", "2008-02-03")],
            &[
                set("date_of_birth", "2008-02-04"),
                set("reason", "lost card"),
            ],
        );
        assert!(
            judge(
                Some((&b, &br)),
                &a,
                &ar,
                Role::Officer,
                &units(&["07132"]),
                &ctx()
            )
            .is_ok()
        );
    }

    /// An officer's draft withdrawn before its first sync: one new record in `withdrawn`.
    #[test]
    fn a_new_application_an_officer_created_and_withdrew_offline_passes_but_not_one_accepted() {
        let scopes = units(&["07132"]);
        for (status, ok) in [("withdrawn", true), ("accepted", false)] {
            let record = application(status);
            let (doc, _) = RecordDoc::create(&record, &Author::new(&LOW, 1)).unwrap();
            let read = doc.read().unwrap();
            let verdict = judge(None, &doc, &read, Role::Officer, &scopes, &ctx());
            assert_eq!(verdict.is_ok(), ok, "{status}: {verdict:?}");
            if !ok {
                assert_eq!(verdict.unwrap_err().code, RejectCode::Forbidden);
            }
        }
    }
}
