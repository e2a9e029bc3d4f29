//! The administrative-unit catalog: Quảng Yên (the area this system serves) before and after
//! the 2025 reorganisation, and every current unit of the country.
//!
//! Since 1 July 2025 districts are abolished and Quảng Yên's 19 wards and communes became 6
//! wards directly under Quảng Ninh province. Some codes were **reused with a new meaning**
//! (07147 was Xã Hiệp Hòa, now the larger Phường Hiệp Hòa), so a unit is always a code
//! together with its validity period, never a bare code. Old addresses keep the code they were
//! captured with; [`Catalog::normalise`] gives the current unit(s) they now belong to.
//!
//! Data: the embedded `data/admin_units_quang_yen.csv` and `data/admin_unit_mapping_2025.csv`
//! (the served area, with its pre-2025 units and their old→new mapping), and
//! `data/admin_units_vn_2025.csv`: the 34 provinces and 3,321 communes, wards and special
//! zones in force since 2025-07-01, from PyPI `vietnam-provinces` 2025.10.1
//! (`vietnam_provinces/data/nested-divisions.json`), checked against the Quảng Yên data (the
//! same six ward codes and names, 54 units in Quảng Ninh); its Quảng Yên rows are not repeated
//! (`data/SOURCES.md`). An address in another province is therefore valid. Pre-2025 units
//! outside Quảng Yên are not shipped (⚠ `vietnamadminunits` 1.0.4's old→new converter was not
//! imported): such a code is refused as unknown.

const NATIONAL_CSV: &str = include_str!("../../data/admin_units_vn_2025.csv");

use super::date::Date;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

const UNITS_CSV: &str = include_str!("../../data/admin_units_quang_yen.csv");
const MAPPING_CSV: &str = include_str!("../../data/admin_unit_mapping_2025.csv");

/// The day the 2025 reorganisation took effect.
const REORGANISATION_DATE: &str = "2025-07-01";

/// The level of an administrative unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    /// Province (tỉnh), e.g. Quảng Ninh.
    Province,
    /// District-level town (thị xã); abolished on 2025-07-01.
    Town,
    /// Ward (phường).
    Ward,
    /// Commune (xã).
    Commune,
    /// Special zone (đặc khu), an island commune-level unit since 2025-07-01.
    SpecialZone,
}

impl UnitLevel {
    /// The storage name: `province`, `town`, `ward` or `commune`.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitLevel::Province => "province",
            UnitLevel::Town => "town",
            UnitLevel::Ward => "ward",
            UnitLevel::Commune => "commune",
            UnitLevel::SpecialZone => "special_zone",
        }
    }

    /// Parses a storage name; `None` when unknown.
    pub fn parse(s: &str) -> Option<UnitLevel> {
        [
            UnitLevel::Province,
            UnitLevel::Town,
            UnitLevel::Ward,
            UnitLevel::Commune,
            UnitLevel::SpecialZone,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }
}

/// One administrative unit during one period of validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// The official code (`07147`; `22` for Quảng Ninh). The same code may appear in several
    /// periods with different meanings.
    pub code: String,
    /// Official name in NFC, including its type (`Phường Hiệp Hòa`, `Xã Hiệp Hòa`).
    pub name: String,
    /// Province, town, ward or commune.
    pub level: UnitLevel,
    /// Code of the enclosing unit during this period; `None` for the province.
    pub parent_code: Option<String>,
    /// First day of validity (`YYYY-MM-DD`); `None` when valid since before our records.
    pub valid_from: Option<String>,
    /// Last day of validity, inclusive (`YYYY-MM-DD`); `None` when still valid.
    pub valid_to: Option<String>,
    /// Part of the area this system serves (Quảng Yên and its province): records are kept
    /// in, and users assigned to, served current units only.
    #[serde(default)]
    pub served: bool,
}

impl Unit {
    /// Whether this unit existed with this meaning on `date`. `false` for a date that is not
    /// `YYYY-MM-DD`.
    pub fn is_valid_on(&self, date: &str) -> bool {
        let Some(date) = Date::parse(date) else {
            return false;
        };
        let bound = |b: &Option<String>| b.as_deref().and_then(Date::parse);
        bound(&self.valid_from).is_none_or(|from| from <= date)
            && bound(&self.valid_to).is_none_or(|to| date <= to)
    }

    /// Whether this is a current unit: valid on the reorganisation date and open-ended.
    pub fn is_current(&self) -> bool {
        self.valid_to.is_none() && self.is_valid_on(REORGANISATION_DATE)
    }
}

/// One row of the 2025 mapping: a unit that existed before 2025-07-01 and a current unit
/// (part of) it now belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MappingRow {
    old_code: String,
    new_code: String,
    note: String,
}

