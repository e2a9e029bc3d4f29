//! Calendar dates as Ferry stores them: `YYYY-MM-DD` text, proleptic Gregorian calendar.
//!
//! Only what the domain rules need: strict parsing, ordering, adding whole years and ages.

use std::fmt;

/// A real calendar date, parsed from strict `YYYY-MM-DD` text (years 0001–9999).
///
/// Ordering is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD`: exactly ten characters, zero-padded, and a day that exists
    /// (`2023-02-29` is refused, `2024-02-29` accepted). `None` otherwise.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<i32> {
            b[range].iter().try_fold(0i32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + i32::from(c - b'0'))
            })
        };
        let year = num(0..4)?;
        let month = u8::try_from(num(5..7)?).ok()?;
        let day = u8::try_from(num(8..10)?).ok()?;
        Date::new(year, month, day)
    }

    /// A date from its parts; `None` when the day does not exist or the year is outside
    /// 1–9999.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1–31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// The same day `years` years later (earlier when negative). 29 February becomes
    /// 28 February in a non-leap target year. `None` when the result leaves 1–9999.
    pub fn add_years(self, years: i32) -> Option<Date> {
        let year = self.year.checked_add(years)?;
        let day = self.day.min(days_in_month(year, self.month));
        Date::new(year, self.month, day)
    }

    /// Completed years from `self` (a birth date) to `on`; negative when `on` is earlier.
    pub fn age_on(self, on: Date) -> i32 {
        let mut age = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            age -= 1;
        }
        age
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
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
}
