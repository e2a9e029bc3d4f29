//! Server-rendered HTML of the console. No JavaScript: forms post back, radios outside a form
//! join it through the `form` attribute. Every piece of data goes through [`esc`].

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use sync_core::doc::{FieldChange, FieldConflict};
use sync_core::model::{FieldType, Kind, Record, Value, field_spec, fields_of};
use sync_core::replica::display_name;
use uuid::Uuid;

use super::i18n::{
    self, Lang, age, field_label, kind_label, short_id, status_label, time, type_label, unit_label,
    value_text,
};
use super::session::ConsoleUser;
use crate::review::store::{Counts, Filter, Who};
use crate::review::{Candidate, Item, ItemStatus, ItemType};

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The page frame around every view.
#[derive(Debug)]
pub struct Chrome<'a> {
    /// Language.
    pub lang: Lang,
    /// The signed-in admin (none on the login page).
    pub user: Option<&'a ConsoleUser>,
    /// Link that shows this page in the other language.
    pub toggle: String,
    /// Page title.
    pub title: String,
}

/// A whole HTML document.
pub fn layout(c: &Chrome<'_>, body: &str) -> String {
    let l = c.lang;
    let mut h = String::with_capacity(body.len() + 2048);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Ferry</title><link rel=\"stylesheet\" href=\"/console/assets/console.css\"></head>\
         <body><header class=\"top\"><a class=\"brand\" href=\"/console/queue\">Ferry</a>\
         <span class=\"tagline\">{tagline}</span>",
        lang = l.code(),
        title = esc(&c.title),
        tagline = l.pick("Rà soát dữ liệu dân cư", "Population data review"),
    );
    if c.user.is_some() {
        let _ = write!(
            h,
            "<nav><a href=\"/console/queue\">{q}</a><a href=\"/console/queue?status=resolved\">{r}</a></nav>",
            q = l.pick("Hàng đợi", "Queue"),
            r = l.pick("Đã xử lý", "Resolved"),
        );
    }
    let _ = write!(
        h,
        "<div class=\"right\"><a class=\"lang\" href=\"{href}\" hreflang=\"{code}\">{label}</a>",
        href = esc(&c.toggle),
        code = l.other().code(),
        label = l.pick("English", "Tiếng Việt"),
    );
    if let Some(u) = c.user {
        let _ = write!(
            h,
            "<span class=\"who\">{name}</span><form class=\"inline\" method=\"post\" action=\"/console/logout\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button class=\"link\">{out}</button></form>",
            name = esc(&u.user.username),
            csrf = esc(&u.csrf),
            out = l.pick("Đăng xuất", "Sign out"),
        );
    }
    let _ = writeln!(h, "</div></header><main>{body}</main></body></html>");
    h
}

/// The login form.
pub fn login(lang: Lang, csrf: &str, next: &str, error: Option<&str>) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<section class=\"login\"><h1>{h}</h1>",
        h = lang.pick("Đăng nhập bảng điều khiển", "Sign in to the console")
    );
    if let Some(e) = error {
        let _ = write!(b, "<p class=\"error\" role=\"alert\">{}</p>", esc(e));
    }
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/console/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <label>{u}<input name=\"username\" autocomplete=\"username\" required autofocus></label>\
         <label>{p}<input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button class=\"primary\">{go}</button></form>\
         <p class=\"hint\">{hint}</p></section>",
        csrf = esc(csrf),
        next = esc(next),
        u = lang.pick("Tên đăng nhập", "User name"),
        p = lang.pick("Mật khẩu", "Password"),
        go = lang.pick("Đăng nhập", "Sign in"),
        hint = lang.pick(
            "Chỉ tài khoản quản trị (admin). Mọi thao tác được ghi nhật ký.",
            "Admin accounts only. Every action is recorded in the audit trail."
        ),
    );
    b
}

/// The age buckets of the queue filter: (value, Vietnamese, English).
pub const AGES: [(&str, &str, &str); 5] = [
    ("", "Mọi thời điểm", "Any age"),
    ("lt1", "Dưới 1 ngày", "Under 1 day"),
    ("1to7", "1–7 ngày", "1–7 days"),
    ("gt7", "Trên 7 ngày", "Over 7 days"),
    ("gt30", "Trên 30 ngày", "Over 30 days"),
];

/// Applies an age bucket to a filter.
pub fn apply_age(f: &mut Filter, age: &str) {
    match age {
        "lt1" => f.newer_than_days = Some(1),
        "1to7" => {
            f.older_than_days = Some(1);
            f.newer_than_days = Some(7);
        }
        "gt7" => f.older_than_days = Some(7),
        "gt30" => f.older_than_days = Some(30),
        _ => {}
    }
}

/// What the queue page shows.
#[derive(Debug)]
pub struct QueueView<'a> {
    /// Language.
    pub lang: Lang,
    /// The filter as chosen (status text, unit, kind, type, age bucket).
    pub status: &'a str,
    /// Unit filter.
    pub unit: &'a str,
    /// Kind filter.
    pub kind: &'a str,
    /// Type filter.
    pub item_type: &'a str,
    /// Age bucket.
    pub age: &'a str,
    /// Counts.
    pub counts: &'a Counts,
    /// The items.
    pub items: &'a [Item],
    /// Now (ms).
    pub now_ms: i64,
}

fn option(value: &str, label: &str, count: Option<u64>, selected: bool) -> String {
    format!(
        "<option value=\"{v}\"{sel}>{l}{c}</option>",
        v = esc(value),
        sel = if selected { " selected" } else { "" },
        l = esc(label),
        c = count.map(|n| format!(" ({n})")).unwrap_or_default(),
    )
}

