//! Record validation: structural errors refuse a write, findings are saved and reported.
//!
//! The same function runs on the phone before saving and on the server before accepting a
//! change. Messages never contain personal data: no names, addresses or ID digits (except the
//! meaning of the single century/sex digit, which is not identifying).

use super::date::{Date, PartialDate};
use super::fields::{FieldSpec, FieldType, RELATIONSHIP_NOTE_MAX_CHARS, RELATIONSHIPS, field_spec};
use super::id_number::{IdNumber, century_of_digit, is_old_id_number, sex_of_digit};
use super::text::{clean_name, is_forbidden_control, is_forbidden_in_name, is_nfc, nfc};
use super::units::catalog;
use super::{Kind, Record, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What validation needs to know about the outside world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationContext {
    /// Today's date, `YYYY-MM-DD` (the device's or server's local date). Checks that need
    /// today are skipped when this is not a valid date.
    pub today: String,
}

impl ValidationContext {
    /// A context for the given day (`YYYY-MM-DD`).
    pub fn new(today: impl Into<String>) -> Self {
        ValidationContext {
            today: today.into(),
        }
    }
}

/// A reason to refuse a write. Validation collects all of them, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StructuralError {
    /// The offending field (`unit` for the record's root unit; `members.<uuid>` or
    /// `members.<uuid>.<key>` inside household members).
    pub field: String,
    /// A stable machine-readable code: `unknown_field`, `wrong_type`, `malformed_date`,
    /// `malformed_uuid`, `invalid_enum_value`, `invalid_id_number`, `invalid_old_id_number`,
    /// `unknown_unit`, `unit_not_current`, `not_nfc`, `invalid_phone`, `invalid_email`,
    /// `missing_relationship`, `control_character` (NUL, other control characters, or a
    /// bidirectional override/isolate in text; any control character in a name),
    /// `empty_name` (a name that is empty or only spaces), `too_long` (more characters than
    /// the field's [`FieldSpec::max_chars`]), `invalid_decimal`, `id_number_required` (an accepted,
    /// issued or returned card application with neither `id_number` nor
    /// `no_id_number_reason`).
    pub code: &'static str,
    /// A human-readable explanation without personal data.
    pub message: String,
}

impl fmt::Display for StructuralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.code)
    }
}

impl std::error::Error for StructuralError {}

/// A data-quality observation saved with the record and reported for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// A stable machine-readable code: `id_number_sex_mismatch`, `id_number_century_mismatch`,
    /// `id_number_year_mismatch`, `unknown_province_code`, `temporary_stay_too_long`,
    /// `stay_ends_before_start`, `household_head_count`,
    /// `old_unit_code`, `date_in_future`.
    pub code: String,
    /// The field the finding is about.
    pub field: String,
    /// A human-readable explanation without personal data.
    pub message: String,
}

impl Finding {
    fn new(code: &str, field: &str, message: String) -> Self {
        Finding {
            code: code.to_owned(),
            field: field.to_owned(),
            message,
        }
    }
}

/// Normalises a record in place before validation: every text value (including inside maps)
/// is trimmed and put in NFC; names lose invisible characters and repeated spaces
/// ([`clean_name`](super::clean_name)); ID numbers typed with spaces, dots or dashes as read
/// off a printout (`022 085 001234`, `022.085.001.234`) become their digits. Map keys are
/// left alone (they are UUIDs or ID numbers).
pub fn normalise(record: &mut Record) {
    record.unit = record.unit.trim().to_owned();
    let kind = record.kind;
    for (name, value) in record.fields.iter_mut() {
        let v = normalise_value(kind, name, value);
        if *value != v {
            *value = v;
        }
    }
}

/// The normalised form of one field's value (what [`normalise`] does to it): for edits
/// written through the typed API one field at a time.
pub fn normalise_value(kind: Kind, field: &str, value: &Value) -> Value {
    let ty = field_spec(kind, field).map(|s| s.ty);
    match (ty, value) {
        (Some(FieldType::Name), Value::Text(s)) => Value::Text(clean_name(s)),
        (Some(FieldType::IdNumber | FieldType::OldIdNumber), Value::Text(s)) => {
            Value::Text(id_digits(s))
        }
        (Some(FieldType::PreviousIdNumbers), Value::Map(m)) => {
            Value::Map(m.iter().map(|(k, v)| (id_digits(k), plain(v))).collect())
        }
        _ => plain(value),
    }
}

/// Trimmed NFC text, recursively.
fn plain(v: &Value) -> Value {
    match v {
        Value::Text(s) => Value::Text(nfc(s.trim())),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        other => other.clone(),
    }
}

/// An ID number without the spaces, dots and dashes people type between digit groups. Text
/// that is not digits and separators is only trimmed, so validation still names the problem.
pub(crate) fn id_digits(s: &str) -> String {
    let s = nfc(s.trim());
    let separator = |c: char| c.is_whitespace() || matches!(c, '.' | '-' | '\u{2010}'..='\u{2015}');
    if s.chars().all(|c| c.is_ascii_digit() || separator(c)) {
        s.chars().filter(char::is_ascii_digit).collect()
    } else {
        s
    }
}

