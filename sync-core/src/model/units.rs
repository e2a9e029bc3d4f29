//! The administrative-unit catalog for Quảng Yên, before and after the 2025 reorganisation.
//!
//! Since 1 July 2025 districts are abolished and Quảng Yên's 19 wards and communes became 6
//! wards directly under Quảng Ninh province. Some codes were **reused with a new meaning**
//! (07147 was Xã Hiệp Hòa, now the larger Phường Hiệp Hòa), so a unit is always a code
//! together with its validity period, never a bare code. Old addresses keep the code they were
//! captured with; [`Catalog::normalise`] gives the current unit(s) they now belong to.
//!
//! Data: the embedded `data/admin_units_quang_yen.csv` and `data/admin_unit_mapping_2025.csv`.

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
}

impl UnitLevel {
    /// The storage name: `province`, `town`, `ward` or `commune`.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitLevel::Province => "province",
            UnitLevel::Town => "town",
            UnitLevel::Ward => "ward",
            UnitLevel::Commune => "commune",
        }
    }

    /// Parses a storage name; `None` when unknown.
    pub fn parse(s: &str) -> Option<UnitLevel> {
        [
            UnitLevel::Province,
            UnitLevel::Town,
            UnitLevel::Ward,
            UnitLevel::Commune,
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
    fn from_csv(units_csv: &str, mapping_csv: &str) -> Result<Catalog, String> {
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
            });
        }
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

    /// The current unit with this code (valid on 2025-07-01 and still valid), if any.
    pub fn current(&self, code: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.code == code && u.is_current())
    }

    /// All current units (the province and the six wards), in file order.
    pub fn current_units(&self) -> Vec<&Unit> {
        self.units.iter().filter(|u| u.is_current()).collect()
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
        // 1 province + 1 town + 19 old units + 6 new wards.
        assert_eq!(c.units().len(), 27);
        assert_eq!(c.current_units().len(), 7);
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
