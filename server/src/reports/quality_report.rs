//! The data-quality report ([`super::quality`]) as JSON and as four tables (page sections,
//! CSV sections, XLSX sheets): findings by type and unit with their trend, completeness of
//! dossiers, open review items by type and age, deceased persons still registered.
//! Aggregated figures only: counts per unit, never records or names.

use serde::Serialize;

use super::export::{Cell, Table};
use super::period::{self, Period};
use super::quality::{DECEASED_REGISTERED, FindingRow, Quality};
use super::{UnitName, generated, unit_name, unit_names};
use crate::review::ItemType;

/// The JSON answer of `/v1/reports/quality`.
#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    /// `quality`.
    pub report: &'static str,
    /// The period.
    pub period: Period,
    /// The period in Vietnamese.
    pub period_label: String,
    /// The units covered.
    pub units: Vec<UnitName>,
    /// When it was generated (ms).
    pub generated_ms: i64,
    /// The figures.
    #[serde(flatten)]
    pub quality: Quality,
}

impl QualityReport {
    /// Wraps the figures.
    pub fn new(quality: Quality, units: &[String], period: Period, now_ms: i64) -> Self {
        QualityReport {
            report: "quality",
            period,
            period_label: period.label_vi(),
            units: unit_names(units),
            generated_ms: now_ms,
            quality,
        }
    }
}

/// A finding code in Vietnamese (the code itself when it has no name here).
pub fn finding_vi(code: &str) -> &str {
    match code {
        "id_number_sex_mismatch" => "Số định danh không khớp giới tính",
        "id_number_century_mismatch" => "Số định danh không khớp thế kỷ sinh",
        "id_number_year_mismatch" => "Số định danh không khớp năm sinh",
        "unknown_province_code" => {
            "Ba số đầu của số định danh không phải mã tỉnh (có thể là mã quốc gia nơi đăng ký khai sinh)"
        }
        "temporary_stay_too_long" => "Tạm trú quá thời hạn luật định",
        "stay_ends_before_start" => "Ngày kết thúc trước ngày bắt đầu",
        "household_head_count" => "Hộ không có hoặc có nhiều chủ hộ",
        "old_unit_code" => "Mã đơn vị hành chính cũ",
        "date_in_future" => "Ngày ở tương lai",
        "death_before_birth" => "Ngày mất trước ngày sinh",
        "death_status_mismatch" => "Trạng thái đã mất và ngày mất không khớp",
        "deceased_household_head" => "Người đã mất vẫn là chủ hộ",
        DECEASED_REGISTERED => "Người đã mất vẫn còn đăng ký thường trú",
        "deceased_with_open_application" => "Người đã mất còn hồ sơ đang giải quyết",
        "card_expiry_mismatch" => "Hạn thẻ không đúng quy định",
        "representative_missing" => "Thiếu người đại diện",
        "refusal_reason_missing" => "Từ chối mà không ghi lý do",
        "head_consent_missing" => "Thiếu ý kiến đồng ý của chủ hộ",
        "decided_after_due" => "Giải quyết sau ngày hẹn",
        "decided_before_filing" => "Ngày giải quyết trước ngày tiếp nhận",
        "due_after_legal_limit" => "Ngày hẹn vượt thời hạn luật định",
        "date_of_birth_partial" => "Ngày sinh không đầy đủ",
        "filed_for_deceased_citizen" => "Hồ sơ của người đã mất",
        "id_number_notified_without_number" => "Ghi đã thông báo số định danh nhưng chưa có số",
        "id_number_notified_before_birth" => "Ngày thông báo số định danh trước ngày sinh",
        "vneid_without_id_number" => "Có tài khoản VNeID nhưng chưa có số định danh",
        "vneid_activation_without_level" => "Có ngày kích hoạt VNeID nhưng chưa ghi mức tài khoản",
        "vneid_activated_before_birth" => "Ngày kích hoạt VNeID trước ngày sinh",
        "two_open_applications" => "Công dân có nhiều hồ sơ cấp thẻ đang giải quyết",
        "household_membership_mismatch" => "Hộ gia đình và công dân ghi khác nhau về thành viên hộ",
        "household_relationship_mismatch" => "Quan hệ với chủ hộ ghi khác nhau giữa công dân và hộ",
        "married_under_legal_age" => "Ghi đã kết hôn nhưng chưa đủ tuổi kết hôn",
        "registration_not_named" => "Gia hạn hoặc xóa đăng ký không ghi đăng ký được gia hạn, xóa",
        "deceased_still_temporarily_registered" => "Người đã mất vẫn còn đăng ký tạm trú",
        "temporary_in_permanent_commune" => "Đăng ký tạm trú trong cùng xã, phường nơi thường trú",
        "id_number_missing_at_acceptance" => {
            "Đăng ký được tiếp nhận nhưng công dân chưa có số định danh"
        }
        other => other,
    }
}