/// Validates a record of any kind.
///
/// Returns `Err` with every structural error when the write must be refused, otherwise the
/// (possibly empty) list of findings to save and report. Text must already be NFC: call
/// [`normalise`] first.
pub fn validate(
    record: &Record,
    ctx: &ValidationContext,
) -> Result<Vec<Finding>, Vec<StructuralError>> {
    let mut errors = Vec::new();
    let mut findings = Vec::new();

    if !catalog().is_served(&record.unit) {
        let message = if catalog().is_current(&record.unit) {
            "the record's unit must be a current unit of the area this system serves"
        } else if catalog().is_known(&record.unit) {
            "the record's unit must be a current unit (after the 2025-07-01 reorganisation)"
        } else {
            "the record's unit is not a known admin-unit code"
        };
        errors.push(err("unit", "unit_not_current", message.to_owned()));
    }

    for (name, value) in &record.fields {
        match field_spec(record.kind, name) {
            Some(spec) => check_field(spec, value, &mut errors, &mut findings),
            None => errors.push(err(
                name,
                "unknown_field",
                format!("a {} has no field with this name", record.kind),
            )),
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }

    if record.kind == Kind::CccdApplication
        && matches!(
            record.status(),
            Some("accepted" | "card_issued" | "returned")
        )
        && record.text("id_number").is_none()
        && record.text("no_id_number_reason").is_none()
    {
        // Seed 2.1(2): every result is stored with the personal ID number.
        return Err(vec![err(
            "id_number",
            "id_number_required",
            "an application is accepted only with the applicant's ID number, or a reason in no_id_number_reason why there is none yet".into(),
        )]);
    }

    old_unit_codes(record, &mut findings);
    let today = Date::parse(&ctx.today);
    match record.kind {
        Kind::Citizen => {
            id_number_agrees(record, &mut findings);
            born_in_future(record, today, &mut findings);
        }
        Kind::CccdApplication => {
            id_number_agrees(record, &mut findings);
            born_in_future(record, today, &mut findings);
        }
        Kind::ResidenceDeclaration => stay_period(record, &mut findings),
        Kind::Household => head_count(record, &mut findings),
    }
    super::rules::check(record, ctx, today, &mut findings);
    Ok(findings)
}

/// Checks one value of `field` of `kind` on its own, as [`validate`] checks it inside a record
/// (type, enum values, length): for a sensitive write (`docs/protocol.md` §12), which comes
/// without its record. Normalise it first ([`normalise_value`]).
pub fn check_value(kind: Kind, field: &str, value: &Value) -> Result<(), Vec<StructuralError>> {
    let Some(spec) = field_spec(kind, field) else {
        return Err(vec![err(
            field,
            "unknown_field",
            format!("a {kind} has no field with this name"),
        )]);
    };
    let (mut errors, mut findings) = (Vec::new(), Vec::new());
    check_field(spec, value, &mut errors, &mut findings);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The day a record's address unit codes were captured, as they are read
/// ([`super::Catalog::normalise_on`]): a citizen's `captured_on` (the day the population data
/// was collected), a declaration's `filed_on` (the form's date); `None` otherwise, or when the
/// date is malformed (codes are then read as today's).
pub fn captured_on(record: &Record) -> Option<&str> {
    let field = match record.kind {
        Kind::Citizen => "captured_on",
        Kind::ResidenceDeclaration => "filed_on",
        Kind::Household | Kind::CccdApplication => return None,
    };
    record.text(field).filter(|d| Date::parse(d).is_some())
}

/// An address unit code that, read as of the capture date ([`captured_on`]), names a unit
/// from before the 2025-07-01 reorganisation is a finding that suggests the current unit(s):
/// `07138` always, and `07180` on a form of 2024 (old Xã Liên Hòa, not today's ward) — unless
/// the old unit lies wholly in the current unit of the same code (`07147` of 2024).
fn old_unit_codes(record: &Record, findings: &mut Vec<Finding>) {
    let cat = catalog();
    let as_of = captured_on(record);
    for (name, value) in &record.fields {
        let (Some(spec), Some(code)) = (field_spec(record.kind, name), value.as_text()) else {
            continue;
        };
        if spec.ty != FieldType::Unit || !cat.is_known(code) {
            continue;
        }
        let read = as_of.and_then(|d| cat.on(code, d).map(|u| (d, u)));
        if read.map_or_else(|| cat.is_current(code), |(_, u)| u.is_current()) {
            continue;
        }
        let successors = cat.normalise(code);
        if let [one] = successors.as_slice()
            && one.code == code
        {
            // A reused code whose old unit lies wholly in the new one (old Xã Hiệp Hòa in
            // Phường Hiệp Hòa): the code still names the unit the address is in.
            continue;
        }
        let suggested: Vec<String> = successors
            .iter()
            .map(|u| format!("{} ({})", u.code, u.name))
            .collect();
        let was = match read {
            Some((d, u)) => format!("unit {code} as captured on {d} is {}", u.name),
            None => format!("unit {code}"),
        };
        let message = if suggested.is_empty() {
            format!(
                "{was} no longer exists since the 2025-07-01 reorganisation and has no mapped current unit"
            )
        } else {
            format!(
                "{was}, from before the 2025-07-01 reorganisation; current unit: {}",
                suggested.join(" or ")
            )
        };
        findings.push(Finding::new("old_unit_code", name, message));
    }
}

fn err(field: &str, code: &'static str, message: String) -> StructuralError {
    StructuralError {
        field: field.to_owned(),
        code,
        message,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Text(_) => "text",
        Value::Int(_) => "a number",
        Value::Bool(_) => "a yes/no value",
        Value::Map(_) => "a map",
    }
}

const DECIMAL_MESSAGE: &str =
    "a quantity is a whole number, or text with digits and up to two decimals after a '.' (7.5)";

/// A decimal quantity in hundredths (`"7.5"` → 750), from text with at most two decimals.
pub(crate) fn decimal(s: &str) -> Option<u64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 12 || frac.len() > 2 || !digits(whole) || !digits(frac) {
        return None;
    }
    if s.contains('.') && frac.is_empty() {
        return None;
    }
    let cents = format!("{frac:0<2}");
    Some(whole.parse::<u64>().ok()? * 100 + cents.parse::<u64>().ok()?)
}

/// A decimal field's value in hundredths, whether stored as a number or as text.
pub(crate) fn decimal_field(record: &Record, name: &str) -> Option<u64> {
    match record.fields.get(name)? {
        Value::Int(i) => u64::try_from(*i).ok()?.checked_mul(100),
        Value::Text(s) => decimal(s),
        _ => None,
    }
}

fn expects(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Decimal => "a number or decimal text",
        FieldType::PreviousIdNumbers => "a map",
        FieldType::Int => "a number",
        FieldType::Bool => "a yes/no value",
        FieldType::Members | FieldType::Attachments => "a map",
        _ => "text",
    }
}

