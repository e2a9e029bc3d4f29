//! The record schema as a published contract, rendered from the field tables.
//!
//! [`markdown`] renders `docs/schema.md` (normative; a test keeps the committed file equal to
//! it) and [`json_schema`] a JSON Schema (draft 2020-12) of a record's root map written as
//! JSON, served at `GET /v1/schema` and printed by `ferry schema`. Both come from
//! [`fields_of`] and the workflow, so neither can drift from what validation does.

use std::fmt::Write as _;

use serde_json::{Map, Value as Json, json};

use super::fields::{FieldType, RELATIONSHIPS, fields_of};
use super::workflow::{Role, transition_allowed};
use super::{Kind, SCHEMA_VERSION};

const UUID_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
const UNIT_PATTERN: &str = "^[0-9]{2,5}$";
const DATE_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
const PARTIAL_DATE_PATTERN: &str = "^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$";
const DECIMAL_PATTERN: &str = "^[0-9]{1,12}(\\.[0-9]{1,2})?$";
const ID_PATTERN: &str = "^[0-9]{12}$";
const OLD_ID_PATTERN: &str = "^([0-9]{9}|[0-9]{12})$";

/// The statuses of a kind, in workflow order.
fn statuses(kind: Kind) -> &'static [&'static str] {
    match fields_of(kind)
        .iter()
        .find(|s| s.name == "status")
        .map(|s| s.ty)
    {
        Some(FieldType::Enum(v)) => v,
        _ => &[],
    }
}

fn type_name(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "text",
        FieldType::Name => "name",
        FieldType::Date => "date",
        FieldType::PartialDate => "partial date",
        FieldType::LocalDateTime => "local time",
        FieldType::Decimal => "decimal",
        FieldType::Enum(_) => "enum",
        FieldType::IdNumber => "ID number",
        FieldType::OldIdNumber => "old ID number",
        FieldType::Uuid => "record id",
        FieldType::Unit => "unit code",
        FieldType::Int => "integer",
        FieldType::Bool => "boolean",
        FieldType::Phone => "phone",
        FieldType::Email => "email",
        FieldType::Members => "members",
        FieldType::PreviousIdNumbers => "earlier ID numbers",
        FieldType::Attachments => "attachments",
    }
}

fn automerge_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Int => "int (or uint)",
        FieldType::Bool => "boolean",
        FieldType::Decimal => "int, or str",
        FieldType::Members | FieldType::PreviousIdNumbers | FieldType::Attachments => "map object",
        _ => "str (scalar string, not a text object)",
    }
}

fn rule(ty: FieldType) -> String {
    match ty {
        FieldType::Text => "NFC; no NUL, other control characters except tab and line breaks, or bidirectional overrides/isolates".into(),
        FieldType::Name => "as text, plus: at least one visible character; no control or bidirectional formatting characters at all".into(),
        FieldType::Date => "`YYYY-MM-DD`, a real day, years 0001–9999".into(),
        FieldType::PartialDate => "`YYYY-MM-DD`, or `YYYY-MM` / `YYYY` when only the month / year is known (a finding `date_of_birth_partial` is reported)".into(),
        FieldType::LocalDateTime => "`YYYY-MM-DDTHH:MM`, Vietnam time (Asia/Ho_Chi_Minh), 24-hour clock".into(),
        FieldType::Decimal => "an int ≥ 0, or a str of digits with up to two decimals after `.` (`\"7.5\"`)".into(),
        FieldType::Enum(values) => format!("one of {}", code_list(values)),
        FieldType::IdNumber => "exactly 12 ASCII digits".into(),
        FieldType::OldIdNumber => "9 or 12 ASCII digits".into(),
        FieldType::Uuid => "lowercase hyphenated UUID of another record".into(),
        FieldType::Unit => "an admin-unit code of any period (old codes are findings)".into(),
        FieldType::Int => "a whole number".into(),
        FieldType::Bool => "true or false".into(),
        FieldType::Phone => "digits, `+` and spaces, at least one digit".into(),
        FieldType::Email => "contains `@`".into(),
        FieldType::Members => format!(
            "map keyed by citizen id (UUID); each entry a map with `relationship` (required, one of {}) and `relationship_note` (str, optional)",
            code_list(RELATIONSHIPS)
        ),
        FieldType::PreviousIdNumbers => "map keyed by the earlier number (12 digits, or a 9/12-digit CMND); each entry a map with optional `replaced_on` (date) and `reason` (str)".into(),
        FieldType::Attachments => format!(
            "map keyed by the blob's SHA-256 (64 lowercase hex digits); each entry a map with `kind` (required, one of {}), `mime` (required, one of {}), `size` (required, int, 1 to {} bytes), `width` and `height` (int pixels, optional), `by` (str, the account, ≤ 64 characters), `device` (UUID str) and `at` (int, ms since the epoch); the bytes travel on their own endpoints (`docs/protocol.md` §11)",
            code_list(crate::attachment::KINDS),
            code_list(crate::attachment::MIME_TYPES),
            crate::attachment::HARD_MAX_BYTES
        ),
    }
}