/// The queue with its filters and counts.
pub fn queue(v: &QueueView<'_>) -> String {
    let l = v.lang;
    let mut b = String::new();
    let heading = match v.status {
        "resolved" => l.pick("Mục đã xử lý", "Resolved items"),
        "dismissed" => l.pick("Mục đã bỏ qua", "Dismissed items"),
        "all" => l.pick("Tất cả mục rà soát", "All review items"),
        _ => l.pick("Hàng đợi rà soát", "Review queue"),
    };
    let _ = write!(
        b,
        "<div class=\"titlebar\"><h1>{heading}</h1><p class=\"total\"><strong id=\"total\">{n}</strong> {items}</p></div>",
        n = v.counts.total,
        items = l.pick("mục", "items"),
    );

    // Filters.
    let _ = write!(
        b,
        "<form class=\"filters\" method=\"get\" action=\"/console/queue\">"
    );
    let _ = write!(
        b,
        "<label>{}<select name=\"status\">",
        l.pick("Trạng thái", "Status")
    );
    for (value, s) in [
        ("open", Some(ItemStatus::Open)),
        ("resolved", Some(ItemStatus::Resolved)),
        ("dismissed", Some(ItemStatus::Dismissed)),
        ("all", None),
    ] {
        let label = match s {
            Some(s) => status_label(l, s).to_owned(),
            None => l.pick("Tất cả", "All").to_owned(),
        };
        let count = s.map(|s| v.counts.by_status.get(s.as_str()).copied().unwrap_or(0));
        b.push_str(&option(value, &label, count, v.status == value));
    }
    let _ = write!(
        b,
        "</select></label><label>{}<select name=\"type\">",
        l.pick("Loại vấn đề", "Item type")
    );
    b.push_str(&option(
        "",
        l.pick("Tất cả", "All"),
        None,
        v.item_type.is_empty(),
    ));
    for t in ItemType::ALL {
        let count = v.counts.by_type.get(t.as_str()).copied().unwrap_or(0);
        b.push_str(&option(
            t.as_str(),
            type_label(l, t),
            Some(count),
            v.item_type == t.as_str(),
        ));
    }
    let _ = write!(
        b,
        "</select></label><label>{}<select name=\"kind\">",
        l.pick("Loại hồ sơ", "Record kind")
    );
    b.push_str(&option(
        "",
        l.pick("Tất cả", "All"),
        None,
        v.kind.is_empty(),
    ));
    for k in Kind::ALL {
        let count = v.counts.by_kind.get(k.as_str()).copied().unwrap_or(0);
        b.push_str(&option(
            k.as_str(),
            &kind_label(l, k.as_str()),
            Some(count),
            v.kind == k.as_str(),
        ));
    }
    let _ = write!(
        b,
        "</select></label><label>{}<select name=\"unit\">",
        l.pick("Đơn vị", "Unit")
    );
    b.push_str(&option(
        "",
        l.pick("Tất cả", "All"),
        None,
        v.unit.is_empty(),
    ));
    let mut units: Vec<(&String, &u64)> = v.counts.by_unit.iter().collect();
    if !v.unit.is_empty() && !v.counts.by_unit.contains_key(v.unit) {
        b.push_str(&option(v.unit, &unit_label(v.unit), Some(0), true));
    }
    units.sort();
    for (code, n) in units {
        b.push_str(&option(code, &unit_label(code), Some(*n), v.unit == code));
    }
    let _ = write!(
        b,
        "</select></label><label>{}<select name=\"age\">",
        l.pick("Thời gian chờ", "Age")
    );
    for (value, vi, en) in AGES {
        b.push_str(&option(value, l.pick(vi, en), None, v.age == value));
    }
    let _ = write!(
        b,
        "</select></label><button class=\"primary\">{f}</button><a class=\"button\" href=\"/console/queue\">{c}</a></form>",
        f = l.pick("Lọc", "Filter"),
        c = l.pick("Xóa lọc", "Clear"),
    );

    // Counts per type as chips.
    let _ = write!(
        b,
        "<ul class=\"chips\" aria-label=\"{}\">",
        l.pick("Số mục theo loại", "Items per type")
    );
    for t in ItemType::ALL {
        let n = v.counts.by_type.get(t.as_str()).copied().unwrap_or(0);
        let cls = if v.item_type == t.as_str() {
            "chip on"
        } else if n == 0 {
            "chip zero"
        } else {
            "chip"
        };
        let _ = write!(
            b,
            "<li><a class=\"{cls}\" href=\"/console/queue?status={s}&amp;type={t}\">{label} <b>{n}</b></a></li>",
            s = esc(v.status),
            t = t.as_str(),
            label = type_label(l, t),
        );
    }
    b.push_str("</ul>");

    if v.items.is_empty() {
        let _ = write!(
            b,
            "<p class=\"empty\">{}</p>",
            l.pick(
                "Không có mục nào khớp bộ lọc.",
                "No item matches the filter."
            )
        );
        return b;
    }
    let _ = write!(
        b,
        "<table class=\"queue\"><thead><tr><th>#</th><th>{t}</th><th>{k}</th><th>{u}</th><th>{f}</th><th>{who}</th><th>{age}</th><th>{st}</th><th></th></tr></thead><tbody>",
        t = l.pick("Loại vấn đề", "Type"),
        k = l.pick("Hồ sơ", "Record"),
        u = l.pick("Đơn vị", "Unit"),
        f = l.pick("Trường", "Field"),
        who = l.pick("Giá trị · cán bộ", "Values · officers"),
        age = l.pick("Chờ", "Age"),
        st = l.pick("Trạng thái", "Status"),
    );
    for item in v.items {
        let mut officers: Vec<&str> = item
            .candidates
            .iter()
            .filter_map(|c| c.user.as_deref())
            .collect();
        officers.sort_unstable();
        officers.dedup();
        let field = item
            .field
            .as_deref()
            .map(|f| field_label(l, &item.kind, f))
            .unwrap_or_default();
        let _ = write!(
            b,
            "<tr class=\"t-{ty}\"><td class=\"num\">{id}</td><td><span class=\"tag t-{ty}\">{tl}</span></td><td>{kind}</td><td>{unit}</td><td>{field}</td>\
             <td>{n} · {officers}</td><td title=\"{opened}\">{age}</td><td>{status}</td><td><a class=\"open-item\" href=\"/console/items/{id}\">{see}</a></td></tr>",
            ty = item.item_type.as_str(),
            id = item.id,
            tl = type_label(l, item.item_type),
            kind = esc(&kind_label(l, &item.kind)),
            unit = esc(&unit_label(&item.unit)),
            field = esc(&field),
            n = item.candidates.len(),
            officers = esc(&officers.join(", ")),
            opened = esc(&time(item.created_ms)),
            age = esc(&age(l, v.now_ms, item.created_ms)),
            status = status_label(l, item.status),
            see = l.pick("Xem", "Open"),
        );
    }
    b.push_str("</tbody></table>");
    b
}