/// The catalog of administrative units and the 2025 old→new mapping. Get it with
/// [`catalog`].
#[derive(Debug)]
pub struct Catalog {
    units: Vec<Unit>,
    mapping: Vec<MappingRow>,
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    // The CSVs are compiled in; the tests below prove they parse.
    Catalog::from_csv(UNITS_CSV, MAPPING_CSV)
        .and_then(|c| c.with_national(NATIONAL_CSV))
        .unwrap_or_else(|e| panic!("embedded admin-unit data is malformed: {e}"))
});

/// The catalog built from the embedded data (parsed once).
pub fn catalog() -> &'static Catalog {
    &CATALOG
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| super::text::nfc(s))
}

impl Catalog {
    fn parse_units(units_csv: &str, served: bool) -> Result<Vec<Unit>, String> {
        let mut units = Vec::new();
        for (n, line) in units_csv.lines().enumerate().skip(1) {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split(',').collect();
            let [code, name, level, parent, from, to] = cols[..] else {
                return Err(format!("units line {}: expected 6 columns", n + 1));
            };
            let level = UnitLevel::parse(level.trim())
                .ok_or_else(|| format!("units line {}: unknown level", n + 1))?;
            for d in [from, to].into_iter().filter(|d| !d.trim().is_empty()) {
                if Date::parse(d.trim()).is_none() {
                    return Err(format!("units line {}: malformed date", n + 1));
                }
            }
            units.push(Unit {
                code: code.trim().to_owned(),
                name: super::text::nfc(name.trim()),
                level,
                parent_code: opt(parent),
                valid_from: opt(from),
                valid_to: opt(to),
                served,
            });
        }
        Ok(units)
    }

    /// Adds the national list of current units; a code the catalog already has in the same
    /// period (the served area's own rows) is an error, as is a parent that is not known.
    fn with_national(mut self, csv: &str) -> Result<Catalog, String> {
        let national = Catalog::parse_units(csv, false)?;
        for u in &national {
            if self.current(&u.code).is_some() {
                return Err(format!("national unit {} repeats a served unit", u.code));
            }
        }
        self.units.extend(national);
        for u in &self.units {
            if let Some(p) = &u.parent_code
                && !self.is_known(p)
            {
                return Err(format!("parent {p} of unit {} is not known", u.code));
            }
        }
        Ok(self)
    }

    fn from_csv(units_csv: &str, mapping_csv: &str) -> Result<Catalog, String> {
        let units = Catalog::parse_units(units_csv, true)?;
        let mut mapping = Vec::new();
        for (n, line) in mapping_csv.lines().enumerate().skip(1) {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.splitn(5, ',').collect();
            let [old_code, _old_name, new_code, _new_name, note] = cols[..] else {
                return Err(format!("mapping line {}: expected 5 columns", n + 1));
            };
            mapping.push(MappingRow {
                old_code: old_code.trim().to_owned(),
                new_code: new_code.trim().to_owned(),
                note: super::text::nfc(note.trim()),
            });
        }
        let catalog = Catalog { units, mapping };
        for row in &catalog.mapping {
            if catalog.current(&row.new_code).is_none() {
                return Err(format!(
                    "mapping target {} is not a current unit",
                    row.new_code
                ));
            }
            if !catalog.is_known(&row.old_code) {
                return Err(format!(
                    "mapping source {} is not a known unit",
                    row.old_code
                ));
            }
        }
        Ok(catalog)
    }

