//! Report periods in Vietnam's calendar: a week (Monday to Sunday), a month, a quarter, a
//! half-year, a year, or a date range; all bounds are local (Vietnam) calendar days,
//! inclusive, as `YYYY-MM-DD` text (so they compare with the stored dates as strings).

use serde::Serialize;
use sync_core::model::Date;

/// The kinds of period a report may cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// January–March, April–June, July–September, October–December.
    Quarter,
    /// January–June or July–December.
    Half,
    /// A calendar year.
    Year,
    /// Any range of days.
    Range,
}

impl PeriodKind {
    /// Parses `week`, `month`, `quarter`, `half`, `year`, `range`.
    pub fn parse(s: &str) -> Option<PeriodKind> {
        Some(match s {
            "week" => PeriodKind::Week,
            "month" => PeriodKind::Month,
            "quarter" => PeriodKind::Quarter,
            "half" => PeriodKind::Half,
            "year" => PeriodKind::Year,
            "range" => PeriodKind::Range,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Week => "week",
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Half => "half",
            PeriodKind::Year => "year",
            PeriodKind::Range => "range",
        }
    }
}

/// A period: its kind and first and last day (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// What kind of period.
    pub kind: PeriodKind,
    /// First day.
    #[serde(serialize_with = "ser_date")]
    pub from: Date,
    /// Last day (inclusive).
    #[serde(serialize_with = "ser_date")]
    pub to: Date,
}

fn ser_date<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

fn first_of_month(year: i32, month: u8) -> Option<Date> {
    Date::new(year, month, 1)
}

/// The first day of the month `months` after (year, month).
fn month_plus(year: i32, month: u8, months: i32) -> Option<Date> {
    let idx = year * 12 + i32::from(month) - 1 + months;
    first_of_month(
        idx.div_euclid(12),
        u8::try_from(idx.rem_euclid(12) + 1).ok()?,
    )
}

/// A period of `months` months starting at (year, month).
fn months(kind: PeriodKind, year: i32, month: u8, n: i32) -> Option<Period> {
    let from = first_of_month(year, month)?;
    let to = month_plus(year, month, n)?.add_days(-1)?;
    Some(Period { kind, from, to })
}

impl Period {
    /// The period of `kind` that contains `on` (for `Range`, the range `on`..=`to`).
    pub fn containing(kind: PeriodKind, on: Date, to: Option<Date>) -> Option<Period> {
        let (y, m) = (on.year(), on.month());
        match kind {
            PeriodKind::Week => {
                let from = on.add_days(1 - i64::from(on.weekday()))?;
                Some(Period {
                    kind,
                    from,
                    to: from.add_days(6)?,
                })
            }
            PeriodKind::Month => months(kind, y, m, 1),
            PeriodKind::Quarter => months(kind, y, (m - 1) / 3 * 3 + 1, 3),
            PeriodKind::Half => months(kind, y, if m <= 6 { 1 } else { 7 }, 6),
            PeriodKind::Year => months(kind, y, 1, 12),
            PeriodKind::Range => {
                let to = to.unwrap_or(on);
                (on <= to && on.days_until(to) <= 3660).then_some(Period { kind, from: on, to })
            }
        }
    }

    /// The period of the same kind just before this one (for a range: as long, just before).
    pub fn previous(self) -> Option<Period> {
        let day_before = self.from.add_days(-1)?;
        match self.kind {
            PeriodKind::Range => {
                let len = self.from.days_until(self.to);
                Some(Period {
                    kind: self.kind,
                    from: day_before.add_days(-len)?,
                    to: day_before,
                })
            }
            k => Period::containing(k, day_before, None),
        }
    }

    /// This period and the `n - 1` before it, oldest first.
    pub fn trend(self, n: usize) -> Vec<Period> {
        let mut out = vec![self];
        while out.len() < n {
            match out.last().and_then(|p| p.previous()) {
                Some(p) => out.push(p),
                None => break,
            }
        }
        out.reverse();
        out
    }

    /// The period in Vietnamese: `Tuần 23/11–29/11/2026`, `Tháng 11/2026`, `Quý IV/2026`,
    /// `6 tháng đầu năm 2026`, `Năm 2026`, `01/11/2026–15/11/2026`.
    pub fn label_vi(&self) -> String {
        let (f, t) = (self.from, self.to);
        match self.kind {
            PeriodKind::Week => format!(
                "Tuần {:02}/{:02}–{:02}/{:02}/{}",
                f.day(),
                f.month(),
                t.day(),
                t.month(),
                t.year()
            ),
            PeriodKind::Month => format!("Tháng {:02}/{}", f.month(), f.year()),
            PeriodKind::Quarter => {
                let q = ["I", "II", "III", "IV"][usize::from((f.month() - 1) / 3)];
                format!("Quý {q}/{}", f.year())
            }
            PeriodKind::Half => format!(
                "6 tháng {} năm {}",
                if f.month() == 1 { "đầu" } else { "cuối" },
                f.year()
            ),
            PeriodKind::Year => format!("Năm {}", f.year()),
            PeriodKind::Range => format!("{}–{}", dmy(f), dmy(t)),
        }
    }

