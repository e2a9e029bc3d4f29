//! Server-rendered HTML of the console, on askama templates (`server/templates/console/`,
//! one layout `base.html`). Escaping is on for every value the templates print; the only
//! values printed with `|safe` are [`Frag`]s, which are themselves askama templates whose
//! pieces are escaped. No JavaScript: forms post back, radios outside a form join it through
//! the `form` attribute.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use askama::Template;
use sync_core::doc::{FieldChange, FieldConflict};
use sync_core::model::{FieldType, Kind, Record, Value, field_spec, fields_of};
use sync_core::replica::display_name;
use uuid::Uuid;

use super::i18n::{
    Lang, age, field_label, kind_label, short_id, status_label, time, type_label, unit_label,
    value_text,
};
use crate::review::store::{Counts, Filter, Who};
use crate::review::{Candidate, Item, ItemStatus, ItemType};

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

/// One piece of a small inline fragment (a link with its short id, a value with its officer).
#[derive(Debug, Clone)]
pub enum Piece {
    /// Plain text.
    Text(String),
    /// Greyed-out text.
    Muted(String),
    /// A value (`<span class="value">`).
    Value(String),
    /// `<code title=…>`.
    Code {
        /// The full text (tooltip).
        title: String,
        /// What is shown.
        text: String,
    },
    /// A link.
    Link {
        /// Target.
        href: String,
        /// Text.
        text: String,
    },
    /// A line break.
    Br,
}

/// An inline HTML fragment made of escaped [`Piece`]s.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "console/frag.html")]
pub struct Frag {
    /// The pieces, in order.
    pub pieces: Vec<Piece>,
}

impl Frag {
    /// A fragment of plain text.
    pub fn text(s: impl Into<String>) -> Frag {
        Frag {
            pieces: vec![Piece::Text(s.into())],
        }
    }

    fn muted(s: impl Into<String>) -> Frag {
        Frag {
            pieces: vec![Piece::Muted(s.into())],
        }
    }

    fn push(&mut self, p: Piece) -> &mut Self {
        self.pieces.push(p);
        self
    }

    fn append(&mut self, other: Frag) -> &mut Self {
        self.pieces.extend(other.pieces);
        self
    }

    /// Fragments joined by `sep` pieces.
    fn join(parts: Vec<Frag>, sep: &[Piece]) -> Frag {
        let mut out = Frag::default();
        for (i, p) in parts.into_iter().enumerate() {
            if i > 0 {
                out.pieces.extend(sep.iter().cloned());
            }
            out.append(p);
        }
        out
    }
}

fn code(full: &str, shown: String) -> Piece {
    Piece::Code {
        title: full.to_owned(),
        text: shown,
    }
}

fn link(href: String, text: impl Into<String>) -> Piece {
    Piece::Link {
        href,
        text: text.into(),
    }
}

/// The signed-in user as the layout shows it.
#[derive(Debug, Clone)]
pub struct ChromeUser {
    /// The name shown for the signed-in user (its display name, else its account name).
    pub name: String,
    /// The session's CSRF token (for the sign-out form).
    pub csrf: String,
}

/// The page frame around every view (the layout's data).
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Language.
    pub lang: Lang,
    /// The signed-in user (none on the login page).
    pub user: Option<ChromeUser>,
    /// The navigation links (href, label) for this user.
    pub nav: Vec<(String, String)>,
    /// Where the brand links to.
    pub home: String,
    /// Link that shows this page in the other language.
    pub toggle: String,
    /// Page title.
    pub title: String,
}

/// A small page for errors (not found, refused).
#[derive(Debug, Template)]
#[template(path = "console/message.html")]
pub struct MessagePage {
    /// The frame.
    pub chrome: Chrome,
    /// Heading.
    pub heading: String,
    /// Text.
    pub text: String,
    /// The way back (href, label).
    pub back: (String, String),
}

