//! Seeded, realistic Quảng Yên data for tests and benchmarks.
//!
//! [`Generator`] produces households one at a time, each as a group of records in this order:
//! the `household`, its `citizen`s, their `cccd_application`s and `residence_declaration`s.
//! Everything is drawn from one ChaCha8 stream, so the same seed always gives the same records
//! (ids included).
//!
//! What is realistic about it:
//! - Vietnamese family names in their national frequencies (Nguyễn ≈ 38%, Trần ≈ 11%,
//!   Lê ≈ 9.5%, Phạm ≈ 7%, …; northern spellings Hoàng and Vũ dominate Huỳnh and Võ), middle
//!   names that depend on sex and generation (Văn/Thị are commoner among the old), given names
//!   with diacritics, all in NFC.
//! - Households of 1–7 people (mean ≈ 3.5) with exactly one head; spouses, children, the
//!   head's parents, children-in-law, grandchildren and lodgers; children take the father's
//!   family name; members are keyed by citizen id.
//! - Personal ID numbers `PPP G YY RRRRRR` that agree with birth year and sex; the province
//!   of birth registration is Quảng Ninh (022) for ≈ 85%, otherwise a neighbouring or
//!   migration-source province. Numbers are unique within a generator.
//! - Records carry a current unit (one of the six wards since 2025-07-01); about 30% of
//!   households still have their address as captured before the reorganisation (old ward or
//!   commune name and code in `permanent_unit`).
//! - Identity-card applications for ≈ 12% of citizens and residence declarations for ≈ 10%,
//!   with realistic request types, procedures and statuses.
//! - A small share of records (≈ 2% by default) have data-quality problems: ID digits that
//!   disagree with sex or birth year, temporary stays longer than 2 years, households without
//!   a head. They are structurally valid: [`sync_core::model::validate`] accepts every record
//!   and reports these as findings.

use std::collections::{BTreeMap, HashSet};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sync_core::doc::Edit;
use sync_core::model::{Date, Fields, Kind, Record, UnitLevel, Value, catalog, nfc, search_key};
use uuid::Uuid;

/// The day the generated data describes ("today"): every date is on or before it.
pub const REFERENCE_DATE: &str = "2026-03-01";

/// [`REFERENCE_DATE`] at 00:00 UTC (07:00 in Vietnam, the same day), ms since the Unix epoch.
pub const REFERENCE_MS: i64 = 1_772_323_200_000;

/// Default share of records with a data-quality problem.
pub const DEFAULT_PROBLEM_SHARE: f64 = 0.02;

/// A data-quality problem planted on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Problem {
    /// Digit 4 (sex/century) or digits 5–6 (birth year) of the ID number disagree with the
    /// record.
    IdDigitMismatch,
    /// A temporary registration (or extension) longer than 2 years.
    TemporaryStayTooLong,
    /// A household whose members include no head.
    HouseholdWithoutHead,
}

/// Family names with their share in percent (national figures; in the north Hoàng and Vũ
/// are far commoner than their southern forms Huỳnh and Võ).
pub const FAMILY_NAMES: &[(&str, f64)] = &[
    ("Nguyễn", 38.4),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Hoàng", 4.6),
    ("Huỳnh", 0.5),
    ("Vũ", 3.4),
    ("Võ", 0.5),
    ("Phan", 2.8),
    ("Trương", 1.4),
    ("Bùi", 2.0),
    ("Đặng", 2.1),
    ("Đỗ", 1.4),
    ("Ngô", 1.3),
    ("Hồ", 1.3),
    ("Dương", 1.0),
    ("Đinh", 1.0),
    ("Đào", 0.9),
    ("Lương", 0.7),
    ("Mai", 0.6),
    ("Trịnh", 0.7),
    ("Lý", 0.5),
    ("Đoàn", 0.7),
    ("Vương", 0.4),
    ("Cao", 0.5),
    ("Lưu", 0.4),
    ("Tạ", 0.3),
    ("Phùng", 0.4),
    ("Hà", 0.6),
    ("Tô", 0.3),
    ("Chu", 0.3),
    ("Lâm", 0.3),
    ("Quách", 0.2),
    ("Triệu", 0.3),
    ("Nghiêm", 0.2),
    ("Khúc", 0.1),
];

const MALE_MIDDLE: &[&str] = &[
    "Đức", "Hữu", "Minh", "Quang", "Thanh", "Ngọc", "Xuân", "Công", "Đình", "Duy", "Mạnh", "Tiến",
    "Trung", "Hoàng", "Anh", "Quốc", "Thế", "Gia", "Bảo", "Việt",
];
const FEMALE_MIDDLE: &[&str] = &[
    "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Hồng", "Thùy", "Bảo", "Khánh", "Mai", "Kim", "Thúy",
    "Hải", "Diệu", "Lan", "Quỳnh", "Hoài", "Thảo",
];
const MALE_GIVEN: &[&str] = &[
    "Hùng", "Dũng", "Tuấn", "Minh", "Nam", "Long", "Hải", "Sơn", "Thắng", "Quân", "Cường", "Đức",
    "Phong", "Trung", "Hiếu", "Huy", "Khoa", "Bình", "Thành", "Tùng", "Việt", "Phúc", "Khánh",
    "An", "Đạt", "Hưng", "Lâm", "Vinh", "Quang", "Toàn", "Tài", "Lợi", "Thịnh", "Hoàng", "Kiên",
    "Nghĩa", "Chiến", "Dương", "Tú", "Bảo", "Khôi", "Đăng", "Hòa", "Thuận", "Tiến",
];
const FEMALE_GIVEN: &[&str] = &[
    "Lan", "Hương", "Hoa", "Hà", "Linh", "Mai", "Thảo", "Trang", "Ngọc", "Huyền", "Phương",
    "Nhung", "Yến", "Hằng", "Loan", "Thủy", "Anh", "Vy", "Chi", "Giang", "Nga", "Oanh", "Thu",
    "Uyên", "Diệp", "Quỳnh", "Ánh", "Hạnh", "Nhi", "Tuyết", "Liên", "Dung", "Hiền", "Thơm", "Nụ",
    "Huệ", "Vân", "Trâm", "My", "Ngân", "Hồng", "Thắm",
];

/// Provinces of birth registration other than Quảng Ninh, with weights: neighbours and the
/// usual migration sources.
const OTHER_PROVINCES: &[(&str, f64)] = &[
    ("031", 4.0),
    ("030", 2.0),
    ("034", 2.0),
    ("036", 1.5),
    ("024", 1.0),
    ("033", 1.0),
    ("001", 1.0),
    ("038", 0.8),
    ("020", 0.6),
    ("040", 0.5),
    ("037", 0.3),
    ("079", 0.3),
];

const ETHNICITIES: &[(&str, f64)] = &[
    ("Kinh", 96.0),
    ("Sán Dìu", 1.5),
    ("Tày", 1.0),
    ("Dao", 0.5),
    ("Hoa", 0.5),
    ("Sán Chay", 0.5),
];
const RELIGIONS: &[(&str, f64)] = &[("Không", 88.0), ("Phật giáo", 8.0), ("Công giáo", 4.0)];
const BLOOD_TYPES: &[(&str, f64)] = &[
    ("O", 42.0),
    ("B", 30.0),
    ("A", 21.0),
    ("AB", 5.0),
    ("unknown", 2.0),
];
const HOUSEHOLD_SIZES: &[(usize, f64)] = &[
    (1, 10.0),
    (2, 18.0),
    (3, 22.0),
    (4, 25.0),
    (5, 13.0),
    (6, 7.0),
    (7, 5.0),
];
const PHONE_PREFIXES: &[&str] = &[
    "090", "091", "093", "094", "096", "097", "098", "086", "088", "032", "033", "034", "035",
    "036", "037", "038", "039", "070", "076", "077", "078", "079", "081", "082", "083", "084",
    "085",
];

