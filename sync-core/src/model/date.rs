//! Calendar dates as Ferry stores them: `YYYY-MM-DD` text, proleptic Gregorian calendar.
//!
//! Calendar arithmetic is `jiff`'s ([`jiff::civil::Date`]); this type adds Ferry's strict
//! text form, the years it allows (0001–9999) and the few operations the domain rules need.
//! A date known only to its year or month is a [`PartialDate`].

use std::fmt;

/// A real calendar date, parsed from strict `YYYY-MM-DD` text (years 0001–9999).
///
/// Ordering is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(jiff::civil::Date);

fn digits(b: &[u8]) -> Option<i32> {
    b.iter().try_fold(0i32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i32::from(c - b'0'))
    })
}

impl Date {
    /// Parses `YYYY-MM-DD`: exactly ten characters, zero-padded, and a day that exists
    /// (`2023-02-29` is refused, `2024-02-29` accepted). `None` otherwise.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let month = u8::try_from(digits(&b[5..7])?).ok()?;
        let day = u8::try_from(digits(&b[8..10])?).ok()?;
        Date::new(digits(&b[0..4])?, month, day)
    }

    /// A date from its parts; `None` when the day does not exist or the year is outside
    /// 1–9999.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        if !(1..=9999).contains(&year) {
            return None;
        }
        let year = i16::try_from(year).ok()?;
        let month = i8::try_from(month).ok()?;
        let day = i8::try_from(day).ok()?;
        jiff::civil::Date::new(year, month, day).ok().map(Date)
    }

    /// The `jiff` date (for calendar arithmetic outside this type).
    pub fn civil(self) -> jiff::civil::Date {
        self.0
    }

    /// From a `jiff` date; `None` outside years 1–9999.
    pub fn from_civil(d: jiff::civil::Date) -> Option<Date> {
        (1..=9999).contains(&d.year()).then_some(Date(d))
    }

    /// The year.
    pub fn year(self) -> i32 {
        i32::from(self.0.year())
    }

    /// The month, 1–12.
    pub fn month(self) -> u8 {
        self.0.month().unsigned_abs()
    }

    /// The day of the month, 1–31.
    pub fn day(self) -> u8 {
        self.0.day().unsigned_abs()
    }

    /// The same day `years` years later (earlier when negative). 29 February becomes
    /// 28 February in a non-leap target year. `None` when the result leaves 1–9999.
    pub fn add_years(self, years: i32) -> Option<Date> {
        let year = self.year().checked_add(years)?;
        let probe = Date::new(year, self.month(), 1)?;
        let day = self.day().min(probe.0.days_in_month().unsigned_abs());
        Date::new(year, self.month(), day)
    }

    /// The date `days` days later (earlier when negative); `None` outside 1–9999.
    pub fn add_days(self, days: i64) -> Option<Date> {
        let span = jiff::Span::new().try_days(days).ok()?;
        Date::from_civil(self.0.checked_add(span).ok()?)
    }

    /// Days from `self` to `other` (negative when `other` is earlier).
    pub fn days_until(self, other: Date) -> i64 {
        // Both dates are within 1–9999, so the whole-day difference is exact.
        other.0.duration_since(self.0).as_secs() / 86_400
    }

    /// The day of the week, Monday = 1 … Sunday = 7.
    pub fn weekday(self) -> u8 {
        self.0.weekday().to_monday_one_offset().unsigned_abs()
    }

    /// Completed years from `self` (a birth date) to `on`; negative when `on` is earlier.
    ///
    /// Someone born on 29 February turns a year older on 28 February of a common year, the
    /// same day [`Date::add_years`] gives, so "14 on the filing date" and "the day of the
    /// 14th birthday" agree (Civil Code Arts. 147–148 count to the end of the matching day ⚠).
    pub fn age_on(self, on: Date) -> i32 {
        let mut age = on.year() - self.year();
        if self.add_years(age).is_none_or(|birthday| birthday > on) {
            age -= 1;
        }
        age
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year(),
            self.month(),
            self.day()
        )
    }
}

/// A date that may be known only to its year or its month: the date of birth on an elderly
/// resident's old papers often shows `1950` or `03/1950` and nothing more.
///
/// Written `YYYY`, `YYYY-MM` or `YYYY-MM-DD`. A partial date stands for *some* day in that
/// year or month: rules that compare it use its [`earliest`](PartialDate::earliest) and
/// [`latest`](PartialDate::latest) possible days and report only what holds for every day
/// it might be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartialDate {
    /// Only the year is known.
    Year(i32),
    /// The year and month are known.
    Month(i32, u8),
    /// The exact day is known.
    Day(Date),
}

impl PartialDate {
    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (strict, zero-padded, years 0001–9999).
    pub fn parse(s: &str) -> Option<PartialDate> {
        let b = s.as_bytes();
        match b.len() {
            4 => {
                let y = digits(b)?;
                Date::new(y, 1, 1).map(|_| PartialDate::Year(y))
            }
            7 if b[4] == b'-' => {
                let y = digits(&b[0..4])?;
                let m = u8::try_from(digits(&b[5..7])?).ok()?;
                Date::new(y, m, 1).map(|_| PartialDate::Month(y, m))
            }
            10 => Date::parse(s).map(PartialDate::Day),
            _ => None,
        }
    }

    /// The year.
    pub fn year(self) -> i32 {
        match self {
            PartialDate::Year(y) | PartialDate::Month(y, _) => y,
            PartialDate::Day(d) => d.year(),
        }
    }