fn code_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `docs/schema.md`: the normative description of every record kind.
pub fn markdown() -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "# Ferry record schema (version {SCHEMA_VERSION})

<!-- Generated by `sync_core::model::schema::markdown()`; a test fails when this file and the
code differ. Do not edit by hand: change `sync-core/src/model/fields.rs` and regenerate with
`ferry schema --markdown > docs/schema.md`. -->

This is the normative content of a record document. Together with `docs/protocol.md` (how
documents and changes travel) it is enough to write a client that creates valid records. The
same rules run on the phone and on the server (`sync-core/src/model/`). The machine-readable
form is the JSON Schema served at `GET /v1/schema` and printed by `ferry schema`.

## 1. The document

A record is one Automerge document. Its root map holds:

| key | Automerge value | rule |
|---|---|---|
| `id` | str | the record's UUID (v7 recommended), lowercase hyphenated; never changes |
| `kind` | str | one of {kinds}; never changes |
| `schema` | int | exactly `{SCHEMA_VERSION}`; any other value (or none) makes the document malformed |
| `unit` | str | the **current** admin-unit code the record belongs to (scoping) |

and the kind's fields below. Nothing else: an unknown key is refused (`unknown_field`).

- Text values are Automerge **scalar strings** (`ScalarValue::Str`; in JavaScript
  `@automerge/automerge`, a plain string assigned to a map key; never `new Text()` / a text
  object). Text is stored in Unicode **NFC**; clients SHOULD trim it. Dates are text.
- Integers are Automerge int (uint is read as int); there are no floats (a decimal is text).
- Booleans are Automerge booleans.
- `members` and `previous_id_numbers` are nested Automerge **map objects**, created with the
  record, keyed by a stable id (never lists), so concurrent additions merge.
- An absent field means \"not known\". `null`, lists, text objects, counters, floats, bytes and
  timestamps are not field values: a document holding one is malformed. To clear a field,
  delete the key.
- Change timestamps (the Automerge change `time`) are read as milliseconds since the Unix
  epoch; a value from 10^9 up to 10^11 is read as **seconds** (JavaScript Automerge's stable
  API writes seconds).

Validation has two outcomes (`docs/protocol.md` §5): a **structural error** refuses the change
(rejection code `invalid`); a **finding** is a data-quality observation saved with the record.

## 2. Field types