/// Weighted pick from `(item, weight)` pairs.
fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen_range(0.0..total);
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

fn one<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or("")
}

// --- dates ------------------------------------------------------------------------------

/// A calendar day (the model's [`Date`], whose arithmetic is `jiff`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Day(Date);

/// 1970-01-01, a fallback that generated dates (years 1900–2026) never reach.
fn epoch() -> Date {
    Date::new(1970, 1, 1).unwrap_or_else(|| unreachable!("1970-01-01 is a date"))
}

impl Day {
    fn ymd(y: i32, m: u32, d: u32) -> Day {
        let (m, d) = (u8::try_from(m).unwrap_or(1), u8::try_from(d).unwrap_or(1));
        Day(Date::new(y, m, d).unwrap_or_else(epoch))
    }
    fn parse(s: &str) -> Day {
        Day(Date::parse(s).unwrap_or_else(epoch))
    }
    fn iso(self) -> String {
        self.0.to_string()
    }
    fn year(self) -> i32 {
        self.0.year()
    }
    fn plus(self, days: i64) -> Day {
        Day(self.0.add_days(days).unwrap_or(self.0))
    }
    /// Same month and day `years` later (28 Feb for 29 Feb in a common year).
    fn plus_years(self, years: i32) -> Day {
        Day(self.0.add_years(years).unwrap_or(self.0))
    }
}

fn today() -> Day {
    Day::parse(REFERENCE_DATE)
}

/// A birth date for someone `age` years old on the reference date.
fn birth_for_age(rng: &mut ChaCha8Rng, age: i32) -> Day {
    let latest = today().plus_years(-age);
    latest.plus(-rng.gen_range(0..365))
}

/// A first card for a child of 6 to 13 (Identification Law Art. 19: lawful under 14, through
/// a legal representative), for a few children with a parent in the household: the parent
/// applies for them, and fingerprints and iris are taken (from 6). Drawn from the child's own
/// generator (seeded by the record id), so every other generated value stays as it was.
fn child_application(people: &[Person], i: usize, unit: &str) -> Option<Record> {
    let p = &people[i];
    let mut rng = ChaCha8Rng::seed_from_u64(p.id.as_u64_pair().1 ^ 0x00c4_11d0_a991);
    if !(6..14).contains(&p.age()) || !rng.gen_bool(0.04) {
        return None;
    }
    let parent = &people[p.father.or(p.mother)?];
    // Filed on or after the 6th birthday: biometrics are taken from 6.
    let filed = today()
        .plus(-rng.gen_range(0..120))
        .max(p.born.plus_years(6));
    let mut f = Fields::new();
    for (k, v) in [
        ("citizen_id", p.id.to_string()),
        ("request_type", "first_issue".into()),
        (
            "reason",
            "Cấp thẻ Căn cước cho trẻ em dưới 14 tuổi theo đề nghị của cha mẹ".into(),
        ),
        ("full_name", p.full_name.clone()),
        ("id_number", p.id_number.clone()),
        ("date_of_birth", p.born.iso()),
        ("sex", p.sex.as_str().into()),
        ("filed_on", filed.iso()),
        ("representative_name", parent.full_name.clone()),
        ("representative_id_number", parent.id_number.clone()),
        ("status", "submitted".into()),
    ] {
        f.insert(k.to_owned(), Value::Text(v));
    }
    f.insert("fee_paid".into(), Value::Bool(true));
    f.insert("fingerprints_taken".into(), Value::Bool(true));
    f.insert("iris_taken".into(), Value::Bool(true));
    let mut bytes = [0u8; 10];
    rng.fill(&mut bytes);
    let ms = REFERENCE_MS - rng.gen_range(0..2 * 365 * 86_400_000i64);
    Some(Record {
        id: uuid::Builder::from_unix_timestamp_millis(ms as u64, &bytes).into_uuid(),
        kind: Kind::CccdApplication,
        unit: unit.to_owned(),
        fields: f,
    })
}

/// The ID-number notice (seed plan 4.6) and the VNeID account (seed 2.3) of a citizen, in
/// plausible shares: ~90% told their number, of the 14+ ~55% level 2, ~10% level 1, ~15%
/// `none` recorded, the rest not recorded; a few children with a level-2 account made by a
/// parent. Drawn from a generator of the person's own (seeded by the record id), so adding
/// these fields left every other generated value as it was.
fn notice_and_vneid(p: &Person, f: &mut Fields) {
    let mut rng = ChaCha8Rng::seed_from_u64(p.id.as_u64_pair().1 ^ 0x005e_ed0f_7e1d);
    let (born, age, end) = (p.born, p.age(), today().plus(-1));
    // The notice campaign of 2022–2023, or a month after a later birth registration.
    let campaign = Day::ymd(2022, 3, 1).plus(rng.gen_range(0..640));
    let notified = campaign.max(born.plus(30));
    if rng.gen_bool(0.9) && notified <= end {
        f.insert("id_number_notified_on".into(), notified.iso().into());
    }
    let roll: f64 = rng.gen_range(0.0..1.0);
    let level = match (age >= 14, roll) {
        (true, r) if r < 0.55 => Some("level_2"),
        (true, r) if r < 0.65 => Some("level_1"),
        (true, r) if r < 0.80 => Some("none"),
        (false, r) if r < 0.10 => Some("level_2"),
        _ => None,
    };
    if let Some(level) = level {
        f.insert("vneid_level".into(), level.into());
        let activated = Day::ymd(2022, 6, 1)
            .plus(rng.gen_range(0..1300))
            .max(born.plus(1));
        if level != "none" && activated <= end {
            f.insert("vneid_activated_on".into(), activated.iso().into());
        }
    }
}

// --- people -----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sex {
    Male,
    Female,
}

impl Sex {
    fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
    fn other(self) -> Sex {
        match self {
            Sex::Male => Sex::Female,
            Sex::Female => Sex::Male,
        }
    }
}

/// One person while a household is being built.
#[derive(Debug, Clone)]
struct Person {
    id: Uuid,
    family: String,
    full_name: String,
    sex: Sex,
    born: Day,
    id_number: String,
    province: &'static str,
    relationship: &'static str,
    father: Option<usize>,
    mother: Option<usize>,
    spouse: Option<usize>,
    lodger: bool,
}

impl Person {
    fn age(&self) -> i32 {
        let t = today();
        let mut age = t.year() - self.born.year();
        if t.plus_years(-age) < self.born {
            age -= 1;
        }
        age
    }
}

/// A current ward and the old units (before 2025-07-01) that became part of it.
#[derive(Debug, Clone)]
struct Ward {
    code: String,
    name: String,
    weight: f64,
    old: Vec<(String, String, bool)>,
}

fn wards() -> Vec<Ward> {
    let cat = catalog();
    // Rough population weights of the six wards (larger merged wards weigh more).
    let weight = |code: &str| match code {
        "07132" => 1.3,
        "07135" => 0.9,
        "07147" => 1.1,
        "07168" => 1.2,
        "07180" => 1.0,
        "07183" => 1.1,
        _ => 1.0,
    };
    cat.current_units()
        .into_iter()
        .filter(|u| u.level == UnitLevel::Ward)
        .map(|u| {
            let old = cat
                .units()
                .iter()
                .filter(|o| {
                    o.valid_to.is_some() && matches!(o.level, UnitLevel::Ward | UnitLevel::Commune)
                })
                .filter(|o| {
                    cat.normalise(&o.code)
                        .first()
                        .is_some_and(|n| n.code == u.code)
                })
                .map(|o| {
                    (
                        o.code.clone(),
                        o.name.clone(),
                        o.level == UnitLevel::Commune,
                    )
                })
                .collect();
            Ward {
                code: u.code.clone(),
                name: u.name.clone(),
                weight: weight(&u.code),
                old,
            }
        })
        .collect()
}

