//! The administrative-unit catalog: every unit of the country before and after the 2025
//! reorganisation, with the old→new mapping, and the area this system serves (Quảng Yên).
//!
//! Since 1 July 2025 districts are abolished and Quảng Yên's 19 wards and communes became 6
//! wards directly under Quảng Ninh province. Some codes were **reused with a new meaning**
//! (07147 was Xã Hiệp Hòa, now the larger Phường Hiệp Hòa), so a unit is always a code
//! together with its validity period, never a bare code: [`Catalog::on`] reads a code as of
//! the day it was captured, and [`Catalog::normalise_on`] gives the current unit(s) an address
//! captured that day now belongs to.
//!
//! Data (`data/SOURCES.md` says where each file comes from):
//! - `data/admin_units_quang_yen.csv` and `data/admin_unit_mapping_2025.csv`: the served area,
//!   its 19 pre-2025 units and their mapping (marked `served`);
//! - `data/admin_units_vn_2025.csv`: the 34 provinces and 3,321 communes, wards and special
//!   zones in force since 2025-07-01, from PyPI `vietnam-provinces` 2025.10.1, without the
//!   served rows;
//! - `data/admin_units_vn_pre2025.csv` and `data/admin_unit_mapping_2025_vn.csv`: the 63
//!   provinces, 696 districts and 10,035 communes, wards and townships in force until
//!   2025-06-30 and their old→new mapping (split units map to several new ones, the default
//!   first), from PyPI `vietnamadminunits` 1.0.4, without the served rows; built by
//!   `data/import_vietnamadminunits.py`, which checks them against the other files.
//!
//! An address anywhere in the country, in either period, is therefore valid.

use super::date::Date;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;

const UNITS_CSV: &str = include_str!("../../data/admin_units_quang_yen.csv");
const MAPPING_CSV: &str = include_str!("../../data/admin_unit_mapping_2025.csv");
const NATIONAL_CSV: &str = include_str!("../../data/admin_units_vn_2025.csv");
const NATIONAL_OLD_CSV: &str = include_str!("../../data/admin_units_vn_pre2025.csv");
const NATIONAL_MAPPING_CSV: &str = include_str!("../../data/admin_unit_mapping_2025_vn.csv");

/// The day the 2025 reorganisation took effect.
const REORGANISATION_DATE: &str = "2025-07-01";

/// The level of an administrative unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    /// Province (tỉnh) or centrally-run city (thành phố trực thuộc trung ương).
    Province,
    /// District (quận, huyện, or a city under a province); abolished on 2025-07-01.
    District,
    /// District-level town (thị xã); abolished on 2025-07-01.
    Town,
    /// Commune-level township (thị trấn); abolished on 2025-07-01.
    Township,
    /// Ward (phường).
    Ward,
    /// Commune (xã).
    Commune,
    /// Special zone (đặc khu), an island commune-level unit since 2025-07-01.
    SpecialZone,
}

impl UnitLevel {
    /// Every level.
    pub const ALL: [UnitLevel; 7] = [
        UnitLevel::Province,
        UnitLevel::District,
        UnitLevel::Town,
        UnitLevel::Township,
        UnitLevel::Ward,
        UnitLevel::Commune,
        UnitLevel::SpecialZone,
    ];

    /// The storage name: `province`, `district`, `town`, `township`, `ward`, `commune` or
    /// `special_zone`.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitLevel::Province => "province",
            UnitLevel::District => "district",
            UnitLevel::Town => "town",
            UnitLevel::Township => "township",
            UnitLevel::Ward => "ward",
            UnitLevel::Commune => "commune",
            UnitLevel::SpecialZone => "special_zone",
        }
    }

    /// Parses a storage name; `None` when unknown.
    pub fn parse(s: &str) -> Option<UnitLevel> {
        UnitLevel::ALL.into_iter().find(|l| l.as_str() == s)
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

/// One row of the 2025 mapping, under its old code: a current unit (part of) the old unit
/// now belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MappingRow {
    new_code: String,
    note: String,
}