/// The login form.
#[derive(Debug, Template)]
#[template(path = "console/login.html")]
pub struct LoginPage {
    /// The frame.
    pub chrome: Chrome,
    /// The login form's token.
    pub csrf: String,
    /// Where to go after sign-in.
    pub next: String,
    /// The refusal to show.
    pub error: Option<String>,
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

/// An `<option>` of a filter.
#[derive(Debug)]
pub struct Opt {
    value: String,
    label: String,
    count: Option<u64>,
    selected: bool,
}

fn opt(value: &str, label: &str, count: Option<u64>, selected: bool) -> Opt {
    Opt {
        value: value.to_owned(),
        label: label.to_owned(),
        count,
        selected,
    }
}

/// A count per item type above the queue.
#[derive(Debug)]
pub struct Chip {
    class: &'static str,
    code: &'static str,
    label: &'static str,
    n: u64,
}

/// A row of the queue table.
#[derive(Debug)]
pub struct QueueRow {
    ty: &'static str,
    id: i64,
    type_label: &'static str,
    kind: String,
    unit: String,
    field: String,
    n: usize,
    officers: String,
    opened: String,
    age: String,
    status: &'static str,
}

/// The queue page.
#[derive(Debug, Template)]
#[template(path = "console/queue.html")]
pub struct QueuePage {
    /// The frame.
    pub chrome: Chrome,
    heading: &'static str,
    total: u64,
    status: String,
    selects: Vec<(&'static str, &'static str, Vec<Opt>)>,
    chips: Vec<Chip>,
    rows: Vec<QueueRow>,
}

/// The queue with its filters and counts.
pub fn queue(chrome: Chrome, v: &QueueView<'_>) -> QueuePage {
    let l = v.lang;
    let heading = match v.status {
        "resolved" => l.pick("Mục đã xử lý", "Resolved items"),
        "dismissed" => l.pick("Mục đã bỏ qua", "Dismissed items"),
        "all" => l.pick("Tất cả mục rà soát", "All review items"),
        _ => l.pick("Hàng đợi rà soát", "Review queue"),
    };
    let all = l.pick("Tất cả", "All");
    let statuses = [
        ("open", Some(ItemStatus::Open)),
        ("resolved", Some(ItemStatus::Resolved)),
        ("dismissed", Some(ItemStatus::Dismissed)),
        ("all", None),
    ]
    .into_iter()
    .map(|(value, s)| {
        let label = s.map(|s| status_label(l, s)).unwrap_or(all);
        let count = s.map(|s| v.counts.by_status.get(s.as_str()).copied().unwrap_or(0));
        opt(value, label, count, v.status == value)
    })
    .collect();
    let mut types = vec![opt("", all, None, v.item_type.is_empty())];
    types.extend(ItemType::ALL.into_iter().map(|t| {
        let count = v.counts.by_type.get(t.as_str()).copied().unwrap_or(0);
        opt(
            t.as_str(),
            type_label(l, t),
            Some(count),
            v.item_type == t.as_str(),
        )
    }));
    let mut kinds = vec![opt("", all, None, v.kind.is_empty())];
    kinds.extend(Kind::ALL.into_iter().map(|k| {
        let count = v.counts.by_kind.get(k.as_str()).copied().unwrap_or(0);
        opt(
            k.as_str(),
            &kind_label(l, k.as_str()),
            Some(count),
            v.kind == k.as_str(),
        )
    }));
    let mut units = vec![opt("", all, None, v.unit.is_empty())];
    if !v.unit.is_empty() && !v.counts.by_unit.contains_key(v.unit) {
        units.push(opt(v.unit, &unit_label(v.unit), Some(0), true));
    }
    let mut by_unit: Vec<(&String, &u64)> = v.counts.by_unit.iter().collect();
    by_unit.sort();
    units.extend(
        by_unit
            .into_iter()
            .map(|(code, n)| opt(code, &unit_label(code), Some(*n), v.unit == code)),
    );
    let ages = AGES
        .iter()
        .map(|(value, vi, en)| opt(value, l.pick(vi, en), None, v.age == *value))
        .collect();
    let chips = ItemType::ALL
        .into_iter()
        .map(|t| {
            let n = v.counts.by_type.get(t.as_str()).copied().unwrap_or(0);
            let class = if v.item_type == t.as_str() {
                "chip on"
            } else if n == 0 {
                "chip zero"
            } else {
                "chip"
            };
            Chip {
                class,
                code: t.as_str(),
                label: type_label(l, t),
                n,
            }
        })
        .collect();
    let rows = v
        .items
        .iter()
        .map(|item| {
            let mut officers: Vec<&str> = item
                .candidates
                .iter()
                .filter_map(|c| c.user.as_deref())
                .collect();
            officers.sort_unstable();
            officers.dedup();
            QueueRow {
                ty: item.item_type.as_str(),
                id: item.id,
                type_label: type_label(l, item.item_type),
                kind: kind_label(l, &item.kind),
                unit: unit_label(&item.unit),
                field: item
                    .field
                    .as_deref()
                    .map(|f| field_label(l, &item.kind, f))
                    .unwrap_or_default(),
                n: item.candidates.len(),
                officers: officers.join(", "),
                opened: time(item.created_ms),
                age: age(l, v.now_ms, item.created_ms),
                status: status_label(l, item.status),
            }
        })
        .collect();
    QueuePage {
        chrome,
        heading,
        total: v.counts.total,
        status: v.status.to_owned(),
        selects: vec![
            ("status", l.pick("Trạng thái", "Status"), statuses),
            ("type", l.pick("Loại vấn đề", "Item type"), types),
            ("kind", l.pick("Loại hồ sơ", "Record kind"), kinds),
            ("unit", l.pick("Đơn vị", "Unit"), units),
            ("age", l.pick("Thời gian chờ", "Age"), ages),
        ],
        chips,
        rows,
    }
}

/// A `<dt>`/`<dd>` pair of a definition list.
#[derive(Debug)]
pub struct Meta {
    label: String,
    id: Option<&'static str>,
    value: Frag,
}

fn meta(label: &str, value: Frag) -> Meta {
    Meta {
        label: label.to_owned(),
        id: None,
        value,
    }
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

fn record_link(lang: Lang, id: Uuid, records: &HashMap<Uuid, Record>) -> Frag {
    let full = id.to_string();
    let short = short_id(&full);
    let mut f = Frag::default();
    match records.get(&id) {
        Some(r) => {
            let name = display_name(r);
            let text = format!(
                "{}: {}",
                kind_label(lang, r.kind.as_str()),
                if name.is_empty() { "—" } else { name }
            );
            f.push(link(format!("/console/records/{id}"), text))
                .push(Piece::Text(" ".into()))
                .push(code(&full, short));
        }
        None => {
            f.push(code(&full, short))
                .push(Piece::Text(" ".into()))
                .push(Piece::Muted(format!(
                    "({})",
                    lang.pick("không có trên máy chủ", "not on the server")
                )));
        }
    }
    f
}

fn who_cells(lang: Lang, c: &Candidate) -> [Frag; 4] {
    let unknown = || Frag::muted(lang.pick("không rõ", "unknown"));
    let device = match (&c.device_name, &c.device) {
        (Some(n), Some(d)) => Frag {
            pieces: vec![Piece::Text(format!("{n} ")), code(d, short_id(d))],
        },
        (None, Some(d)) => Frag {
            pieces: vec![code(d, short_id(d))],
        },
        _ => unknown(),
    };
    [
        c.user.as_deref().map(Frag::text).unwrap_or_else(unknown),
        device,
        Frag::text(time(c.time_ms)),
        Frag {
            pieces: vec![code(&c.change, c.change.chars().take(10).collect())],
        },
    ]
}

fn candidate_value(lang: Lang, c: &Candidate, records: &HashMap<Uuid, Record>) -> Frag {
    if let Some(r) = c.record {
        return record_link(lang, r, records);
    }
    Frag {
        pieces: vec![Piece::Value(value_text(lang, &c.value))],
    }
}

/// The input for a new value.
#[derive(Debug)]
pub enum NewInput {
    /// A choice among codes (value, label).
    Select(Vec<(String, String)>),
    /// A date picker.
    Date,
    /// Free text.
    Text,
}

/// The radios that pick one column of the side-by-side table.
#[derive(Debug)]
pub struct Choose {
    label: String,
    name: &'static str,
    form: &'static str,
    options: Vec<(String, String)>,
}

/// A row of the side-by-side table.
#[derive(Debug)]
pub struct SideRow {
    class: &'static str,
    label: String,
    cells: Vec<Frag>,
}

fn side_row(label: &str, cells: Vec<Frag>) -> SideRow {
    SideRow {
        class: "",
        label: label.to_owned(),
        cells,
    }
}

/// The values (or the two records) side by side, with the forms that decide.
#[derive(Debug, Default)]
pub struct Side {
    heading: String,
    class: &'static str,
    corner: String,
    columns: Vec<Frag>,
    rows: Vec<SideRow>,
    choose: Option<Choose>,
    resolve: Option<String>,
    new_value: Option<NewInput>,
    merge: bool,
}

/// The item page.
#[derive(Debug, Template)]
#[template(path = "console/item.html")]
pub struct ItemPage {
    /// The frame.
    pub chrome: Chrome,
    id: i64,
    ty: &'static str,
    type_label: &'static str,
    status: &'static str,
    status_label: &'static str,
    notice: Option<(String, String)>,
    meta: Vec<Meta>,
    explain: &'static str,
    side: Side,
    open: bool,
    csrf: String,
    outcome: Vec<Meta>,
}

/// The item page: the competing values side by side and the actions.
pub fn item(chrome: Chrome, v: &ItemView<'_>) -> ItemPage {
    let l = v.lang;
    let it = v.item;
    let records = Frag::join(
        it.records
            .iter()
            .map(|r| record_link(l, *r, v.records))
            .collect(),
        &[Piece::Br],
    );
    let mut m = vec![
        meta(l.pick("Hồ sơ liên quan", "Records"), records),
        meta(l.pick("Đơn vị", "Unit"), Frag::text(unit_label(&it.unit))),
    ];
    if let Some(f) = &it.field {
        m.push(meta(
            l.pick("Trường", "Field"),
            Frag::text(field_label(l, &it.kind, f)),
        ));
    }
    m.push(meta(
        l.pick("Mở lúc", "Opened"),
        Frag::text(format!(
            "{} ({})",
            time(it.created_ms),
            age(l, v.now_ms, it.created_ms)
        )),
    ));
    let open = it.status == ItemStatus::Open;
    let side = if it.item_type.is_duplicate() {
        duplicate_side(v, open)
    } else {
        values_side(v, open)
    };
    ItemPage {
        chrome,
        id: it.id,
        ty: it.item_type.as_str(),
        type_label: type_label(l, it.item_type),
        status: it.status.as_str(),
        status_label: status_label(l, it.status),
        notice: v.notice.as_ref().map(|(c, t)| ((*c).to_owned(), t.clone())),
        meta: m,
        explain: explain(l, it),
        side,
        open,
        csrf: v.csrf.to_owned(),
        outcome: if open { Vec::new() } else { outcome(v) },
    }
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

fn values_side(v: &ItemView<'_>, open: bool) -> Side {
    let l = v.lang;
    let it = v.item;
    let heading = match it.item_type {
        ItemType::HouseholdHead => l.pick("Thành viên", "Members"),
        ItemType::TwoPermanentResidences => l.pick("Nơi thường trú", "Permanent residences"),
        _ => l.pick("Các giá trị cạnh tranh", "Competing values"),
    };
    let option = |i: usize| format!("{} {}", l.pick("Phương án", "Option"), i + 1);
    let mut rows = vec![SideRow {
        class: "value-row",
        label: l.pick("Giá trị", "Value").to_owned(),
        cells: it
            .candidates
            .iter()
            .map(|c| candidate_value(l, c, v.records))
            .collect(),
    }];
    match it.item_type {
        ItemType::HouseholdHead => rows.push(side_row(
            l.pick("Quan hệ hiện tại", "Current relationship"),
            it.candidates
                .iter()
                .map(|c| {
                    let rel = c
                        .detail
                        .get("relationship")
                        .and_then(|r| r.as_str())
                        .unwrap_or("—");
                    Frag::text(value_text(l, &Value::Text(rel.into())))
                })
                .collect(),
        )),
        ItemType::TwoPermanentResidences => {
            for (key, vi, en) in [
                ("address", "Địa chỉ", "Address"),
                ("address_unit", "Đơn vị", "Unit"),
                ("from_date", "Từ ngày", "From"),
            ] {
                let cells = it
                    .candidates
                    .iter()
                    .map(|c| {
                        let s = c.detail.get(key).and_then(|x| x.as_str()).unwrap_or("—");
                        Frag::text(if key == "address_unit" {
                            unit_label(s)
                        } else {
                            s.to_owned()
                        })
                    })
                    .collect();
                rows.push(side_row(l.pick(vi, en), cells));
            }
        }
        ItemType::EditDuringWithdrawal => rows.push(side_row(
            l.pick("Việc đã làm", "What happened"),
            it.candidates
                .iter()
                .map(
                    |c| match c.detail.get("fields").and_then(|f| f.as_object()) {
                        Some(fields) => {
                            let list: Vec<String> = fields
                                .iter()
                                .map(|(f, val)| {
                                    let shown = serde_json::from_value::<Value>(val.clone())
                                        .map(|x| value_text(l, &x))
                                        .unwrap_or_else(|_| "—".into());
                                    format!("{}: {}", field_label(l, &it.kind, f), shown)
                                })
                                .collect();
                            Frag {
                                pieces: vec![
                                    Piece::Text(
                                        l.pick("Sửa đồng thời:", "Edited concurrently:").into(),
                                    ),
                                    Piece::Br,
                                    Piece::Text(list.join("; ")),
                                ],
                            }
                        }
                        None => Frag::text(l.pick("Rút hồ sơ", "Withdrew the record")),
                    },
                )
                .collect(),
        )),
        _ => {}
    }
    let labels = [
        l.pick("Cán bộ", "Officer"),
        l.pick("Thiết bị", "Device"),
        l.pick("Thời điểm (giờ VN)", "When (Vietnam time)"),
        l.pick("Mã thay đổi", "Change"),
    ];
    let mut cells: Vec<[Frag; 4]> = it.candidates.iter().map(|c| who_cells(l, c)).collect();
    for (i, label) in labels.iter().enumerate() {
        rows.push(side_row(
            label,
            cells
                .iter_mut()
                .map(|c| std::mem::take(&mut c[i]))
                .collect(),
        ));
    }
    if it.item_type != ItemType::TwoPermanentResidences && it.item_type != ItemType::HouseholdHead {
        rows.push(side_row(
            l.pick("Thiết bị đang hiển thị", "Shown on devices"),
            it.candidates
                .iter()
                .map(|c| Frag::text(if c.winner { "✓" } else { "" }))
                .collect(),
        ));
    }
    let mut side = Side {
        heading: heading.to_owned(),
        class: "side",
        columns: (0..it.candidates.len())
            .map(|i| Frag::text(option(i)))
            .collect(),
        rows,
        ..Side::default()
    };
    if open {
        side.choose = Some(Choose {
            label: l.pick("Chọn", "Choose").to_owned(),
            name: "choice",
            form: "resolve-form",
            options: (0..it.candidates.len())
                .map(|i| (i.to_string(), option(i)))
                .collect(),
        });
        side.resolve = Some(
            match it.item_type {
                ItemType::HouseholdHead => l.pick("Chọn làm chủ hộ", "Make head of household"),
                ItemType::TwoPermanentResidences => {
                    l.pick("Giữ nơi thường trú đã chọn", "Keep the chosen residence")
                }
                ItemType::EditDuringWithdrawal => {
                    l.pick("Áp dụng phương án đã chọn", "Apply the chosen option")
                }
                _ => l.pick("Giữ giá trị đã chọn", "Keep the chosen value"),
            }
            .to_owned(),
        );
        if matches!(
            it.item_type,
            ItemType::FieldConflict | ItemType::StatusConflict
        ) {
            side.new_value = new_value_input(l, it);
        }
    }
    side
}

/// The input for a new value: a select for enumerated fields, a date picker for dates, text
/// otherwise; `None` for values that are maps (a whole member entry).
fn new_value_input(l: Lang, it: &Item) -> Option<NewInput> {
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
        FieldType::Enum(values) => NewInput::Select(
            values
                .iter()
                .map(|v| ((*v).to_owned(), value_text(l, &Value::Text((*v).into()))))
                .collect(),
        ),
        FieldType::Date => NewInput::Date,
        FieldType::Int
        | FieldType::Bool
        | FieldType::Members
        | FieldType::PreviousIdNumbers
        | FieldType::Attachments => {
            return None;
        }
        _ => NewInput::Text,
    })
}

fn duplicate_side(v: &ItemView<'_>, open: bool) -> Side {
    let l = v.lang;
    let it = v.item;
    let ids: Vec<Uuid> = it.records.clone();
    let recs: Vec<Option<&Record>> = ids.iter().map(|id| v.records.get(id)).collect();
    let kind = Kind::parse(&it.kind).unwrap_or(Kind::Citizen);
    let mut rows = vec![side_row(
        l.pick("Đơn vị", "Unit"),
        recs.iter()
            .map(|r| {
                r.map(|r| Frag::text(unit_label(&r.unit)))
                    .unwrap_or_default()
            })
            .collect(),
    )];
    for spec in fields_of(kind) {
        let vals: Vec<Option<&Value>> = recs
            .iter()
            .map(|r| r.and_then(|r| r.fields.get(spec.name)))
            .collect();
        if vals.iter().all(Option::is_none) {
            continue;
        }
        let differ = vals.windows(2).any(|w| w[0] != w[1]);
        rows.push(SideRow {
            class: if differ { "diff" } else { "" },
            label: match l {
                Lang::Vi => spec.label_vi,
                Lang::En => spec.label_en,
            }
            .to_owned(),
            cells: vals
                .into_iter()
                .map(|val| {
                    val.map(|x| Frag::text(value_text(l, x)))
                        .unwrap_or_else(|| Frag::muted("—"))
                })
                .collect(),
        });
    }
    rows.push(side_row(
        l.pick("Tạo bởi", "Created by"),
        ids.iter()
            .map(
                |id| match it.candidates.iter().find(|c| c.record == Some(*id)) {
                    Some(c) => {
                        let [user, device, when, _] = who_cells(l, c);
                        let mut f = user;
                        f.push(Piece::Text(" · ".into()))
                            .append(device)
                            .push(Piece::Br)
                            .append(when);
                        f
                    }
                    None => Frag::text("—"),
                },
            )
            .collect(),
    ));
    Side {
        heading: l
            .pick("So sánh hai hồ sơ", "The two records side by side")
            .to_owned(),
        class: "side compare",
        corner: l.pick("Trường", "Field").to_owned(),
        columns: ids
            .iter()
            .map(|id| record_link(l, *id, v.records))
            .collect(),
        rows,
        choose: open.then(|| Choose {
            label: l.pick("Giữ hồ sơ", "Keep").to_owned(),
            name: "survivor",
            form: "merge-form",
            options: ids
                .iter()
                .map(|id| {
                    (
                        id.to_string(),
                        l.pick("Giữ hồ sơ này", "Keep this record").to_owned(),
                    )
                })
                .collect(),
        }),
        merge: open,
        ..Side::default()
    }
}

fn outcome(v: &ItemView<'_>) -> Vec<Meta> {
    let l = v.lang;
    let it = v.item;
    let by = it.resolved_by.clone().unwrap_or_else(|| {
        l.pick(
            "tự động (tình huống không còn)",
            "automatically (the situation went away)",
        )
        .to_owned()
    });
    let mut m = vec![
        Meta {
            label: l.pick("Người xử lý", "Resolved by").to_owned(),
            id: Some("resolved-by"),
            value: Frag::text(by),
        },
        meta(
            l.pick("Lúc", "At"),
            Frag::text(time(it.resolved_ms.unwrap_or(0))),
        ),
    ];
    let Some(res) = &it.resolution else {
        return m;
    };
    let action = res.get("action").and_then(|a| a.as_str()).unwrap_or("");
    let action_label = match action {
        "choose" => l.pick("chọn một giá trị", "chose a value"),
        "new_value" => l.pick("nhập giá trị mới", "entered a new value"),
        "merge" => l.pick("gộp hồ sơ", "merged the records"),
        "dismiss" => l.pick("bỏ qua", "dismissed"),
        "auto" => l.pick("tự đóng", "closed itself"),
        other => other,
    };
    m.push(meta(
        l.pick("Cách xử lý", "Decision"),
        Frag::text(action_label),
    ));
    if let Some(chosen) = res.get("chosen").filter(|c| !c.is_null()) {
        let shown = match chosen.get("survivor").and_then(|s| s.as_str()) {
            Some(id) => Frag {
                pieces: vec![
                    Piece::Text(format!("{} ", l.pick("giữ hồ sơ", "kept record"))),
                    link(format!("/console/records/{id}"), short_id(id)),
                ],
            },
            None => Frag::text(json_text(l, chosen)),
        };
        m.push(Meta {
            label: l.pick("Giá trị được chọn", "Chosen").to_owned(),
            id: Some("chosen"),
            value: shown,
        });
    }
    if let Some(lost) = res.get("lost").filter(|c| !c.is_null()) {
        m.push(meta(
            l.pick("Giá trị bị thay thế", "Values that lost"),
            lost_frag(l, lost),
        ));
    }
    if let Some(reason) = res.get("reason").and_then(|r| r.as_str()) {
        m.push(meta(l.pick("Lý do", "Reason"), Frag::text(reason)));
    }
    if let Some(changes) = res
        .get("changes")
        .and_then(|c| c.as_array())
        .filter(|c| !c.is_empty())
    {
        let list = changes
            .iter()
            .map(|c| {
                let rec = c.get("record").and_then(|r| r.as_str()).unwrap_or("");
                let h = c.get("change").and_then(|r| r.as_str()).unwrap_or("");
                Frag {
                    pieces: vec![
                        link(format!("/console/records/{rec}"), short_id(rec)),
                        Piece::Text(" ".into()),
                        code(h, h.chars().take(10).collect()),
                    ],
                }
            })
            .collect();
        m.push(meta(
            l.pick("Thay đổi đã ghi", "Changes written"),
            Frag::join(list, &[Piece::Br]),
        ));
    }
    m
}

fn json_text(l: Lang, v: &serde_json::Value) -> String {
    match serde_json::from_value::<Value>(v.clone()) {
        Ok(x) => value_text(l, &x),
        Err(_) => v.to_string(),
    }
}

fn lost_frag(l: Lang, lost: &serde_json::Value) -> Frag {
    let entries: Vec<&serde_json::Value> = match lost {
        serde_json::Value::Array(a) => a.iter().collect(),
        serde_json::Value::Object(o) => match o.get("values").and_then(|v| v.as_array()) {
            Some(a) => a.iter().collect(),
            None => return merge_lost_frag(l, o),
        },
        _ => return Frag::text(lost.to_string()),
    };
    if entries.is_empty() {
        return Frag::text("—");
    }
    let parts = entries
        .iter()
        .map(|e| {
            let value = e.get("value").map(|v| json_text(l, v)).unwrap_or_default();
            let user = e.get("user").and_then(|u| u.as_str()).unwrap_or("?");
            let when = e
                .get("time_ms")
                .and_then(|t| t.as_i64())
                .map(time)
                .unwrap_or_default();
            Frag {
                pieces: vec![
                    Piece::Text(format!("{value} ")),
                    Piece::Muted(format!("({user} · {when})")),
                ],
            }
        })
        .collect();
    Frag::join(parts, &[Piece::Br])
}

/// What a merge replaced: the merged record, its values that differed from the survivor's,
/// and how many memberships and references moved.
fn merge_lost_frag(l: Lang, o: &serde_json::Map<String, serde_json::Value>) -> Frag {
    let mut parts = Vec::new();
    if let Some(id) = o.get("merged").and_then(|m| m.as_str()) {
        parts.push(Frag {
            pieces: vec![
                Piece::Text(format!("{} ", l.pick("hồ sơ đã gộp", "merged record"))),
                link(format!("/console/records/{id}"), short_id(id)),
            ],
        });
    }
    if let Some(d) = o
        .get("differing_values")
        .and_then(|d| d.as_object())
        .filter(|d| !d.is_empty())
    {
        let list: Vec<String> = d
            .iter()
            .map(|(k, v)| format!("{}: {}", field_label(l, "citizen", k), json_text(l, v)))
            .collect();
        parts.push(Frag::text(format!(
            "{} {}",
            l.pick("giá trị khác không được giữ:", "differing values not kept:"),
            list.join("; ")
        )));
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
            parts.push(Frag::text(format!("{n} {}", l.pick(vi, en))));
        }
    }
    Frag::join(parts, &[Piece::Br])
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
}

