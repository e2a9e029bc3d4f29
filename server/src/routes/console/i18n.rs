//! Console wording in Vietnamese (the default) and English, and how values are shown.

use sync_core::model::{Kind, Value, catalog, field_spec};

use crate::review::{ItemStatus, ItemType};

/// The console's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Tiếng Việt (default).
    Vi,
    /// English.
    En,
}

impl Lang {
    /// `vi` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// Parses `vi` / `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language (for the toggle).
    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    /// The Vietnamese or English text.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// A record kind's label.
pub fn kind_label(lang: Lang, kind: &str) -> String {
    let (vi, en) = match kind {
        "citizen" => ("Công dân", "Citizen"),
        "household" => ("Hộ gia đình", "Household"),
        "cccd_application" => ("Hồ sơ cấp CCCD", "CCCD application"),
        "residence_declaration" => ("Khai báo cư trú", "Residence declaration"),
        other => return other.to_owned(),
    };
    lang.pick(vi, en).to_owned()
}

/// An item type's label.
pub fn type_label(lang: Lang, t: ItemType) -> &'static str {
    match lang {
        Lang::Vi => t.label_vi(),
        Lang::En => t.label_en(),
    }
}

/// An item status's label.
pub fn status_label(lang: Lang, s: ItemStatus) -> &'static str {
    match s {
        ItemStatus::Open => lang.pick("Chờ xử lý", "Open"),
        ItemStatus::Resolved => lang.pick("Đã xử lý", "Resolved"),
        ItemStatus::Dismissed => lang.pick("Đã bỏ qua", "Dismissed"),
    }
}

/// A field path's label: `full_name` → "Họ, chữ đệm và tên khai sinh";
/// `members.<id>.relationship` → "Thành viên hộ › 0190…ab12 › Quan hệ".
pub fn field_label(lang: Lang, kind: &str, path: &str) -> String {
    let mut parts = path.split('.');
    let top = parts.next().unwrap_or("");
    let base = Kind::parse(kind)
        .and_then(|k| field_spec(k, top))
        .map(|s| match lang {
            Lang::Vi => s.label_vi.to_owned(),
            Lang::En => s.label_en.to_owned(),
        })
        .unwrap_or_else(|| match top {
            "unit" => lang.pick("Đơn vị quản lý", "Unit").to_owned(),
            other => other.to_owned(),
        });
    let mut out = base;
    if let Some(key) = parts.next() {
        out.push_str(" › ");
        out.push_str(&short_id(key));
    }
    if let Some(sub) = parts.next() {
        out.push_str(" › ");
        out.push_str(match sub {
            "relationship" => lang.pick("Quan hệ", "Relationship"),
            "relationship_note" => lang.pick("Ghi chú quan hệ", "Relationship note"),
            other => other,
        });
    }
    out
}

/// `…b8f24a17` for a long id (the end of a UUIDv7 is its random part), the id itself when
/// short.
pub fn short_id(id: &str) -> String {
    let n = id.chars().count();
    if n > 12 {
        let end: String = id.chars().skip(n - 8).collect();
        format!("…{end}")
    } else {
        id.to_owned()
    }
}

/// The gloss of an enumerated code value, if it has one.
pub fn code_gloss(lang: Lang, code: &str) -> Option<&'static str> {
    let (vi, en) = match code {
        "active" => ("đang hoạt động", "active"),
        "withdrawn" => ("đã rút", "withdrawn"),
        "merged_into" => ("đã gộp vào hồ sơ khác", "merged into another record"),
        "deceased" => ("đã mất", "deceased"),
        "draft" => ("nháp", "draft"),
        "collected" => ("đã thu nhận", "collected"),
        "submitted" => ("đã nộp", "submitted"),
        "accepted" => ("đã tiếp nhận", "accepted"),
        "rejected" => ("từ chối", "rejected"),
        "card_issued" => ("đã cấp thẻ", "card issued"),
        "returned" => ("đã trả thẻ", "returned"),
        "male" => ("nam", "male"),
        "female" => ("nữ", "female"),
        "head" => ("chủ hộ", "head"),
        "spouse" => ("vợ/chồng", "spouse"),
        "child" => ("con", "child"),
        "child_in_law" => ("con dâu/con rể", "child-in-law"),
        "parent" => ("cha/mẹ", "parent"),
        "grandparent" => ("ông/bà", "grandparent"),
        "grandchild" => ("cháu", "grandchild"),
        "sibling" => ("anh/chị/em", "sibling"),
        "lodger" => ("ở nhờ/ở thuê", "lodger"),
        "other" => ("khác", "other"),
        "permanent_registration" => ("đăng ký thường trú", "permanent registration"),
        "temporary_registration" => ("đăng ký tạm trú", "temporary registration"),
        "removal" => ("xóa đăng ký", "removal"),
        _ => return None,
    };
    Some(lang.pick(vi, en))
}

/// A value as text for display (maps as `key: value` pairs); enumerated codes get a gloss.
pub fn value_text(lang: Lang, v: &Value) -> String {
    match v {
        Value::Text(s) => match code_gloss(lang, s) {
            Some(g) if lang == Lang::Vi || g != s => format!("{s} ({g})"),
            _ => s.clone(),
        },
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => lang
            .pick(
                if *b { "có" } else { "không" },
                if *b { "yes" } else { "no" },
            )
            .to_owned(),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| format!("{}: {}", short_id(k), value_text(lang, v)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// `07132 Phường Quảng Yên`.
pub fn unit_label(code: &str) -> String {
    match catalog().current(code) {
        Some(u) => format!("{code} {}", u.name),
        None => code.to_owned(),
    }
}

/// Vietnam time (Asia/Ho_Chi_Minh) of a Unix time in ms: `2026-01-01 07:00`.
pub fn time(ms: i64) -> String {
    if ms <= 0 {
        return "—".into();
    }
    let t = sync_core::time::local_date_time(ms);
    // `YYYY-MM-DDTHH:MM:SS+07:00` → `YYYY-MM-DD HH:MM`
    format!("{} {}", &t[..10], &t[11..16])
}

/// How long ago, roughly: "3 ngày", "5 giờ", "12 phút".
pub fn age(lang: Lang, now_ms: i64, then_ms: i64) -> String {
    let mins = ((now_ms - then_ms).max(0) / 60_000) as u64;
    let (n, vi, en) = if mins < 60 {
        (mins, "phút", "min")
    } else if mins < 48 * 60 {
        (mins / 60, "giờ", "h")
    } else {
        (mins / (24 * 60), "ngày", "days")
    };
    match lang {
        Lang::Vi => format!("{n} {vi}"),
        Lang::En => format!("{n} {en}"),
    }
}