| type | Automerge value | rule (structural) |
|---|---|---|
",
        kinds = code_list(&Kind::ALL.map(Kind::as_str)),
    );
    let types = [
        FieldType::Text,
        FieldType::Name,
        FieldType::Date,
        FieldType::PartialDate,
        FieldType::LocalDateTime,
        FieldType::Decimal,
        FieldType::Enum(&[]),
        FieldType::IdNumber,
        FieldType::OldIdNumber,
        FieldType::Uuid,
        FieldType::Unit,
        FieldType::Int,
        FieldType::Bool,
        FieldType::Phone,
        FieldType::Email,
        FieldType::Members,
        FieldType::PreviousIdNumbers,
        FieldType::Attachments,
    ];
    for ty in types {
        let r = match ty {
            FieldType::Enum(_) => "one of the values listed with the field".to_owned(),
            other => rule(other),
        };
        let _ = writeln!(s, "| {} | {} | {r} |", type_name(ty), automerge_type(ty));
    }
    s.push_str(
        "\nNames and ID numbers written through Ferry's own API are normalised first (names: invisible
characters such as U+200B dropped and spaces collapsed; ID numbers: spaces, dots and dashes
between digits dropped). A client writing Automerge changes directly MUST write the normalised
form.\n",
    );
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        kind_section(&mut s, i + 3, kind);
    }
    let _ = write!(
        s,
        "\n## {}. Other structural rules\n
- A `cccd_application` in status `accepted`, `card_issued` or `returned` has `id_number` or
  `no_id_number_reason` (`id_number_required`; seed plan 2.1(2)).
- Fields marked *frozen* may not change once the record reaches the statuses shown
  (rejection `frozen_field`).
- The root `unit` is a current unit (after the 2025-07-01 reorganisation): `unit_not_current`.
",
        Kind::ALL.len() + 3
    );
    s
}

fn kind_section(s: &mut String, n: usize, kind: Kind) {
    let _ = write!(
        s,
        "\n## {n}. `{kind}`\n\n| field | type | Automerge value | review | class | label (vi) | label (en) | values |\n|---|---|---|---|---|---|---|---|\n"
    );
    for f in fields_of(kind) {
        let values = match f.ty {
            FieldType::Enum(v) => code_list(v),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {} | {values} |",
            f.name,
            type_name(f.ty),
            automerge_type(f.ty),
            if f.review { "yes" } else { "" },
            match super::sensitivity::class_of(kind, f.name) {
                super::sensitivity::Class::Sensitive => "sensitive",
                super::sensitivity::Class::Ordinary => "",
            },
            f.label_vi,
            f.label_en,
        );
    }
    s.push_str("\n*review*: concurrent edits of the field open a review item for an admin.\n");
    s.push_str("*class*: `sensitive` personal data (Law 91/2025). A sensitive field is never part of the record's Automerge document: a device sends its value as a sensitive write (`docs/protocol.md` §12), the server keeps it apart and never sends it to any device; only `staff` and `admin` read it (admin API, console, subject-access report, `GET /v1/records/{id}/sensitive`), each read audited. A change that writes one into a document is refused `invalid`. A `residence_declaration` of a temporary absence on ground `absence_a_accused_or_on_bail` or `absence_b_probation_or_similar` is *restricted* as a whole: it reaches only the devices of `staff` and `admin` (`docs/protocol.md` §12.1).\n\n");
    let frozen = frozen_note(kind);
    if !frozen.is_empty() {
        s.push_str(&frozen);
    }
    let _ = writeln!(
        s,
        "Status moves (`from → to`: the lowest role that may make it; `(new)` = creating the record in that status):\n"
    );
    s.push_str("| from | to | lowest role |\n|---|---|---|\n");
    let sts = statuses(kind);
    for from in std::iter::once(None).chain(sts.iter().map(|s| Some(*s))) {
        for to in sts {
            if from == Some(*to) {
                continue;
            }
            let who = Role::ALL
                .into_iter()
                .find(|r| transition_allowed(kind, from, to, *r));
            if let Some(r) = who {
                let _ = writeln!(
                    s,
                    "| {} | `{to}` | {} |",
                    from.map_or("(new)".to_owned(), |f| format!("`{f}`")),
                    r.as_str()
                );
            }
        }
    }
    if kind == Kind::Citizen {
        s.push_str(
            "\nUndoing a death (`deceased → active`) also needs a new `status_reason` in the same change.\n",
        );
    }
}