fn is_canonical_uuid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

const UUID_MESSAGE: &str =
    "a record reference is a UUID in lowercase hyphenated form (8-4-4-4-12 hex digits)";

fn check_field(
    spec: &FieldSpec,
    value: &Value,
    errors: &mut Vec<StructuralError>,
    findings: &mut Vec<Finding>,
) {
    let name = spec.name;
    let wrong_type = |errors: &mut Vec<StructuralError>| {
        errors.push(err(
            name,
            "wrong_type",
            format!(
                "this field expects {}; got {}",
                expects(spec.ty),
                type_name(value)
            ),
        ));
    };
    match (spec.ty, value) {
        (FieldType::Int, Value::Int(_)) | (FieldType::Bool, Value::Bool(_)) => {}
        (FieldType::Decimal, Value::Int(i)) => {
            if *i < 0 {
                errors.push(err(name, "invalid_decimal", DECIMAL_MESSAGE.into()));
            }
        }
        (FieldType::Int | FieldType::Bool, _) => wrong_type(errors),
        (FieldType::Members, Value::Map(m)) => check_members(m, errors),
        (FieldType::PreviousIdNumbers, Value::Map(m)) => check_previous_ids(m, errors),
        (FieldType::Attachments, Value::Map(m)) => check_attachments(m, errors),
        (FieldType::Members | FieldType::PreviousIdNumbers | FieldType::Attachments, _) => {
            wrong_type(errors)
        }
        (ty, Value::Text(s)) => {
            if !is_nfc(s) {
                errors.push(err(
                    name,
                    "not_nfc",
                    "text must be in Unicode NFC (normalise before validating)".into(),
                ));
                return;
            }
            if s.chars().any(is_forbidden_control) {
                errors.push(err(
                    name,
                    "control_character",
                    "text may not hold control characters (NUL included) or bidirectional overrides".into(),
                ));
                return;
            }
            check_text_within(name, ty, spec.max_chars, s, errors, findings);
        }
        (_, _) => wrong_type(errors),
    }
}

/// [`check_text`], then the length limit the server holds every written value to
/// (`docs/protocol.md` §5.1, [`FieldSpec::max_chars`]): `too_long`, so the phone refuses an
/// over-long text when it is typed, not at the next sync. A format error, when there is one,
/// is the clearer message and comes alone.
fn check_text_within(
    name: &str,
    ty: FieldType,
    max_chars: usize,
    s: &str,
    errors: &mut Vec<StructuralError>,
    findings: &mut Vec<Finding>,
) {
    let before = errors.len();
    check_text(name, ty, s, errors, findings);
    let chars = s.chars().count();
    if errors.len() == before && chars > max_chars {
        errors.push(err(
            name,
            "too_long",
            format!("this field holds at most {max_chars} characters; the text has {chars}"),
        ));
    }
}

fn check_text(
    name: &str,
    ty: FieldType,
    s: &str,
    errors: &mut Vec<StructuralError>,
    findings: &mut Vec<Finding>,
) {
    match ty {
        FieldType::Text => {}
        FieldType::Name => {
            if s.chars().any(is_forbidden_in_name) {
                errors.push(err(
                    name,
                    "control_character",
                    "a name may not hold control or bidirectional formatting characters".into(),
                ));
            } else if s.trim().is_empty() || clean_name(s).is_empty() {
                errors.push(err(
                    name,
                    "empty_name",
                    "a name has at least one visible character; clear the field instead".into(),
                ));
            }
        }
        FieldType::Decimal => {
            if decimal(s).is_none() {
                errors.push(err(name, "invalid_decimal", DECIMAL_MESSAGE.into()));
            }
        }
        FieldType::LocalDateTime => {
            if local_date_time(s).is_none() {
                errors.push(err(
                    name,
                    "malformed_date",
                    "a local time is YYYY-MM-DDTHH:MM (Vietnam time, 24-hour clock)".into(),
                ));
            }
        }
        FieldType::PartialDate => {
            if PartialDate::parse(s).is_none() {
                errors.push(err(
                    name,
                    "malformed_date",
                    "a date of birth is YYYY-MM-DD, or YYYY-MM or YYYY when only the month or year is known".into(),
                ));
            }
        }
        FieldType::Date => {
            if Date::parse(s).is_none() {
                errors.push(err(
                    name,
                    "malformed_date",
                    "a date is a real calendar day written YYYY-MM-DD".into(),
                ));
            }
        }
        FieldType::Enum(values) => {
            if !values.contains(&s) {
                errors.push(err(
                    name,
                    "invalid_enum_value",
                    format!("expected one of: {}", values.join(", ")),
                ));
            }
        }
        FieldType::IdNumber => match IdNumber::parse(s) {
            Ok(id) => {
                // Digits 1–3 are the province *or country* code of the birth registration
                // (Decree 137/2015 Art. 13, Circular 07/2016 Art. 7); the country list is not
                // shipped, so the message points the officer at the place of registration
                // rather than calling the number wrong (REVIEW §2).
                if super::province_name(id.province_code()).is_none() {
                    findings.push(Finding::new(
                        "unknown_province_code",
                        name,
                        "the first three digits of the ID number are not a province code; if the birth was registered abroad they may be a country code: check the place of birth registration"
                            .into(),
                    ));
                }
            }
            Err(e) => errors.push(err(name, "invalid_id_number", e.to_string())),
        },
        FieldType::OldIdNumber => {
            if !is_old_id_number(s) {
                errors.push(err(
                    name,
                    "invalid_old_id_number",
                    format!(
                        "an old ID card number has 9 or 12 digits; got {} characters",
                        s.chars().count()
                    ),
                ));
            }
        }
        FieldType::Uuid => {
            if !is_canonical_uuid(s) {
                errors.push(err(name, "malformed_uuid", UUID_MESSAGE.into()));
            }
        }
        FieldType::Unit => {
            // Known in some period; whether it is old is read as of the capture date
            // ([`old_unit_codes`]).
            if !catalog().is_known(s) {
                errors.push(err(
                    name,
                    "unknown_unit",
                    "not a known admin-unit code in any period".into(),
                ));
            }
        }
        FieldType::Phone => {
            let ok = s
                .chars()
                .all(|c| c.is_ascii_digit() || c == '+' || c == ' ')
                && s.chars().any(|c| c.is_ascii_digit());
            if !ok {
                errors.push(err(
                    name,
                    "invalid_phone",
                    "a phone number has only digits, '+' and spaces".into(),
                ));
            }
        }
        FieldType::Email => {
            if !s.contains('@') {
                errors.push(err(
                    name,
                    "invalid_email",
                    "an email address contains '@'".into(),
                ));
            }
        }
        // Handled by the caller: these never arrive as text.
        FieldType::Int
        | FieldType::Bool
        | FieldType::Members
        | FieldType::PreviousIdNumbers
        | FieldType::Attachments => {}
    }
}

