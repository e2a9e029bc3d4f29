//! The 12-digit personal identification number (số định danh cá nhân), `PPP G YY RRRRRR`.
//!
//! - `PPP`: province (or country) of birth registration, see [`province_name`].
//! - `G`: century and sex: even digits are male, odd female; 0/1 = born 1900–1999,
//!   2/3 = 2000–2099, 4/5 = 2100–2199, 6/7 = 2200–2299, 8/9 = 2300–2399.
//! - `YY`: last two digits of the birth year.
//! - `RRRRRR`: random. There is no check digit.
//!
//! The digits are personal data: they never appear in error messages or `Debug` output.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

const PROVINCE_CODES_CSV: &str = include_str!("../../data/province_codes.csv");

static PROVINCES: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    PROVINCE_CODES_CSV
        .lines()
        .skip(1)
        .filter_map(|line| line.trim_end_matches('\r').split_once(','))
        .map(|(code, name)| (code.trim(), name.trim()))
        .filter(|(code, _)| !code.is_empty())
        .collect()
});

/// The province name for a three-digit birth-registration code (`"022"` → `"Quảng Ninh"`),
/// from the embedded `province_codes.csv`. Codes are frozen: they did not change with the
/// 2025 province mergers, so the names are the pre-merger provinces. `None` for an unknown
/// code (a country code when the birth was registered abroad, or a typing error).
pub fn province_name(code: &str) -> Option<&'static str> {
    PROVINCES.get(code).copied()
}

/// Every province name of the code table (pre-2025 provinces).
pub(crate) fn province_names() -> impl Iterator<Item = &'static str> {
    PROVINCES.values().copied()
}

/// Why a text is not a personal identification number. Messages never contain the digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Nothing was given.
    #[error("an ID number has exactly 12 digits; got nothing")]
    Empty,
    /// The text does not have 12 characters.
    #[error("an ID number has exactly 12 digits; got {got}")]
    WrongLength {
        /// How many characters were given.
        got: usize,
    },
    /// One of the 12 characters is not an ASCII digit (spaces and dots included).
    #[error("an ID number has only the digits 0-9; character {position} is something else")]
    NotADigit {
        /// 1-based position of the first offending character.
        position: usize,
    },
}

/// Whether `s` is a valid old identity-card (CMND) number: 9 or 12 ASCII digits, otherwise
/// opaque.
pub(crate) fn is_old_id_number(s: &str) -> bool {
    (s.len() == 9 || s.len() == 12) && s.bytes().all(|b| b.is_ascii_digit())
}

/// A syntactically valid personal identification number: exactly 12 ASCII digits.
///
/// Parsing does not check the digits against anything; the meaning of digits 1–6 is
/// available through the accessors and is compared with the record by validation, which
/// reports disagreement as a finding rather than refusing the record.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber(String);

impl IdNumber {
    /// Parses exactly 12 ASCII digits; no spaces, separators or other digit scripts.
    pub fn parse(s: &str) -> Result<IdNumber, IdNumberError> {
        let len = s.chars().count();
        if len == 0 {
            return Err(IdNumberError::Empty);
        }
        if len != 12 {
            return Err(IdNumberError::WrongLength { got: len });
        }
        if let Some(i) = s.chars().position(|c| !c.is_ascii_digit()) {
            return Err(IdNumberError::NotADigit { position: i + 1 });
        }
        Ok(IdNumber(s.to_owned()))
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digits 1–3: the province (or country) of birth registration, e.g. `"022"`.
    pub fn province_code(&self) -> &str {
        &self.0[..3]
    }

    /// Digit 4, which encodes century of birth and sex.
    pub fn century_sex_digit(&self) -> u8 {
        self.digit(3)
    }

    /// Digits 5–6: the last two digits of the birth year.
    pub fn birth_year_last_two(&self) -> u8 {
        self.digit(4) * 10 + self.digit(5)
    }

    /// The sex digit 4 implies: `"male"` for an even digit, `"female"` for an odd one
    /// (the same words as the `sex` field).
    pub fn implied_sex(&self) -> &'static str {
        sex_of_digit(self.century_sex_digit())
    }

    /// The first year of the century digit 4 implies: 0/1 → 1900, 2/3 → 2000, 4/5 → 2100,
    /// 6/7 → 2200, 8/9 → 2300.
    pub fn implied_century_start(&self) -> i32 {
        century_of_digit(self.century_sex_digit())
    }