/// What the item page shows.
#[derive(Debug)]
pub struct ItemView<'a> {
    /// Language.
    pub lang: Lang,
    /// The item.
    pub item: &'a Item,
    /// The records concerned (and household members), as they are now.
    pub records: &'a HashMap<Uuid, Record>,
    /// The session's CSRF token.
    pub csrf: &'a str,
    /// Now (ms).
    pub now_ms: i64,
    /// A message to show (success or refusal).
    pub notice: Option<(&'a str, String)>,
}

fn record_link(lang: Lang, id: Uuid, records: &HashMap<Uuid, Record>) -> String {
    match records.get(&id) {
        Some(r) => {
            let name = display_name(r);
            format!(
                "<a href=\"/console/records/{id}\">{kind}: {name}</a> <code title=\"{id}\">{short}</code>",
                kind = esc(&kind_label(lang, r.kind.as_str())),
                name = esc(if name.is_empty() { "—" } else { name }),
                short = esc(&short_id(&id.to_string())),
            )
        }
        None => format!(
            "<code title=\"{id}\">{short}</code> <span class=\"muted\">({missing})</span>",
            short = esc(&short_id(&id.to_string())),
            missing = lang.pick("không có trên máy chủ", "not on the server"),
        ),
    }
}

fn who_cells(lang: Lang, c: &Candidate) -> [String; 4] {
    let device = match (&c.device_name, &c.device) {
        (Some(n), Some(d)) => format!(
            "{} <code title=\"{}\">{}</code>",
            esc(n),
            esc(d),
            esc(&short_id(d))
        ),
        (None, Some(d)) => format!("<code title=\"{}\">{}</code>", esc(d), esc(&short_id(d))),
        _ => format!(
            "<span class=\"muted\">{}</span>",
            lang.pick("không rõ", "unknown")
        ),
    };
    [
        c.user.as_deref().map(esc).unwrap_or_else(|| {
            format!(
                "<span class=\"muted\">{}</span>",
                lang.pick("không rõ", "unknown")
            )
        }),
        device,
        esc(&time(c.time_ms)),
        format!(
            "<code title=\"{}\">{}</code>",
            esc(&c.change),
            esc(&c.change.chars().take(10).collect::<String>())
        ),
    ]
}

fn candidate_value(
    lang: Lang,
    item: &Item,
    c: &Candidate,
    records: &HashMap<Uuid, Record>,
) -> String {
    if let Some(r) = c.record {
        return record_link(lang, r, records);
    }
    let text = value_text(lang, &c.value);
    let _ = item;
    format!("<span class=\"value\">{}</span>", esc(&text))
}

/// The item page: the competing values side by side and the actions.
pub fn item(v: &ItemView<'_>) -> String {
    let l = v.lang;
    let it = v.item;
    let mut b = String::new();
    let _ = write!(
        b,
        "<p class=\"crumbs\"><a href=\"/console/queue\">{q}</a> › #{id}</p>\
         <div class=\"titlebar\"><h1><span class=\"tag t-{ty}\">{tl}</span> {h} #{id}</h1><span class=\"status s-{st}\" id=\"item-status\">{sl}</span></div>",
        q = l.pick("Hàng đợi", "Queue"),
        id = it.id,
        ty = it.item_type.as_str(),
        tl = type_label(l, it.item_type),
        h = l.pick("Mục", "Item"),
        st = it.status.as_str(),
        sl = status_label(l, it.status),
    );
    if let Some((class, text)) = &v.notice {
        let _ = write!(
            b,
            "<p class=\"notice {}\" role=\"status\">{}</p>",
            esc(class),
            esc(text)
        );
    }
    let _ = write!(
        b,
        "<dl class=\"meta\"><dt>{}</dt><dd><ul class=\"plain\">",
        l.pick("Hồ sơ liên quan", "Records")
    );
    for r in &it.records {
        let _ = write!(b, "<li>{}</li>", record_link(l, *r, v.records));
    }
    let _ = write!(
        b,
        "</ul></dd><dt>{u}</dt><dd>{unit}</dd>",
        u = l.pick("Đơn vị", "Unit"),
        unit = esc(&unit_label(&it.unit)),
    );
    if let Some(f) = &it.field {
        let _ = write!(
            b,
            "<dt>{}</dt><dd>{}</dd>",
            l.pick("Trường", "Field"),
            esc(&field_label(l, &it.kind, f))
        );
    }
    let _ = write!(
        b,
        "<dt>{o}</dt><dd>{t} ({a})</dd></dl>",
        o = l.pick("Mở lúc", "Opened"),
        t = esc(&time(it.created_ms)),
        a = esc(&age(l, v.now_ms, it.created_ms)),
    );
    let _ = write!(b, "<p class=\"explain\">{}</p>", esc(explain(l, it)));

    let open = it.status == ItemStatus::Open;
    if it.item_type.is_duplicate() {
        duplicate_section(&mut b, v, open);
    } else {
        values_section(&mut b, v, open);
    }
    if open {
        let _ = write!(
            b,
            "<section class=\"action dismiss\"><h2>{h}</h2><form method=\"post\" action=\"/console/items/{id}/dismiss\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><label>{r}<textarea name=\"reason\" required maxlength=\"1000\" rows=\"2\"></textarea></label>\
             <button>{go}</button></form></section>",
            h = l.pick("Bỏ qua mục này", "Dismiss this item"),
            id = it.id,
            csrf = esc(v.csrf),
            r = l.pick("Lý do (bắt buộc)", "Reason (required)"),
            go = l.pick("Bỏ qua", "Dismiss"),
        );
    } else {
        resolution_section(&mut b, v);
    }
    b
}

