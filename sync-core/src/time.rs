//! Time as Ferry's users live it: Vietnam's time zone, `Asia/Ho_Chi_Minh` (UTC+7, no daylight
//! saving since 1975).
//!
//! Every "today" (the date validation compares birth dates and stays against) and every time
//! shown to a person is computed here, never in UTC: between 00:00 and 07:00 in Quảng Yên the
//! UTC date is still yesterday, so a baby registered at 06:00 would be "born in the future".
//! Stored instants stay Unix milliseconds (time-zone free); only their reading is local.
//!
//! The zone rules come from `jiff` with its bundled copy of the time-zone database
//! (feature `tzdb-bundle-always`), because the phones and the small servers Ferry runs on may
//! have no `/usr/share/zoneinfo`.

use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil::{DateTime, Time};
use jiff::tz::{self, TimeZone};

use crate::model::Date;

/// The IANA name of the zone every local date and time is in.
pub const ZONE_NAME: &str = "Asia/Ho_Chi_Minh";

static ZONE: LazyLock<TimeZone> = LazyLock::new(|| {
    // The bundled database always has the zone; the fixed offset is what it says today and
    // keeps a broken build from panicking.
    TimeZone::get(ZONE_NAME).unwrap_or_else(|_| TimeZone::fixed(tz::offset(7)))
});

/// Vietnam's time zone.
pub fn zone() -> &'static TimeZone {
    &ZONE
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

fn civil(ms: i64) -> DateTime {
    let ts = Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    zone().to_datetime(ts)
}

/// The local (Vietnam) calendar day of an instant, as a [`Date`]. `None` for instants outside
/// the years 0001–9999.
pub fn local_day(ms: i64) -> Option<Date> {
    Date::from_civil(civil(ms).date())
}