    /// The full birth year digits 4–6 imply (century start + `YY`).
    pub fn implied_birth_year(&self) -> i32 {
        self.implied_century_start() + i32::from(self.birth_year_last_two())
    }

    fn digit(&self, i: usize) -> u8 {
        self.0.as_bytes()[i] - b'0'
    }
}

/// `"male"` for an even century/sex digit, `"female"` for an odd one.
pub(crate) fn sex_of_digit(d: u8) -> &'static str {
    if d.is_multiple_of(2) {
        "male"
    } else {
        "female"
    }
}

/// First year of the century a century/sex digit stands for.
pub(crate) fn century_of_digit(d: u8) -> i32 {
    1900 + 100 * i32::from(d / 2)
}

/// Redacted: the digits are personal data and must not reach logs.
impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdNumber(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> IdNumber {
        IdNumber::parse(s).expect("test id number")
    }

    #[test]
    fn twelve_digits_parse_into_their_parts() {
        let n = id("022085001234");
        assert_eq!(n.as_str(), "022085001234");
        assert_eq!(n.province_code(), "022");
        assert_eq!(n.century_sex_digit(), 0);
        assert_eq!(n.birth_year_last_two(), 85);
        assert_eq!(n.implied_sex(), "male");
        assert_eq!(n.implied_century_start(), 1900);
        assert_eq!(n.implied_birth_year(), 1985);
    }

    #[test]
    fn an_odd_century_digit_means_female() {
        let n = id("022301001234");
        assert_eq!(n.implied_sex(), "female");
        assert_eq!(n.implied_century_start(), 2000);
        assert_eq!(n.implied_birth_year(), 2001);
    }

    #[test]
    fn every_century_digit_maps_to_its_century() {
        let expected = [1900, 1900, 2000, 2000, 2100, 2100, 2200, 2200, 2300, 2300];
        for (d, want) in expected.into_iter().enumerate() {
            let n = id(&format!("022{d}00000000"));
            assert_eq!(n.implied_century_start(), want, "digit {d}");
        }
    }

    #[test]
    fn eleven_digits_are_refused_with_the_count_but_not_the_digits() {
        let err = IdNumber::parse("02208500123").unwrap_err();
        assert_eq!(err, IdNumberError::WrongLength { got: 11 });
        let msg = err.to_string();
        assert_eq!(msg, "an ID number has exactly 12 digits; got 11");
        assert!(!msg.contains("022085"));
    }

    #[test]
    fn non_digits_and_empty_text_are_refused() {
        assert_eq!(IdNumber::parse(""), Err(IdNumberError::Empty));
        assert_eq!(
            IdNumber::parse("02208500123x"),
            Err(IdNumberError::NotADigit { position: 12 })
        );
        assert_eq!(
            IdNumber::parse("022 08500123"),
            Err(IdNumberError::NotADigit { position: 4 })
        );
        // Full-width digits count as one character each but are not ASCII.
        assert_eq!(
            IdNumber::parse("０２２085001234"),
            Err(IdNumberError::NotADigit { position: 1 })
        );
        assert_eq!(
            IdNumber::parse("０２２08500123"),
            Err(IdNumberError::WrongLength { got: 11 })
        );
    }

    #[test]
    fn debug_output_does_not_show_the_digits() {
        assert!(!format!("{:?}", id("022085001234")).contains("0850"));
    }

    #[test]
    fn province_codes_resolve_to_names_from_the_embedded_table() {
        assert_eq!(province_name("022"), Some("Quảng Ninh"));
        assert_eq!(province_name("001"), Some("Hà Nội"));
        assert_eq!(province_name("096"), Some("Cà Mau"));
        assert_eq!(province_name("003"), None);
        assert_eq!(province_name("22"), None);
        assert_eq!(PROVINCES.len(), 63);
    }

    #[test]
    fn old_cmnd_numbers_have_nine_or_twelve_digits() {
        assert!(is_old_id_number("123456789"));
        assert!(is_old_id_number("123456789012"));
        assert!(!is_old_id_number("12345678"));
        assert!(!is_old_id_number("1234567890"));
        assert!(!is_old_id_number("12345678a"));
    }
}