/// The catalog of administrative units and the 2025 old→new mapping. Get it with
/// [`catalog`].
#[derive(Debug)]
pub struct Catalog {
    units: Vec<Unit>,
    /// Positions in `units` by code, in file order (about 14,000 units: lookups are hashed).
    by_code: HashMap<String, Vec<usize>>,
    /// Mapping rows by old code, in file order.
    mapping: HashMap<String, Vec<MappingRow>>,
    /// Positions of the served area's current units (asked for on every admin request).
    served_current: Vec<usize>,
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    // The CSVs are compiled in; the tests below prove they parse.
    Catalog::build(
        &[
            (UNITS_CSV, true),
            (NATIONAL_CSV, false),
            (NATIONAL_OLD_CSV, false),
        ],
        &[MAPPING_CSV, NATIONAL_MAPPING_CSV],
    )
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

/// Data lines of a CSV text: the header skipped, blank lines left out, with 1-based numbers.
fn data_lines(csv: &str) -> impl Iterator<Item = (usize, &str)> {
    csv.lines()
        .enumerate()
        .skip(1)
        .map(|(n, l)| (n + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty())
}

impl Catalog {
    fn parse_units(units_csv: &str, served: bool) -> Result<Vec<Unit>, String> {
        let mut units = Vec::new();
        for (n, line) in data_lines(units_csv) {
            let cols: Vec<&str> = line.split(',').collect();
            let [code, name, level, parent, from, to] = cols[..] else {
                return Err(format!("units line {n}: expected 6 columns"));
            };
            let level = UnitLevel::parse(level.trim())
                .ok_or_else(|| format!("units line {n}: unknown level"))?;
            for d in [from, to].into_iter().filter(|d| !d.trim().is_empty()) {
                if Date::parse(d.trim()).is_none() {
                    return Err(format!("units line {n}: malformed date"));
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

    fn parse_mapping(mapping_csv: &str) -> Result<Vec<(String, MappingRow)>, String> {
        let mut rows = Vec::new();
        for (n, line) in data_lines(mapping_csv) {
            let cols: Vec<&str> = line.splitn(5, ',').collect();
            let [old_code, _old_name, new_code, _new_name, note] = cols[..] else {
                return Err(format!("mapping line {n}: expected 5 columns"));
            };
            rows.push((
                old_code.trim().to_owned(),
                MappingRow {
                    new_code: new_code.trim().to_owned(),
                    note: super::text::nfc(note.trim()),
                },
            ));
        }
        Ok(rows)
    }

    /// The catalog of these unit files (each with whether it is the served area) and
    /// mapping files. Refused: a code with two meanings on one day, a parent that is not
    /// known, a mapping from an unknown code or to a unit that is not current.
    fn build(unit_files: &[(&str, bool)], mapping_files: &[&str]) -> Result<Catalog, String> {
        let mut units = Vec::new();
        for (csv, served) in unit_files {
            units.extend(Catalog::parse_units(csv, *served)?);
        }
        let mut by_code: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, u) in units.iter().enumerate() {
            by_code.entry(u.code.clone()).or_default().push(i);
        }
        let served_current = (0..units.len())
            .filter(|i| units[*i].served && units[*i].is_current())
            .collect();
        let mut catalog = Catalog {
            units,
            by_code,
            mapping: HashMap::new(),
            served_current,
        };
        catalog.check_periods()?;
        for u in &catalog.units {
            if let Some(p) = &u.parent_code
                && !catalog.is_known(p)
            {
                return Err(format!("parent {p} of unit {} is not known", u.code));
            }
        }
        for csv in mapping_files {
            for (old_code, row) in Catalog::parse_mapping(csv)? {
                if catalog.current(&row.new_code).is_none() {
                    return Err(format!(
                        "mapping target {} is not a current unit",
                        row.new_code
                    ));
                }
                if !catalog.is_known(&old_code) {
                    return Err(format!("mapping source {old_code} is not a known unit"));
                }
                catalog.mapping.entry(old_code).or_default().push(row);
            }
        }
        Ok(catalog)
    }

    /// Every code means one unit on any day: the periods of one code do not overlap.
    fn check_periods(&self) -> Result<(), String> {
        let day = |d: &Option<String>| d.as_deref().and_then(Date::parse);
        for (code, at) in &self.by_code {
            for (i, a) in at.iter().enumerate() {
                for b in &at[i + 1..] {
                    let (a, b) = (&self.units[*a], &self.units[*b]);
                    let a_before_b = matches!((day(&a.valid_to), day(&b.valid_from)), (Some(t), Some(f)) if t < f);
                    let b_before_a = matches!((day(&b.valid_to), day(&a.valid_from)), (Some(t), Some(f)) if t < f);
                    if !a_before_b && !b_before_a {
                        return Err(format!("unit {code} has two meanings on one day"));
                    }
                }
            }
        }
        Ok(())
    }

    #[cfg(test)]
    fn from_csv(units_csv: &str, mapping_csv: &str) -> Result<Catalog, String> {
        Catalog::build(&[(units_csv, true)], &[mapping_csv])
    }

    /// The units with this code, in every period.
    fn with_code<'a>(&'a self, code: &str) -> impl Iterator<Item = &'a Unit> + 'a {
        self.by_code
            .get(code)
            .into_iter()
            .flatten()
            .map(|i| &self.units[*i])
    }

    /// Every unit in every period, in file order.
    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// The current unit with this code (valid on 2025-07-01 and still valid), anywhere in
    /// the country, if any.
    pub fn current(&self, code: &str) -> Option<&Unit> {
        self.with_code(code).find(|u| u.is_current())
    }

    /// The current units of the served area (the province and Quảng Yên's six wards), in
    /// file order: what users are assigned to and records are kept in.
    pub fn current_units(&self) -> Vec<&Unit> {
        self.served_current
            .iter()
            .map(|i| &self.units[*i])
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
        self.with_code(code).find(|u| u.is_valid_on(date))
    }

    /// Whether the code names a unit in any period.
    pub fn is_known(&self, code: &str) -> bool {
        self.by_code.contains_key(code)
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
        for row in self.mapping.get(old_code).into_iter().flatten() {
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
            .get(old_code)
            .into_iter()
            .flatten()
            .filter(|r| !r.note.is_empty())
            .map(|r| r.note.as_str())
            .collect()
    }

    /// The current unit(s) an address unit code captured on `captured_on` (`YYYY-MM-DD`)
    /// now belongs to: the code is read as of that day ([`Catalog::on`]), so `07180` on a
    /// 2024 form is old Xã Liên Hòa (now Liên Hòa or, for part of it, Hà An), while `07180`
    /// written since 2025-07-01 is Phường Liên Hòa alone. Without a capture date, or when
    /// the code meant nothing that day (a new code written on an old form), the code is
    /// read as today's unit if it is current, else through the mapping ([`Self::normalise`]).
    pub fn normalise_on(&self, code: &str, captured_on: Option<&str>) -> Vec<&Unit> {
        match captured_on.and_then(|d| self.on(code, d)) {
            Some(u) if u.is_current() => vec![u],
            Some(_) => self.normalise(code),
            None => match self.current(code) {
                Some(u) => vec![u],
                None => self.normalise(code),
            },
        }
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
        // 33 provinces and 3,321 − 6 communes, wards and special zones; then before
        // 2025-07-01 the other 62 provinces, 695 districts and 10,035 − 19 communes, wards and
        // townships.
        assert_eq!(c.units().len(), 27 + 33 + 3_315 + 62 + 695 + 10_016);
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
        for l in UnitLevel::ALL {
            assert_eq!(UnitLevel::parse(l.as_str()), Some(l));
        }
        assert_eq!(UnitLevel::parse("hamlet"), None);
    }

    #[test]
    fn a_pre_2025_ward_of_hà_nội_is_known_with_its_district_and_maps_to_its_current_ward() {
        let c = catalog();
        let phuc_xa = c.on("00001", "2024-05-01").expect("Phường Phúc Xá");
        assert_eq!(phuc_xa.name, "Phường Phúc Xá");
        assert_eq!(phuc_xa.parent_code.as_deref(), Some("001"));
        let ba_dinh = c.on("001", "2024-05-01").expect("Quận Ba Đình");
        assert_eq!(ba_dinh.level, UnitLevel::District);
        assert_eq!(ba_dinh.parent_code.as_deref(), Some("01"));
        assert!(
            c.on("001", "2025-07-01").is_none(),
            "districts are abolished"
        );
        assert_eq!(codes(&c.normalise("00001")), ["00097"]);
        assert_eq!(
            c.current("00097").map(|u| u.name.as_str()),
            Some("Phường Hồng Hà")
        );
    }

    #[test]
    fn an_old_province_maps_to_the_province_it_merged_into() {
        let c = catalog();
        assert_eq!(
            c.on("02", "2024-01-01").map(|u| u.name.as_str()),
            Some("Tỉnh Hà Giang")
        );
        assert!(c.current("02").is_none());
        assert_eq!(codes(&c.normalise("02")), ["08"]);
        // Hà Nội kept its code: its old row maps to its new one.
        assert_eq!(codes(&c.normalise("01")), ["01"]);
        assert_eq!(codes(&c.normalise_on("01", Some("2024-01-01"))), ["01"]);
    }

    #[test]
    fn a_split_ward_elsewhere_maps_to_every_new_unit_with_the_default_first() {
        let c = catalog();
        assert_eq!(codes(&c.normalise("07093")), ["07093", "07090"]);
        assert_eq!(
            c.mapping_notes("07093"),
            ["split: default new unit", "split: part of the old unit"]
        );
    }

    #[test]
    fn a_township_and_an_island_district_map_to_their_current_units() {
        let c = catalog();
        let binh_lieu = c.on("06838", "2025-06-30").expect("Thị trấn Bình Liêu");
        assert_eq!(binh_lieu.level, UnitLevel::Township);
        assert_eq!(codes(&c.normalise("06838")), ["06838"]);
        assert_eq!(
            c.current("06838").map(|u| u.level),
            Some(UnitLevel::Commune)
        );
        assert_eq!(codes(&c.normalise("755")), ["26732"], "Côn Đảo");
        assert_eq!(
            c.current("26732").map(|u| u.level),
            Some(UnitLevel::SpecialZone)
        );
    }

    #[test]
    fn code_07180_captured_in_2024_is_old_liên_hòa_and_captured_since_july_2025_the_ward() {
        let c = catalog();
        assert_eq!(
            c.on("07180", "2024-03-01").map(|u| u.name.as_str()),
            Some("Xã Liên Hòa")
        );
        assert_eq!(
            codes(&c.normalise_on("07180", Some("2024-03-01"))),
            ["07180", "07168"],
            "old Liên Hòa: part may now be in Hà An"
        );
        assert_eq!(
            codes(&c.normalise_on("07180", Some("2025-08-01"))),
            ["07180"]
        );
        assert_eq!(
            codes(&c.normalise_on("07180", None)),
            ["07180"],
            "read as today's"
        );
        // An old code needs no date; a new-only code on an old form is read as today's.
        assert_eq!(codes(&c.normalise_on("07138", None)), ["07135"]);
        assert_eq!(
            codes(&c.normalise_on("26732", Some("2024-01-01"))),
            ["26732"]
        );
        assert!(c.normalise_on("99999", Some("2024-01-01")).is_empty());
    }

    #[test]
    fn a_code_with_two_meanings_on_one_day_is_refused() {
        let overlapping = "h\n1,A,ward,,,2025-06-30\n1,B,ward,,2025-06-30,\n";
        assert!(Catalog::from_csv(overlapping, "h\n").is_err());
        let one_after_the_other = "h\n1,A,ward,,,2025-06-30\n1,B,ward,,2025-07-01,\n";
        assert!(Catalog::from_csv(one_after_the_other, "h\n").is_ok());
        let twice_forever = "h\n1,A,ward,,,\n1,A,ward,,,\n";
        assert!(Catalog::from_csv(twice_forever, "h\n").is_err());
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