/// `YYYY-MM-DD`: the local (Vietnam) calendar day of an instant in Unix milliseconds.
pub fn local_date(ms: i64) -> String {
    let d = civil(ms).date();
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// Today's date in Vietnam, `YYYY-MM-DD`.
pub fn today() -> String {
    local_date(now_ms())
}

/// The local hour (0–23) and minute of an instant, e.g. to check a stay notice against the
/// 23:00 / 08:00 deadlines.
pub fn local_hour_minute(ms: i64) -> (u8, u8) {
    let t = civil(ms).time();
    (t.hour().unsigned_abs(), t.minute().unsigned_abs())
}

/// `YYYY-MM-DDTHH:MM:SS+07:00`: an instant as shown to people, in Vietnam's time with the
/// offset written out (RFC 3339), so the text is unambiguous wherever it is read.
pub fn local_date_time(ms: i64) -> String {
    let ts = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let dt = zone().to_datetime(ts);
    let offset = zone().to_offset(ts).seconds();
    let (sign, off) = if offset < 0 {
        ('-', -offset)
    } else {
        ('+', offset)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        off / 3600,
        off / 60 % 60
    )
}

/// Unix milliseconds of the first instant of a local (Vietnam) day.
pub fn start_of_local_day(date: Date) -> i64 {
    let dt = date.civil().to_datetime(Time::midnight());
    zone().to_timestamp(dt).map_or(0, |ts| ts.as_millisecond())
}

/// Parses a time given by a person (CLI flags, query parameters): an integer of Unix
/// milliseconds; `YYYY-MM-DD` (the start of that day in Vietnam); `YYYY-MM-DDTHH:MM[:SS]`
/// (Vietnam time); or RFC 3339 with `Z` or an offset (`2026-03-10T06:00:00+07:00`).
pub fn parse_time(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || format!("`{s}` is not YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM] or ms");
    if let Some(date) = Date::parse(s) {
        return Ok(start_of_local_day(date));
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    let dt: DateTime = s.parse().map_err(|_| bad())?;
    zone()
        .to_timestamp(dt)
        .map(|ts| ts.as_millisecond())
        .map_err(|_| bad())
}

/// Change timestamps from this value up to [`SECONDS_BELOW`] are read as seconds.
///
/// 10^9 s is 2001-09-09; as milliseconds it would be 1970-01-12.
pub const SECONDS_FROM: i64 = 1_000_000_000;

/// Change timestamps below this (and from [`SECONDS_FROM`]) are read as seconds, not
/// milliseconds.
///
/// Automerge's Rust and JavaScript "next" APIs write milliseconds; the JavaScript *stable*
/// API writes **seconds** (`Math.round(Date.now() / 1000)`). 10^11 ms is 1973-03-03, before
/// any Ferry data; 10^11 s is the year 5138. So a value in [10^9, 10^11) is seconds (2001 to
/// 5138), and anything else is milliseconds (values under 10^9, days after the epoch in
/// either unit, are left as they are: no real edit has them, and tests use small ones).
pub const SECONDS_BELOW: i64 = 100_000_000_000;

/// A change's timestamp in milliseconds, whatever unit its writer used (see
/// [`SECONDS_BELOW`]). Zero (no time recorded) stays zero.
pub fn change_time_ms(raw: i64) -> i64 {
    if (SECONDS_FROM..SECONDS_BELOW).contains(&raw) {
        raw.saturating_mul(1000)
    } else {
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-09T23:00:00Z, which is 06:00 on 2026-03-10 in Quảng Yên.
    const SIX_AM_IN_VIETNAM: i64 = 1_773_097_200_000;

    #[test]
    fn six_in_the_morning_in_quảng_yên_is_already_the_next_day_while_utc_is_still_yesterday() {
        assert_eq!(local_date(SIX_AM_IN_VIETNAM), "2026-03-10");
        assert_eq!(local_hour_minute(SIX_AM_IN_VIETNAM), (6, 0));
        assert_eq!(
            local_date_time(SIX_AM_IN_VIETNAM),
            "2026-03-10T06:00:00+07:00"
        );
    }

    #[test]
    fn local_dates_cross_midnight_at_17_00_utc() {
        assert_eq!(local_date(0), "1970-01-01");
        assert_eq!(local_date(1_767_225_600_000), "2026-01-01");
        assert_eq!(local_date(1_767_225_600_000 - 7 * 3_600_000), "2026-01-01");
        assert_eq!(
            local_date(1_767_225_600_000 - 7 * 3_600_000 - 1),
            "2025-12-31"
        );
        assert_eq!(local_date(951_782_400_000), "2000-02-29");
    }

    #[test]
    fn the_zone_comes_from_the_bundled_database_not_a_fixed_offset() {
        assert_eq!(zone().iana_name(), Some(ZONE_NAME));
        // Saigon kept UTC+8 until 13 June 1975; a fixed +7 would get this wrong.
        assert_eq!(
            local_date_time(165_000_000_000),
            "1975-03-26T01:20:00+08:00"
        );
    }

    #[test]
    fn people_give_times_as_local_days_local_times_rfc_3339_or_milliseconds() {
        let day = Date::parse("2026-03-10").unwrap();
        assert_eq!(parse_time("2026-03-10"), Ok(start_of_local_day(day)));
        assert_eq!(parse_time("2026-03-10"), Ok(1_773_075_600_000));
        assert_eq!(parse_time("2026-03-10T06:00"), Ok(SIX_AM_IN_VIETNAM));
        assert_eq!(parse_time("2026-03-10T06:00:00"), Ok(SIX_AM_IN_VIETNAM));
        assert_eq!(parse_time("2026-03-09T23:00:00Z"), Ok(SIX_AM_IN_VIETNAM));
        assert_eq!(
            parse_time("2026-03-10T06:00:00+07:00"),
            Ok(SIX_AM_IN_VIETNAM)
        );
        assert_eq!(parse_time("1773097200000"), Ok(SIX_AM_IN_VIETNAM));
        assert!(parse_time("10/03/2026").is_err());
        assert!(parse_time("2026-02-30").is_err());
    }

    #[test]
    fn change_timestamps_in_seconds_from_javascript_automerge_read_as_milliseconds() {
        assert_eq!(change_time_ms(1_773_097_200), SIX_AM_IN_VIETNAM);
        assert_eq!(change_time_ms(SIX_AM_IN_VIETNAM), SIX_AM_IN_VIETNAM);
        assert_eq!(change_time_ms(0), 0);
        assert_eq!(change_time_ms(200), 200);
        assert_eq!(change_time_ms(SECONDS_BELOW), SECONDS_BELOW);
    }
}