fn check_members(members: &BTreeMap<String, Value>, errors: &mut Vec<StructuralError>) {
    for (key, entry) in members {
        let path = format!("members.{key}");
        if !is_canonical_uuid(key) {
            errors.push(err(
                &path,
                "malformed_uuid",
                format!("member keys are citizen ids: {UUID_MESSAGE}"),
            ));
        }
        let Value::Map(entry) = entry else {
            errors.push(err(
                &path,
                "wrong_type",
                format!("a member entry expects a map; got {}", type_name(entry)),
            ));
            continue;
        };
        if !entry.contains_key("relationship") {
            errors.push(err(
                &path,
                "missing_relationship",
                "a member entry needs a relationship".into(),
            ));
        }
        for (k, v) in entry {
            let sub = format!("{path}.{k}");
            let ty = match k.as_str() {
                "relationship" => FieldType::Enum(RELATIONSHIPS),
                "relationship_note" => FieldType::Text,
                _ => {
                    errors.push(err(
                        &sub,
                        "unknown_field",
                        "a member entry has only relationship and relationship_note".into(),
                    ));
                    continue;
                }
            };
            let Value::Text(s) = v else {
                errors.push(err(
                    &sub,
                    "wrong_type",
                    format!("this field expects text; got {}", type_name(v)),
                ));
                continue;
            };
            if !is_nfc(s) {
                errors.push(err(
                    &sub,
                    "not_nfc",
                    "text must be in Unicode NFC (normalise before validating)".into(),
                ));
                continue;
            }
            let max = if k == "relationship_note" {
                RELATIONSHIP_NOTE_MAX_CHARS
            } else {
                ty.max_chars()
            };
            // Member entries produce no findings.
            check_text_within(&sub, ty, max, s, errors, &mut Vec::new());
        }
    }
}

/// Each attachment reference: keyed by its hash, with well-formed metadata
/// ([`crate::attachment::entry_problems`]).
fn check_attachments(set: &BTreeMap<String, Value>, errors: &mut Vec<StructuralError>) {
    for (hash, entry) in set {
        for (suffix, code, message) in crate::attachment::entry_problems(hash, entry) {
            errors.push(err(&format!("attachments.{hash}{suffix}"), code, message));
        }
    }
}

fn check_previous_ids(ids: &BTreeMap<String, Value>, errors: &mut Vec<StructuralError>) {
    for (key, entry) in ids {
        let path = format!("previous_id_numbers.{key}");
        if IdNumber::parse(key).is_err() && !is_old_id_number(key) {
            errors.push(err(
                &path,
                "invalid_id_number",
                "keys are earlier ID numbers: 12 digits, or an old CMND number of 9 or 12 digits"
                    .into(),
            ));
        }
        let Value::Map(entry) = entry else {
            errors.push(err(
                &path,
                "wrong_type",
                format!("an entry expects a map; got {}", type_name(entry)),
            ));
            continue;
        };
        for (k, v) in entry {
            let sub = format!("{path}.{k}");
            let ty = match k.as_str() {
                "replaced_on" => FieldType::Date,
                "reason" => FieldType::Text,
                _ => {
                    errors.push(err(
                        &sub,
                        "unknown_field",
                        "an earlier ID number has only replaced_on and reason".into(),
                    ));
                    continue;
                }
            };
            match v {
                Value::Text(s) if is_nfc(s) && !s.chars().any(is_forbidden_control) => {
                    check_text_within(&sub, ty, ty.max_chars(), s, errors, &mut Vec::new());
                }
                Value::Text(_) => errors.push(err(
                    &sub,
                    "not_nfc",
                    "text must be NFC without control characters".into(),
                )),
                other => errors.push(err(
                    &sub,
                    "wrong_type",
                    format!("this field expects text; got {}", type_name(other)),
                )),
            }
        }
    }
}

fn date_field(record: &Record, name: &str) -> Option<Date> {
    record.text(name).and_then(Date::parse)
}

/// `YYYY-MM-DDTHH:MM` (Vietnam time): the day and the minutes since midnight.
pub(crate) fn local_date_time(s: &str) -> Option<(Date, u32)> {
    let b = s.as_bytes();
    if b.len() != 16 || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |a, &c| {
            c.is_ascii_digit().then(|| a * 10 + u32::from(c - b'0'))
        })
    };
    let (h, m) = (num(11..13)?, num(14..16)?);
    (h < 24 && m < 60).then_some(())?;
    Some((Date::parse(&s[..10])?, h * 60 + m))
}