    /// The exact day, when known.
    pub fn exact(self) -> Option<Date> {
        match self {
            PartialDate::Day(d) => Some(d),
            _ => None,
        }
    }

    /// The first day it may be.
    pub fn earliest(self) -> Date {
        let fallback = Date(jiff::civil::Date::constant(1, 1, 1));
        match self {
            PartialDate::Year(y) => Date::new(y, 1, 1).unwrap_or(fallback),
            PartialDate::Month(y, m) => Date::new(y, m, 1).unwrap_or(fallback),
            PartialDate::Day(d) => d,
        }
    }

    /// The last day it may be.
    pub fn latest(self) -> Date {
        let start = self.earliest();
        match self {
            PartialDate::Year(_) => Date::new(start.year(), 12, 31).unwrap_or(start),
            PartialDate::Month(..) => Date::from_civil(start.0.last_of_month()).unwrap_or(start),
            PartialDate::Day(d) => d,
        }
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartialDate::Year(y) => write!(f, "{y:04}"),
            PartialDate::Month(y, m) => write!(f, "{y:04}-{m:02}"),
            PartialDate::Day(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).expect("test date")
    }

    #[test]
    fn a_well_formed_date_parses_and_prints_back_unchanged() {
        assert_eq!(d("1985-03-02").to_string(), "1985-03-02");
        assert_eq!(
            (
                d("1985-03-02").year(),
                d("1985-03-02").month(),
                d("1985-03-02").day()
            ),
            (1985, 3, 2)
        );
    }

    #[test]
    fn days_that_do_not_exist_are_refused() {
        for s in [
            "2023-02-29",
            "1900-02-29",
            "2024-04-31",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "0000-01-01",
        ] {
            assert_eq!(Date::parse(s), None, "{s}");
        }
        assert!(Date::parse("2000-02-29").is_some());
        assert!(Date::parse("2024-02-29").is_some());
    }

    #[test]
    fn loose_formats_are_refused() {
        for s in [
            "1985-3-2",
            "02/03/1985",
            "1985-03-02 ",
            "19850302",
            "1985-03-0a",
            "",
            "+985-03-02",
            "１９８５-03-02",
        ] {
            assert_eq!(Date::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn dates_order_chronologically() {
        assert!(d("2024-12-31") < d("2025-01-01"));
        assert!(d("2025-02-01") > d("2025-01-31"));
    }

    #[test]
    fn adding_years_to_the_29th_of_february_lands_on_the_28th_in_a_common_year() {
        assert_eq!(d("2024-02-29").add_years(2), Some(d("2026-02-28")));
        assert_eq!(d("2024-02-29").add_years(4), Some(d("2028-02-29")));
        assert_eq!(d("2024-05-10").add_years(-1), Some(d("2023-05-10")));
        assert_eq!(d("9999-01-01").add_years(1), None);
    }

    #[test]
    fn age_counts_completed_years_only() {
        let born = d("2012-06-15");
        assert_eq!(born.age_on(d("2026-06-14")), 13);
        assert_eq!(born.age_on(d("2026-06-15")), 14);
        assert_eq!(born.age_on(d("2011-06-15")), -1);
        assert_eq!(born.age_on(d("2011-01-01")), -2);
    }

    #[test]
    fn someone_born_on_29_february_2012_is_14_on_28_february_2026_as_add_years_says() {
        let born = d("2012-02-29");
        assert_eq!(born.add_years(14), Some(d("2026-02-28")));
        assert_eq!(born.age_on(d("2026-02-28")), 14);
        assert_eq!(born.age_on(d("2026-02-27")), 13);
        assert_eq!(born.age_on(d("2028-02-29")), 16);
    }

    #[test]
    fn days_are_added_across_months_leap_days_and_years() {
        assert_eq!(d("2024-02-28").add_days(1), Some(d("2024-02-29")));
        assert_eq!(d("2025-12-31").add_days(1), Some(d("2026-01-01")));
        assert_eq!(d("2026-03-10").add_days(-10), Some(d("2026-02-28")));
        assert_eq!(d("2026-01-01").days_until(d("2026-03-01")), 59);
        assert_eq!(d("2026-03-01").days_until(d("2026-01-01")), -59);
        assert_eq!(d("2026-03-09").weekday(), 1);
        assert_eq!(d("2026-03-15").weekday(), 7);
    }

    #[test]
    fn a_birth_date_known_only_to_the_year_or_month_keeps_its_precision() {
        assert_eq!(PartialDate::parse("1950"), Some(PartialDate::Year(1950)));
        assert_eq!(
            PartialDate::parse("1950-03"),
            Some(PartialDate::Month(1950, 3))
        );
        assert_eq!(
            PartialDate::parse("1950-03-02"),
            Some(PartialDate::Day(d("1950-03-02")))
        );
        for s in ["1950", "1950-03", "1950-03-02"] {
            assert_eq!(
                PartialDate::parse(s).map(|p| p.to_string()).as_deref(),
                Some(s)
            );
        }
        let feb = PartialDate::Month(2024, 2);
        assert_eq!(
            (feb.earliest(), feb.latest()),
            (d("2024-02-01"), d("2024-02-29"))
        );
        let year = PartialDate::Year(1950);
        assert_eq!(
            (year.earliest(), year.latest()),
            (d("1950-01-01"), d("1950-12-31"))
        );
    }

    #[test]
    fn partial_dates_that_are_not_a_year_or_month_are_refused() {
        for s in [
            "0000", "1950-13", "1950-00", "195", "1950-3", "1950/03", "19500", "",
        ] {
            assert_eq!(PartialDate::parse(s), None, "{s:?}");
        }
    }
}