fn explain(l: Lang, it: &Item) -> &'static str {
    match it.item_type {
        ItemType::FieldConflict => l.pick(
            "Hai hoặc nhiều thiết bị đã sửa trường này cùng lúc khi ngoại tuyến. Các thiết bị đang hiển thị giá trị được đánh dấu; hãy chọn giá trị đúng hoặc nhập giá trị mới.",
            "Two or more devices changed this field at the same time while offline. Devices currently show the marked value; choose the right one or enter a new one.",
        ),
        ItemType::StatusConflict => l.pick(
            "Trạng thái được chuyển theo hai hướng không tương thích cùng lúc. Hãy chọn trạng thái đúng.",
            "The status was moved in two incompatible directions at once. Choose the right status.",
        ),
        ItemType::EditDuringWithdrawal => l.pick(
            "Hồ sơ đã bị rút trong khi một thiết bị khác đang sửa nó. Giữ việc rút hồ sơ, hoặc khôi phục hồ sơ cùng các sửa đổi.",
            "The record was withdrawn while another device was editing it. Keep the withdrawal, or restore the record with the edits.",
        ),
        ItemType::DuplicateIdNumber => l.pick(
            "Hai hồ sơ công dân có cùng số định danh cá nhân. Gộp chúng (hồ sơ được giữ nhận các trường còn thiếu; hồ sơ kia được đánh dấu đã gộp) hoặc bỏ qua.",
            "Two citizen records carry the same personal ID number. Merge them (the kept record takes the fields it lacks; the other is marked merged) or dismiss.",
        ),
        ItemType::DuplicateNameDob => l.pick(
            "Hai hồ sơ công dân trùng họ tên, ngày sinh và đơn vị. Gộp nếu là một người, hoặc bỏ qua nếu là hai người khác nhau.",
            "Two citizen records share name, date of birth and unit. Merge if they are one person, or dismiss if they are two people.",
        ),
        ItemType::TwoPermanentResidences => l.pick(
            "Công dân có hơn một nơi thường trú đang có hiệu lực. Chọn nơi thường trú được giữ; các đăng ký khác kết thúc hôm nay.",
            "The citizen has more than one active permanent residence. Choose the one that stays; the other registrations end today.",
        ),
        ItemType::HouseholdHead => l.pick(
            "Hộ gia đình phải có đúng một chủ hộ. Chọn thành viên là chủ hộ; các chủ hộ khác chuyển thành quan hệ \"khác\".",
            "A household has exactly one head. Choose the member who is the head; other heads become \"other\".",
        ),        ItemType::RuleFinding => l.pick(
            "Một quy định pháp luật giữa các hồ sơ không được đáp ứng (xem mã và nội dung). Sửa các hồ sơ liên quan (mục tự đóng khi đã hết) hoặc bỏ qua kèm lý do.",
            "A legal rule across records fails (see the code and message). Correct the records concerned (the item closes itself once it no longer holds) or dismiss it with a reason.",
        ),
    }
}