fn review_type_vi(t: &str) -> String {
    ItemType::parse(t)
        .map(|t| t.label_vi().to_owned())
        .unwrap_or_else(|| t.to_owned())
}

fn heading(title: &str, headers: Vec<String>, rows: Vec<Vec<Cell>>, r: &QualityReport) -> Table {
    Table {
        title: title.to_owned(),
        units: r.units.iter().map(|u| unit_name(&u.code)).collect(),
        period: format!(
            "{} ({} – {})",
            r.period.label_vi(),
            period::dmy(r.period.from),
            period::dmy(r.period.to)
        ),
        generated: generated(r.generated_ms),
        headers,
        rows,
        notes: Vec::new(),
    }
}

fn strings(h: &[&str]) -> Vec<String> {
    h.iter().map(|s| (*s).to_owned()).collect()
}

/// Findings by unit × type: open now, and per trend period the findings carried at its end,
/// new in it and fixed in it.
pub fn findings_table(r: &QualityReport) -> Table {
    let q = &r.quality;
    let mut headers = strings(&["Đơn vị", "Loại phát hiện", "Mã", "Đang có"]);
    for (what, _) in TREND_COLUMNS {
        headers.extend(
            q.periods
                .iter()
                .map(|p| format!("{what} {}", p.short_label())),
        );
    }
    let width = 3 * q.periods.len();
    let mut total = vec![0i64; width];
    let mut open = 0;
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for f in &q.findings {
        let mut row = vec![
            Cell::Text(unit_name(&f.unit)),
            Cell::Text(finding_vi(&f.code).to_owned()),
            Cell::Text(f.code.clone()),
            Cell::Int(f.open),
        ];
        let figures: Vec<i64> = TREND_COLUMNS
            .iter()
            .flat_map(|(_, pick)| pick(f).iter().copied())
            .collect();
        row.extend(figures.iter().map(|n| Cell::Int(*n)));
        for (t, n) in total.iter_mut().zip(&figures) {
            *t += n;
        }
        open += f.open;
        rows.push(row);
    }
    let mut last = vec![
        Cell::Text("Tổng cộng".into()),
        Cell::Text(String::new()),
        Cell::Text(String::new()),
        Cell::Int(open),
    ];
    last.extend(total.into_iter().map(Cell::Int));
    rows.push(last);
    let mut t = heading(
        "Phát hiện về chất lượng dữ liệu theo loại và đơn vị",
        headers,
        rows,
        r,
    );
    t.notes = vec![
        "Đang có: số hồ sơ đang mang phát hiện này. Cuối kỳ: số phát hiện còn tồn tại vào cuối từng kỳ (kỳ cuối là kỳ báo cáo, tính đến hôm nay). Mới: số phát hiện được ghi nhận lần đầu trong kỳ. Đã khắc phục: số phát hiện không còn trên hồ sơ kể từ trong kỳ.".into(),
    ];
    t
}