fn frozen_note(kind: Kind) -> String {
    let mut out = String::new();
    for status in statuses(kind) {
        let frozen = super::workflow::frozen_fields(kind, Some(status));
        if !frozen.is_empty() {
            let _ = writeln!(out, "Frozen in `{status}`: {}.\n", code_list(frozen));
        }
    }
    out
}

fn field_schema(ty: FieldType) -> Json {
    let string = |pattern: &str| json!({"type": "string", "pattern": pattern});
    match ty {
        FieldType::Text => json!({"type": "string"}),
        FieldType::Name => json!({"type": "string", "minLength": 1}),
        FieldType::Date => string(DATE_PATTERN),
        FieldType::PartialDate => string(PARTIAL_DATE_PATTERN),
        FieldType::LocalDateTime => string("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$"),
        FieldType::Decimal => json!({"oneOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": DECIMAL_PATTERN}
        ]}),
        FieldType::Enum(values) => json!({"type": "string", "enum": values}),
        FieldType::IdNumber => string(ID_PATTERN),
        FieldType::OldIdNumber => string(OLD_ID_PATTERN),
        FieldType::Uuid => string(UUID_PATTERN),
        FieldType::Unit => string(UNIT_PATTERN),
        FieldType::Int => json!({"type": "integer"}),
        FieldType::Bool => json!({"type": "boolean"}),
        FieldType::Phone => string("^[0-9+ ]*[0-9][0-9+ ]*$"),
        FieldType::Email => string("@"),
        FieldType::Members => json!({
            "type": "object",
            "propertyNames": {"pattern": UUID_PATTERN},
            "additionalProperties": {
                "type": "object",
                "required": ["relationship"],
                "properties": {
                    "relationship": {"type": "string", "enum": RELATIONSHIPS},
                    "relationship_note": {"type": "string"}
                },
                "additionalProperties": false
            }
        }),
        FieldType::Attachments => json!({
            "type": "object",
            "propertyNames": {"pattern": "^[0-9a-f]{64}$"},
            "additionalProperties": {
                "type": "object",
                "required": ["kind", "mime", "size"],
                "properties": {
                    "kind": {"type": "string", "enum": crate::attachment::KINDS},
                    "mime": {"type": "string", "enum": crate::attachment::MIME_TYPES},
                    "size": {"type": "integer", "minimum": 1, "maximum": crate::attachment::HARD_MAX_BYTES},
                    "width": {"type": "integer", "minimum": 1},
                    "height": {"type": "integer", "minimum": 1},
                    "by": {"type": "string", "maxLength": 64},
                    "device": {"type": "string", "format": "uuid"},
                    "at": {"type": "integer"}
                },
                "additionalProperties": false
            }
        }),
        FieldType::PreviousIdNumbers => json!({
            "type": "object",
            "propertyNames": {"pattern": OLD_ID_PATTERN},
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "replaced_on": {"type": "string", "pattern": DATE_PATTERN},
                    "reason": {"type": "string"}
                },
                "additionalProperties": false
            }
        }),
    }
}