/// Where a household lives.
#[derive(Debug, Clone)]
struct Home {
    unit: String,
    /// The address as written on the household's papers (old or new unit names).
    address: String,
    /// The unit code of that address (an old code for a pre-2025 address).
    address_unit: String,
    /// The address with today's unit name.
    current_address: String,
}

/// Options for [`Generator`].
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Seed of the random stream.
    pub seed: u64,
    /// Approximate share of records with a planted data-quality problem.
    pub problem_share: f64,
}

impl GenOptions {
    /// Defaults for a seed.
    pub fn new(seed: u64) -> Self {
        GenOptions {
            seed,
            problem_share: DEFAULT_PROBLEM_SHARE,
        }
    }
}

/// The seeded generator.
#[derive(Debug)]
pub struct Generator {
    rng: ChaCha8Rng,
    wards: Vec<Ward>,
    id_numbers: HashSet<String>,
    problem_share: f64,
    problems: Vec<(Uuid, Problem)>,
    citizens: usize,
}

/// Records of one household with their planted problems.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// The records, household by household.
    pub records: Vec<Record>,
    /// The records that carry a planted problem.
    pub problems: Vec<(Uuid, Problem)>,
    /// Number of citizen records.
    pub citizens: usize,
}

impl Generator {
    /// A generator for `opts`.
    pub fn new(opts: &GenOptions) -> Generator {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(opts.seed),
            wards: wards(),
            id_numbers: HashSet::new(),
            problem_share: opts.problem_share,
            problems: Vec::new(),
            citizens: 0,
        }
    }

    /// A generator with default options for `seed`.
    pub fn with_seed(seed: u64) -> Generator {
        Generator::new(&GenOptions::new(seed))
    }

    /// The problems planted so far.
    pub fn problems(&self) -> &[(Uuid, Problem)] {
        &self.problems
    }

    /// Citizens generated so far.
    pub fn citizens(&self) -> usize {
        self.citizens
    }

    /// The generator's random stream (for callers that draw edits).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// A deterministic UUIDv7 created some time in the two years before the reference date.
    fn uuid(&mut self) -> Uuid {
        let ms = REFERENCE_MS - self.rng.gen_range(0..2 * 365 * 86_400_000i64);
        let mut bytes = [0u8; 10];
        self.rng.fill(&mut bytes);
        uuid::Builder::from_unix_timestamp_millis(ms as u64, &bytes).into_uuid()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }

    fn name(&mut self, family: &str, sex: Sex, born: Day) -> String {
        let y = born.year();
        let (classic, p_classic, pool, given) = match sex {
            Sex::Male => (
                "Văn",
                if y < 1980 {
                    0.55
                } else if y < 2000 {
                    0.35
                } else {
                    0.12
                },
                MALE_MIDDLE,
                MALE_GIVEN,
            ),
            Sex::Female => (
                "Thị",
                if y < 1980 {
                    0.75
                } else if y < 2000 {
                    0.45
                } else {
                    0.18
                },
                FEMALE_MIDDLE,
                FEMALE_GIVEN,
            ),
        };
        let mut parts = vec![family.to_owned()];
        if self.chance(p_classic) {
            parts.push(classic.to_owned());
        } else {
            parts.push(one(&mut self.rng, pool).to_owned());
        }
        if self.chance(0.12) {
            let second = one(&mut self.rng, pool);
            if !parts.iter().any(|p| p == second) {
                parts.push(second.to_owned());
            }
        }
        let g = one(&mut self.rng, given);
        parts.push(g.to_owned());
        nfc(&parts.join(" "))
    }

    fn family_name(&mut self) -> String {
        (*pick(&mut self.rng, FAMILY_NAMES)).to_owned()
    }

    fn id_number(&mut self, province: &str, sex: Sex, born: Day) -> String {
        let year = born.year();
        let century = (year / 100 - 19) * 2;
        let digit = century + i32::from(sex == Sex::Female);
        for _ in 0..1000 {
            let random: u32 = self.rng.gen_range(0..1_000_000);
            let n = format!("{province}{digit}{:02}{random:06}", year % 100);
            if self.id_numbers.insert(n.clone()) {
                return n;
            }
        }
        // Unreachable in practice (a million numbers per province, sex and birth year).
        format!("{province}{digit}{:02}000000", year % 100)
    }

    fn person(
        &mut self,
        family: Option<String>,
        sex: Sex,
        age: i32,
        relationship: &'static str,
    ) -> Person {
        let family = family.unwrap_or_else(|| self.family_name());
        let born = birth_for_age(&mut self.rng, age.clamp(0, 99));
        let province = if self.chance(0.85) {
            "022"
        } else {
            pick(&mut self.rng, OTHER_PROVINCES)
        };
        let full_name = self.name(&family, sex, born);
        let id_number = self.id_number(province, sex, born);
        Person {
            id: self.uuid(),
            family,
            full_name,
            sex,
            born,
            id_number,
            province,
            relationship,
            father: None,
            mother: None,
            spouse: None,
            lodger: relationship == "lodger",
        }
    }

    fn home(&mut self) -> Home {
        let weighted: Vec<(usize, f64)> = self
            .wards
            .iter()
            .enumerate()
            .map(|(i, w)| (i, w.weight))
            .collect();
        let ward = self.wards[*pick(&mut self.rng, &weighted)].clone();
        let number = self.rng.gen_range(1..=250);
        let khu = self.rng.gen_range(1..=12);
        let as_captured_old = self.chance(0.3) && !ward.old.is_empty();
        let current_address = format!("Số {number}, Khu {khu}, {}, Tỉnh Quảng Ninh", ward.name);
        let (address, address_unit) = if as_captured_old {
            let (code, name, commune) = ward.old[self.rng.gen_range(0..ward.old.len())].clone();
            let place = if commune {
                format!("Thôn {}", self.rng.gen_range(1..=9))
            } else {
                format!("Số {number}, Khu {khu}")
            };
            (
                format!("{place}, {name}, Thị xã Quảng Yên, Tỉnh Quảng Ninh"),
                code,
            )
        } else {
            (current_address.clone(), ward.code.clone())
        };
        Home {
            unit: ward.code,
            address: nfc(&address),
            address_unit,
            current_address: nfc(&current_address),
        }
    }

    /// The people of one household: the head first.
    fn people(&mut self) -> Vec<Person> {
        let size = *pick(&mut self.rng, HOUSEHOLD_SIZES);
        let mut people: Vec<Person> = Vec::with_capacity(size);
        let head_sex = if size == 1 {
            if self.chance(0.55) {
                Sex::Female
            } else {
                Sex::Male
            }
        } else if self.chance(0.72) {
            Sex::Male
        } else {
            Sex::Female
        };
        let head_age = if size == 1 {
            self.rng.gen_range(20..=90)
        } else {
            self.rng.gen_range(24..=82)
        };
        people.push(self.person(None, head_sex, head_age, "head"));
        if size == 1 {
            return people;
        }
        // Spouse.
        let mut spouse = None;
        if self.chance(0.85) {
            // Of marriageable age (Marriage and Family Law Art. 8(1)(a): men 20, women 18).
            let floor = if head_sex.other() == Sex::Male {
                20
            } else {
                19
            };
            let age = (head_age + self.rng.gen_range(-6..=4)).max(floor);
            let mut p = self.person(None, head_sex.other(), age, "spouse");
            p.spouse = Some(0);
            people.push(p);
            people[0].spouse = Some(1);
            spouse = Some(1);
        }
        let (father, mother) = match (head_sex, spouse) {
            (Sex::Male, s) => (Some(0), s),
            (Sex::Female, s) => (s, Some(0)),
        };
        let father_family =
            father.map_or_else(|| people[0].family.clone(), |f| people[f].family.clone());
        // The head's parent lives with them sometimes.
        if people.len() < size && head_age < 60 && self.chance(0.12) {
            let sex = if self.chance(0.6) {
                Sex::Female
            } else {
                Sex::Male
            };
            let age = (head_age + self.rng.gen_range(22..=34)).min(98);
            let family = match (sex, head_sex) {
                (Sex::Male, Sex::Male) => Some(people[0].family.clone()),
                _ => None,
            };
            let p = self.person(family, sex, age, "parent");
            people.push(p);
        }
        // Lodger.
        if people.len() < size && self.chance(0.05) {
            let age = self.rng.gen_range(18..=45);
            let sex = if self.chance(0.5) {
                Sex::Male
            } else {
                Sex::Female
            };
            let p = self.person(None, sex, age, "lodger");
            people.push(p);
        }
        // Children (adult children may bring a spouse and grandchildren).
        let mut youngest_parent_age = head_age;
        if let Some(s) = spouse {
            youngest_parent_age = youngest_parent_age.min(people[s].age());
        }
        let mut guard = 0;
        while people.len() < size && guard < 20 {
            guard += 1;
            let max_child_age = (youngest_parent_age - 19).max(0);
            let age = if max_child_age == 0 {
                0
            } else {
                self.rng.gen_range(0..=max_child_age.min(45))
            };
            let sex = if self.chance(0.51) {
                Sex::Male
            } else {
                Sex::Female
            };
            let mut child = self.person(Some(father_family.clone()), sex, age, "child");
            child.father = father;
            child.mother = mother;
            people.push(child);
            let child_idx = people.len() - 1;
            if age >= 24 && people.len() + 2 <= size && self.chance(0.6) {
                // Married child living with the parents: the in-law and grandchildren.
                let in_law_age = (age + self.rng.gen_range(-4..=4)).max(19);
                let mut in_law = self.person(None, sex.other(), in_law_age, "child_in_law");
                in_law.spouse = Some(child_idx);
                people.push(in_law);
                let in_law_idx = people.len() - 1;
                people[child_idx].spouse = Some(in_law_idx);
                let (gf, gm) = match sex {
                    Sex::Male => (child_idx, in_law_idx),
                    Sex::Female => (in_law_idx, child_idx),
                };
                let gfamily = people[gf].family.clone();
                let parents_age = age.min(in_law_age);
                while people.len() < size {
                    let gage = self.rng.gen_range(0..=(parents_age - 19).max(0));
                    let gsex = if self.chance(0.51) {
                        Sex::Male
                    } else {
                        Sex::Female
                    };
                    let mut g = self.person(Some(gfamily.clone()), gsex, gage, "grandchild");
                    g.father = Some(gf);
                    g.mother = Some(gm);
                    people.push(g);
                }
            }
        }
        people
    }

    /// Plants an ID digit mismatch on a person's number (sex digit flipped or wrong year).
    fn spoil_id_number(&mut self, p: &mut Person) {
        let mut digits: Vec<u8> = p.id_number.bytes().collect();
        if self.chance(0.6) {
            // Sex digit flipped: the most common keying error.
            digits[3] ^= 1;
        } else {
            let yy = (digits[4] - b'0') * 10 + (digits[5] - b'0');
            let wrong = (yy + self.rng.gen_range(1..=9)) % 100;
            digits[4] = b'0' + wrong / 10;
            digits[5] = b'0' + wrong % 10;
        }
        p.id_number = String::from_utf8(digits).unwrap_or_default();
    }

    fn phone(&mut self) -> String {
        let prefix = one(&mut self.rng, PHONE_PREFIXES);
        format!("{prefix}{:07}", self.rng.gen_range(0..10_000_000))
    }

    fn citizen(&mut self, people: &[Person], i: usize, home: &Home, household: Uuid) -> Record {
        let p = &people[i];
        let age = p.age();
        let mut f = Fields::new();
        let mut put = |k: &str, v: Value| {
            f.insert(k.to_owned(), v);
        };
        put("full_name", p.full_name.clone().into());
        put("id_number", p.id_number.clone().into());
        put("date_of_birth", p.born.iso().into());
        put("sex", p.sex.as_str().into());
        let province_name = sync_core::model::province_name(p.province).unwrap_or("Quảng Ninh");
        let place = if p.province == "022" {
            let towns = [
                "Thị xã Quảng Yên",
                "Thành phố Hạ Long",
                "Thành phố Uông Bí",
                "Thị xã Quảng Yên",
            ];
            format!("{}, Quảng Ninh", towns[self.rng.gen_range(0..towns.len())])
        } else {
            province_name.to_owned()
        };
        put("place_of_birth", nfc(&place).into());
        put("birth_registration_place", nfc(&place).into());
        let hometown = if self.chance(0.7) {
            province_name.to_owned()
        } else {
            sync_core::model::province_name(pick::<&str>(&mut self.rng, OTHER_PROVINCES))
                .unwrap_or("Quảng Ninh")
                .to_owned()
        };
        put("hometown", nfc(&hometown).into());
        put("ethnicity", (*pick(&mut self.rng, ETHNICITIES)).into());
        put("religion", (*pick(&mut self.rng, RELIGIONS)).into());
        put("nationality", "Việt Nam".into());
        put("blood_type", (*pick(&mut self.rng, BLOOD_TYPES)).into());
        if p.born.year() < 2002 && age >= 14 && self.chance(0.5) {
            put(
                "old_id_number",
                format!("1{:08}", self.rng.gen_range(0..100_000_000)).into(),
            );
        }
        if age >= 14 && self.chance(0.6) {
            // The previous card: issued in the 2021 campaign or at an earlier age milestone.
            let issued = Day::ymd(
                self.rng.gen_range(2016..=2022),
                self.rng.gen_range(1..=12),
                self.rng.gen_range(1..=28),
            );
            // Never before the 14th birthday; valid until the age Art. 21 gives.
            let issued = issued.max(p.born.plus_years(14));
            put("previous_card_issued_on", issued.iso().into());
            if let Some(until) = sync_core::model::rules::card_valid_until(p.born.0, issued.0) {
                put("previous_card_expires_on", until.to_string().into());
            }
        }
        if let Some(fi) = p.father {
            put("father_name", people[fi].full_name.clone().into());
            if age < 18 {
                put("father_id_number", people[fi].id_number.clone().into());
            }
        }
        if let Some(mi) = p.mother {
            put("mother_name", people[mi].full_name.clone().into());
            if age < 18 {
                put("mother_id_number", people[mi].id_number.clone().into());
            }
        }
        if age < 14
            && let Some(rep) = p.father.or(p.mother)
        {
            put("representative_name", people[rep].full_name.clone().into());
            put(
                "representative_id_number",
                people[rep].id_number.clone().into(),
            );
        }
        let marital = if let Some(si) = p.spouse {
            put("spouse_name", people[si].full_name.clone().into());
            put("spouse_id_number", people[si].id_number.clone().into());
            "married"
        } else if age < 20 {
            "single"
        } else if age > 65 && self.chance(0.6) {
            "widowed"
        } else if age > 30 && self.chance(0.15) {
            "divorced"
        } else {
            "single"
        };
        put("marital_status", marital.into());
        if p.lodger {
            // A lodger keeps a permanent residence elsewhere and is registered here temporarily.
            let province =
                sync_core::model::province_name(pick::<&str>(&mut self.rng, OTHER_PROVINCES))
                    .unwrap_or("Hải Phòng");
            put(
                "permanent_address",
                nfc(&format!(
                    "Thôn {}, xã {}, Tỉnh {province}",
                    self.rng.gen_range(1..=9),
                    one(
                        &mut self.rng,
                        &["Đông Hưng", "Tân Lập", "An Hòa", "Thanh Sơn", "Hợp Tiến"]
                    )
                ))
                .into(),
            );
            put("temporary_address", home.current_address.clone().into());
            put("temporary_unit", home.unit.clone().into());
        } else {
            put("permanent_address", home.address.clone().into());
            put("permanent_unit", home.address_unit.clone().into());
        }
        put("current_address", home.current_address.clone().into());
        put("household_id", household.to_string().into());
        put("relationship_to_head", p.relationship.into());
        if age >= 16 && self.chance(0.85) {
            let phone = self.phone();
            f.insert("phone".into(), phone.into());
        }
        if (18..=45).contains(&age) && self.chance(0.1) {
            let key: String = search_key(&p.full_name)
                .split(' ')
                .collect::<Vec<_>>()
                .join(".");
            let email = format!("{key}{}@gmail.com", self.rng.gen_range(1..999));
            f.insert("email".into(), email.into());
        }
        notice_and_vneid(p, &mut f);
        f.insert("status".into(), "active".into());
        Record {
            id: p.id,
            kind: Kind::Citizen,
            unit: home.unit.clone(),
            fields: f,
        }
    }

    fn application(&mut self, p: &Person, unit: &str) -> Record {
        let age = p.age();
        let (request_type, reason) = if age <= 15 {
            ("first_issue", "Cấp thẻ lần đầu (đủ 14 tuổi)")
        } else if self.chance(0.72) {
            let reasons = [
                "Đủ tuổi đổi thẻ",
                "Chuyển từ thẻ Căn cước công dân sang thẻ Căn cước",
                "Thay đổi thông tin nơi thường trú",
                "Sai sót thông tin trên thẻ",
                "Theo yêu cầu của công dân",
            ];
            ("replacement", reasons[self.rng.gen_range(0..reasons.len())])
        } else {
            let reasons = ["Mất thẻ", "Thẻ bị hư hỏng không sử dụng được"];
            ("reissue", reasons[self.rng.gen_range(0..reasons.len())])
        };
        // A few older people confirm their old 9-digit CMND number instead (the seed plan's
        // first procedure), drawn from the person's own generator so that no other
        // generated value changes.
        let mut own = ChaCha8Rng::seed_from_u64(p.id.as_u64_pair().1 ^ 0x00c3_dc0f_1e4d);
        let confirm = request_type != "first_issue" && p.born.year() < 1990 && own.gen_bool(0.06);
        let (request_type, reason) = if confirm {
            ("cmnd_confirmation", "Xác nhận số Chứng minh nhân dân 9 số")
        } else {
            (request_type, reason)
        };
        let mut filed = today().plus(-self.rng.gen_range(0..180));
        if request_type == "first_issue" {
            // Filed on or after the 14th birthday.
            filed = filed.max(p.born.plus_years(14));
        }
        let statuses = [
            ("draft", 10.0),
            ("collected", 33.0),
            ("submitted", 30.0),
            ("accepted", 12.0),
            ("card_issued", 9.0),
            ("returned", 6.0),
        ];
        let status = *pick(&mut self.rng, &statuses);
        let mut f = Fields::new();
        let mut put = |k: &str, v: Value| {
            f.insert(k.to_owned(), v);
        };
        put("citizen_id", p.id.to_string().into());
        put("request_type", request_type.into());
        put("reason", reason.into());
        put("full_name", p.full_name.clone().into());
        put("id_number", p.id_number.clone().into());
        put("date_of_birth", p.born.iso().into());
        put("sex", p.sex.as_str().into());
        put("filed_on", filed.iso().into());
        let wait = self.rng.gen_range(7..=20);
        put("appointment_on", filed.plus(wait).iso().into());
        let paid = self.rng.gen_bool(0.85);
        put("fee_paid", paid.into());
        put(
            "old_card_collected",
            (request_type == "replacement" && status != "draft").into(),
        );
        put("status", status.into());
        // The legal ground that goes with the reason (Identification Law Art. 24); drawn
        // from nothing, so no other generated value changes.
        let ground = match reason {
            "Đủ tuổi đổi thẻ" => Some("exchange_age"),
            "Sai sót thông tin trên thẻ" => Some("exchange_printing_error"),
            "Mất thẻ" | "Thẻ bị hư hỏng không sử dụng được" => {
                Some("reissue_lost_or_damaged")
            }
            _ if request_type == "replacement" => Some("exchange_on_request"),
            _ => None,
        };
        if let Some(g) = ground {
            put("ground", g.into());
        }
        if confirm {
            put(
                "cmnd_number",
                format!("1{:08}", own.gen_range(0..100_000_000)).into(),
            );
        }
        Record {
            id: self.uuid(),
            kind: Kind::CccdApplication,
            unit: unit.to_owned(),
            fields: f,
        }
    }

    /// A person's declaration, and before it the registration it acts on when it is an
    /// extension or a removal (Residence Law Arts. 24, 28, 29: it names that registration).
    /// Temporary procedures are for lodgers, whose permanent residence is elsewhere (a
    /// temporary residence in the commune of permanent residence is unlawful, Art. 27(1)).
    fn declarations(&mut self, p: &Person, head: &Person, home: &Home) -> Vec<Record> {
        let resident = [
            ("permanent_registration", 20.0),
            ("stay_notice", 15.0),
            ("temporary_absence", 10.0),
            // Typed procedures (issue 11): removals split by registration, separations,
            // adjustments after the 2025 reorganisation, boat dwellers' declarations; a few
            // legacy untyped `removal` records still arrive from old exports.
            ("permanent_removal", 5.0),
            ("household_separation", 2.0),
            ("adjustment", 4.0),
            ("residence_information", 1.0),
            ("removal", 1.0),
        ];
        let lodger = [
            ("temporary_registration", 45.0),
            ("extension", 25.0),
            ("temporary_removal", 30.0),
        ];
        let procedure = *pick(
            &mut self.rng,
            if p.lodger { &lodger[..] } else { &resident[..] },
        );
        let from = today().plus(-self.rng.gen_range(1..800));
        let mut out = Vec::new();
        let acts_on = match procedure {
            "extension" | "temporary_removal" => Some("temporary_registration"),
            "permanent_removal" => Some("permanent_registration"),
            _ => None,
        };
        let registration = acts_on.map(|reg| {
            let r = self.declaration(p, head, home, reg, from.plus(-365), Some("accepted"), None);
            let id = r.id;
            out.push(r);
            id
        });
        out.push(self.declaration(p, head, home, procedure, from, None, registration));
        out
    }

    /// One declaration of `procedure` from `from`; `status` when given, else a drawn one;
    /// naming `registration` when it acts on one.
    #[allow(clippy::too_many_arguments)]
    fn declaration(
        &mut self,
        p: &Person,
        head: &Person,
        home: &Home,
        procedure: &str,
        from: Day,
        status: Option<&str>,
        registration: Option<Uuid>,
    ) -> Record {
        let mut f = Fields::new();
        let mut too_long = false;
        let to = match procedure {
            "temporary_registration" | "extension" => {
                if self.chance(self.problem_share * 5.0) {
                    too_long = true;
                    Some(from.plus_years(2).plus(self.rng.gen_range(30..400)))
                } else {
                    let months = self.rng.gen_range(3..=24);
                    Some(from.plus(months * 30).min(from.plus_years(2)))
                }
            }
            "temporary_absence" => Some(from.plus(self.rng.gen_range(30..366))),
            "stay_notice" => Some(from.plus(self.rng.gen_range(1..10))),
            _ => None,
        };
        let (address, address_unit) = match procedure {
            "temporary_absence" => (
                nfc(&format!(
                    "Khu công nghiệp {}, Tỉnh {}",
                    one(
                        &mut self.rng,
                        &["Đình Vũ", "VSIP", "Tràng Duệ", "Đông Xuyên", "Nam Cầu Kiền"]
                    ),
                    one(&mut self.rng, &["Hải Phòng", "Bắc Ninh", "Hải Dương"])
                )),
                home.unit.clone(),
            ),
            _ if self.chance(0.2) => (home.address.clone(), home.address_unit.clone()),
            _ => (home.current_address.clone(), home.unit.clone()),
        };
        let mut put = |k: &str, v: Value| {
            f.insert(k.to_owned(), v);
        };
        put("citizen_id", p.id.to_string().into());
        put("procedure", procedure.into());
        put("address", address.into());
        put("address_unit", address_unit.into());
        put("from_date", from.iso().into());
        if let Some(to) = to {
            put("to_date", to.iso().into());
        }
        let reason = match procedure {
            "temporary_registration" | "extension" => "Đi làm việc tại địa phương",
            "permanent_registration" => "Về ở cùng gia đình",
            "stay_notice" => "Thăm người thân",
            "temporary_absence" => "Đi làm ăn xa",
            _ => "Chuyển đi nơi khác",
        };
        put("reason", reason.into());
        if matches!(
            procedure,
            "temporary_registration" | "extension" | "stay_notice"
        ) {
            put("host_name", head.full_name.clone().into());
        }
        let ground = match procedure {
            "permanent_removal" => Some(one(
                &mut self.rng,
                &[
                    "perm_b_emigrated",
                    "perm_d_absent_12_months",
                    "perm_f_rental_or_hosting_ended",
                ],
            )),
            "temporary_removal" => Some(one(
                &mut self.rng,
                &["temp_rental_or_hosting_ended", "temp_absent_6_months"],
            )),
            _ => None,
        };
        if let Some(g) = ground {
            put("ground", g.into());
        }
        // A member registering into the household has its head's consent (form CT01).
        if matches!(
            procedure,
            "permanent_registration" | "temporary_registration"
        ) && p.id != head.id
        {
            put("head_consent", true.into());
        }
        match procedure {
            "household_separation" => put("head_consent", true.into()),
            "adjustment" => put(
                "adjustment_type",
                if home.address_unit == home.unit {
                    "civil_status"
                } else {
                    "address_renamed"
                }
                .into(),
            ),
            "residence_information" => {
                put("residence_basis", "vessel".into());
                put(
                    "vessel_registration_number",
                    format!("QN-9{:04}-TS", self.rng.gen_range(0..10_000)).into(),
                );
            }
            "stay_notice" => {
                // The guest as the notice names them (Art. 30: name and ID or passport
                // number), whether or not the commune holds a citizen record of theirs.
                put("guest_name", p.full_name.clone().into());
                put("guest_id_number", p.id_number.clone().into());
                // Arrived in the evening, notified the same evening (Art. 30: before 23:00).
                let hour = self.rng.gen_range(14..22);
                put(
                    "arrival_time",
                    format!("{}T{hour:02}:10", from.iso()).into(),
                );
                put(
                    "notified_time",
                    format!("{}T{:02}:40", from.iso(), hour).into(),
                );
            }
            _ => {}
        }
        // Filed on the first day; due by the legal limit in working days.
        put("filed_on", from.iso().into());
        if let Some(due) = sync_core::model::working_days::due_on(procedure, from.0) {
            put("due_on", due.to_string().into());
        }
        if procedure == "temporary_registration" {
            put("owner_consent", true.into());
            put("floor_area_m2", Value::Int(self.rng.gen_range(20..=150)));
            put("persons", Value::Int(self.rng.gen_range(1..=4)));
        }
        let statuses = [
            ("draft", 8.0),
            ("submitted", 40.0),
            ("accepted", 47.0),
            ("rejected", 3.0),
            ("withdrawn", 2.0),
        ];
        let drawn = *pick(&mut self.rng, &statuses);
        let status = status.unwrap_or(drawn);
        if let Some(r) = registration {
            f.insert("registration_id".into(), r.to_string().into());
        }
        if status == "rejected" {
            f.insert(
                "refusal_reason".into(),
                "Hồ sơ chưa đủ giấy tờ chứng minh chỗ ở hợp pháp".into(),
            );
        }
        f.insert("status".into(), status.into());
        let id = self.uuid();
        if too_long {
            self.problems.push((id, Problem::TemporaryStayTooLong));
        }
        Record {
            id,
            kind: Kind::ResidenceDeclaration,
            unit: home.unit.clone(),
            fields: f,
        }
    }

    /// One household and everything about its people, as records: the household first, then
    /// its citizens, their applications and their declarations.
    pub fn household(&mut self) -> Vec<Record> {
        let home = self.home();
        let mut people = self.people();
        let share = self.problem_share;
        let mut spoiled = Vec::new();
        for (i, p) in people.iter_mut().enumerate() {
            if self.rng.gen_bool(share.clamp(0.0, 1.0)) {
                self.spoil_id_number(p);
                spoiled.push(i);
            }
        }
        let household_id = self.uuid();
        let without_head = self.chance(share * 1.25);
        let mut members = BTreeMap::new();
        for p in &people {
            if without_head && p.relationship == "head" {
                continue;
            }
            let mut entry = BTreeMap::new();
            entry.insert("relationship".to_owned(), Value::from(p.relationship));
            members.insert(p.id.to_string(), Value::Map(entry));
        }
        let mut hf = Fields::new();
        hf.insert("address".into(), home.address.clone().into());
        hf.insert("head_id".into(), people[0].id.to_string().into());
        hf.insert("members".into(), Value::Map(members));
        hf.insert("status".into(), "active".into());
        let mut out = vec![Record {
            id: household_id,
            kind: Kind::Household,
            unit: home.unit.clone(),
            fields: hf,
        }];
        if without_head {
            self.problems
                .push((household_id, Problem::HouseholdWithoutHead));
        }
        for i in 0..people.len() {
            let r = self.citizen(&people, i, &home, household_id);
            if spoiled.contains(&i) {
                self.problems.push((r.id, Problem::IdDigitMismatch));
            }
            out.push(r);
        }
        self.citizens += people.len();
        let mut applications = Vec::new();
        for (i, p) in people.iter().enumerate() {
            if p.age() >= 14 && self.chance(0.15) {
                let r = self.application(p, &home.unit);
                if spoiled.contains(&i) {
                    self.problems.push((r.id, Problem::IdDigitMismatch));
                }
                applications.push(r);
            } else if let Some(r) = child_application(&people, i, &home.unit) {
                if spoiled.contains(&i) {
                    self.problems.push((r.id, Problem::IdDigitMismatch));
                }
                applications.push(r);
            }
        }
        let mut declarations = Vec::new();
        for p in &people {
            if p.lodger || self.chance(0.09) {
                declarations.extend(self.declarations(p, &people[0], &home));
            }
        }
        out.extend(applications);
        out.extend(declarations);
        out
    }

    /// Households until at least `citizens` citizens exist.
    pub fn dataset(&mut self, citizens: usize) -> Dataset {
        let mut records = Vec::new();
        let start = self.citizens;
        let problems_before = self.problems.len();
        while self.citizens - start < citizens {
            records.extend(self.household());
        }
        Dataset {
            records,
            problems: self.problems[problems_before..].to_vec(),
            citizens: self.citizens - start,
        }
    }

    /// Exactly `n` records (whole households, the last one possibly cut short).
    pub fn records(&mut self, n: usize) -> Vec<Record> {
        let mut records = Vec::with_capacity(n + 16);
        while records.len() < n {
            records.extend(self.household());
        }
        records.truncate(n);
        records
    }

    /// A small, realistic edit of an existing record that any officer may make: a new phone
    /// number, an appointment moved, a note. Never touches frozen or reviewed fields, so the
    /// server accepts it from an officer of the record's unit.
    pub fn small_edit(&mut self, record: &Record) -> Vec<Edit> {
        let set = |field: &str, value: Value| Edit::Set {
            field: field.to_owned(),
            value,
        };
        let note = |rng: &mut ChaCha8Rng| {
            let notes = [
                "Đã xác minh tại nhà",
                "Hẹn bổ sung giấy tờ",
                "Đã gọi điện xác nhận",
                "Cập nhật theo phiếu DC01",
                "Chờ chủ hộ ký xác nhận",
            ];
            Value::from(format!(
                "{} ({})",
                notes[rng.gen_range(0..notes.len())],
                rng.gen_range(1..1000)
            ))
        };
        match record.kind {
            Kind::Citizen => {
                if self.chance(0.7) {
                    let phone = self.phone();
                    vec![set("phone", phone.into())]
                } else {
                    vec![set("notes", note(&mut self.rng))]
                }
            }
            Kind::CccdApplication => {
                let day = today().plus(self.rng.gen_range(1..30));
                vec![set("appointment_on", day.iso().into())]
            }
            Kind::Household | Kind::ResidenceDeclaration => vec![set("notes", note(&mut self.rng))],
        }
    }
}