type TrendPick = fn(&FindingRow) -> &[i64];

/// The trend columns of the findings table: carried at each period's end, new, fixed.
const TREND_COLUMNS: [(&str, TrendPick); 3] = [
    ("Cuối kỳ", |f| &f.open_per_period),
    ("Mới", |f| &f.new_per_period),
    ("Đã khắc phục", |f| &f.fixed_per_period),
];

/// Completeness of the dossiers counted in the period, per unit.
pub fn completeness_table(r: &QualityReport) -> Table {
    let headers = strings(&[
        "Đơn vị",
        "Số hồ sơ trong kỳ",
        "Thiếu ngày tiếp nhận",
        "Thiếu thành phần bắt buộc",
        "Đầy đủ",
        "Tỷ lệ đầy đủ (%)",
    ]);
    let rows = r
        .quality
        .completeness
        .iter()
        .map(|c| {
            vec![
                Cell::Text(unit_name(&c.unit)),
                Cell::Int(c.dossiers),
                Cell::Int(c.no_filing_day),
                Cell::Int(c.missing_part),
                Cell::Int(c.complete),
                c.complete_share.map(Cell::Num).unwrap_or(Cell::Empty),
            ]
        })
        .collect();
    let mut t = heading("Độ đầy đủ của hồ sơ", headers, rows, r);
    t.notes = vec![
        "Hồ sơ đầy đủ: có ngày tiếp nhận và không thiếu thành phần bắt buộc (người đại diện, lý do từ chối, ý kiến đồng ý của chủ hộ, người giám hộ hoặc người quản lý, số hiệu phương tiện, loại điều chỉnh).".into(),
    ];
    t
}

/// Open review items per unit × type, by age.
pub fn review_table(r: &QualityReport) -> Table {
    let headers = strings(&[
        "Đơn vị",
        "Loại mục rà soát",
        "Dưới 7 ngày",
        "Từ 7 đến 30 ngày",
        "Trên 30 ngày",
        "Tổng",
    ]);
    let rows = r
        .quality
        .review
        .iter()
        .map(|i| {
            vec![
                Cell::Text(unit_name(&i.unit)),
                Cell::Text(review_type_vi(&i.item_type)),
                Cell::Int(i.under_7_days),
                Cell::Int(i.days_7_to_30),
                Cell::Int(i.over_30_days),
                Cell::Int(i.under_7_days + i.days_7_to_30 + i.over_30_days),
            ]
        })
        .collect();
    let mut t = heading(
        "Mục rà soát đang mở theo loại và thời gian chờ",
        headers,
        rows,
        r,
    );
    t.notes = vec!["Tại thời điểm lập báo cáo, không phụ thuộc kỳ.".into()];
    t
}

/// Deceased persons still registered, per unit (every unit covered, 0 included).
pub fn deceased_table(r: &QualityReport) -> Table {
    let rows = r
        .units
        .iter()
        .map(|u| {
            let n = r.quality.deceased_registered.get(&u.code).copied();
            vec![Cell::Text(unit_name(&u.code)), Cell::Int(n.unwrap_or(0))]
        })
        .collect();
    let mut t = heading(
        "Người đã mất vẫn còn đăng ký thường trú",
        strings(&["Đơn vị", "Số người"]),
        rows,
        r,
    );
    t.notes = vec![format!(
        "Công dân có trạng thái đã mất mà đăng ký thường trú chưa được xóa (phát hiện {DECEASED_REGISTERED})."
    )];
    t
}

/// The four tables with their XLSX sheet names.
pub fn tables(r: &QualityReport) -> Vec<(Table, &'static str)> {
    vec![
        (findings_table(r), "Phát hiện"),
        (completeness_table(r), "Độ đầy đủ"),
        (review_table(r), "Rà soát"),
        (deceased_table(r), "Người đã mất"),
    ]
}
