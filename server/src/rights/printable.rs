//! The subject-access report as people read it: sections of labelled lines, printed as text by
//! `ferry subject-report --text` and rendered by the console page (`/console/subject`), in
//! Vietnamese (or English in the console with `?lang=en`).

use std::fmt::Write;

use crate::rights::subject::{Access, SubjectReport};
use crate::routes::console::i18n::{self, Lang};

/// One record of the report, ready to show.
#[derive(Debug, Clone)]
pub struct Section {
    /// `Công dân …ab12cd34`.
    pub title: String,
    /// Record id, unit, why it is included, last change.
    pub meta: Vec<(String, String)>,
    /// Current values: label, value.
    pub fields: Vec<(String, String)>,
    /// Field history: time, field, from, to, by (user · device).
    pub history: Vec<[String; 5]>,
    /// Accesses: time, user, device, what, audit row.
    pub accesses: Vec<[String; 5]>,
}

/// The column headings of [`Section::history`] and [`Section::accesses`].
pub fn headings(l: Lang) -> ([&'static str; 5], [&'static str; 5]) {
    (
        [
            l.pick("Thời điểm (giờ VN)", "When (Vietnam time)"),
            l.pick("Trường", "Field"),
            l.pick("Giá trị cũ", "From"),
            l.pick("Giá trị mới", "To"),
            l.pick("Người ghi · thiết bị", "By · device"),
        ],
        [
            l.pick("Thời điểm (giờ VN)", "When (Vietnam time)"),
            l.pick("Tài khoản", "Account"),
            l.pick("Thiết bị", "Device"),
            l.pick("Hoạt động", "Access"),
            l.pick("Dòng nhật ký", "Audit row"),
        ],
    )
}

/// What an access did, in words.
pub fn access_label(l: Lang, a: &str) -> String {
    let (vi, en) = match a {
        "read" => ("xem", "read"),
        "exported" => ("xuất dữ liệu", "exported"),
        "pulled" => ("tải về thiết bị", "pulled to a device"),
        "changed" => ("thay đổi", "changed"),
        "refused" => ("thay đổi bị từ chối", "change refused"),
        "subject_report" => ("báo cáo cho chủ thể dữ liệu", "subject-access report"),
        other => return other.to_owned(),
    };
    l.pick(vi, en).to_owned()
}

fn found_by_label(l: Lang, f: &str) -> &'static str {
    match f {
        "id_number" => l.pick("mang số định danh này", "carries this ID number"),
        "citizen_id" => l.pick("hồ sơ về công dân này", "a dossier about this citizen"),
        "member" => l.pick(
            "hộ có công dân này là thành viên",
            "a household listing this citizen",
        ),
        _ => l.pick(
            "hồ sơ trùng đã gộp vào",
            "a duplicate merged into this citizen",
        ),
    }
}

fn access_line(l: Lang, a: &Access) -> [String; 5] {
    let what: Vec<String> = a.access.iter().map(|x| access_label(l, x)).collect();
    [
        i18n::time(a.time_ms),
        a.user.clone(),
        if a.device.is_empty() {
            "—".into()
        } else {
            i18n::short_id(&a.device)
        },
        what.join(", "),
        format!("#{}", a.audit_id),
    ]
}

/// The report's sections.
pub fn sections(report: &SubjectReport, l: Lang) -> Vec<Section> {
    let opt = |v: &Option<sync_core::model::Value>| {
        v.as_ref().map_or("—".into(), |v| i18n::value_text(l, v))
    };
    report
        .records
        .iter()
        .map(|r| {
            let id = r.id.to_string();
            Section {
                title: format!("{} {}", i18n::kind_label(l, &r.kind), i18n::short_id(&id)),
                meta: vec![
                    (l.pick("Mã hồ sơ", "Record id").into(), id.clone()),
                    (
                        l.pick("Đơn vị quản lý", "Unit").into(),
                        i18n::unit_label(&r.unit),
                    ),
                    (
                        l.pick("Lý do có trong báo cáo", "Why it is listed").into(),
                        found_by_label(l, r.found_by).into(),
                    ),
                    (
                        l.pick("Cập nhật lần cuối", "Last changed").into(),
                        i18n::time(r.updated_ms),
                    ),
                ],
                fields: r
                    .fields
                    .iter()
                    .map(|(k, v)| (i18n::field_label(l, &r.kind, k), i18n::value_text(l, v)))
                    .collect(),
                history: r
                    .history
                    .iter()
                    .map(|h| {
                        let by = match (&h.user, &h.device) {
                            (Some(u), Some(d)) => format!("{u} · {}", i18n::short_id(d)),
                            (Some(u), None) => u.clone(),
                            (None, Some(d)) => i18n::short_id(d),
                            (None, None) => "—".into(),
                        };
                        [
                            i18n::time(h.time_ms),
                            i18n::field_label(l, &r.kind, &h.field),
                            opt(&h.from),
                            opt(&h.to),
                            by,
                        ]
                    })
                    .collect(),
                accesses: r.accesses.iter().map(|a| access_line(l, a)).collect(),
            }
        })
        .collect()
}

/// The whole report as plain text in Vietnamese.
pub fn vietnamese(report: &SubjectReport) -> String {
    let l = Lang::Vi;
    let mut out = String::new();
    let _ = writeln!(out, "BÁO CÁO DỮ LIỆU CÁ NHÂN ĐANG LƯU GIỮ");
    let _ = writeln!(out, "Số định danh cá nhân: {}", report.id_number);
    let _ = writeln!(
        out,
        "Lập lúc: {} (giờ Việt Nam), bởi: {}, dòng nhật ký #{}",
        i18n::time(report.generated_ms),
        report.generated_by,
        report.audit_id
    );
    let _ = writeln!(out, "Số hồ sơ: {}", report.records.len());
    if let Some(ms) = report.audit_from_ms {
        let _ = writeln!(
            out,
            "Nhật ký truy cập được lưu từ {} (phần cũ hơn đã xoá theo quy định lưu giữ).",
            i18n::time(ms)
        );
    }
    let (hist, acc) = headings(l);
    for s in sections(report, l) {
        let _ = writeln!(out, "\n== {} ==", s.title);
        for (k, v) in s.meta.iter().chain(&s.fields) {
            let _ = writeln!(out, "  {k}: {v}");
        }
        let _ = writeln!(out, "  -- Lịch sử thay đổi ({}) --", s.history.len());
        let _ = writeln!(out, "  {}", hist.join(" | "));
        for h in &s.history {
            let _ = writeln!(out, "  {}", h.join(" | "));
        }
        let _ = writeln!(out, "  -- Truy cập theo nhật ký ({}) --", s.accesses.len());
        let _ = writeln!(out, "  {}", acc.join(" | "));
        for a in &s.accesses {
            let _ = writeln!(out, "  {}", a.join(" | "));
        }
    }
    if report.records.is_empty() {
        let _ = writeln!(out, "\nKhông có hồ sơ nào mang số định danh này.");
    }
    out
}