fn values_section(b: &mut String, v: &ItemView<'_>, open: bool) {
    let l = v.lang;
    let it = v.item;
    let heading = match it.item_type {
        ItemType::HouseholdHead => l.pick("Thành viên", "Members"),
        ItemType::TwoPermanentResidences => l.pick("Nơi thường trú", "Permanent residences"),
        _ => l.pick("Các giá trị cạnh tranh", "Competing values"),
    };
    let _ = write!(
        b,
        "<section class=\"values\"><h2>{heading}</h2><div class=\"scroll\"><table class=\"side\"><thead><tr><th></th>"
    );
    for (i, _) in it.candidates.iter().enumerate() {
        let _ = write!(b, "<th>{} {}</th>", l.pick("Phương án", "Option"), i + 1);
    }
    b.push_str("</tr></thead><tbody>");
    // The value row.
    let _ = write!(
        b,
        "<tr class=\"value-row\"><th>{}</th>",
        l.pick("Giá trị", "Value")
    );
    for c in &it.candidates {
        let _ = write!(b, "<td>{}</td>", candidate_value(l, it, c, v.records));
    }
    b.push_str("</tr>");
    // Extra rows per type.
    match it.item_type {
        ItemType::HouseholdHead => {
            let _ = write!(
                b,
                "<tr><th>{}</th>",
                l.pick("Quan hệ hiện tại", "Current relationship")
            );
            for c in &it.candidates {
                let rel = c
                    .detail
                    .get("relationship")
                    .and_then(|r| r.as_str())
                    .unwrap_or("—");
                let _ = write!(
                    b,
                    "<td>{}</td>",
                    esc(&value_text(l, &Value::Text(rel.into())))
                );
            }
            b.push_str("</tr>");
        }
        ItemType::TwoPermanentResidences => {
            for (key, vi, en) in [
                ("address", "Địa chỉ", "Address"),
                ("address_unit", "Đơn vị", "Unit"),
                ("from_date", "Từ ngày", "From"),
            ] {
                let _ = write!(b, "<tr><th>{}</th>", l.pick(vi, en));
                for c in &it.candidates {
                    let s = c.detail.get(key).and_then(|x| x.as_str()).unwrap_or("—");
                    let s = if key == "address_unit" {
                        unit_label(s)
                    } else {
                        s.to_owned()
                    };
                    let _ = write!(b, "<td>{}</td>", esc(&s));
                }
                b.push_str("</tr>");
            }
        }
        ItemType::EditDuringWithdrawal => {
            let _ = write!(b, "<tr><th>{}</th>", l.pick("Việc đã làm", "What happened"));
            for c in &it.candidates {
                if let Some(fields) = c.detail.get("fields").and_then(|f| f.as_object()) {
                    let list: Vec<String> = fields
                        .iter()
                        .map(|(f, val)| {
                            let shown = serde_json::from_value::<Value>(val.clone())
                                .map(|x| value_text(l, &x))
                                .unwrap_or_else(|_| "—".into());
                            format!("{}: {}", field_label(l, &it.kind, f), shown)
                        })
                        .collect();
                    let _ = write!(
                        b,
                        "<td>{}<br>{}</td>",
                        l.pick("Sửa đồng thời:", "Edited concurrently:"),
                        esc(&list.join("; "))
                    );
                } else {
                    let _ = write!(b, "<td>{}</td>", l.pick("Rút hồ sơ", "Withdrew the record"));
                }
            }
            b.push_str("</tr>");
        }
        _ => {}
    }
    let rows = [
        l.pick("Cán bộ", "Officer"),
        l.pick("Thiết bị", "Device"),
        l.pick("Thời điểm (giờ VN)", "When (Vietnam time)"),
        l.pick("Mã thay đổi", "Change"),
    ];
    let cells: Vec<[String; 4]> = it.candidates.iter().map(|c| who_cells(l, c)).collect();
    for (i, label) in rows.iter().enumerate() {
        let _ = write!(b, "<tr><th>{label}</th>");
        for c in &cells {
            let _ = write!(b, "<td>{}</td>", c[i]);
        }
        b.push_str("</tr>");
    }
    if it.item_type != ItemType::TwoPermanentResidences && it.item_type != ItemType::HouseholdHead {
        let _ = write!(
            b,
            "<tr><th>{}</th>",
            l.pick("Thiết bị đang hiển thị", "Shown on devices")
        );
        for c in &it.candidates {
            let _ = write!(b, "<td>{}</td>", if c.winner { "✓" } else { "" });
        }
        b.push_str("</tr>");
    }
    if open {
        let _ = write!(
            b,
            "<tr class=\"choose\"><th>{}</th>",
            l.pick("Chọn", "Choose")
        );
        for (i, _) in it.candidates.iter().enumerate() {
            let _ = write!(
                b,
                "<td><label class=\"radio\"><input type=\"radio\" name=\"choice\" value=\"{i}\" form=\"resolve-form\" required> {} {}</label></td>",
                l.pick("Phương án", "Option"),
                i + 1
            );
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table></div>");
    if open {
        let go = match it.item_type {
            ItemType::HouseholdHead => l.pick("Chọn làm chủ hộ", "Make head of household"),
            ItemType::TwoPermanentResidences => {
                l.pick("Giữ nơi thường trú đã chọn", "Keep the chosen residence")
            }
            ItemType::EditDuringWithdrawal => {
                l.pick("Áp dụng phương án đã chọn", "Apply the chosen option")
            }
            _ => l.pick("Giữ giá trị đã chọn", "Keep the chosen value"),
        };
        let _ = write!(
            b,
            "<form id=\"resolve-form\" class=\"action\" method=\"post\" action=\"/console/items/{id}/resolve\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"mode\" value=\"choose\">\
             <button class=\"primary\" id=\"resolve-choose\">{go}</button></form>",
            id = it.id,
            csrf = esc(v.csrf),
        );
        if matches!(
            it.item_type,
            ItemType::FieldConflict | ItemType::StatusConflict
        ) && let Some(input) = new_value_input(l, it)
        {
            let _ = write!(
                b,
                "<form class=\"action new-value\" method=\"post\" action=\"/console/items/{id}/resolve\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"mode\" value=\"new\">\
                 <label>{h}{input}</label><button>{go}</button></form>",
                id = it.id,
                csrf = esc(v.csrf),
                h = l.pick("Hoặc nhập giá trị mới", "Or enter a new value"),
                go = l.pick("Ghi giá trị mới", "Write the new value"),
            );
        }
    }
    b.push_str("</section>");
}

/// The input for a new value: a select for enumerated fields, a date picker for dates, text
/// otherwise; `None` for values that are maps (a whole member entry).
fn new_value_input(l: Lang, it: &Item) -> Option<String> {
    let field = it.field.as_deref()?;
    if it
        .candidates
        .iter()
        .any(|c| matches!(c.value, Value::Map(_)))
    {
        return None;
    }
    let kind = Kind::parse(&it.kind)?;
    let mut parts = field.split('.');
    let top = parts.next()?;
    let ty = if parts.next().is_some() {
        // members.<id>.relationship
        FieldType::Enum(sync_core::model::RELATIONSHIPS)
    } else {
        field_spec(kind, top)?.ty
    };
    Some(match ty {
        FieldType::Enum(values) => {
            let mut s = String::from("<select name=\"value\" required>");
            for v in values {
                let _ = write!(
                    s,
                    "<option value=\"{v}\">{}</option>",
                    esc(&value_text(l, &Value::Text((*v).into())))
                );
            }
            s.push_str("</select>");
            s
        }
        FieldType::Date => "<input type=\"date\" name=\"value\" required>".into(),
        FieldType::Int | FieldType::Bool | FieldType::Members | FieldType::PreviousIdNumbers => {
            return None;
        }
        _ => "<input name=\"value\" required maxlength=\"200\">".into(),
    })
}

fn duplicate_section(b: &mut String, v: &ItemView<'_>, open: bool) {
    let l = v.lang;
    let it = v.item;
    let ids: Vec<Uuid> = it.records.clone();
    let _ = write!(
        b,
        "<section class=\"values\"><h2>{}</h2><div class=\"scroll\"><table class=\"side compare\"><thead><tr><th>{}</th>",
        l.pick("So sánh hai hồ sơ", "The two records side by side"),
        l.pick("Trường", "Field"),
    );
    for id in &ids {
        let _ = write!(b, "<th>{}</th>", record_link(l, *id, v.records));
    }
    b.push_str("</tr></thead><tbody>");
    let recs: Vec<Option<&Record>> = ids.iter().map(|id| v.records.get(id)).collect();
    let kind = Kind::parse(&it.kind).unwrap_or(Kind::Citizen);
    let _ = write!(b, "<tr><th>{}</th>", l.pick("Đơn vị", "Unit"));
    for r in &recs {
        let _ = write!(
            b,
            "<td>{}</td>",
            r.map(|r| esc(&unit_label(&r.unit))).unwrap_or_default()
        );
    }
    b.push_str("</tr>");
    for spec in fields_of(kind) {
        let vals: Vec<Option<&Value>> = recs
            .iter()
            .map(|r| r.and_then(|r| r.fields.get(spec.name)))
            .collect();
        if vals.iter().all(Option::is_none) {
            continue;
        }
        let differ = vals.windows(2).any(|w| w[0] != w[1]);
        let _ = write!(
            b,
            "<tr{cls}><th>{label}</th>",
            cls = if differ { " class=\"diff\"" } else { "" },
            label = esc(match l {
                Lang::Vi => spec.label_vi,
                Lang::En => spec.label_en,
            }),
        );
        for val in vals {
            let _ = write!(
                b,
                "<td>{}</td>",
                val.map(|x| esc(&value_text(l, x)))
                    .unwrap_or_else(|| "<span class=\"muted\">—</span>".into())
            );
        }
        b.push_str("</tr>");
    }
    let _ = write!(b, "<tr><th>{}</th>", l.pick("Tạo bởi", "Created by"));
    for id in &ids {
        let c = it.candidates.iter().find(|c| c.record == Some(*id));
        let cell = match c {
            Some(c) => {
                let [user, device, when, _] = who_cells(l, c);
                format!("{user} · {device}<br>{when}")
            }
            None => "—".into(),
        };
        let _ = write!(b, "<td>{cell}</td>");
    }
    b.push_str("</tr>");
    if open {
        let _ = write!(
            b,
            "<tr class=\"choose\"><th>{}</th>",
            l.pick("Giữ hồ sơ", "Keep")
        );
        for id in &ids {
            let _ = write!(
                b,
                "<td><label class=\"radio\"><input type=\"radio\" name=\"survivor\" value=\"{id}\" form=\"merge-form\" required> {}</label></td>",
                l.pick("Giữ hồ sơ này", "Keep this record")
            );
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table></div>");
    if open {
        let _ = write!(
            b,
            "<form id=\"merge-form\" class=\"action\" method=\"post\" action=\"/console/items/{id}/merge\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button class=\"primary\" id=\"merge\">{go}</button>\
             <span class=\"hint\">{hint}</span></form>",
            id = it.id,
            csrf = esc(v.csrf),
            go = l.pick("Gộp hai hồ sơ", "Merge the two records"),
            hint = l.pick(
                "Hồ sơ được giữ nhận các trường nó còn thiếu; thành viên hộ và khai báo chuyển sang hồ sơ được giữ.",
                "The kept record takes the fields it lacks; household memberships and declarations move to it."
            ),
        );
    }
    b.push_str("</section>");
}

fn resolution_section(b: &mut String, v: &ItemView<'_>) {
    let l = v.lang;
    let it = v.item;
    let _ = write!(
        b,
        "<section class=\"resolution\"><h2>{}</h2><dl class=\"meta\">",
        l.pick("Kết quả", "Outcome")
    );
    let by = it.resolved_by.as_deref().map(esc).unwrap_or_else(|| {
        l.pick(
            "tự động (tình huống không còn)",
            "automatically (the situation went away)",
        )
        .to_owned()
    });
    let _ = write!(
        b,
        "<dt>{w}</dt><dd id=\"resolved-by\">{by}</dd><dt>{t}</dt><dd>{time}</dd>",
        w = l.pick("Người xử lý", "Resolved by"),
        t = l.pick("Lúc", "At"),
        time = esc(&time(it.resolved_ms.unwrap_or(0))),
    );
    if let Some(res) = &it.resolution {
        let action = res.get("action").and_then(|a| a.as_str()).unwrap_or("");
        let action_label = match action {
            "choose" => l.pick("chọn một giá trị", "chose a value"),
            "new_value" => l.pick("nhập giá trị mới", "entered a new value"),
            "merge" => l.pick("gộp hồ sơ", "merged the records"),
            "dismiss" => l.pick("bỏ qua", "dismissed"),
            "auto" => l.pick("tự đóng", "closed itself"),
            other => other,
        };
        let _ = write!(
            b,
            "<dt>{}</dt><dd>{}</dd>",
            l.pick("Cách xử lý", "Decision"),
            esc(action_label)
        );
        if let Some(chosen) = res.get("chosen").filter(|c| !c.is_null()) {
            let shown = match chosen.get("survivor").and_then(|s| s.as_str()) {
                Some(id) => format!(
                    "{} <a href=\"/console/records/{id}\">{}</a>",
                    l.pick("giữ hồ sơ", "kept record"),
                    esc(&short_id(id)),
                    id = esc(id)
                ),
                None => esc(&json_text(l, chosen)),
            };
            let _ = write!(
                b,
                "<dt>{}</dt><dd id=\"chosen\">{shown}</dd>",
                l.pick("Giá trị được chọn", "Chosen")
            );
        }
        if let Some(lost) = res.get("lost").filter(|c| !c.is_null()) {
            let _ = write!(
                b,
                "<dt>{}</dt><dd>{}</dd>",
                l.pick("Giá trị bị thay thế", "Values that lost"),
                lost_html(l, lost)
            );
        }
        if let Some(reason) = res.get("reason").and_then(|r| r.as_str()) {
            let _ = write!(
                b,
                "<dt>{}</dt><dd>{}</dd>",
                l.pick("Lý do", "Reason"),
                esc(reason)
            );
        }
        if let Some(changes) = res
            .get("changes")
            .and_then(|c| c.as_array())
            .filter(|c| !c.is_empty())
        {
            let list: Vec<String> = changes
                .iter()
                .map(|c| {
                    let rec = c.get("record").and_then(|r| r.as_str()).unwrap_or("");
                    let h = c.get("change").and_then(|r| r.as_str()).unwrap_or("");
                    format!(
                        "<a href=\"/console/records/{}\">{}</a> <code>{}</code>",
                        esc(rec),
                        esc(&short_id(rec)),
                        esc(&h.chars().take(10).collect::<String>())
                    )
                })
                .collect();
            let _ = write!(
                b,
                "<dt>{}</dt><dd>{}</dd>",
                l.pick("Thay đổi đã ghi", "Changes written"),
                list.join("<br>")
            );
        }
    }
    b.push_str("</dl></section>");
}

fn json_text(l: Lang, v: &serde_json::Value) -> String {
    match serde_json::from_value::<Value>(v.clone()) {
        Ok(x) => value_text(l, &x),
        Err(_) => v.to_string(),
    }
}

fn lost_html(l: Lang, lost: &serde_json::Value) -> String {
    let entries: Vec<&serde_json::Value> = match lost {
        serde_json::Value::Array(a) => a.iter().collect(),
        serde_json::Value::Object(o) => match o.get("values").and_then(|v| v.as_array()) {
            Some(a) => a.iter().collect(),
            None => return merge_lost_html(l, o),
        },
        _ => return esc(&lost.to_string()),
    };
    if entries.is_empty() {
        return "—".into();
    }
    entries
        .iter()
        .map(|e| {
            let value = e.get("value").map(|v| json_text(l, v)).unwrap_or_default();
            let user = e.get("user").and_then(|u| u.as_str()).unwrap_or("?");
            let when = e
                .get("time_ms")
                .and_then(|t| t.as_i64())
                .map(time)
                .unwrap_or_default();
            format!(
                "{} <span class=\"muted\">({} · {})</span>",
                esc(&value),
                esc(user),
                esc(&when)
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// What a merge replaced: the merged record, its values that differed from the survivor's,
/// and how many memberships and references moved.
fn merge_lost_html(l: Lang, o: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut parts = Vec::new();
    if let Some(id) = o.get("merged").and_then(|m| m.as_str()) {
        parts.push(format!(
            "{} <a href=\"/console/records/{id}\">{}</a>",
            l.pick("hồ sơ đã gộp", "merged record"),
            esc(&short_id(id)),
            id = esc(id)
        ));
    }
    if let Some(d) = o
        .get("differing_values")
        .and_then(|d| d.as_object())
        .filter(|d| !d.is_empty())
    {
        let list: Vec<String> = d
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}: {}",
                    esc(&field_label(l, "citizen", k)),
                    esc(&json_text(l, v))
                )
            })
            .collect();
        parts.push(format!(
            "{} {}",
            l.pick("giá trị khác không được giữ:", "differing values not kept:"),
            list.join("; ")
        ));
    }
    for (key, vi, en) in [
        (
            "households_moved",
            "hộ gia đình chuyển sang hồ sơ được giữ",
            "households moved to the kept record",
        ),
        (
            "references_moved",
            "khai báo/hồ sơ chuyển sang hồ sơ được giữ",
            "declarations/applications moved to the kept record",
        ),
    ] {
        if let Some(n) = o
            .get(key)
            .and_then(|v| v.as_array())
            .map(Vec::len)
            .filter(|n| *n > 0)
        {
            parts.push(format!("{n} {}", l.pick(vi, en)));
        }
    }
    parts.join("<br>")
}

/// What the record page shows.
#[derive(Debug)]
pub struct RecordView<'a> {
    /// Language.
    pub lang: Lang,
    /// The record.
    pub record: &'a Record,
    /// Its conflicts.
    pub conflicts: &'a [FieldConflict],
    /// Its history, oldest first.
    pub history: &'a [FieldChange],
    /// Who is behind each change (by change hash hex).
    pub who: &'a HashMap<String, Who>,
    /// Review items about it (any status).
    pub items: &'a [Item],
    /// Records merged into this one.
    pub merged_from: &'a [Uuid],
    /// Now (ms).
    pub now_ms: i64,
}

/// The record page: fields (with conflicts) and their history.
pub fn record(v: &RecordView<'_>) -> String {
    let l = v.lang;
    let r = v.record;
    let kind = r.kind.as_str();
    let mut b = String::new();
    let name = display_name(r);
    let _ = write!(
        b,
        "<p class=\"crumbs\"><a href=\"/console/queue\">{q}</a> › {k}</p><div class=\"titlebar\"><h1>{k}: {name}</h1></div>\
         <dl class=\"meta\"><dt>{id}</dt><dd><code>{rid}</code></dd><dt>{u}</dt><dd>{unit}</dd>",
        q = l.pick("Hàng đợi", "Queue"),
        k = esc(&kind_label(l, kind)),
        name = esc(if name.is_empty() { "—" } else { name }),
        id = l.pick("Mã hồ sơ", "Record id"),
        rid = r.id,
        u = l.pick("Đơn vị quản lý", "Unit"),
        unit = esc(&unit_label(&r.unit)),
    );
    if let Some(m) = r.text("merged_into") {
        let _ = write!(
            b,
            "<dt>{}</dt><dd><a href=\"/console/records/{}\">{}</a></dd>",
            l.pick("Đã gộp vào", "Merged into"),
            esc(m),
            esc(&short_id(m))
        );
    }
    if !v.merged_from.is_empty() {
        let links: Vec<String> = v
            .merged_from
            .iter()
            .map(|id| {
                format!(
                    "<a href=\"/console/records/{id}\">{}</a>",
                    esc(&short_id(&id.to_string()))
                )
            })
            .collect();
        let _ = write!(
            b,
            "<dt>{}</dt><dd>{}</dd>",
            l.pick("Hồ sơ đã gộp vào đây", "Merged from"),
            links.join(", ")
        );
    }
    b.push_str("</dl>");

    // Open and past items.
    if !v.items.is_empty() {
        let _ = write!(
            b,
            "<section><h2>{}</h2><ul class=\"items\">",
            l.pick("Mục rà soát", "Review items")
        );
        for it in v.items {
            let _ = write!(
                b,
                "<li><a href=\"/console/items/{id}\">#{id}</a> <span class=\"tag t-{ty}\">{tl}</span> <span class=\"status s-{st}\">{sl}</span>{by}</li>",
                id = it.id,
                ty = it.item_type.as_str(),
                tl = type_label(l, it.item_type),
                st = it.status.as_str(),
                sl = status_label(l, it.status),
                by = it
                    .resolved_by
                    .as_deref()
                    .map(|u| format!(
                        " — {} {} · {}",
                        l.pick("bởi", "by"),
                        esc(u),
                        esc(&time(it.resolved_ms.unwrap_or(0)))
                    ))
                    .unwrap_or_default(),
            );
        }
        b.push_str("</ul></section>");
    }

    // Fields.
    let conflicts: BTreeMap<&str, &FieldConflict> =
        v.conflicts.iter().map(|c| (c.field.as_str(), c)).collect();
    let _ = write!(
        b,
        "<section><h2>{}</h2><table class=\"fields\"><tbody>",
        l.pick("Thông tin hiện tại", "Current fields")
    );
    for spec in fields_of(r.kind) {
        let Some(val) = r.fields.get(spec.name) else {
            continue;
        };
        let label = match l {
            Lang::Vi => spec.label_vi,
            Lang::En => spec.label_en,
        };
        let conflict = conflicts
            .iter()
            .filter(|(f, _)| **f == spec.name || f.starts_with(&format!("{}.", spec.name)))
            .map(|(_, c)| *c)
            .collect::<Vec<_>>();
        let mut cell = esc(&value_text(l, val));
        if !conflict.is_empty() {
            let all: Vec<String> = conflict
                .iter()
                .flat_map(|c| c.values.iter().map(|x| esc(&value_text(l, &x.value))))
                .collect();
            let _ = write!(
                cell,
                " <span class=\"conflict\">{}: {}</span>",
                l.pick("xung đột", "conflict"),
                all.join(" | ")
            );
        }
        let _ = write!(
            b,
            "<tr data-field=\"{name}\"><th>{label}</th><td>{cell}</td></tr>",
            name = spec.name,
            label = esc(label)
        );
    }
    b.push_str("</tbody></table></section>");

    // History, newest first.
    let _ = write!(
        b,
        "<section><h2>{h}</h2><div class=\"scroll\"><table class=\"history\"><thead><tr><th>{t}</th><th>{f}</th><th>{from}</th><th>{to}</th><th>{o}</th><th>{d}</th></tr></thead><tbody>",
        h = l.pick("Lịch sử thay đổi", "Field history"),
        t = l.pick("Thời điểm (giờ VN)", "When (Vietnam time)"),
        f = l.pick("Trường", "Field"),
        from = l.pick("Giá trị cũ", "From"),
        to = l.pick("Giá trị mới", "To"),
        o = l.pick("Cán bộ", "Officer"),
        d = l.pick("Thiết bị", "Device"),
    );
    for h in v.history.iter().rev() {
        let who = v.who.get(&h.change).cloned().unwrap_or_default();
        let show = |x: &Option<Value>| {
            x.as_ref()
                .map(|x| esc(&value_text(l, x)))
                .unwrap_or_else(|| "<span class=\"muted\">—</span>".into())
        };
        let _ = write!(
            b,
            "<tr><td>{t}</td><td>{f}</td><td>{from}</td><td>{to}</td><td>{user}</td><td>{device}</td></tr>",
            t = esc(&time(h.time_ms)),
            f = esc(&field_label(l, kind, &h.field)),
            from = show(&h.from),
            to = show(&h.to),
            user = who.user.as_deref().map(esc).unwrap_or_else(|| "—".into()),
            device = who
                .device_name
                .as_deref()
                .or(who.device.as_deref())
                .map(esc)
                .unwrap_or_else(|| "—".into()),
        );
    }
    b.push_str("</tbody></table></div></section>");
    let _ = v.now_ms;
    let _ = i18n::short_id;
    b
}

/// A small page for errors (not found, refused).
pub fn message(lang: Lang, heading: &str, text: &str) -> String {
    format!(
        "<section class=\"message\"><h1>{}</h1><p>{}</p><p><a href=\"/console/queue\">{}</a></p></section>",
        esc(heading),
        esc(text),
        lang.pick("Về hàng đợi", "Back to the queue")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert_eq!(
            url_encode("/console/items/3?x=1&y"),
            "/console/items/3%3Fx%3D1%26y"
        );
    }
}
