//! The coverage report ([`super::coverage`]) as JSON and as two tables (page sections, CSV
//! sections, XLSX sheets): the figures per unit, and the cards due by exchange age.
//! Aggregated figures only: counts per unit, never records, names or ID numbers.

use serde::Serialize;

use super::coverage::{Coverage, CoverageRow, EXPIRY_DAYS};
use super::export::{Cell, Table};
use super::period::dmy;
use super::{UnitName, generated, unit_name, unit_names};

/// The JSON answer of `/v1/reports/coverage`.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageReport {
    /// `coverage`.
    pub report: &'static str,
    /// The units covered.
    pub units: Vec<UnitName>,
    /// When it was generated (ms).
    pub generated_ms: i64,
    /// The figures.
    #[serde(flatten)]
    pub coverage: Coverage,
}

impl CoverageReport {
    /// Wraps the figures.
    pub fn new(coverage: Coverage, units: &[String], now_ms: i64) -> Self {
        CoverageReport {
            report: "coverage",
            units: unit_names(units),
            generated_ms: now_ms,
            coverage,
        }
    }

    /// The day and windows counted, in Vietnamese (the tables' "Kỳ báo cáo" line).
    pub fn period_vi(&self) -> String {
        let c = &self.coverage;
        format!(
            "Tính đến ngày {}; thẻ đến hạn đổi trong {} tháng (đến {}); tạm trú hết hạn trong {EXPIRY_DAYS} ngày (đến {})",
            dmy(c.today),
            c.months,
            dmy(c.cards_due_until),
            dmy(c.registrations_expiring_until)
        )
    }
}

/// The figures table's headers; the third depends on the months asked for.
pub fn headers(months: u32) -> Vec<String> {
    vec![
        "Đơn vị".into(),
        "Công dân từ 14 tuổi".into(),
        "Từ 14 tuổi chưa có thẻ, chưa có hồ sơ cấp thẻ".into(),
        format!("Thẻ đến hạn đổi trong {months} tháng"),
        "Thẻ đã quá hạn đổi, chưa có hồ sơ".into(),
        "Thẻ đã cấp, chưa trả cho công dân".into(),
        format!("Tạm trú hết hạn trong {EXPIRY_DAYS} ngày"),
        "Trong đó đã nộp hồ sơ gia hạn".into(),
        "Công dân chưa có số định danh cá nhân".into(),
        "Chưa được thông báo số định danh cá nhân".into(),
        "Đã kích hoạt tài khoản định danh điện tử (VNeID)".into(),
        "Từ 14 tuổi chưa kích hoạt VNeID".into(),
    ]
}

/// The cards-due table's headers.
pub const AGE_HEADERS: [&str; 7] = [
    "Đơn vị",
    "Đổi khi đủ 14 tuổi",
    "Đổi khi đủ 25 tuổi",
    "Đổi khi đủ 40 tuổi",
    "Đổi khi đủ 60 tuổi",
    "Chưa rõ độ tuổi",
    "Tổng",
];

/// What the figures mean (printed under the table and in the files).
pub const NOTES: [&str; 7] = [
    "Công dân từ 14 tuổi: công dân đang hoạt động đã đủ 14 tuổi (ngày sinh chỉ có năm hoặc tháng: tính theo ngày muộn nhất có thể). Chưa có thẻ, chưa có hồ sơ: không ghi thẻ đã cấp trên hồ sơ công dân và không có hồ sơ cấp thẻ đang giải quyết hoặc đã cấp cho công dân đó.",
    "Thẻ đến hạn đổi: thẻ ghi trên hồ sơ công dân hết hạn (ngày hết hạn ghi trên hồ sơ, hoặc theo Điều 21 Luật Căn cước: đủ 14, 25, 40, 60 tuổi) từ hôm nay đến hết thời hạn đã chọn, chưa có hồ sơ cấp đổi nộp sau ngày cấp thẻ.",
    "Thẻ đã cấp, chưa trả: hồ sơ cấp thẻ ở trạng thái đã cấp thẻ mà chưa ghi nhận trả thẻ cho công dân.",
    "Tạm trú hết hạn: đăng ký tạm trú hoặc gia hạn đã được chấp thuận, ngày cuối từ hôm nay đến 15 ngày tới (Điều 28 khoản 3 Luật Cư trú), chưa được gia hạn hoặc xóa.",
    "Chưa được thông báo số định danh cá nhân: công dân đang hoạt động đã có số định danh cá nhân nhưng hồ sơ chưa ghi ngày thông báo số cho công dân.",
    "VNeID: tài khoản định danh điện tử mức 1 hoặc mức 2 ghi trên hồ sơ công dân; chưa kích hoạt: công dân từ 14 tuổi chưa có tài khoản mức 1 hoặc mức 2.",
    "Số liệu tính theo ngày giờ Việt Nam, tại thời điểm lập báo cáo.",
];