/// A date that may be partial (a date of birth known only to year or month).
pub(crate) fn partial_date(record: &Record, name: &str) -> Option<PartialDate> {
    record.text(name).and_then(PartialDate::parse)
}

/// Digits 4–6 of `id_number` against `sex` and `date_of_birth`.
fn id_number_agrees(record: &Record, findings: &mut Vec<Finding>) {
    let Some(id) = record
        .text("id_number")
        .and_then(|s| IdNumber::parse(s).ok())
    else {
        return;
    };
    let digit = id.century_sex_digit();
    let (lo, hi) = (id.implied_century_start(), id.implied_century_start() + 99);
    if let Some(sex) = record.text("sex")
        && sex != id.implied_sex()
    {
        findings.push(Finding::new(
            "id_number_sex_mismatch",
            "id_number",
            format!(
                "digit 4 of the ID number is {digit}, which means {} (born {lo}–{hi}); the record says {sex}",
                sex_of_digit(digit)
            ),
        ));
    }
    if let Some(born) = partial_date(record, "date_of_birth") {
        let century = born.year() - born.year().rem_euclid(100);
        if century != century_of_digit(digit) {
            findings.push(Finding::new(
                "id_number_century_mismatch",
                "id_number",
                format!(
                    "digit 4 of the ID number is {digit}, which means born {lo}–{hi}; the date of birth is in another century"
                ),
            ));
        }
        if i32::from(id.birth_year_last_two()) != born.year().rem_euclid(100) {
            findings.push(Finding::new(
                "id_number_year_mismatch",
                "id_number",
                "digits 5–6 of the ID number differ from the last two digits of the birth year"
                    .into(),
            ));
        }
    }
}

fn born_in_future(record: &Record, today: Option<Date>, findings: &mut Vec<Finding>) {
    // A partial date is in the future only if even its earliest possible day is.
    if let (Some(born), Some(today)) = (partial_date(record, "date_of_birth"), today)
        && born.earliest() > today
    {
        findings.push(Finding::new(
            "date_in_future",
            "date_of_birth",
            "the date of birth is after today".into(),
        ));
    }
}

fn stay_period(record: &Record, findings: &mut Vec<Finding>) {
    let (Some(from), Some(to)) = (
        date_field(record, "from_date"),
        date_field(record, "to_date"),
    ) else {
        return;
    };
    if to < from {
        findings.push(Finding::new(
            "stay_ends_before_start",
            "to_date",
            "the end date is before the start date".into(),
        ));
        return;
    }
    let temporary = matches!(
        record.text("procedure"),
        Some("temporary_registration" | "extension")
    );
    if temporary && from.add_years(2).is_some_and(|limit| to > limit) {
        findings.push(Finding::new(
            "temporary_stay_too_long",
            "to_date",
            "a temporary registration lasts at most 2 years; renew it with an extension".into(),
        ));
    }
}