/// `citizens` citizens' worth of records for `seed`, with default options.
pub fn generate(seed: u64, citizens: usize) -> Dataset {
    Generator::with_seed(seed).dataset(citizens)
}

/// Exactly `n` records for `seed`, with default options (for benchmarks).
pub fn records(seed: u64, n: usize) -> Vec<Record> {
    Generator::with_seed(seed).records(n)
}

/// One JSON object per line: the form of `ferry-gen` output and of the benchmark floor.
pub fn to_json_lines(records: &[Record]) -> String {
    let mut out = String::with_capacity(records.len() * 900);
    for r in records {
        // A Record always serialises (string keys, plain values).
        out.push_str(&serde_json::to_string(r).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Makes an officer-created record of a generated one: statuses only office staff may set
/// become `submitted` (the benchmarks' devices work as officers).
pub fn as_officer(mut r: Record) -> Record {
    let allowed: &[&str] = match r.kind {
        Kind::CccdApplication => &["draft", "collected", "submitted"],
        Kind::ResidenceDeclaration => &["draft", "submitted"],
        _ => return r,
    };
    if !r.status().is_some_and(|s| allowed.contains(&s)) {
        r.fields.insert("status".into(), Value::from("submitted"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use sync_core::model::{ValidationContext, validate};

    fn ctx() -> ValidationContext {
        ValidationContext::new(REFERENCE_DATE)
    }

    #[test]
    fn the_reference_constants_agree() {
        assert_eq!(sync_core::time::local_date(REFERENCE_MS), REFERENCE_DATE);
        assert_eq!(Day::parse("2024-02-29").plus_years(1).iso(), "2025-02-28");
        assert_eq!(Day::parse("2026-03-01").plus(-1).iso(), "2026-02-28");
    }

    #[test]
    fn every_generated_record_passes_structural_validation() {
        let data = generate(7, 3000);
        assert!(data.records.len() > 3000);
        for r in &data.records {
            let mut n = r.clone();
            sync_core::model::normalise(&mut n);
            assert_eq!(&n, r, "records are generated already normalised");
            if let Err(e) = validate(r, &ctx()) {
                panic!("{} {}: {e:?}", r.kind, r.id);
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_records_and_another_seed_does_not() {
        let a = to_json_lines(&generate(42, 500).records);
        let b = to_json_lines(&generate(42, 500).records);
        let c = to_json_lines(&generate(43, 500).records);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(records(9, 1234).len(), 1234);
        assert_eq!(records(9, 1234), records(9, 1234));
    }

    #[test]
    fn most_citizens_were_told_their_id_number_and_over_half_the_adults_have_a_vneid_account() {
        let data = generate(3, 5_000);
        let citizens: Vec<&Record> = data
            .records
            .iter()
            .filter(|r| r.kind == Kind::Citizen)
            .collect();
        let share = |pred: &dyn Fn(&Record) -> bool, of: &[&Record]| {
            of.iter().filter(|r| pred(r)).count() as f64 / of.len() as f64
        };
        let told = share(&|r| r.text("id_number_notified_on").is_some(), &citizens);
        assert!((0.8..0.95).contains(&told), "told {told}");
        let adults: Vec<&Record> = citizens
            .iter()
            .copied()
            .filter(|r| {
                r.text("date_of_birth")
                    .and_then(Date::parse)
                    .is_some_and(|b| b.add_years(14).is_some_and(|d| d <= today().0))
            })
            .collect();
        let active = share(
            &|r| matches!(r.text("vneid_level"), Some("level_1" | "level_2")),
            &adults,
        );
        assert!((0.55..0.75).contains(&active), "VNeID among 14+ {active}");
        // Every activation day goes with a level, and no notice or activation is in the future.
        for r in &citizens {
            if r.text("vneid_activated_on").is_some() {
                assert_ne!(r.text("vneid_level").unwrap_or("none"), "none");
            }
            for f in ["id_number_notified_on", "vneid_activated_on"] {
                if let Some(d) = r.text(f) {
                    assert!(d < REFERENCE_DATE, "{f} {d}");
                }
            }
        }
    }

    #[test]
    fn family_names_follow_the_national_frequencies() {
        let data = generate(1, 20_000);
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut total = 0usize;
        for r in data.records.iter().filter(|r| r.kind == Kind::Citizen) {
            let family = r
                .text("full_name")
                .and_then(|n| n.split(' ').next())
                .unwrap_or("");
            *counts.entry(family.to_owned()).or_default() += 1;
            total += 1;
        }
        let share = |n: &str| counts.get(n).copied().unwrap_or(0) as f64 / total as f64;
        assert!(
            (0.32..0.45).contains(&share("Nguyễn")),
            "Nguyễn {}",
            share("Nguyễn")
        );
        assert!(
            (0.08..0.14).contains(&share("Trần")),
            "Trần {}",
            share("Trần")
        );
        assert!((0.07..0.12).contains(&share("Lê")), "Lê {}", share("Lê"));
        assert!(
            (0.05..0.09).contains(&share("Phạm")),
            "Phạm {}",
            share("Phạm")
        );
        assert!(
            share("Hoàng") > 3.0 * share("Huỳnh"),
            "northern Hoàng over Huỳnh"
        );
        assert!(share("Vũ") > 3.0 * share("Võ"), "northern Vũ over Võ");
        let mut ranked: Vec<(&String, &usize)> = counts.iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(a.1));
        let top: Vec<&str> = ranked.iter().take(4).map(|(n, _)| n.as_str()).collect();
        assert_eq!(top, ["Nguyễn", "Trần", "Lê", "Phạm"]);
        assert!(counts.len() >= 25, "a long tail of rarer names");
    }

    #[test]
    fn names_have_diacritics_and_middle_names_depend_on_sex() {
        let data = generate(3, 2000);
        let citizens: Vec<&Record> = data
            .records
            .iter()
            .filter(|r| r.kind == Kind::Citizen)
            .collect();
        let with_diacritics = citizens
            .iter()
            .filter(|r| r.text("full_name").is_some_and(|n| !n.is_ascii()))
            .count();
        assert!(with_diacritics * 10 > citizens.len() * 9);
        for r in &citizens {
            let name = r.text("full_name").unwrap_or("");
            let parts: Vec<&str> = name.split(' ').collect();
            assert!((3..=4).contains(&parts.len()), "{name}");
            match r.text("sex") {
                Some("male") => assert!(!parts.contains(&"Thị"), "{name}"),
                Some("female") => assert!(!parts.contains(&"Văn"), "{name}"),
                other => panic!("sex {other:?}"),
            }
        }
    }

    #[test]
    fn households_have_realistic_sizes_one_head_and_members_keyed_by_citizen_id() {
        let data = generate(5, 10_000);
        let by_id: HashMap<Uuid, &Record> = data.records.iter().map(|r| (r.id, r)).collect();
        let households: Vec<&Record> = data
            .records
            .iter()
            .filter(|r| r.kind == Kind::Household)
            .collect();
        let mut sizes = Vec::new();
        for h in &households {
            let members = h
                .fields
                .get("members")
                .and_then(Value::as_map)
                .expect("members");
            let head: Uuid = h
                .text("head_id")
                .and_then(|s| s.parse().ok())
                .expect("head_id");
            let heads = members
                .values()
                .filter(|e| {
                    e.as_map()
                        .and_then(|m| m.get("relationship"))
                        .and_then(Value::as_text)
                        == Some("head")
                })
                .count();
            let planted = data
                .problems
                .contains(&(h.id, Problem::HouseholdWithoutHead));
            if planted {
                assert_eq!(heads, 0);
            } else {
                assert_eq!(heads, 1);
                assert!(members.contains_key(&head.to_string()));
            }
            for key in members.keys() {
                let c = by_id
                    .get(&key.parse::<Uuid>().expect("uuid key"))
                    .expect("member exists");
                assert_eq!(c.kind, Kind::Citizen);
                assert_eq!(c.text("household_id"), Some(h.id.to_string().as_str()));
            }
            sizes.push(members.len() + usize::from(planted));
        }
        let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
        assert!((3.2..3.8).contains(&mean), "mean household size {mean}");
        assert_eq!(sizes.iter().min(), Some(&1));
        assert_eq!(sizes.iter().max(), Some(&7));
    }

    #[test]
    fn id_numbers_agree_with_birth_year_sex_and_province_unless_a_problem_was_planted() {
        let data = generate(11, 5000);
        let spoiled: HashSet<Uuid> = data
            .problems
            .iter()
            .filter(|(_, p)| *p == Problem::IdDigitMismatch)
            .map(|(id, _)| *id)
            .collect();
        let mut from_022 = 0;
        let mut citizens = 0;
        let mut seen = HashSet::new();
        for r in data.records.iter().filter(|r| r.kind == Kind::Citizen) {
            citizens += 1;
            let n = r.text("id_number").expect("id number");
            assert!(seen.insert(n.to_owned()), "unique numbers");
            assert!(
                sync_core::model::province_name(&n[..3]).is_some(),
                "known province"
            );
            from_022 += usize::from(n.starts_with("022"));
            let findings = validate(r, &ctx()).expect("valid");
            let mismatch = findings.iter().any(|f| f.code.starts_with("id_number_"));
            assert_eq!(mismatch, spoiled.contains(&r.id), "{findings:?}");
        }
        let share = from_022 as f64 / citizens as f64;
        assert!((0.80..0.90).contains(&share), "022 share {share}");
    }

    #[test]
    fn units_are_current_and_some_addresses_keep_pre_2025_codes() {
        let data = generate(13, 3000);
        let cat = catalog();
        let mut old = 0;
        let mut citizens = 0;
        for r in &data.records {
            assert!(cat.is_current(&r.unit) && r.unit != "22", "{}", r.unit);
            if let Some(u) = r.text("permanent_unit") {
                citizens += 1;
                assert!(cat.is_known(u));
                if !cat.is_current(u) {
                    old += 1;
                    assert!(cat.normalise(u).iter().any(|n| n.code == r.unit));
                }
            }
        }
        let share = old as f64 / citizens as f64;
        assert!((0.15..0.45).contains(&share), "old-code share {share}");
    }

    #[test]
    fn card_requests_carry_their_grounds_some_confirm_an_old_cmnd_and_stay_notices_name_the_guest()
    {
        let data = generate(17, 10_000);
        let of = |kind| data.records.iter().filter(move |r| r.kind == kind);
        let apps: Vec<&Record> = of(Kind::CccdApplication).collect();
        let confirmations = apps
            .iter()
            .filter(|r| r.text("request_type") == Some("cmnd_confirmation"))
            .count();
        assert!(
            confirmations > 0 && confirmations * 20 < apps.len(),
            "{confirmations}"
        );
        for r in &apps {
            let ground = r.text("ground");
            match r.text("request_type") {
                Some("replacement") => assert!(ground.is_some_and(|g| g.starts_with("exchange_"))),
                Some("reissue") => assert!(ground.is_some_and(|g| g.starts_with("reissue_"))),
                _ => assert!(ground.is_none()),
            }
        }
        let notices: Vec<&Record> = of(Kind::ResidenceDeclaration)
            .filter(|r| r.text("procedure") == Some("stay_notice"))
            .collect();
        assert!(!notices.is_empty());
        assert!(
            notices
                .iter()
                .all(|r| r.text("guest_name").is_some() && r.text("guest_id_number").is_some())
        );
        // Children's first cards, through a parent, with no finding.
        let children: Vec<&&Record> = apps
            .iter()
            .filter(|r| r.text("representative_name").is_some())
            .collect();
        assert!(!children.is_empty());
        for r in children {
            let findings = validate(r, &ctx()).expect("valid");
            assert!(findings.is_empty(), "{findings:?}");
        }
    }

    #[test]
    fn applications_and_declarations_come_in_plausible_proportions() {
        let data = generate(17, 10_000);
        let count = |k| data.records.iter().filter(|r| r.kind == k).count() as f64;
        let citizens = count(Kind::Citizen);
        let apps = count(Kind::CccdApplication) / citizens;
        let decls = count(Kind::ResidenceDeclaration) / citizens;
        assert!(
            (0.08..0.16).contains(&apps),
            "applications per citizen {apps}"
        );
        assert!(
            (0.07..0.14).contains(&decls),
            "declarations per citizen {decls}"
        );
        for r in data
            .records
            .iter()
            .filter(|r| r.kind == Kind::CccdApplication)
        {
            let findings = validate(r, &ctx()).expect("valid");
            assert!(!findings.iter().any(|f| f.code == "first_issue_under_14"));
        }
    }

    #[test]
    fn the_typed_procedures_come_in_plausible_shares_and_legacy_removals_are_rare() {
        let data = generate(29, 10_000);
        let decls: Vec<&Record> = data
            .records
            .iter()
            .filter(|r| r.kind == Kind::ResidenceDeclaration)
            .collect();
        let share = |p: &str| {
            decls
                .iter()
                .filter(|r| r.text("procedure") == Some(p))
                .count() as f64
                / decls.len() as f64
        };
        for (p, lo, hi) in [
            ("permanent_removal", 0.02, 0.09),
            ("temporary_removal", 0.01, 0.06),
            ("household_separation", 0.005, 0.04),
            ("adjustment", 0.015, 0.07),
            ("residence_information", 0.002, 0.025),
            ("removal", 0.002, 0.025),
        ] {
            assert!((lo..hi).contains(&share(p)), "{p}: {}", share(p));
        }
        for r in &decls {
            let findings = validate(r, &ctx()).expect("valid");
            let codes: Vec<&str> = findings.iter().map(|f| f.code.as_str()).collect();
            assert!(
                !codes.iter().any(|c| matches!(
                    *c,
                    "head_consent_missing"
                        | "vessel_number_missing"
                        | "ground_not_of_procedure"
                        | "refusal_reason_missing"
                        | "stay_notice_late"
                        | "due_after_legal_limit"
                )),
                "{codes:?}"
            );
        }
    }

    #[test]
    fn about_two_percent_of_records_have_data_quality_problems_and_validation_finds_them() {
        let data = generate(19, 20_000);
        let planted: HashSet<Uuid> = data.problems.iter().map(|(id, _)| *id).collect();
        let mut flagged = 0;
        for r in &data.records {
            let findings = validate(r, &ctx()).expect("valid");
            let problem = findings.iter().any(|f| f.code != "old_unit_code");
            assert_eq!(problem, planted.contains(&r.id), "{} {findings:?}", r.kind);
            flagged += usize::from(problem);
        }
        let share = flagged as f64 / data.records.len() as f64;
        assert!((0.012..0.035).contains(&share), "problem share {share}");
        let kinds: HashSet<Problem> = data.problems.iter().map(|(_, p)| *p).collect();
        assert_eq!(kinds.len(), 3, "every kind of problem occurs");
    }

    #[test]
    fn small_edits_keep_records_valid() {
        let mut g = Generator::with_seed(23);
        let records = g.records(400);
        for r in &records {
            let edits = g.small_edit(r);
            let mut after = r.clone();
            for e in edits {
                if let Edit::Set { field, value } = e {
                    after.fields.insert(field, value);
                }
            }
            validate(&after, &ctx()).expect("still valid");
        }
    }
}
