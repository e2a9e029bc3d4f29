//! The domain's legal rules, as data-quality findings.
//!
//! Each rule cites the article (Residence Law 68/2020/QH14, Identification Law 26/2023/QH15)
//! or the seed plan line it comes from. A rule the law makes a condition of a decision is still
//! a *finding* here: the officer must be able to record what the paper says, and the police
//! decide. Points our legal review could not confirm (⚠ in `shared/domain/REVIEW.md`) are
//! findings only, never refusals.
//!
//! [`check`] runs the single-record rules inside [`validate`](super::validate). Rules that
//! need another record (an application against its citizen, a household against its members'
//! records, a deceased citizen against their registrations) are public functions taking the
//! related records, for the server's detection to call.

use std::borrow::Borrow;

use super::date::{Date, PartialDate};
use super::id_number::IdNumber;
use super::text::search_key;
use super::units::catalog;
use super::validate::{ValidationContext, decimal_field, partial_date};
use super::{Finding, Kind, Record, Value, province_name};

fn finding(code: &str, field: &str, message: &str) -> Finding {
    Finding {
        code: code.to_owned(),
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

fn date(record: &Record, name: &str) -> Option<Date> {
    record.text(name).and_then(Date::parse)
}

/// Every single-record rule for `record`; `today` is the context's date when valid.
pub(crate) fn check(
    record: &Record,
    _ctx: &ValidationContext,
    today: Option<Date>,
    out: &mut Vec<Finding>,
) {
    match record.kind {
        Kind::Citizen => {
            id_number_facts(record, today, out);
            citizen_dates(record, out);
            notice_and_vneid(record, out);
            death_status(record, out);
            temporary_inside_permanent_commune(record, out);
            card_validity(record, out);
            married_under_age(record, today, out);
        }
        Kind::CccdApplication => {
            id_number_facts(record, today, out);
            under_14_and_biometrics(record, today, out);
            card_ground(record, out);
            dossier_dates(record, out);
            if let (Some(filed), Some(appt)) =
                (date(record, "filed_on"), date(record, "appointment_on"))
                && appt < filed
            {
                out.push(finding(
                    "appointment_before_filing",
                    "appointment_on",
                    "the appointment date is before the filing date",
                ));
            }
        }
        Kind::ResidenceDeclaration => {
            stay_length(record, out);
            floor_area(record, out);
            extension_window(record, out);
            dossier_dates(record, out);
            procedure_particulars(record, out);
        }
        Kind::Household => head_id_agrees(record, out),
    }
    if partial_date(record, "date_of_birth").is_some_and(|d| d.exact().is_none()) {
        out.push(finding(
            "date_of_birth_partial",
            "date_of_birth",
            "the date of birth is known only to the year or month; the national population database may need the full date (unconfirmed)",
        ));
    }
}

// --- identity ----------------------------------------------------------------------------

/// Digits 1–3 against the place of birth registration; digit 4 against today when there is
/// no date of birth; the number against the parents' numbers.
fn id_number_facts(record: &Record, today: Option<Date>, out: &mut Vec<Finding>) {
    let Some(id) = record
        .text("id_number")
        .and_then(|s| IdNumber::parse(s).ok())
    else {
        return;
    };
    if let Some(place) = record.text("birth_registration_place")
        && let Some(own) = province_name(id.province_code())
        && let Some(named) = province_named_in(place)
        && search_key(named) != search_key(own)
    {
        out.push(finding(
            "birth_registration_province_mismatch",
            "id_number",
            "digits 1–3 of the ID number are the province of birth registration, and the place of birth registration names another province",
        ));
    }
    let implied_year = id.implied_century_start() + i32::from(id.birth_year_last_two());
    if record.text("date_of_birth").is_none()
        && let Some(today) = today
        && implied_year > today.year()
    {
        out.push(finding(
            "id_number_birth_year_impossible",
            "id_number",
            "digits 4–6 of the ID number imply a birth year after this year",
        ));
    }
    for parent in ["father_id_number", "mother_id_number"] {
        let Some(pid) = record.text(parent).and_then(|s| IdNumber::parse(s).ok()) else {
            continue;
        };
        if pid == id {
            out.push(finding(
                "id_number_same_as_parent",
                parent,
                "a parent's ID number equals the person's own; each person has their own number (Identification Law Art. 12)",
            ));
            continue;
        }
        let parent_year = pid.implied_century_start() + i32::from(pid.birth_year_last_two());
        let own_year =
            partial_date(record, "date_of_birth").map_or(implied_year, PartialDate::year);
        if parent_year > own_year {
            out.push(finding(
                "parent_born_after_child",
                parent,
                "digits 4–6 of the parent's ID number imply a birth year after the person's",
            ));
        }
    }
}

/// The province (pre-2025 name, as in the code table) a free-text place names, if exactly
/// one does. "Phường Hồng Gai, Quảng Ninh" → "Quảng Ninh".
fn province_named_in(place: &str) -> Option<&'static str> {
    // Each province's search key, padded as the place's words are, computed once: every
    // push of a citizen with a place of birth registration asks this.
    static KEYS: std::sync::LazyLock<Vec<(&'static str, String)>> =
        std::sync::LazyLock::new(|| {
            super::id_number::province_names()
                .map(|name| (name, format!(" {} ", search_key(name))))
                .collect()
        });
    let key = format!(" {} ", search_key(place).replace([',', '.', '-', '/'], " "));
    let key = key.split_whitespace().collect::<Vec<_>>().join(" ");
    let key = format!(" {key} ");
    let mut found: Vec<&'static str> = KEYS
        .iter()
        .filter(|(_, padded)| key.contains(padded.as_str()))
        .map(|(name, _)| *name)
        .collect();
    found.sort_unstable();
    found.dedup();
    // "Hà Nam" inside "Hà Nam Định"? Province names do not nest, but keep to one match.
    (found.len() == 1).then(|| found[0])
}

// --- citizen -----------------------------------------------------------------------------

fn citizen_dates(record: &Record, out: &mut Vec<Finding>) {
    let Some(born) = partial_date(record, "date_of_birth") else {
        return;
    };
    if date(record, "date_of_death").is_some_and(|d| d < born.earliest()) {
        out.push(finding(
            "death_before_birth",
            "date_of_death",
            "the date of death is before the date of birth",
        ));
    }
    if date(record, "previous_card_issued_on").is_some_and(|d| d < born.earliest()) {
        out.push(finding(
            "card_issued_before_birth",
            "previous_card_issued_on",
            "the previous card's issue date is before the date of birth",
        ));
    }
    for (field, code, what) in [
        (
            "id_number_notified_on",
            "id_number_notified_before_birth",
            "the day the ID number was notified is before the date of birth",
        ),
        (
            "vneid_activated_on",
            "vneid_activated_before_birth",
            "the day the VNeID account was activated is before the date of birth",
        ),
    ] {
        if date(record, field).is_some_and(|d| d < born.earliest()) {
            out.push(finding(code, field, what));
        }
    }
}

/// The ID number notice (seed 4.6) and the VNeID account (seed 2.3) both presuppose a
/// personal ID number; an activation day goes with a level other than `none`.
fn notice_and_vneid(record: &Record, out: &mut Vec<Finding>) {
    let has_number = record.text("id_number").is_some_and(|s| !s.is_empty());
    let level = record.text("vneid_level").unwrap_or("none");
    if !has_number && record.text("id_number_notified_on").is_some() {
        out.push(finding(
            "id_number_notified_without_number",
            "id_number_notified_on",
            "the citizen is recorded as notified of a personal ID number, but no ID number is recorded",
        ));
    }
    if !has_number && level != "none" {
        out.push(finding(
            "vneid_without_id_number",
            "vneid_level",
            "a VNeID account is recorded, but no personal ID number (a VNeID account is made from the ID number)",
        ));
    }
    if level == "none" && record.text("vneid_activated_on").is_some() {
        out.push(finding(
            "vneid_activation_without_level",
            "vneid_activated_on",
            "a VNeID activation day is recorded, but the account level is none or not recorded",
        ));
    }
}

/// `status = deceased` and `date_of_death` go together; a deceased person's permanent
/// registration is removed (Art. 24(1)(a)) and they no longer head a household (seed 2.1(1)
/// "sống", App. 2 #12).
fn death_status(record: &Record, out: &mut Vec<Finding>) {
    let deceased = record.status() == Some("deceased");
    let has_date = record.text("date_of_death").is_some();
    if deceased != has_date {
        out.push(finding(
            "death_status_mismatch",
            "date_of_death",
            if deceased {
                "the person is recorded as deceased without a date of death"
            } else {
                "a date of death is recorded but the status is not deceased"
            },
        ));
    }
    if deceased && record.text("relationship_to_head") == Some("head") {
        out.push(finding(
            "deceased_household_head",
            "relationship_to_head",
            "a deceased person is still recorded as household head; the household needs a new head (Residence Law Art. 26)",
        ));
    }
}

/// Marriage and Family Law 2014 Art. 8(1)(a): men marry from 20, women from 18, in full
/// years (⚠ unconfirmed in the review, so a finding). Counted on today from the earliest
/// possible birth day, so a year-only date of birth flags only someone certainly under age;
/// with no sex recorded only under 18 is certain for either sex.
fn married_under_age(record: &Record, today: Option<Date>, out: &mut Vec<Finding>) {
    if record.text("marital_status") != Some("married") {
        return;
    }
    let (Some(born), Some(today)) = (partial_date(record, "date_of_birth"), today) else {
        return;
    };
    let legal_age = match record.text("sex") {
        Some("male") => 20,
        _ => 18,
    };
    if born.earliest().age_on(today) < legal_age {
        out.push(finding(
            "married_under_legal_age",
            "marital_status",
            "the person is recorded as married but is under the legal marriage age: 20 for men, 18 for women (Marriage and Family Law 2014 Art. 8(1)(a), unconfirmed)",
        ));
    }
}

/// Art. 27(1): a temporary registration is for a place outside the commune-level unit of
/// permanent residence. Units are compared after normalising old codes, so an old unit merged
/// into the same ward counts as the same commune.
fn temporary_inside_permanent_commune(record: &Record, out: &mut Vec<Finding>) {
    if let (Some(p), Some(t)) = (record.text("permanent_unit"), record.text("temporary_unit"))
        && same_commune_on(p, t, super::validate::captured_on(record))
    {
        out.push(finding(
            "temporary_in_permanent_commune",
            "temporary_unit",
            "the temporary residence is in the commune or ward of permanent residence (Residence Law Art. 27(1))",
        ));
    }
}

/// Whether two unit codes (of any period) are the same current commune: both normalise to
/// exactly one current unit and it is the same one. A split unit (two candidates) is not
/// decided here.
pub fn same_commune(a: &str, b: &str) -> bool {
    let cat = catalog();
    let (na, nb) = (cat.normalise(a), cat.normalise(b));
    match (na.as_slice(), nb.as_slice()) {
        ([x], [y]) => x.code == y.code,
        _ => a == b,
    }
}

/// [`same_commune`] for codes captured on `captured_on` (read as of that day:
/// [`super::Catalog::normalise_on`]), so a code reused since 2025-07-01 is read with the
/// meaning it had on the form.
pub fn same_commune_on(a: &str, b: &str, captured_on: Option<&str>) -> bool {
    let cat = catalog();
    let (na, nb) = (
        cat.normalise_on(a, captured_on),
        cat.normalise_on(b, captured_on),
    );
    match (na.as_slice(), nb.as_slice()) {
        ([x], [y]) => x.code == y.code,
        _ => a == b,
    }
}

/// Whether two unit codes captured on different days (`a` on `a_on`, `b` on `b_on`; `None`
/// reads a code as today's) are the same current commune: `Some(true)` or `Some(false)` when
/// each names one current unit, `None` when a split unit leaves it open (one side may now be
/// in either of several units, the other's among them). Codes the catalogue does not know
/// are compared as written. A citizen captured in 2025-09 with `07180` (Phường Liên Hòa) and
/// a registration filed in 2024 with `07186` (old Xã Liên Vị, merged into it) are one commune.
pub fn same_commune_between(
    a: &str,
    a_on: Option<&str>,
    b: &str,
    b_on: Option<&str>,
) -> Option<bool> {
    let cat = catalog();
    let (na, nb) = (cat.normalise_on(a, a_on), cat.normalise_on(b, b_on));
    match (na.as_slice(), nb.as_slice()) {
        ([], _) | (_, []) => Some(a == b),
        ([x], [y]) => Some(x.code == y.code),
        _ if na.iter().any(|x| nb.iter().any(|y| x.code == y.code)) => None,
        _ => Some(false),
    }
}

/// The card-validity ages of Identification Law Art. 21: a card is exchanged at 14, 25, 40
/// and 60.
pub const EXCHANGE_AGES: [i32; 4] = [14, 25, 40, 60];

/// Until when a card issued on `issued` to someone born `born` is valid (Identification Law
/// Art. 21): until the next exchange age, except that a card issued within the two years
/// before 25, 40 or 60 stays valid until the following age; `None` means valid for life
/// (issued at 58 or later ⚠).
pub fn card_valid_until(born: Date, issued: Date) -> Option<Date> {
    let mut ages = EXCHANGE_AGES.iter().copied().peekable();
    while let Some(age) = ages.next() {
        let birthday = born.add_years(age)?;
        if birthday <= issued {
            continue;
        }
        let grace_starts = birthday.add_years(-2)?;
        if age != 14 && issued >= grace_starts {
            return ages.peek().and_then(|next| born.add_years(*next));
        }
        return Some(birthday);
    }
    None
}

fn card_validity(record: &Record, out: &mut Vec<Finding>) {
    let (Some(born), Some(issued)) = (
        partial_date(record, "date_of_birth").and_then(PartialDate::exact),
        date(record, "previous_card_issued_on"),
    ) else {
        return;
    };
    let expires = date(record, "previous_card_expires_on");
    let expected = card_valid_until(born, issued);
    if issued < born {
        return;
    }
    match (expected, expires) {
        (Some(e), Some(x)) if e != x => out.push(finding(
            "card_expiry_mismatch",
            "previous_card_expires_on",
            "the expiry date differs from the one Identification Law Art. 21 gives for this issue date (ages 14/25/40/60, with two years' grace before 25/40/60)",
        )),
        (None, Some(_)) => out.push(finding(
            "card_expiry_mismatch",
            "previous_card_expires_on",
            "a card issued at or after 58 is valid for life (Identification Law Art. 21, unconfirmed) but an expiry date is recorded",
        )),
        _ => {}
    }
}

// --- card applications -------------------------------------------------------------------

/// Identification Law Art. 19: a first card under 14 is lawful on request, through the legal
/// representative; under 6 no biometrics are taken, and the iris is taken from 6.
fn under_14_and_biometrics(record: &Record, today: Option<Date>, out: &mut Vec<Finding>) {
    let Some(born) = partial_date(record, "date_of_birth") else {
        return;
    };
    let Some(on) = date(record, "filed_on").or(today) else {
        return;
    };
    // Counted from the latest possible birth day, so a partial date never makes someone older.
    let age = born.latest().age_on(on);
    let has_representative = record.text("representative_name").is_some()
        && record.text("representative_id_number").is_some();
    if age < 14 && !has_representative {
        out.push(finding(
            "representative_missing",
            "representative_name",
            "an applicant under 14 applies through a legal representative; give the representative's name and ID number (Identification Law Art. 19)",
        ));
    }
    let taken = |f: &str| record.fields.get(f) == Some(&Value::Bool(true));
    if age < 6 && (taken("fingerprints_taken") || taken("iris_taken")) {
        out.push(finding(
            "biometrics_under_6",
            if taken("iris_taken") {
                "iris_taken"
            } else {
                "fingerprints_taken"
            },
            "no fingerprints or iris are taken from a child under 6 (Identification Law Art. 19, Circular 17/2024)",
        ));
    }
}

/// The ground of a card request fits its type (Identification Law Art. 24): an exchange
/// (`replacement`, cấp đổi) on a ground of Art. 24(1), a reissue (cấp lại) on one of
/// Art. 24(2); a first issue or a CMND confirmation has none.
fn card_ground(record: &Record, out: &mut Vec<Finding>) {
    // Confirming an old CMND (the seed plan's first procedure) names the number confirmed.
    if record.text("request_type") == Some("cmnd_confirmation")
        && record.text("cmnd_number").is_none()
    {
        out.push(finding(
            "cmnd_number_missing",
            "cmnd_number",
            "a confirmation of an old identity card names the CMND number to confirm (seed plan, procedure 1)",
        ));
    }
    let (Some(request), Some(ground)) = (record.text("request_type"), record.text("ground")) else {
        return;
    };
    let fits = match request {
        "replacement" => ground.starts_with("exchange_"),
        "reissue" => ground.starts_with("reissue_"),
        _ => false,
    };
    if !fits {
        out.push(finding(
            "card_ground_mismatch",
            "ground",
            "the ground does not fit the request: an exchange (cấp đổi) has a ground of Identification Law Art. 24(1), a reissue (cấp lại) one of Art. 24(2), a first issue or a CMND confirmation none",
        ));
    }
}

/// An application against its citizen: the identity fields must agree ("đúng", seed 2.1(1)).
pub fn application_vs_citizen(application: &Record, citizen: &Record) -> Vec<Finding> {
    let mut out = Vec::new();
    for field in ["id_number", "full_name", "date_of_birth", "sex"] {
        let (a, c) = (application.text(field), citizen.text(field));
        let differs = match (a, c) {
            (Some(a), Some(c)) if field == "full_name" => {
                super::text::exact_key(a) != super::text::exact_key(c)
            }
            (Some(a), Some(c)) => a != c,
            _ => false,
        };
        if differs {
            out.push(finding(
                "application_disagrees_with_citizen",
                field,
                "this field of the application differs from the citizen record it belongs to",
            ));
        }
    }
    out
}

// --- residence ---------------------------------------------------------------------------

/// Residence Law Art. 2(6) and 27(1): a stay of under 30 days is a stay (lưu trú, notified by
/// the host), one of 30 days or more a temporary registration.
fn stay_length(record: &Record, out: &mut Vec<Finding>) {
    let (Some(from), Some(to)) = (date(record, "from_date"), date(record, "to_date")) else {
        return;
    };
    let days = from.days_until(to);
    if days < 0 {
        return;
    }
    match record.text("procedure") {
        Some("temporary_registration") if days < 30 => out.push(finding(
            "stay_under_30_days",
            "to_date",
            "a stay of under 30 days needs a stay notice by the host, not a temporary registration (Residence Law Art. 2(6), 27(1))",
        )),
        Some("stay_notice") if days >= 30 => out.push(finding(
            "stay_notice_30_days_or_more",
            "to_date",
            "a stay of 30 days or more needs a temporary registration, not a stay notice (Residence Law Art. 27(1))",
        )),
        _ => {}
    }
}

/// Residence Law Art. 20(3): a permanent registration in a rented, borrowed or hosted home
/// needs at least 8 m² of floor per person (⚠ the floor figure is the provincial minimum,
/// which may not be below 8 m²).
fn floor_area(record: &Record, out: &mut Vec<Finding>) {
    if record.text("procedure") != Some("permanent_registration") {
        return;
    }
    let not_own = match record.text("residence_basis") {
        Some(basis) => matches!(basis, "rented" | "borrowed" | "hosted"),
        None => record.fields.contains_key("owner_consent"),
    };
    let (Some(area), Some(Value::Int(persons))) = (
        decimal_field(record, "floor_area_m2"),
        record.fields.get("persons"),
    ) else {
        return;
    };
    let Ok(persons) = u64::try_from(*persons) else {
        return;
    };
    if not_own && persons > 0 && area < 800 * persons {
        out.push(finding(
            "floor_area_per_person_below_8",
            "floor_area_m2",
            "a rented, borrowed or hosted home needs at least 8 m² of floor per person for a permanent registration (Residence Law Art. 20(3))",
        ));
    }
}

/// Residence Law Art. 28(3): an extension is filed within the 15 days before the temporary
/// registration expires.
fn extension_window(record: &Record, out: &mut Vec<Finding>) {
    if record.text("procedure") != Some("extension") {
        return;
    }
    let (Some(filed), Some(expires)) = (
        date(record, "filed_on"),
        date(record, "registration_expires_on"),
    ) else {
        return;
    };
    let days_left = filed.days_until(expires);
    if days_left < 0 {
        out.push(finding(
            "extension_after_expiry",
            "filed_on",
            "the extension was filed after the temporary registration expired; a new temporary registration is needed (Residence Law Art. 28(3))",
        ));
    } else if days_left > 15 {
        out.push(finding(
            "extension_too_early",
            "filed_on",
            "an extension is filed within the 15 days before the temporary registration expires (Residence Law Art. 28(3))",
        ));
    }
}

// --- households --------------------------------------------------------------------------

fn members(record: &Record) -> Vec<(&str, Option<&str>)> {
    record
        .fields
        .get("members")
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .map(|(k, e)| {
                    let rel = e
                        .as_map()
                        .and_then(|e| e.get("relationship"))
                        .and_then(Value::as_text);
                    (k.as_str(), rel)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `head_id` names the member whose relationship is `head`.
fn head_id_agrees(record: &Record, out: &mut Vec<Finding>) {
    if matches!(record.status(), Some("withdrawn" | "merged_into")) {
        return;
    }
    let Some(head_id) = record.text("head_id") else {
        return;
    };
    let members = members(record);
    let heads: Vec<&str> = members
        .iter()
        .filter(|(_, r)| *r == Some("head"))
        .map(|(k, _)| *k)
        .collect();
    if !heads.is_empty() && !heads.contains(&head_id) {
        out.push(finding(
            "head_id_disagrees_with_members",
            "head_id",
            "head_id names someone other than the member whose relationship is head",
        ));
    }
}

/// A household against its members' citizen records: a minor head while an adult member
/// exists (Residence Law Art. 10: the head has full civil capacity), and a deceased head.
pub fn household_vs_members<C: Borrow<Record>>(
    household: &Record,
    citizens: &[C],
    today: Date,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let head_id = household.text("head_id");
    let head = citizens
        .iter()
        .map(Borrow::borrow)
        .find(|c: &&Record| Some(c.id.to_string().as_str()) == head_id);
    let adult = |c: &Record| {
        partial_date(c, "date_of_birth").is_some_and(|b| b.latest().age_on(today) >= 18)
    };
    let minor = |c: &Record| {
        partial_date(c, "date_of_birth").is_some_and(|b| b.earliest().age_on(today) < 18)
    };
    if let Some(head) = head {
        let others_adult = citizens
            .iter()
            .map(Borrow::borrow)
            .any(|c: &Record| c.id != head.id && adult(c) && c.status() != Some("deceased"));
        if minor(head) && others_adult {
            out.push(finding(
                "minor_head_with_adult_member",
                "head_id",
                "the household head is under 18 while an adult member exists; the head has full civil capacity (Residence Law Art. 10)",
            ));
        }
        if head.status() == Some("deceased") {
            out.push(finding(
                "deceased_household_head",
                "head_id",
                "the household head is deceased; the household needs a new head (Residence Law Art. 26)",
            ));
        }
    }
    out
}

/// A living citizen with more than one open card application (draft, collected, submitted or
/// accepted): one person holds one card (Identification Law Art. 18 ⚠), so one of them is a
/// duplicate dossier to withdraw. `related` are the citizen's declarations and applications;
/// a deceased citizen's open applications are `deceased_with_open_application` instead.
pub fn open_applications<R: Borrow<Record>>(citizen: &Record, related: &[R]) -> Vec<Finding> {
    if matches!(
        citizen.status(),
        Some("deceased" | "withdrawn" | "merged_into")
    ) {
        return Vec::new();
    }
    let own = citizen.id.to_string();
    let open = related
        .iter()
        .map(Borrow::borrow)
        .filter(|r: &&Record| {
            r.kind == Kind::CccdApplication && r.text("citizen_id") == Some(own.as_str())
        })
        .filter(|r| {
            matches!(
                r.status(),
                Some("draft" | "collected" | "submitted" | "accepted")
            )
        })
        .count();
    if open < 2 {
        return Vec::new();
    }
    vec![finding(
        "two_open_applications",
        "status",
        "the citizen has more than one open card application; one person holds one card, so withdraw the duplicate dossier",
    )]
}

/// A deceased citizen against records that should have ended with the death: an accepted
/// permanent registration not removed, an accepted temporary registration (or extension)
/// still in force on `today` and not removed, and an open card application (seed 2.1(1)
/// "sống", App. 2 #12; Residence Law Arts. 24(1)(a), 29). `related` are the citizen's
/// declarations and applications.
pub fn deceased_vs_records<R: Borrow<Record>>(
    citizen: &Record,
    related: &[R],
    today: Date,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if citizen.status() != Some("deceased") {
        return out;
    }
    let own = citizen.id.to_string();
    let mine: Vec<&Record> = related
        .iter()
        .map(Borrow::borrow)
        .filter(|r: &&Record| r.text("citizen_id") == Some(own.as_str()))
        .collect();
    let accepted_declaration = |r: &Record, procedures: &[&str]| {
        r.kind == Kind::ResidenceDeclaration
            && r.status() == Some("accepted")
            && procedures.contains(&effective_procedure(r).0)
    };
    // Any accepted permanent removal ends the permanent registration, named or not (records
    // from before removals named their registration could not name it).
    let removed = mine
        .iter()
        .any(|r| accepted_declaration(r, &["permanent_removal"]));
    for r in &mine {
        if r.kind == Kind::CccdApplication
            && matches!(
                r.status(),
                Some("draft" | "collected" | "submitted" | "accepted")
            )
        {
            out.push(finding(
                "deceased_with_open_application",
                "status",
                "a deceased person has an open card application",
            ));
        }
        if accepted_declaration(r, &["permanent_registration"]) && !removed {
            out.push(finding(
                "deceased_still_registered",
                "status",
                "a deceased person still has a permanent registration; remove it (Residence Law Art. 24(1)(a))",
            ));
        }
        if accepted_declaration(r, &["temporary_registration", "extension"])
            && date(r, "to_date").is_none_or(|to| to >= today)
            && !temporary_removed(r, &mine)
        {
            // Its own code: `deceased_still_registered` is counted as a permanent
            // registration in the leadership reports.
            out.push(finding(
                "deceased_still_temporarily_registered",
                "status",
                "a deceased person still has a temporary registration in force; remove it (Residence Law Art. 29)",
            ));
        }
    }
    out
}

/// Whether an accepted temporary removal names `registration` or another link of its chain
/// (the temporary registration and the extensions of it, each naming the one it extends):
/// removing the residence ends every extension of it, and removing an extension ends the
/// registration it extended.
fn temporary_removed(registration: &Record, records: &[&Record]) -> bool {
    let extends = |r: &Record| {
        (effective_procedure(r).0 == "extension")
            .then(|| r.text("registration_id"))
            .flatten()
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
    };
    let mut chain = vec![registration.id];
    // Each pass adds at least one record or stops, so at most `records.len()` passes.
    loop {
        let before = chain.len();
        for r in records {
            let linked = match extends(r) {
                Some(parent) => chain.contains(&parent) || chain.contains(&r.id),
                None => false,
            };
            if linked {
                for id in [Some(r.id), extends(r)].into_iter().flatten() {
                    if !chain.contains(&id) {
                        chain.push(id);
                    }
                }
            }
        }
        if chain.len() == before {
            break;
        }
    }
    records.iter().any(|r| {
        r.kind == Kind::ResidenceDeclaration
            && r.status() == Some("accepted")
            && effective_procedure(r).0 == "temporary_removal"
            && r.text("registration_id")
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .is_some_and(|id| chain.contains(&id))
    })
}

// --- procedures (Residence Law Arts. 19, 24–31; seed App. 2) -------------------------------

/// The procedure a declaration is, and its ground, reading records from before procedures
/// were typed: `removal` was always a removal of the **permanent** registration (the only
/// removal the first model knew), so it reads as `permanent_removal` with ground `unknown`.
pub fn effective_procedure(record: &Record) -> (&str, &str) {
    let procedure = record.text("procedure").unwrap_or("");
    let ground = record.text("ground").unwrap_or("unknown");
    match procedure {
        "removal" => ("permanent_removal", ground),
        other => (other, ground),
    }
}

/// The procedure or request type whose legal time limit applies to `record`.
fn timed_procedure(record: &Record) -> Option<&str> {
    match record.kind {
        Kind::ResidenceDeclaration => Some(effective_procedure(record).0),
        Kind::CccdApplication => record.text("request_type"),
        _ => None,
    }
}

/// Filing, due and decision dates: the decision comes after filing and by the legal time
/// limit in working days (⚠ limits and holidays are data, see `working_days`); a refusal
/// states its reason (forms CC03, CT06).
fn dossier_dates(record: &Record, out: &mut Vec<Finding>) {
    let filed = date(record, "filed_on");
    let decided = date(record, "decided_on");
    let legal_due = filed
        .zip(timed_procedure(record))
        .and_then(|(f, p)| super::working_days::due_on(p, f));
    if let (Some(f), Some(d)) = (filed, decided)
        && d < f
    {
        out.push(finding(
            "decided_before_filing",
            "decided_on",
            "the decision date is before the filing date",
        ));
    }
    let due = date(record, "due_on").or(legal_due);
    if let (Some(due), Some(d)) = (due, decided)
        && d > due
    {
        out.push(finding(
            "decided_after_due",
            "decided_on",
            "the dossier was decided after its due date (legal time limit in working days)",
        ));
    }
    if let (Some(given), Some(legal)) = (date(record, "due_on"), legal_due)
        && given > legal
    {
        out.push(finding(
            "due_after_legal_limit",
            "due_on",
            "the due date is later than the procedure's legal time limit in working days allows (unconfirmed limits)",
        ));
    }
    if record.status() == Some("rejected") && record.text("refusal_reason").is_none() {
        out.push(finding(
            "refusal_reason_missing",
            "refusal_reason",
            "a refusal states its reason to the citizen (forms CC03, CT06)",
        ));
    }
}

/// Consents and particulars each procedure needs.
fn procedure_particulars(record: &Record, out: &mut Vec<Finding>) {
    let (procedure, ground) = effective_procedure(record);
    let yes = |f: &str| record.fields.get(f) == Some(&Value::Bool(true));
    if procedure == "household_separation" && !yes("head_consent") {
        out.push(finding(
            "head_consent_missing",
            "head_consent",
            "a household separation needs the household head's consent (Residence Law Art. 25, unconfirmed)",
        ));
    }
    if procedure == "temporary_absence"
        && matches!(
            ground,
            "absence_a_accused_or_on_bail" | "absence_b_probation_or_similar"
        )
        && !yes("supervisor_consent")
    {
        out.push(finding(
            "supervisor_consent_missing",
            "supervisor_consent",
            "a temporary absence under Art. 31(1)(a)(b) needs the supervising body's written consent (Residence Law Art. 31)",
        ));
    }
    if record.text("residence_basis") == Some("vessel")
        && record.text("vessel_registration_number").is_none()
    {
        out.push(finding(
            "vessel_number_missing",
            "vessel_registration_number",
            "a residence on a vessel is registered at the vessel's registration or mooring place and names its registration number (Residence Law Arts. 15, 20)",
        ));
    }
    if procedure == "adjustment" && record.text("adjustment_type").is_none() {
        out.push(finding(
            "adjustment_type_missing",
            "adjustment_type",
            "an adjustment names what is adjusted: change of head, civil-status data or renamed address (Residence Law Art. 26)",
        ));
    }
    // Residence Law Arts. 24, 28, 29: an extension or removal acts on one registration, so
    // it names it. Needs no other record, so it is checked here on every save rather than in
    // `registration_reference`, which judges a named registration against the related ones.
    // A legacy `removal` predates the field: flagging every one would be noise, not news.
    if registration_procedures_for(procedure).is_some()
        && record.text("procedure") != Some("removal")
        && record.text("registration_id").is_none()
    {
        out.push(finding(
            "registration_not_named",
            "registration_id",
            "an extension or removal acts on a registration; name the registration it extends or removes (Residence Law Arts. 24, 28, 29)",
        ));
    }
    let ground_family = ground.split('_').next().unwrap_or("");
    let expected = match procedure {
        "permanent_removal" => Some("perm"),
        "temporary_removal" => Some("temp"),
        "temporary_absence" => Some("absence"),
        _ => None,
    };
    if let Some(family) = expected
        && ground != "unknown"
        && ground_family != family
    {
        out.push(finding(
            "ground_not_of_procedure",
            "ground",
            "the legal ground belongs to another procedure (Art. 24(1) for permanent removal, Art. 29 for temporary removal, Art. 31(1) for temporary absence)",
        ));
    }
    stay_notice_time(record, out);
}

/// Residence Law Art. 30(4) [S2 2.001159]: the host notifies before 23:00 on the arrival day,
/// or before 08:00 the next day when the guest arrives after 23:00.
fn stay_notice_time(record: &Record, out: &mut Vec<Finding>) {
    use super::validate::local_date_time;
    if record.text("procedure") != Some("stay_notice") {
        return;
    }
    let (Some((arrival_day, arrival_min)), Some((notified_day, notified_min))) = (
        record.text("arrival_time").and_then(local_date_time),
        record.text("notified_time").and_then(local_date_time),
    ) else {
        return;
    };
    let (deadline_day, deadline_min) = if arrival_min < 23 * 60 {
        (Some(arrival_day), 23 * 60)
    } else {
        (arrival_day.add_days(1), 8 * 60)
    };
    let Some(deadline_day) = deadline_day else {
        return;
    };
    if (notified_day, notified_min) > (deadline_day, deadline_min) {
        out.push(finding(
            "stay_notice_late",
            "notified_time",
            "a stay is notified before 23:00 on the arrival day, or before 08:00 the next day for an arrival after 23:00 (Residence Law Art. 30)",
        ));
    }
}

// --- rules across records ----------------------------------------------------------------

/// Where the records a rule needs come from.
///
/// The phone looks them up in its local store at edit time; the server's review detection in
/// its records table. A phone holds only its officer's units, so a record it lacks may exist
/// elsewhere: only a [`complete`](Related::complete) source may conclude that a referenced
/// record does not exist.
pub trait Related {
    /// The record with this id, if this source holds it. Shared, not owned: the server's
    /// detection hands out the same reading to every rule that looks at a record.
    fn get(&self, id: uuid::Uuid) -> Option<std::sync::Arc<Record>>;
    /// Whether a record missing from [`get`](Related::get) does not exist at all.
    fn complete(&self) -> bool;
}

fn referenced(
    record: &Record,
    field: &str,
    related: &dyn Related,
) -> Option<std::sync::Arc<Record>> {
    record
        .text(field)
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .and_then(|id| related.get(id))
}

/// The procedures a registration named by `registration_id` may have, for a declaration of
/// `procedure` (effective, see [`effective_procedure`]); `None` when the procedure acts on no
/// registration.
pub fn registration_procedures_for(procedure: &str) -> Option<&'static [&'static str]> {
    match procedure {
        // Art. 28: a temporary registration (possibly already extended) is extended.
        "extension" | "temporary_removal" => Some(&["temporary_registration", "extension"]),
        "permanent_removal" => Some(&["permanent_registration"]),
        _ => None,
    }
}

/// The rules that need records other than `record` itself, with `related` as the source:
///
/// - an extension or removal names (`registration_id`) an existing registration of the right
///   procedure (a temporary registration for an extension or a temporary removal, a permanent
///   one for a permanent removal), of the same citizen, and accepted;
/// - a permanent or temporary registration of a minor (under 18 on the filing day, or today)
///   carries the parent's or guardian's consent (CT01 consent block ✅ [S2 1.004222];
///   Residence Law Art. 20–21, 27);
/// - a temporary registration is outside its citizen's commune of permanent residence
///   (Residence Law Art. 27(1)), each unit code read as of its own capture day;
/// - an accepted permanent or temporary registration has a citizen with an ID number
///   (seed 2.1(2));
/// - a card application agrees with its citizen ([`application_vs_citizen`]), and neither an
///   open application nor a new registration is filed for a deceased citizen;
/// - a household's head against the members' citizen records ([`household_vs_members`]);
/// - a citizen's `household_id`/`relationship_to_head` against that household's `members`
///   ([`citizen_vs_household`]), and a household's members against their own
///   `household_id` ([`members_placed_elsewhere`]).
///
/// `today` is the local (Vietnam) date. Rules over *all* of a citizen's records (two
/// permanent residences, a deceased person still registered) need a query the phone cannot
/// answer completely; they run in the server's review detection.
pub fn related_findings(record: &Record, related: &dyn Related, today: Date) -> Vec<Finding> {
    let mut out = Vec::new();
    match record.kind {
        Kind::ResidenceDeclaration => {
            registration_reference(record, related, &mut out);
            let citizen = referenced(record, "citizen_id", related);
            if let Some(c) = &citizen {
                guardian_consent(record, c, today, &mut out);
                head_consent_to_join(record, c, &mut out);
                filed_for_deceased(record, c, &mut out);
                temporary_in_citizens_permanent_commune(record, c, &mut out);
                id_number_at_acceptance(record, c, &mut out);
            }
        }
        Kind::CccdApplication => {
            if let Some(c) = referenced(record, "citizen_id", related) {
                out.extend(application_vs_citizen(record, &c));
                filed_for_deceased(record, &c, &mut out);
            }
        }
        Kind::Household => {
            let citizens: Vec<std::sync::Arc<Record>> = members(record)
                .into_iter()
                .filter_map(|(id, _)| uuid::Uuid::parse_str(id).ok())
                .filter_map(|id| related.get(id))
                .collect();
            out.extend(household_vs_members(record, &citizens, today));
            out.extend(members_placed_elsewhere(record, &citizens));
        }
        Kind::Citizen => {
            if let Some(h) = referenced(record, "household_id", related) {
                out.extend(citizen_vs_household(record, &h));
            }
        }
    }
    out
}

/// Whether a record no longer speaks for itself: a withdrawn or merged record's fields are
/// not a second source of truth for anything.
fn retired(record: &Record) -> bool {
    matches!(record.status(), Some("withdrawn" | "merged_into"))
}

/// The relationship `household` lists `citizen` with: `None` when it does not list them,
/// `Some(None)` when listed without a relationship. Keys are compared as UUIDs, not as text.
fn listed_as<'a>(household: &'a Record, citizen: &Record) -> Option<Option<&'a str>> {
    members(household)
        .into_iter()
        .find(|(k, _)| uuid::Uuid::parse_str(k).ok() == Some(citizen.id))
        .map(|(_, rel)| rel)
}

/// A citizen's `household_id`/`relationship_to_head` against the household's `members`: the
/// same membership is written in both records (REVIEW §7, "two sources of truth"), so they
/// must agree. The household not listing the citizen, or listing them with another
/// relationship, is a finding; which record is right is the officer's call.
pub fn citizen_vs_household(citizen: &Record, household: &Record) -> Vec<Finding> {
    let mut out = Vec::new();
    if household.kind != Kind::Household || retired(citizen) || retired(household) {
        return out;
    }
    match listed_as(household, citizen) {
        None => out.push(finding(
            "household_membership_mismatch",
            "household_id",
            "the citizen names a household that does not list them among its members",
        )),
        Some(Some(listed)) => {
            if let Some(own) = citizen.text("relationship_to_head")
                && own != listed
            {
                out.push(finding(
                    "household_relationship_mismatch",
                    "relationship_to_head",
                    "the citizen's relationship to the household head differs from the one the household lists for them",
                ));
            }
        }
        // Listed without a relationship: nothing to compare.
        Some(None) => {}
    }
    out
}

/// A household against its members' citizen records: a member whose own `household_id`
/// names another household (the two records disagree about where the person belongs). A
/// member with no `household_id` is not decided here: the field may simply not be filled.
pub fn members_placed_elsewhere<C: Borrow<Record>>(
    household: &Record,
    citizens: &[C],
) -> Vec<Finding> {
    if retired(household) {
        return Vec::new();
    }
    // The listed ids parsed once, not once per citizen.
    let listed: std::collections::HashSet<uuid::Uuid> = members(household)
        .into_iter()
        .filter_map(|(k, _)| uuid::Uuid::parse_str(k).ok())
        .collect();
    let elsewhere = citizens.iter().map(Borrow::borrow).any(|c: &Record| {
        c.kind == Kind::Citizen
            && !retired(c)
            && listed.contains(&c.id)
            && c.text("household_id")
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .is_some_and(|h| h != household.id)
    });
    if !elsewhere {
        return Vec::new();
    }
    vec![finding(
        "household_membership_mismatch",
        "members",
        "a member listed here has a citizen record naming another household",
    )]
}

fn registration_reference(record: &Record, related: &dyn Related, out: &mut Vec<Finding>) {
    let (procedure, _) = effective_procedure(record);
    let Some(expected) = registration_procedures_for(procedure) else {
        return;
    };
    // No id at all is the single-record finding `registration_not_named` (`check`).
    let Some(id) = record.text("registration_id") else {
        return;
    };
    let Some(registration) = uuid::Uuid::parse_str(id)
        .ok()
        .and_then(|id| related.get(id))
    else {
        if related.complete() {
            out.push(finding(
                "registration_not_found",
                "registration_id",
                "the registration this declaration acts on does not exist",
            ));
        }
        return;
    };
    let registered = if registration.kind == Kind::ResidenceDeclaration {
        effective_procedure(&registration).0
    } else {
        ""
    };
    if !expected.contains(&registered) {
        out.push(finding(
            "registration_wrong_procedure",
            "registration_id",
            if procedure == "permanent_removal" {
                "a permanent removal acts on a permanent registration (Residence Law Art. 24)"
            } else {
                "an extension or a temporary removal acts on a temporary registration (Residence Law Arts. 28, 29)"
            },
        ));
        return;
    }
    if let (Some(a), Some(b)) = (record.text("citizen_id"), registration.text("citizen_id"))
        && a != b
    {
        out.push(finding(
            "registration_of_another_citizen",
            "registration_id",
            "the registration this declaration acts on belongs to another citizen",
        ));
    }
    if registration.status() != Some("accepted") {
        out.push(finding(
            "registration_not_accepted",
            "registration_id",
            "the registration this declaration acts on has not been accepted",
        ));
    }
}

fn guardian_consent(record: &Record, citizen: &Record, today: Date, out: &mut Vec<Finding>) {
    let (procedure, _) = effective_procedure(record);
    if !matches!(
        procedure,
        "permanent_registration" | "temporary_registration"
    ) {
        return;
    }
    let Some(born) = partial_date(citizen, "date_of_birth") else {
        return;
    };
    let on = date(record, "filed_on").unwrap_or(today);
    // Counted from the earliest possible birth day (the oldest the person can be), so a
    // partial date flags only a certain minor.
    let certainly_minor = born.earliest().age_on(on) < 18;
    if certainly_minor && record.fields.get("guardian_consent") != Some(&Value::Bool(true)) {
        out.push(finding(
            "guardian_consent_missing",
            "guardian_consent",
            "a registration for a minor carries the consent of a parent or guardian (form CT01; Residence Law Arts. 20, 27)",
        ));
    }
}

/// A registration of someone who is not the household's head, into that household (their
/// citizen record names a household and a relationship to its head other than `head`),
/// carries the head's consent (form CT01's consent block; Residence Law Arts. 20(2), 21 ⚠).
fn head_consent_to_join(record: &Record, citizen: &Record, out: &mut Vec<Finding>) {
    let (procedure, _) = effective_procedure(record);
    if !matches!(
        procedure,
        "permanent_registration" | "temporary_registration"
    ) || matches!(record.text("status"), Some("rejected" | "withdrawn"))
    {
        return;
    }
    // A lodger rents from the owner, whose consent is `owner_consent`; everyone else named
    // in a household under its head joins that household.
    let joins = citizen.text("household_id").is_some()
        && citizen
            .text("relationship_to_head")
            .is_some_and(|r| !matches!(r, "head" | "lodger"));
    if joins && record.fields.get("head_consent") != Some(&Value::Bool(true)) {
        out.push(finding(
            "head_consent_missing",
            "head_consent",
            "a registration into another person's household carries the household head's consent (form CT01; Residence Law Arts. 20, 21, unconfirmed)",
        ));
    }
}

/// Residence Law Art. 27(1): a temporary registration is for a place outside the commune of
/// permanent residence. The declaration's `address_unit` (read as of its `filed_on`) against
/// its citizen's `permanent_unit` (read as of the citizen's `captured_on`); only a certain
/// same commune is a finding, not a split unit that may be (`same_commune_between` `None`).
/// A rejected or withdrawn declaration registers nothing, so it is not flagged.
fn temporary_in_citizens_permanent_commune(
    record: &Record,
    citizen: &Record,
    out: &mut Vec<Finding>,
) {
    if effective_procedure(record).0 != "temporary_registration"
        || matches!(record.status(), Some("rejected" | "withdrawn"))
    {
        return;
    }
    let (Some(temporary), Some(permanent)) =
        (record.text("address_unit"), citizen.text("permanent_unit"))
    else {
        return;
    };
    let same = same_commune_between(
        permanent,
        super::validate::captured_on(citizen),
        temporary,
        super::validate::captured_on(record),
    );
    if same == Some(true) {
        out.push(finding(
            "temporary_in_permanent_commune",
            "address_unit",
            "the temporary residence is in the citizen's commune or ward of permanent residence (Residence Law Art. 27(1))",
        ));
    }
}

/// Seed 2.1(2): every result of a procedure is stored with the personal ID number. A card
/// application carries the number itself and is refused acceptance without it (or a
/// `no_id_number_reason`, `validate`); a residence declaration has no number of its own (it
/// names its citizen), so here the accepted registration is checked against the citizen
/// record, and as a finding: the citizen's number may be on another device or not yet typed.
fn id_number_at_acceptance(record: &Record, citizen: &Record, out: &mut Vec<Finding>) {
    let registers = matches!(
        effective_procedure(record).0,
        "permanent_registration" | "temporary_registration"
    );
    if registers
        && record.status() == Some("accepted")
        && citizen.text("id_number").is_none_or(str::is_empty)
    {
        out.push(finding(
            "id_number_missing_at_acceptance",
            "citizen_id",
            "the registration is accepted but its citizen has no personal ID number recorded; every result is stored with the ID number (seed 2.1(2))",
        ));
    }
}

fn filed_for_deceased(record: &Record, citizen: &Record, out: &mut Vec<Finding>) {
    if citizen.status() != Some("deceased") {
        return;
    }
    let open = match record.kind {
        Kind::CccdApplication => matches!(
            record.status(),
            Some("draft" | "collected" | "submitted" | "accepted")
        ),
        Kind::ResidenceDeclaration => {
            // An accepted registration is the registration itself ([`deceased_vs_records`]).
            matches!(record.status(), Some("draft" | "submitted"))
                && !matches!(
                    effective_procedure(record).0,
                    "permanent_removal" | "temporary_removal"
                )
        }
        _ => false,
    };
    if open {
        out.push(finding(
            "filed_for_deceased_citizen",
            "citizen_id",
            "this dossier is for a citizen recorded as deceased (seed 2.1(1) \"sống\")",
        ));
    }
}

/// What accepting `declaration` changes in its citizen's residence fields: accepting a
/// permanent registration sets `permanent_address`/`permanent_unit` to the registered
/// address, a temporary registration sets `temporary_address`/`temporary_unit`; accepting a
/// permanent or temporary removal clears them, but only while the citizen's fields still hold
/// the address of the registration it names (a person who has since moved keeps the new
/// residence). `None` for other procedures, a declaration that is not accepted, or one
/// without a citizen. A value of `None` clears the field.
///
/// The citizen record stays the one place officers read a person's residence; the device
/// that accepts writes these edits with the acceptance, and the server's review detection
/// flags a citizen whose permanent unit still disagrees with the latest accepted permanent
/// registration.
pub fn residence_update(
    declaration: &Record,
    related: &dyn Related,
) -> Option<(uuid::Uuid, ResidenceEdits)> {
    if declaration.kind != Kind::ResidenceDeclaration || declaration.status() != Some("accepted") {
        return None;
    }
    let citizen = declaration
        .text("citizen_id")
        .and_then(|s| uuid::Uuid::parse_str(s).ok())?;
    let value = |f: &str| declaration.fields.get(f).cloned();
    let (address, unit) = match effective_procedure(declaration).0 {
        "permanent_registration" | "permanent_removal" => ("permanent_address", "permanent_unit"),
        "temporary_registration" | "temporary_removal" => ("temporary_address", "temporary_unit"),
        _ => return None,
    };
    let procedure = effective_procedure(declaration).0;
    if procedure.ends_with("_registration") {
        return Some((
            citizen,
            vec![(address, value("address")), (unit, value("address_unit"))],
        ));
    }
    let registration = referenced(declaration, "registration_id", related)?;
    let person = related.get(citizen)?;
    let still_there = registration.text("address").is_some()
        && person.text(address) == registration.text("address");
    still_there.then(|| (citizen, vec![(address, None), (unit, None)]))
}

/// [`residence_update`] for the declaration's citizen and, for a registration, for every
/// member moving together with them (`moving_members`, form CT01's list): each of them now
/// lives at the registered address.
pub fn residence_updates(
    declaration: &Record,
    related: &dyn Related,
) -> Vec<(uuid::Uuid, ResidenceEdits)> {
    let Some((citizen, edits)) = residence_update(declaration, related) else {
        return Vec::new();
    };
    let mut out = vec![(citizen, edits.clone())];
    if effective_procedure(declaration)
        .0
        .ends_with("_registration")
        && let Some(members) = declaration
            .fields
            .get("moving_members")
            .and_then(Value::as_map)
    {
        for key in members.keys() {
            if let Ok(id) = uuid::Uuid::parse_str(key)
                && out.iter().all(|(c, _)| *c != id)
            {
                out.push((id, edits.clone()));
            }
        }
    }
    out
}

/// Field edits of a citizen record: each field with its new value (`None` clears it).
pub type ResidenceEdits = Vec<(&'static str, Option<Value>)>;

/// [`ResidenceEdits`] as document edits (a set, or a clear for `None`).
pub fn as_edits(edits: ResidenceEdits) -> Vec<crate::doc::Edit> {
    edits
        .into_iter()
        .map(|(field, value)| match value {
            Some(value) => crate::doc::Edit::Set {
                field: field.to_owned(),
                value,
            },
            None => crate::doc::Edit::Clear {
                field: field.to_owned(),
            },
        })
        .collect()
}