fn head_count(record: &Record, findings: &mut Vec<Finding>) {
    if matches!(record.status(), Some("withdrawn" | "merged_into")) {
        return;
    }
    let heads = record
        .fields
        .get("members")
        .and_then(Value::as_map)
        .map_or(0, |m| {
            m.values()
                .filter(|e| {
                    e.as_map()
                        .and_then(|e| e.get("relationship"))
                        .and_then(Value::as_text)
                        == Some("head")
                })
                .count()
        });
    if heads != 1 {
        findings.push(Finding::new(
            "household_head_count",
            "members",
            format!("a household has exactly one head; found {heads}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Fields;
    use uuid::Uuid;

    const HEAD: &str = "0190f5a0-0000-7000-8000-000000000001";
    const WIFE: &str = "0190f5a0-0000-7000-8000-000000000002";
    const CHILD: &str = "0190f5a0-0000-7000-8000-000000000003";

    fn ctx() -> ValidationContext {
        ValidationContext::new("2026-03-10")
    }

    fn record(kind: Kind, fields: &[(&str, Value)]) -> Record {
        let fields: Fields = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        Record {
            id: Uuid::nil(),
            kind,
            unit: "07147".into(),
            fields,
        }
    }

    fn findings(r: &Record) -> Vec<Finding> {
        match validate(r, &ctx()) {
            Ok(f) => f,
            Err(e) => panic!("unexpected structural errors: {e:?}"),
        }
    }

    fn codes(r: &Record) -> Vec<String> {
        findings(r).into_iter().map(|f| f.code).collect()
    }

    fn errors(r: &Record) -> Vec<StructuralError> {
        match validate(r, &ctx()) {
            Ok(f) => panic!("expected structural errors, got findings {f:?}"),
            Err(e) => e,
        }
    }

    fn error_pairs(r: &Record) -> Vec<(String, &'static str)> {
        errors(r).into_iter().map(|e| (e.field, e.code)).collect()
    }

    fn members(entries: &[(&str, &str)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(id, rel)| {
                    (
                        (*id).to_owned(),
                        Value::Map([("relationship".to_owned(), Value::from(*rel))].into()),
                    )
                })
                .collect(),
        )
    }

    fn woman_1985() -> Vec<(&'static str, Value)> {
        vec![
            ("full_name", "Nguyễn Thị Ánh".into()),
            ("sex", "female".into()),
            ("date_of_birth", "1985-03-02".into()),
            ("status", "active".into()),
        ]
    }

    #[test]
    fn a_consistent_citizen_has_no_findings() {
        let mut f = woman_1985();
        f.push(("id_number", "022185001234".into()));
        f.push(("old_id_number", "100200300".into()));
        f.push(("permanent_unit", "07147".into()));
        f.push(("household_id", HEAD.into()));
        f.push(("phone", "+84 912 345 678".into()));
        f.push(("email", "a@example.vn".into()));
        assert_eq!(findings(&record(Kind::Citizen, &f)), vec![]);
    }

    #[test]
    fn id_number_for_a_woman_born_1985_with_male_digit_is_a_finding() {
        let mut f = woman_1985();
        f.push(("id_number", "022085001234".into()));
        let found = findings(&record(Kind::Citizen, &f));
        assert_eq!(found.len(), 1, "{found:?}");
        let finding = &found[0];
        assert_eq!(finding.code, "id_number_sex_mismatch");
        assert_eq!(finding.field, "id_number");
        assert!(
            finding
                .message
                .contains("digit 4 of the ID number is 0, which means male"),
            "{}",
            finding.message
        );
        assert!(
            !finding.message.contains("022085"),
            "no ID digits in messages"
        );
        assert!(!finding.message.contains("Ánh"), "no names in messages");
    }

    #[test]
    fn id_number_for_someone_born_2001_with_a_twentieth_century_digit_is_a_century_finding() {
        let r = record(
            Kind::CccdApplication,
            &[
                ("id_number", "022101001234".into()),
                ("sex", "female".into()),
                ("date_of_birth", "2001-05-05".into()),
            ],
        );
        assert_eq!(codes(&r), ["id_number_century_mismatch"]);
    }

    #[test]
    fn id_number_whose_year_digits_disagree_with_the_birth_year_is_a_year_finding() {
        let mut f = woman_1985();
        f.push(("id_number", "022186001234".into()));
        let found = findings(&record(Kind::Citizen, &f));
        assert_eq!(
            found.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
            ["id_number_year_mismatch"]
        );
        assert!(!found[0].message.contains("86") && !found[0].message.contains("85"));
    }

    #[test]
    fn an_id_number_from_an_unknown_province_is_a_finding_on_that_field() {
        let r = record(
            Kind::Citizen,
            &[
                ("id_number", "003085001234".into()),
                ("father_id_number", "999055001234".into()),
            ],
        );
        let found = findings(&r);
        let pairs: Vec<_> = found
            .iter()
            .map(|f| (f.code.as_str(), f.field.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("unknown_province_code", "father_id_number"),
                ("unknown_province_code", "id_number")
            ]
        );
    }

    #[test]
    fn an_eleven_digit_id_number_is_refused_with_the_digit_count() {
        let r = record(Kind::Citizen, &[("id_number", "02208500123".into())]);
        let errs = errors(&r);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "id_number");
        assert_eq!(errs[0].code, "invalid_id_number");
        assert!(
            errs[0]
                .message
                .contains("an ID number has exactly 12 digits; got 11")
        );
        assert!(!errs[0].to_string().contains("02208500123"));
    }

    #[test]
    fn every_structural_error_is_collected_not_just_the_first() {
        let mut r = record(
            Kind::Citizen,
            &[
                ("favourite_colour", "blue".into()),
                ("full_name", Value::Int(3)),
                ("date_of_birth", "2023-02-29".into()),
                ("household_id", "not-a-uuid".into()),
                ("merged_into", "0190F5A0-0000-7000-8000-000000000001".into()),
                ("sex", "M".into()),
                ("old_id_number", "12345".into()),
                ("permanent_unit", "99999".into()),
                ("phone", "0912-345-678".into()),
                ("email", "nobody.example.vn".into()),
                ("other_name", "Nguye\u{0302}\u{0303}n".into()),
                ("status", Value::Bool(true)),
            ],
        );
        r.unit = "07138".into();
        let mut got = error_pairs(&r);
        got.sort();
        let mut want = vec![
            ("unit".to_owned(), "unit_not_current"),
            ("favourite_colour".to_owned(), "unknown_field"),
            ("full_name".to_owned(), "wrong_type"),
            ("date_of_birth".to_owned(), "malformed_date"),
            ("household_id".to_owned(), "malformed_uuid"),
            ("merged_into".to_owned(), "malformed_uuid"),
            ("sex".to_owned(), "invalid_enum_value"),
            ("old_id_number".to_owned(), "invalid_old_id_number"),
            ("permanent_unit".to_owned(), "unknown_unit"),
            ("phone".to_owned(), "invalid_phone"),
            ("email".to_owned(), "invalid_email"),
            ("other_name".to_owned(), "not_nfc"),
            ("status".to_owned(), "wrong_type"),
        ];
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn a_record_whose_root_unit_is_unknown_or_old_is_refused() {
        let mut r = record(Kind::Citizen, &[]);
        r.unit = "99999".into();
        assert_eq!(error_pairs(&r), [("unit".to_owned(), "unit_not_current")]);
        r.unit = "206".into();
        assert_eq!(error_pairs(&r), [("unit".to_owned(), "unit_not_current")]);
        r.unit = "22".into();
        assert!(validate(&r, &ctx()).is_ok());
    }

    #[test]
    fn normalising_first_makes_decomposed_and_padded_text_acceptable() {
        let mut r = record(
            Kind::Citizen,
            &[(
                "full_name",
                "  Nguye\u{0302}\u{0303}n Thi\u{0323} A\u{0301}nh ".into(),
            )],
        );
        r.unit = " 07147 ".into();
        assert!(validate(&r, &ctx()).is_err());
        normalise(&mut r);
        assert_eq!(r.text("full_name"), Some("Nguyễn Thị Ánh"));
        assert_eq!(r.unit, "07147");
        assert!(validate(&r, &ctx()).is_ok());
    }

    #[test]
    fn normalise_reaches_text_inside_household_members() {
        let entry: BTreeMap<String, Value> = [
            ("relationship".to_owned(), Value::from(" other ")),
            (
                "relationship_note".to_owned(),
                Value::from("cha\u{0301}u ngoa\u{0323}i"),
            ),
        ]
        .into();
        let mut r = record(
            Kind::Household,
            &[(
                "members",
                Value::Map([(HEAD.to_owned(), Value::Map(entry))].into()),
            )],
        );
        normalise(&mut r);
        let m = r.fields["members"]
            .as_map()
            .and_then(|m| m[HEAD].as_map())
            .cloned()
            .unwrap_or_default();
        assert_eq!(m["relationship"], Value::from("other"));
        assert_eq!(m["relationship_note"], Value::from("cháu ngoại"));
    }

    #[test]
    fn an_old_unit_code_in_an_address_is_a_finding_that_suggests_the_current_unit() {
        let r = record(Kind::Citizen, &[("permanent_unit", "07138".into())]);
        let found = findings(&r);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "old_unit_code");
        assert_eq!(found[0].field, "permanent_unit");
        assert!(
            found[0].message.contains("07135 (Phường Đông Mai)"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn an_old_unit_code_from_a_split_unit_suggests_every_candidate() {
        let r = record(
            Kind::ResidenceDeclaration,
            &[("address_unit", "07186".into())],
        );
        assert_eq!(codes(&r), ["old_unit_code"]);
        // 07180 itself is current, so it is not a finding even though the old commune was split.
        let r = record(
            Kind::ResidenceDeclaration,
            &[("address_unit", "07180".into())],
        );
        assert_eq!(codes(&r), Vec::<String>::new());
        let r = record(Kind::Citizen, &[("temporary_unit", "206".into())]);
        let found = findings(&r);
        assert_eq!(found[0].code, "old_unit_code");
        assert!(found[0].message.contains("no mapped current unit"));
    }

    #[test]
    fn a_temporary_registration_longer_than_two_years_is_a_finding() {
        let base = |proc: &str, to: &str| {
            record(
                Kind::ResidenceDeclaration,
                &[
                    ("procedure", proc.into()),
                    // An extension names the registration it extends (`registration_not_named`).
                    (
                        "registration_id",
                        "0190f5a0-0000-7000-8000-0000000000aa".into(),
                    ),
                    ("from_date", "2024-02-29".into()),
                    ("to_date", to.into()),
                ],
            )
        };
        assert_eq!(
            codes(&base("temporary_registration", "2026-02-28")),
            Vec::<String>::new()
        );
        assert_eq!(
            codes(&base("temporary_registration", "2026-03-01")),
            ["temporary_stay_too_long"]
        );
        assert_eq!(
            codes(&base("extension", "2027-01-01")),
            ["temporary_stay_too_long"]
        );
        assert_eq!(
            codes(&base("temporary_absence", "2027-01-01")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_stay_that_ends_before_it_starts_is_a_finding() {
        let r = record(
            Kind::ResidenceDeclaration,
            &[
                ("procedure", "stay_notice".into()),
                ("from_date", "2026-03-10".into()),
                ("to_date", "2026-03-09".into()),
            ],
        );
        assert_eq!(codes(&r), ["stay_ends_before_start"]);
    }

    #[test]
    fn a_first_issue_for_a_twelve_year_old_is_lawful_with_a_representative_and_no_finding() {
        // REVIEW §2: first_issue, DOB 2012-03-11, filed 2026-03-10 (Identification Law Art. 19).
        let app = |filed: Option<&str>, representative: bool| {
            let mut f = vec![
                ("request_type", Value::from("first_issue")),
                ("date_of_birth", "2012-03-11".into()),
                ("sex", "male".into()),
            ];
            if let Some(d) = filed {
                f.push(("filed_on", d.into()));
            }
            if representative {
                f.push(("representative_name", "Nguyễn Văn Bố".into()));
                f.push(("representative_id_number", "022080001234".into()));
            }
            record(Kind::CccdApplication, &f)
        };
        assert_eq!(codes(&app(Some("2026-03-10"), true)), Vec::<String>::new());
        assert_eq!(codes(&app(None, true)), Vec::<String>::new());
        // Without the representative the application is incomplete, not unlawful.
        assert_eq!(
            codes(&app(Some("2026-03-10"), false)),
            ["representative_missing"]
        );
        // From the 14th birthday the applicant files alone.
        assert_eq!(codes(&app(Some("2026-03-11"), false)), Vec::<String>::new());
        let replacement = record(
            Kind::CccdApplication,
            &[
                ("request_type", "replacement".into()),
                ("date_of_birth", "2015-01-01".into()),
                ("representative_name", "Nguyễn Văn Bố".into()),
                ("representative_id_number", "022080001234".into()),
            ],
        );
        assert_eq!(codes(&replacement), Vec::<String>::new());
    }

    #[test]
    fn a_date_of_birth_after_today_is_a_finding() {
        let r = record(Kind::Citizen, &[("date_of_birth", "2026-03-11".into())]);
        assert_eq!(codes(&r), ["date_in_future"]);
        let r = record(Kind::Citizen, &[("date_of_birth", "2026-03-10".into())]);
        assert_eq!(codes(&r), Vec::<String>::new());
    }

    #[test]
    fn checks_that_need_today_are_skipped_when_today_is_malformed() {
        let r = record(Kind::Citizen, &[("date_of_birth", "2999-01-01".into())]);
        assert_eq!(
            validate(&r, &ValidationContext::new("tomorrow")),
            Ok(vec![])
        );
    }

    #[test]
    fn a_household_with_exactly_one_head_has_no_findings() {
        let r = record(
            Kind::Household,
            &[(
                "members",
                members(&[(HEAD, "head"), (WIFE, "spouse"), (CHILD, "child")]),
            )],
        );
        assert_eq!(codes(&r), Vec::<String>::new());
    }

    #[test]
    fn a_household_with_two_heads_or_none_is_a_finding_that_gives_the_count() {
        let r = record(
            Kind::Household,
            &[("members", members(&[(HEAD, "head"), (WIFE, "head")]))],
        );
        let found = findings(&r);
        assert_eq!(found[0].code, "household_head_count");
        assert!(found[0].message.ends_with("found 2"));
        let r = record(
            Kind::Household,
            &[("members", members(&[(WIFE, "spouse")]))],
        );
        assert!(findings(&r)[0].message.ends_with("found 0"));
        let r = record(Kind::Household, &[]);
        assert_eq!(codes(&r), ["household_head_count"]);
        let r = record(Kind::Household, &[("status", "withdrawn".into())]);
        assert_eq!(codes(&r), Vec::<String>::new());
    }

    #[test]
    fn malformed_household_members_are_refused_entry_by_entry() {
        let bad_entry: BTreeMap<String, Value> = [
            ("relationship".to_owned(), Value::from("cousin")),
            ("since".to_owned(), Value::from("2020")),
        ]
        .into();
        let no_rel: BTreeMap<String, Value> =
            [("relationship_note".to_owned(), Value::Int(1))].into();
        let m: BTreeMap<String, Value> = [
            ("not-a-uuid".to_owned(), members(&[])),
            (HEAD.to_owned(), Value::Map(bad_entry)),
            (WIFE.to_owned(), Value::Map(no_rel)),
            (CHILD.to_owned(), Value::from("child")),
        ]
        .into();
        let mut got = error_pairs(&record(Kind::Household, &[("members", Value::Map(m))]));
        got.sort();
        let mut want = vec![
            ("members.not-a-uuid".to_owned(), "malformed_uuid"),
            ("members.not-a-uuid".to_owned(), "missing_relationship"),
            (format!("members.{HEAD}.relationship"), "invalid_enum_value"),
            (format!("members.{HEAD}.since"), "unknown_field"),
            (format!("members.{WIFE}"), "missing_relationship"),
            (format!("members.{WIFE}.relationship_note"), "wrong_type"),
            (format!("members.{CHILD}"), "wrong_type"),
        ];
        want.sort();
        assert_eq!(got, want);
        let r = record(Kind::Household, &[("members", Value::from("everyone"))]);
        assert_eq!(error_pairs(&r), [("members".to_owned(), "wrong_type")]);
    }

    #[test]
    fn ints_and_bools_must_have_their_own_types() {
        let r = record(
            Kind::ResidenceDeclaration,
            &[
                ("floor_area_m2", Value::Bool(true)),
                ("owner_consent", "yes".into()),
                ("persons", Value::Int(3)),
            ],
        );
        assert_eq!(
            error_pairs(&r),
            [
                ("floor_area_m2".to_owned(), "wrong_type"),
                ("owner_consent".to_owned(), "wrong_type")
            ]
        );
        assert!(
            errors(&r)[0]
                .message
                .contains("expects a number or decimal text; got a yes/no value")
        );
    }

    #[test]
    fn a_field_of_another_kind_is_unknown_here() {
        let r = record(Kind::CccdApplication, &[("religion", "Phật giáo".into())]);
        let errs = errors(&r);
        assert_eq!(errs[0].code, "unknown_field");
        assert!(!errs[0].message.contains("Phật"));
    }

    #[test]
    fn structural_errors_display_field_message_and_code() {
        let e = err(
            "id_number",
            "invalid_id_number",
            "an ID number has exactly 12 digits; got 11".into(),
        );
        assert_eq!(
            e.to_string(),
            "id_number: an ID number has exactly 12 digits; got 11 (invalid_id_number)"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().starts_with("id_number"));
    }

    #[test]
    fn findings_round_trip_through_json() {
        let f = Finding::new("household_head_count", "members", "found 0".into());
        let json = serde_json::to_string(&f).unwrap_or_default();
        assert_eq!(serde_json::from_str::<Finding>(&json).ok(), Some(f));
    }

    /// The server holds every written value to its field's `max_chars`
    /// (`check::ops`); the phone's validation refuses the same texts when they are typed.
    #[test]
    fn a_text_longer_than_its_field_allows_is_refused_as_too_long_and_one_at_the_limit_passes() {
        use crate::model::fields::{NAME_MAX_CHARS, NOTES_MAX_CHARS};
        let at = |n: usize| Value::from("ă".repeat(n).as_str());
        for (field, max) in [("full_name", NAME_MAX_CHARS), ("notes", NOTES_MAX_CHARS)] {
            let ok = record(Kind::Citizen, &[(field, at(max))]);
            assert!(validate(&ok, &ctx()).is_ok(), "{field} at {max}");
            let long = errors(&record(Kind::Citizen, &[(field, at(max + 1))]));
            assert_eq!(long.len(), 1, "{long:?}");
            assert_eq!((long[0].field.as_str(), long[0].code), (field, "too_long"));
            assert!(
                long[0].message.contains(&max.to_string()),
                "{}",
                long[0].message
            );
        }
        let mut entry = BTreeMap::from([("relationship".to_owned(), Value::from("head"))]);
        entry.insert(
            "relationship_note".into(),
            at(RELATIONSHIP_NOTE_MAX_CHARS + 1),
        );
        let m = Value::Map([(HEAD.to_owned(), Value::Map(entry))].into());
        let long = errors(&record(Kind::Household, &[("members", m)]));
        assert_eq!(long[0].code, "too_long");
        assert_eq!(long[0].field, format!("members.{HEAD}.relationship_note"));
    }

    #[test]
    fn a_malformed_value_that_is_also_too_long_is_reported_by_its_format() {
        let r = record(Kind::Citizen, &[("date_of_birth", "1985-03-12x".into())]);
        let e = errors(&r);
        assert_eq!(e.len(), 1);
        assert_ne!(e[0].code, "too_long");
    }
}
