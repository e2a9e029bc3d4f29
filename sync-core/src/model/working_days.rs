//! Working days and the legal time limits of procedures, with Vietnam's public holidays as
//! data (`sync-core/data/holidays_vn.csv`).
//!
//! A working day is Monday to Friday and not a public holiday (Labour Code 2019 Art. 112:
//! New Year, Tết, the Hùng Kings' day, 30 April, 1 May, 2 September and the day next to it,
//! with the days off the government announces each year). ⚠ The holiday list is data to be
//! checked against each year's official notice; the time limits are those of the procedure
//! texts (REVIEW.md §1, [S2]) and are ⚠ where marked.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::date::Date;

const HOLIDAYS_CSV: &str = include_str!("../../data/holidays_vn.csv");

static HOLIDAYS: LazyLock<HashSet<Date>> = LazyLock::new(|| {
    HOLIDAYS_CSV
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(',').next())
        .filter_map(|d| Date::parse(d.trim()))
        .collect()
});

/// Whether `d` is a working day: Monday–Friday and not a listed public holiday.
pub fn is_working_day(d: Date) -> bool {
    d.weekday() <= 5 && !HOLIDAYS.contains(&d)
}

/// The day `n` working days after `from` (the filing day itself does not count).
pub fn add_working_days(from: Date, n: u32) -> Option<Date> {
    let mut d = from;
    let mut left = n;
    while left > 0 {
        d = d.add_days(1)?;
        if is_working_day(d) {
            left -= 1;
        }
    }
    Some(d)
}

/// The legal time limit of a procedure in working days, by the record's kind-specific
/// procedure or request type. `None` when the law sets none (a stay notice is immediate).
pub fn time_limit(procedure: &str) -> Option<u32> {
    Some(match procedure {
        // Residence Law / Decree 154/2024 ([S2]): permanent 7 ⚠, temporary and extension 3,
        // temporary absence 1, removal 5.
        "permanent_registration" => 7,
        "temporary_registration" | "extension" => 3,
        "temporary_absence" => 1,
        "removal" | "permanent_removal" | "temporary_removal" => 5,
        // ⚠ Art. 25, 26, 19: not verified.
        "household_separation" => 5,
        "adjustment" | "residence_information" => 3,
        // Identification Law: 7 working days to issue, exchange or reissue a card ⚠;
        // CMND confirmation 7 (3 when the CMND is in the database) [S2 1.000466].
        "first_issue" | "replacement" | "reissue" | "cmnd_confirmation" => 7,
        _ => return None,
    })
}

/// When a dossier filed on `filed_on` is due: `time_limit` working days later.
pub fn due_on(procedure: &str, filed_on: Date) -> Option<Date> {
    add_working_days(filed_on, time_limit(procedure)?)
}