    /// The period in English.
    pub fn label_en(&self) -> String {
        let (f, t) = (self.from, self.to);
        match self.kind {
            PeriodKind::Week => format!("Week {} – {}", f, t),
            PeriodKind::Month => format!("{}-{:02}", f.year(), f.month()),
            PeriodKind::Quarter => format!("Q{} {}", (f.month() - 1) / 3 + 1, f.year()),
            PeriodKind::Half => format!("H{} {}", if f.month() == 1 { 1 } else { 2 }, f.year()),
            PeriodKind::Year => f.year().to_string(),
            PeriodKind::Range => format!("{f} – {t}"),
        }
    }

    /// A short label for chart axes: `23/11`, `11/2026`, `Q4/26`, `H2/26`, `2026`.
    pub fn short_label(&self) -> String {
        let f = self.from;
        match self.kind {
            PeriodKind::Week | PeriodKind::Range => format!("{:02}/{:02}", f.day(), f.month()),
            PeriodKind::Month => format!("{:02}/{}", f.month(), f.year()),
            PeriodKind::Quarter => format!("Q{}/{}", (f.month() - 1) / 3 + 1, f.year() % 100),
            PeriodKind::Half => {
                format!("H{}/{}", if f.month() == 1 { 1 } else { 2 }, f.year() % 100)
            }
            PeriodKind::Year => f.year().to_string(),
        }
    }
}

/// `dd/mm/yyyy`, as Vietnamese documents write dates.
pub fn dmy(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), d.month(), d.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn periods_follow_the_vietnamese_calendar() {
        // 2026-12-03 is a Thursday: the week runs Monday 30/11 to Sunday 06/12.
        let w = Period::containing(PeriodKind::Week, d("2026-12-03"), None).unwrap();
        assert_eq!((w.from, w.to), (d("2026-11-30"), d("2026-12-06")));
        assert_eq!(w.label_vi(), "Tuần 30/11–06/12/2026");
        let sunday = Period::containing(PeriodKind::Week, d("2026-12-06"), None).unwrap();
        assert_eq!(sunday, w);
        let m = Period::containing(PeriodKind::Month, d("2024-02-10"), None).unwrap();
        assert_eq!((m.from, m.to), (d("2024-02-01"), d("2024-02-29")));
        let q = Period::containing(PeriodKind::Quarter, d("2026-11-15"), None).unwrap();
        assert_eq!((q.from, q.to), (d("2026-10-01"), d("2026-12-31")));
        assert_eq!(q.label_vi(), "Quý IV/2026");
        let h = Period::containing(PeriodKind::Half, d("2026-06-30"), None).unwrap();
        assert_eq!((h.from, h.to), (d("2026-01-01"), d("2026-06-30")));
        assert_eq!(h.label_vi(), "6 tháng đầu năm 2026");
        let y = Period::containing(PeriodKind::Year, d("2026-06-30"), None).unwrap();
        assert_eq!((y.from, y.to), (d("2026-01-01"), d("2026-12-31")));
        let r = Period::containing(PeriodKind::Range, d("2026-11-01"), Some(d("2026-11-15")));
        assert_eq!(r.unwrap().label_vi(), "01/11/2026–15/11/2026");
        assert!(
            Period::containing(PeriodKind::Range, d("2026-11-15"), Some(d("2026-11-01"))).is_none()
        );
    }

    #[test]
    fn trends_step_back_whole_periods() {
        let m = Period::containing(PeriodKind::Month, d("2026-02-10"), None).unwrap();
        let t: Vec<String> = m.trend(3).iter().map(Period::short_label).collect();
        assert_eq!(t, ["12/2025", "01/2026", "02/2026"]);
        let w = Period::containing(PeriodKind::Week, d("2026-01-01"), None).unwrap();
        let prev = w.previous().unwrap();
        assert_eq!((prev.from, prev.to), (d("2025-12-22"), d("2025-12-28")));
        let r = Period::containing(PeriodKind::Range, d("2026-11-11"), Some(d("2026-11-20")));
        let p = r.unwrap().previous().unwrap();
        assert_eq!((p.from, p.to), (d("2026-11-01"), d("2026-11-10")));
    }
}