/// A review item in the record page's list.
#[derive(Debug)]
pub struct ItemLine {
    id: i64,
    ty: &'static str,
    type_label: &'static str,
    status: &'static str,
    status_label: &'static str,
    by: Option<(String, String)>,
}

/// A current field.
#[derive(Debug)]
pub struct FieldLine {
    name: &'static str,
    label: &'static str,
    value: String,
    conflict: Option<String>,
}

/// A row of the field history.
#[derive(Debug)]
pub struct HistoryLine {
    time: String,
    field: String,
    from: Option<String>,
    to: Option<String>,
    user: String,
    device: String,
}

/// The record page.
#[derive(Debug, Template)]
#[template(path = "console/record.html")]
pub struct RecordPage {
    /// The frame.
    pub chrome: Chrome,
    kind: String,
    name: String,
    meta: Vec<Meta>,
    items: Vec<ItemLine>,
    fields: Vec<FieldLine>,
    attachments: Vec<super::attachments::AttachmentLine>,
    history: Vec<HistoryLine>,
}

/// The record page: fields (with conflicts) and their history.
pub fn record(chrome: Chrome, v: &RecordView<'_>) -> RecordPage {
    let l = v.lang;
    let r = v.record;
    let kind = r.kind.as_str();
    let name = display_name(r);
    let rid = r.id.to_string();
    let mut m = vec![
        meta(
            l.pick("Mã hồ sơ", "Record id"),
            Frag {
                pieces: vec![code(&rid, rid.clone())],
            },
        ),
        meta(
            l.pick("Đơn vị quản lý", "Unit"),
            Frag::text(unit_label(&r.unit)),
        ),
    ];
    if let Some(target) = r.text("merged_into") {
        m.push(meta(
            l.pick("Đã gộp vào", "Merged into"),
            Frag {
                pieces: vec![link(format!("/console/records/{target}"), short_id(target))],
            },
        ));
    }
    if !v.merged_from.is_empty() {
        let links = v
            .merged_from
            .iter()
            .map(|id| Frag {
                pieces: vec![link(
                    format!("/console/records/{id}"),
                    short_id(&id.to_string()),
                )],
            })
            .collect();
        m.push(meta(
            l.pick("Hồ sơ đã gộp vào đây", "Merged from"),
            Frag::join(links, &[Piece::Text(", ".into())]),
        ));
    }
    let items = v
        .items
        .iter()
        .map(|it| ItemLine {
            id: it.id,
            ty: it.item_type.as_str(),
            type_label: type_label(l, it.item_type),
            status: it.status.as_str(),
            status_label: status_label(l, it.status),
            by: it
                .resolved_by
                .clone()
                .map(|u| (u, time(it.resolved_ms.unwrap_or(0)))),
        })
        .collect();
    let conflicts: BTreeMap<&str, &FieldConflict> =
        v.conflicts.iter().map(|c| (c.field.as_str(), c)).collect();
    let fields = fields_of(r.kind)
        .iter()
        // Attachments have their own section.
        .filter(|spec| spec.ty != FieldType::Attachments)
        .filter_map(|spec| {
            let val = r.fields.get(spec.name)?;
            let prefix = format!("{}.", spec.name);
            let all: Vec<String> = conflicts
                .iter()
                .filter(|(f, _)| **f == spec.name || f.starts_with(&prefix))
                .flat_map(|(_, c)| c.values.iter().map(|x| value_text(l, &x.value)))
                .collect();
            Some(FieldLine {
                name: spec.name,
                label: match l {
                    Lang::Vi => spec.label_vi,
                    Lang::En => spec.label_en,
                },
                value: value_text(l, val),
                conflict: (!all.is_empty()).then(|| all.join(" | ")),
            })
        })
        .collect();
    let history = v
        .history
        .iter()
        .rev()
        .map(|h| {
            let who = v.who.get(&h.change).cloned().unwrap_or_default();
            HistoryLine {
                time: time(h.time_ms),
                field: field_label(l, kind, &h.field),
                from: h.from.as_ref().map(|x| value_text(l, x)),
                to: h.to.as_ref().map(|x| value_text(l, x)),
                user: who.user.unwrap_or_else(|| "—".into()),
                device: who.device_name.or(who.device).unwrap_or_else(|| "—".into()),
            }
        })
        .collect();
    RecordPage {
        chrome,
        kind: kind_label(l, kind),
        name: if name.is_empty() { "—" } else { name }.to_owned(),
        meta: m,
        items,
        fields,
        attachments: super::attachments::lines(l, r),
        history,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrome() -> Chrome {
        Chrome {
            lang: Lang::En,
            user: Some(ChromeUser {
                name: "<b>admin</b>".into(),
                csrf: "\"><x>".into(),
            }),
            nav: vec![("/console/queue".into(), "Queue".into())],
            home: "/console/queue".into(),
            toggle: "/console/queue?lang=vi".into(),
            title: "<title>".into(),
        }
    }

    #[test]
    fn templates_escape_every_value() {
        let page = MessagePage {
            chrome: chrome(),
            heading: "<script>alert('x')</script>".into(),
            text: "a & \"b\"".into(),
            back: ("/console/queue".into(), "Back".into()),
        }
        .render()
        .unwrap();
        assert!(!page.contains("<script>"), "{page}");
        // askama writes numeric character references.
        assert!(
            page.contains("<h1>&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;</h1>"),
            "{page}"
        );
        assert!(page.contains("<p>a &#38; &#34;b&#34;</p>"), "{page}");
        assert!(
            !page.contains("<b>admin</b>") && !page.contains("\"><x>"),
            "{page}"
        );
        let frag = Frag {
            pieces: vec![
                link("/x?a=1&b=\"2\"".into(), "<i>"),
                Piece::Br,
                code("<t>", "<c>".into()),
            ],
        }
        .render()
        .unwrap();
        assert_eq!(
            frag,
            "<a href=\"/x?a=1&#38;b=&#34;2&#34;\">&#60;i&#62;</a><br><code title=\"&#60;t&#62;\">&#60;c&#62;</code>"
        );
        assert_eq!(
            url_encode("/console/items/3?x=1&y"),
            "/console/items/3%3Fx%3D1%26y"
        );
    }
}