fn heading(r: &CoverageReport, title: &str, headers: Vec<String>, rows: Vec<Vec<Cell>>) -> Table {
    Table {
        title: title.to_owned(),
        units: r.units.iter().map(|u| unit_name(&u.code)).collect(),
        period: r.period_vi(),
        generated: generated(r.generated_ms),
        headers,
        rows,
        notes: Vec::new(),
    }
}

fn label(row: &CoverageRow, total: bool) -> Cell {
    Cell::Text(if total {
        "Tổng cộng".into()
    } else {
        unit_name(&row.unit)
    })
}

fn figures(row: &CoverageRow, total: bool) -> Vec<Cell> {
    vec![
        label(row, total),
        Cell::Int(row.residents_14_plus),
        Cell::Int(row.without_application),
        Cell::Int(row.cards_due),
        Cell::Int(row.cards_expired),
        Cell::Int(row.issued_not_returned),
        Cell::Int(row.registrations_expiring),
        Cell::Int(row.extension_filed),
        Cell::Int(row.without_id_number),
        Cell::Int(row.id_number_not_told),
        Cell::Int(row.vneid_activated),
        Cell::Int(row.vneid_not_activated),
    ]
}

fn by_age(row: &CoverageRow, total: bool) -> Vec<Cell> {
    let mut cells = vec![label(row, total)];
    cells.extend(row.cards_due_by_age.iter().map(|n| Cell::Int(*n)));
    cells.push(Cell::Int(row.cards_due));
    cells
}

/// The figures per unit, with a total row.
pub fn figures_table(r: &CoverageReport) -> Table {
    let c = &r.coverage;
    let mut rows: Vec<Vec<Cell>> = c.rows.iter().map(|x| figures(x, false)).collect();
    rows.push(figures(&c.total, true));
    let mut t = heading(
        r,
        "Báo cáo độ phủ căn cước và cư trú",
        headers(c.months),
        rows,
    );
    t.notes = NOTES.iter().map(|n| (*n).to_owned()).collect();
    t
}

/// The cards due within the horizon per unit, by exchange age.
pub fn ages_table(r: &CoverageReport) -> Table {
    let c = &r.coverage;
    let mut rows: Vec<Vec<Cell>> = c.rows.iter().map(|x| by_age(x, false)).collect();
    rows.push(by_age(&c.total, true));
    let mut t = heading(
        r,
        &format!("Thẻ đến hạn đổi trong {} tháng theo độ tuổi", c.months),
        AGE_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
        rows,
    );
    t.notes = vec![
        "Chưa rõ độ tuổi: ngày sinh không đầy đủ, hoặc ngày hết hạn ghi trên hồ sơ không trùng một mốc tuổi đổi thẻ.".into(),
    ];
    t
}

/// The two tables with their XLSX sheet names.
pub fn tables(r: &CoverageReport) -> Vec<(Table, &'static str)> {
    vec![
        (figures_table(r), "Độ phủ"),
        (ages_table(r), "Thẻ đến hạn đổi"),
    ]
}