    /// Every unit in every period, in file order.
    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// The current unit with this code (valid on 2025-07-01 and still valid), anywhere in
    /// the country, if any.
    pub fn current(&self, code: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.code == code && u.is_current())
    }

    /// The current units of the served area (the province and Quảng Yên's six wards), in
    /// file order: what users are assigned to and records are kept in.
    pub fn current_units(&self) -> Vec<&Unit> {
        self.units
            .iter()
            .filter(|u| u.served && u.is_current())
            .collect()
    }

    /// Whether the code names a current unit of the served area.
    pub fn is_served(&self, code: &str) -> bool {
        self.current(code).is_some_and(|u| u.served)
    }

    /// Current units whose name (or whose province's name) starts, word by word, with the
    /// query, with or without diacritics (`"phong coc"`, `"Phong Cốc"`, `"quang ninh hiep"`),
    /// in catalog order; at most `limit`. A query of digits finds codes starting with them.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Unit> {
        let tokens = super::text::query_tokens(query);
        if tokens.is_empty() {
            return Vec::new();
        }
        let digits = query.trim();
        self.units
            .iter()
            .filter(|u| u.is_current())
            .filter(|u| {
                if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                    return u.code.starts_with(digits);
                }
                let province = u
                    .parent_code
                    .as_deref()
                    .and_then(|p| self.current(p))
                    .map_or("", |p| p.name.as_str());
                let own = super::text::search_tokens(&u.name, &[]);
                let with_province =
                    super::text::search_tokens(&format!("{province} {}", u.name), &[]);
                super::text::tokens_match(&tokens, &own)
                    || super::text::tokens_match(&tokens, &with_province)
            })
            .take(limit)
            .collect()
    }

    /// The unit that had this code on `date` (`YYYY-MM-DD`); `None` if there was none or the
    /// date is malformed.
    pub fn on(&self, code: &str, date: &str) -> Option<&Unit> {
        self.units
            .iter()
            .find(|u| u.code == code && u.is_valid_on(date))
    }

    /// Whether the code names a unit in any period.
    pub fn is_known(&self, code: &str) -> bool {
        self.units.iter().any(|u| u.code == code)
    }

    /// Whether the code names a current unit.
    pub fn is_current(&self, code: &str) -> bool {
        self.current(code).is_some()
    }

    /// The current unit(s) a code captured before the reorganisation now belongs to, without
    /// duplicates, in mapping order. More than one where a unit was split (Liên Hòa 07180 is
    /// disputed: part may belong to Hà An). A current code that is not in the mapping (the
    /// province) maps to itself; an unknown code, or a dissolved unit such as the town,
    /// maps to nothing.
    pub fn normalise(&self, old_code: &str) -> Vec<&Unit> {
        let mut out: Vec<&Unit> = Vec::new();
        for row in self.mapping.iter().filter(|r| r.old_code == old_code) {
            if let Some(u) = self.current(&row.new_code)
                && !out.iter().any(|o| o.code == u.code)
            {
                out.push(u);
            }
        }
        if out.is_empty()
            && let Some(u) = self.current(old_code)
        {
            out.push(u);
        }
        out
    }

    /// Notes attached to the mapping of an old code (for example that a split is disputed),
    /// without empty notes.
    pub fn mapping_notes(&self, old_code: &str) -> Vec<&str> {
        self.mapping
            .iter()
            .filter(|r| r.old_code == old_code && !r.note.is_empty())
            .map(|r| r.note.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(units: &[&Unit]) -> Vec<String> {
        units.iter().map(|u| u.code.clone()).collect()
    }

    #[test]
    fn the_embedded_catalog_loads_with_every_period() {
        let c = catalog();
        // Served: 1 province + 1 town + 19 old units + 6 new wards; then the country's other
        // 33 provinces and 3,321 − 6 communes, wards and special zones.
        assert_eq!(c.units().len(), 27 + 33 + 3_315);
        assert_eq!(c.current_units().len(), 7);
        let current = c.units().iter().filter(|u| u.is_current()).count();
        assert_eq!(current, 34 + 3_321);
        let provinces = c
            .units()
            .iter()
            .filter(|u| u.is_current() && u.level == UnitLevel::Province)
            .count();
        assert_eq!(provinces, 34);
    }

    #[test]
    fn quảng_ninh_has_54_current_units_including_quảng_yên_s_six_wards() {
        let c = catalog();
        let in_qn: Vec<&Unit> = c
            .units()
            .iter()
            .filter(|u| u.is_current() && u.parent_code.as_deref() == Some("22"))
            .collect();
        assert_eq!(in_qn.len(), 54);
        for code in ["07132", "07135", "07147", "07168", "07180", "07183"] {
            assert!(c.is_served(code), "{code}");
        }
        assert!(
            c.current("07093").is_some_and(|u| !u.served),
            "Đông Triều, another ward of Quảng Ninh"
        );
    }

    #[test]
    fn a_ward_in_another_province_is_current_but_not_served() {
        let c = catalog();
        let hoan_kiem = c.current("00070").expect("Phường Hoàn Kiếm");
        assert_eq!(hoan_kiem.name, "Phường Hoàn Kiếm");
        assert_eq!(hoan_kiem.parent_code.as_deref(), Some("01"));
        assert!(c.is_current("00070") && !c.is_served("00070"));
        assert_eq!(c.current("01").map(|u| u.level), Some(UnitLevel::Province));
    }

    #[test]
    fn units_are_found_by_name_with_or_without_diacritics_and_by_code() {
        let c = catalog();
        let names =
            |q: &str| -> Vec<String> { c.search(q, 20).iter().map(|u| u.code.clone()).collect() };
        assert_eq!(names("Phong Cốc"), ["07183"]);
        assert_eq!(names("phong coc"), ["07183"]);
        assert_eq!(names("PHUONG HIEP HOA"), ["07147"]);
        assert!(names("hoan kiem").contains(&"00070".to_owned()));
        assert!(
            names("ha noi hoan").contains(&"00070".to_owned()),
            "province, then ward"
        );
        assert_eq!(names("0718"), ["07180", "07183"]);
        assert!(
            !names("hong coc").contains(&"07183".to_owned()),
            "word prefixes only"
        );
        assert!(names("").is_empty());
    }

    #[test]
    fn code_07147_is_a_commune_before_the_reorganisation_and_a_ward_after() {
        let c = catalog();
        let before = c.on("07147", "2025-06-01").expect("07147 before");
        assert_eq!(before.name, "Xã Hiệp Hòa");
        assert_eq!(before.level, UnitLevel::Commune);
        assert_eq!(before.parent_code.as_deref(), Some("206"));
        let after = c.on("07147", "2025-08-01").expect("07147 after");
        assert_eq!(after.name, "Phường Hiệp Hòa");
        assert_eq!(after.level, UnitLevel::Ward);
        assert_eq!(after.parent_code.as_deref(), Some("22"));
    }

    #[test]
    fn validity_bounds_are_inclusive_on_both_ends() {
        let c = catalog();
        assert_eq!(
            c.on("07147", "2025-06-30").map(|u| u.level),
            Some(UnitLevel::Commune)
        );
        assert_eq!(
            c.on("07147", "2025-07-01").map(|u| u.level),
            Some(UnitLevel::Ward)
        );
        assert!(c.on("07138", "2025-07-01").is_none());
        assert!(c.on("07147", "2025-7-1").is_none());
    }

    #[test]
    fn code_07138_is_known_but_not_current_and_normalises_to_07135() {
        let c = catalog();
        assert!(c.is_known("07138"));
        assert!(!c.is_current("07138"));
        assert!(c.current("07138").is_none());
        assert_eq!(codes(&c.normalise("07138")), ["07135"]);
    }

    #[test]
    fn code_07180_normalises_to_two_units_because_liên_hòa_may_be_split() {
        let c = catalog();
        assert_eq!(codes(&c.normalise("07180")), ["07180", "07168"]);
        assert!(
            c.mapping_notes("07180")
                .iter()
                .any(|n| n.starts_with("disputed"))
        );
    }

    #[test]
    fn current_codes_normalise_to_their_current_unit() {
        let c = catalog();
        assert_eq!(codes(&c.normalise("07147")), ["07147"]);
        assert_eq!(codes(&c.normalise("22")), ["22"]);
        assert!(c.normalise("206").is_empty());
        assert!(c.normalise("99999").is_empty());
    }

    #[test]
    fn quảng_ninh_is_a_current_province_so_parent_codes_resolve() {
        let c = catalog();
        let qn = c.current("22").expect("province 22");
        assert_eq!(qn.level, UnitLevel::Province);
        assert_eq!(qn.parent_code, None);
        for u in c.units() {
            if let Some(p) = &u.parent_code {
                assert!(c.is_known(p), "parent {p} of {}", u.code);
            }
        }
    }

    #[test]
    fn the_town_of_quảng_yên_is_known_but_dissolved() {
        let c = catalog();
        assert!(c.is_known("206"));
        assert!(!c.is_current("206"));
        assert_eq!(
            c.on("206", "2020-01-01").map(|u| u.level),
            Some(UnitLevel::Town)
        );
    }

    #[test]
    fn every_old_unit_of_the_town_maps_somewhere() {
        let c = catalog();
        for u in c
            .units()
            .iter()
            .filter(|u| u.parent_code.as_deref() == Some("206"))
        {
            assert!(!c.normalise(&u.code).is_empty(), "{} maps nowhere", u.code);
        }
    }

    #[test]
    fn unit_levels_round_trip_through_their_names() {
        for l in [
            UnitLevel::Province,
            UnitLevel::Town,
            UnitLevel::Ward,
            UnitLevel::Commune,
            UnitLevel::SpecialZone,
        ] {
            assert_eq!(UnitLevel::parse(l.as_str()), Some(l));
        }
        assert_eq!(UnitLevel::parse("district"), None);
    }

    #[test]
    fn malformed_catalog_data_is_reported_not_loaded() {
        let units = "code,name,level,parent_code,valid_from,valid_to\n1,A,ward,,,\n";
        assert!(Catalog::from_csv("h\n1,A,ward\n", "h\n").is_err());
        assert!(Catalog::from_csv("h\n1,A,hamlet,,,\n", "h\n").is_err());
        assert!(Catalog::from_csv("h\n1,A,ward,,2025-02-30,\n", "h\n").is_err());
        assert!(Catalog::from_csv(units, "h\n1,A,2,B,\n").is_err());
        assert!(Catalog::from_csv(units, "h\n1,A,1,A,a, note, with commas\n").is_ok());
    }
}