fn kind_schema(kind: Kind) -> Json {
    let mut props = Map::new();
    props.insert(
        "id".into(),
        json!({"type": "string", "pattern": UUID_PATTERN}),
    );
    props.insert("kind".into(), json!({"const": kind.as_str()}));
    props.insert("schema".into(), json!({"const": SCHEMA_VERSION}));
    props.insert(
        "unit".into(),
        json!({"type": "string", "pattern": UNIT_PATTERN}),
    );
    for f in fields_of(kind) {
        let mut schema = field_schema(f.ty);
        if let Json::Object(o) = &mut schema {
            o.insert("title".into(), json!(f.label_en));
            o.insert("x-label-vi".into(), json!(f.label_vi));
            o.insert("x-review".into(), json!(f.review));
            o.insert(
                "x-ferry-class".into(),
                json!(super::sensitivity::class_of(kind, f.name).as_str()),
            );
        }
        props.insert(f.name.into(), schema);
    }
    let mut out = json!({
        "title": kind.as_str(),
        "type": "object",
        "required": ["id", "kind", "schema", "unit"],
        "properties": props,
        "additionalProperties": false
    });
    if let Json::Object(o) = &mut out {
        let sensitive: Vec<&str> = super::sensitivity::sensitive_fields(kind).collect();
        if !sensitive.is_empty() {
            // A record (an import line, the admin view) may hold them; a document never does:
            // a device sends them as sensitive writes (`docs/protocol.md` §12).
            o.insert("x-ferry-sensitive".into(), json!(sensitive));
        }
        if kind == Kind::ResidenceDeclaration {
            // The whole record is restricted (§12.1) when it matches this.
            o.insert(
                "x-ferry-restricted".into(),
                json!({
                    "procedure": "temporary_absence",
                    "ground": super::sensitivity::CRIMINAL_PROCEDURE_GROUNDS,
                }),
            );
        }
    }
    if kind == Kind::CccdApplication
        && let Json::Object(o) = &mut out
    {
        o.insert(
            "if".into(),
            json!({"properties": {"status": {"enum": ["accepted", "card_issued", "returned"]}}, "required": ["status"]}),
        );
        o.insert(
            "then".into(),
            json!({"anyOf": [{"required": ["id_number"]}, {"required": ["no_id_number_reason"]}]}),
        );
    }
    out
}

/// A JSON Schema (draft 2020-12) of a record's root map written as JSON: `id`, `kind`,
/// `schema`, `unit` and the kind's fields, with Automerge strings as JSON strings, ints as
/// integers, booleans as booleans and nested maps as objects.
pub fn json_schema() -> Json {
    let kinds: Vec<Json> = Kind::ALL.into_iter().map(kind_schema).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://ferry.invalid/v1/schema",
        "title": format!("Ferry record, schema version {SCHEMA_VERSION}"),
        "description": "The root map of a Ferry record document as JSON. Normative text: docs/schema.md.",
        "oneOf": kinds
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_docs_schema_md_is_exactly_what_the_field_tables_render() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schema.md");
        let rendered = markdown();
        // `FERRY_BLESS_SCHEMA=1 cargo test -p sync-core schema` rewrites the file.
        if std::env::var_os("FERRY_BLESS_SCHEMA").is_some() {
            std::fs::write(path, &rendered).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == rendered,
            "docs/schema.md is stale: run `ferry schema --markdown > docs/schema.md` or FERRY_BLESS_SCHEMA=1 cargo test -p sync-core schema"
        );
    }

    #[test]
    fn the_json_schema_lists_the_sensitive_fields_and_the_restricted_declarations() {
        let schema = json_schema();
        let kinds = schema["oneOf"].as_array().unwrap();
        let of = |k: &str| kinds.iter().find(|s| s["title"] == k).unwrap();
        assert_eq!(
            of("citizen")["x-ferry-sensitive"],
            json!(["religion", "ethnicity", "blood_type"])
        );
        assert_eq!(
            of("cccd_application")["x-ferry-sensitive"],
            json!(["fingerprints_taken", "iris_taken"])
        );
        assert!(of("household").get("x-ferry-sensitive").is_none());
        assert_eq!(
            of("residence_declaration")["x-ferry-restricted"]["procedure"],
            "temporary_absence"
        );
    }

    #[test]
    fn the_json_schema_names_every_field_of_every_kind() {
        let schema = json_schema();
        let kinds = schema["oneOf"].as_array().unwrap();
        assert_eq!(kinds.len(), Kind::ALL.len());
        for (kind, k) in Kind::ALL.into_iter().zip(kinds) {
            for f in fields_of(kind) {
                assert!(k["properties"].get(f.name).is_some(), "{kind}.{}", f.name);
            }
            assert_eq!(k["properties"]["kind"]["const"], kind.as_str());
        }
    }

    #[test]
    fn the_markdown_lists_who_may_accept_an_application() {
        assert!(markdown().contains("| `submitted` | `accepted` | staff |"));
    }
}
