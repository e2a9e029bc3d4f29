//! The web console at `/console`: server-rendered HTML for admins to work the review queue.
//!
//! - Sign-in with a session cookie (`HttpOnly; SameSite=Strict; Path=/console`, plus `Secure`
//!   when served over HTTPS); the login form carries a token signed by the server and matched
//!   against a short-lived cookie, and every form of a session carries the session's CSRF
//!   token, checked on every POST. Sessions end on password change, disable, and role or
//!   unit changes.
//! - `/console/queue`: filters (status, item type, record kind, unit, age) with counts.
//! - `/console/items/{id}`: the competing values side by side with officer, device and time;
//!   choose, enter a new value, merge duplicates, dismiss with a reason.
//! - `/console/records/{id}`: the record's fields, conflicts and field history.
//!
//! Pages that show personal data (items and records) are audited (`review_read`,
//! `record_read` with `"via": "console"`), as are sign-ins and every decision. Vietnamese
//! by default; `?lang=en` (remembered in a cookie) switches to English. No JavaScript: a
//! strict Content-Security-Policy allows only the console's own stylesheet.

pub mod attachments;
pub mod i18n;
pub mod pages;
pub mod reports;
pub mod session;
pub mod subject;

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sync_core::doc::RecordDoc;
use sync_core::model::{Record, Role, Value};
use uuid::Uuid;

use self::i18n::Lang;
use self::pages::Chrome;
use self::session::{ConsoleUser, LANG_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::login::{ClientAddr, Refusal, Verdict};
use crate::review::resolve::Resolver;
use crate::review::store::{self, Who};
use crate::review::{self, Action, Filter, ItemStatus, ItemType, ReviewError};
use crate::{AppState, audit, feed, now_ms};

/// The console's stylesheet.
pub const CSS: &str = include_str!("../../../assets/console.css");

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(start))
        .route("/console/", get(start))
        .route("/console/assets/console.css", get(css))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/queue", get(queue))
        .route("/console/items/{id}", get(item_page))
        .route("/console/items/{id}/resolve", post(resolve_form))
        .route("/console/items/{id}/merge", post(merge_form))
        .route("/console/items/{id}/dismiss", post(dismiss_form))
        .route("/console/records/{id}", get(record_page))
        .route("/console/subject", get(subject::form).post(subject::report))
        .route(
            "/console/records/{id}/attachments/{hash}",
            get(attachments::blob),
        )
        .route("/console/reports", get(reports::index))
        .route("/console/reports/progress", get(reports::progress))
        .route("/console/reports/progress.csv", get(progress_csv))
        .route("/console/reports/progress.xlsx", get(progress_xlsx))
        .merge(reports::more_routes())
}

async fn progress_csv(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    reports::ReportQ(q): reports::ReportQ,
) -> Response {
    reports::progress_download(state, user, uri, q, crate::routes::reports::Format::Csv).await
}

async fn progress_xlsx(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    reports::ReportQ(q): reports::ReportQ,
) -> Response {
    reports::progress_download(state, user, uri, q, crate::routes::reports::Format::Xlsx).await
}

/// `/console`: the start page of the signed-in role.
async fn start(user: ConsoleUser) -> Response {
    see_other(home_of(Some(user.user.role)))
}

fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

async fn css() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// An HTML page with the console's security headers.
fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    r
}

/// The current URL with `lang` set to the other language.
fn toggle_href(uri: &Uri, lang: Lang) -> String {
    let mut params: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang=") && !p.starts_with("done="))
        .collect();
    let lang_param = format!("lang={}", lang.other().code());
    params.push(&lang_param);
    format!("{}?{}", uri.path(), params.join("&"))
}

/// Remembers an explicit `?lang=` in a cookie.
fn remember_lang(r: &mut Response, uri: &Uri, lang: Lang) {
    if uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("lang=")))
    {
        r.headers_mut().append(
            SET_COOKIE,
            session::set_cookie(LANG_COOKIE, lang.code(), 365 * 24 * 3600),
        );
    }
}

/// The layout's data for this request.
fn chrome(uri: &Uri, lang: Lang, user: Option<&ConsoleUser>, title: &str) -> Chrome {
    let l = lang;
    let link = |href: &str, vi: &str, en: &str| (href.to_owned(), l.pick(vi, en).to_owned());
    let role = user.map(|u| u.user.role);
    let nav = match role {
        None => Vec::new(),
        Some(Role::Admin) => vec![
            link("/console/queue", "Hàng đợi", "Queue"),
            link("/console/queue?status=resolved", "Đã xử lý", "Resolved"),
            link("/console/reports", "Báo cáo", "Reports"),
            link("/console/subject", "Dữ liệu cá nhân", "Personal data"),
        ],
        Some(_) => vec![link("/console/reports", "Báo cáo", "Reports")],
    };
    Chrome {
        lang,
        user: user.map(|u| pages::ChromeUser {
            name: u.user.shown_name().to_owned(),
            csrf: u.csrf.clone(),
        }),
        nav,
        home: home_of(role).into(),
        toggle: toggle_href(uri, lang),
        title: title.to_owned(),
    }
}

/// Where the brand and "back" links lead: the queue for admins, the reports for leaders.
fn home_of(role: Option<Role>) -> &'static str {
    match role {
        Some(Role::Leader) => "/console/reports",
        _ => "/console/queue",
    }
}

/// `Some(403 page)` unless `user` is an admin: the queue, items and records show names and
/// ID numbers, which leaders never see.
fn admin_only(uri: &Uri, user: &ConsoleUser) -> Option<Response> {
    (user.user.role != Role::Admin).then(|| {
        message(
            StatusCode::FORBIDDEN,
            uri,
            user,
            "403",
            ("Không có quyền", "Not allowed"),
            (
                "Trang này có họ tên và số định danh: chỉ quản trị viên được xem. Lãnh đạo xem các báo cáo tổng hợp.",
                "This page shows names and ID numbers: admins only. Leaders see the aggregated reports.",
            ),
        )
    })
}

/// Renders a page template (built on this request's [`Chrome`]) with the console's headers.
fn page<T: Template>(
    status: StatusCode,
    uri: &Uri,
    lang: Lang,
    user: Option<&ConsoleUser>,
    title: &str,
    build: impl FnOnce(Chrome) -> T,
) -> Response {
    let body = match build(chrome(uri, lang, user, title)).render() {
        Ok(b) => b,
        Err(e) => return internal(e),
    };
    let mut r = html(status, body);
    remember_lang(&mut r, uri, lang);
    r
}

/// A small page with a heading and a sentence (errors, refusals).
fn message(
    status: StatusCode,
    uri: &Uri,
    user: &ConsoleUser,
    title: &str,
    (hvi, hen): (&str, &str),
    (tvi, ten): (&str, &str),
) -> Response {
    let l = user.lang;
    page(status, uri, l, Some(user), title, |chrome| {
        pages::MessagePage {
            chrome,
            heading: l.pick(hvi, hen).to_owned(),
            text: l.pick(tvi, ten).to_owned(),
            back: match user.user.role {
                Role::Leader => (
                    "/console/reports".to_owned(),
                    l.pick("Về báo cáo", "Back to the reports").to_owned(),
                ),
                _ => (
                    "/console/queue".to_owned(),
                    l.pick("Về hàng đợi", "Back to the queue").to_owned(),
                ),
            },
        }
    })
}

/// A literal page, not a template: this is also what a template that failed to render falls
/// back to, so it must not need one.
fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console: internal error");
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        "<!doctype html><title>Ferry</title><p>Lỗi máy chủ / internal server error</p>".into(),
    )
}

/// Only paths inside the console are followed after sign-in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == "/console" || n.starts_with("/console/"))
                && !n.contains("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control)
                && !n.starts_with("/console/login") =>
        {
            n.to_owned()
        }
        _ => "/console/queue".into(),
    }
}

/// Query of the login page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// Where to go after sign-in.
    pub next: Option<String>,
    /// Language.
    pub lang: Option<String>,
}

fn login_response(
    state: &AppState,
    status: StatusCode,
    uri: &Uri,
    lang: Lang,
    next: &str,
    error: Option<&str>,
) -> Response {
    let token = session::login_form_token(state.login.form_key(), now_ms());
    let mut r = page(
        status,
        uri,
        lang,
        None,
        lang.pick("Đăng nhập", "Sign in"),
        |chrome| pages::LoginPage {
            chrome,
            csrf: token.clone(),
            next: next.to_owned(),
            error: error.map(str::to_owned),
        },
    );
    r.headers_mut().append(
        SET_COOKIE,
        session::set_cookie(LOGIN_CSRF_COOKIE, &token, session::LOGIN_FORM_TTL_MS / 1000),
    );
    r
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<LoginQuery>,
) -> Response {
    let lang = session::lang_of(&headers, uri.query());
    let _ = q.lang;
    login_response(
        &state,
        StatusCode::OK,
        &uri,
        lang,
        &safe_next(q.next.as_deref()),
        None,
    )
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The login form's token.
    #[serde(default)]
    pub csrf: String,
    /// Where to go after sign-in.
    #[serde(default)]
    pub next: Option<String>,
}

const CONSOLE_ONLY: (&str, &str) = (
    "Chỉ tài khoản quản trị hoặc lãnh đạo đang hoạt động được dùng bảng điều khiển.",
    "Only enabled admin and leader accounts may use the console.",
);

const WRONG: (&str, &str) = (
    "Sai tên đăng nhập hoặc mật khẩu.",
    "Wrong user name or password.",
);

/// The sign-in: the form token must be one this server signed (and match its cookie), then
/// the password is checked under [`crate::login`]'s bounds (per address and account rate
/// limits, attempts counted before hashing, bounded hashing).
async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    uri: Uri,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = session::lang_of(&headers, uri.query());
    let next = safe_next(f.next.as_deref());
    let now = now_ms();
    let cookie_ok = session::cookie(&headers, LOGIN_CSRF_COOKIE)
        .is_some_and(|c| session::same_secret(&c, &f.csrf))
        && session::login_form_token_ok(state.login.form_key(), &f.csrf, now);
    if !cookie_ok {
        let msg = lang.pick(
            "Phiên đăng nhập đã hết hạn hoặc không hợp lệ. Vui lòng thử lại.",
            "The sign-in form expired or is not valid. Please try again.",
        );
        return login_response(&state, StatusCode::FORBIDDEN, &uri, lang, &next, Some(msg));
    }
    let refuse = |status: StatusCode, (vi, en): (&str, &str)| {
        login_response(&state, status, &uri, lang, &next, Some(lang.pick(vi, en)))
    };
    if f.username.len() > 64 || f.password.len() > 1024 {
        return refuse(StatusCode::UNAUTHORIZED, WRONG);
    }
    let creds = crate::login::Credentials {
        username: f.username.clone(),
        password: f.password.clone(),
        client,
        via: "console",
        device: "console".into(),
    };
    let verdict = match crate::login::check(&state, creds).await {
        Ok(v) => v,
        Err(e) => return internal(format!("{e:#}")),
    };
    let user = match verdict {
        Ok(Verdict::Ok(user)) if session::console_role(user.role) => user,
        Ok(Verdict::Ok(user)) => {
            // Right password, but neither an admin nor a leader: refused and audited.
            let store = state.store.clone();
            let logged = tokio::task::spawn_blocking(move || {
                store.write(|tx| {
                    audit::append(
                        tx,
                        now,
                        &audit::Entry {
                            user: &user.username,
                            device: "console",
                            action: "login_failed",
                            details: serde_json::json!({"reason": "not_admin", "via": "console"}),
                            ..audit::Entry::default()
                        },
                    )
                    .map_err(anyhow::Error::from)
                })
            })
            .await;
            if let Ok(Err(e)) = logged {
                return internal(format!("{e:#}"));
            }
            return refuse(StatusCode::UNAUTHORIZED, CONSOLE_ONLY);
        }
        Ok(Verdict::Disabled(_)) => {
            return refuse(StatusCode::UNAUTHORIZED, CONSOLE_ONLY);
        }
        Ok(Verdict::BadCredentials) => return refuse(StatusCode::UNAUTHORIZED, WRONG),
        Ok(Verdict::Locked(wait)) | Err(Refusal::RateLimited(wait)) => {
            let mut r = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                (
                    "Đăng nhập sai nhiều lần: hãy thử lại sau ít phút.",
                    "Too many sign-in attempts: try again in a few minutes.",
                ),
            );
            r.headers_mut().insert(RETRY_AFTER, retry_after(wait));
            return r;
        }
        Err(Refusal::Busy) => {
            let mut r = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                (
                    "Máy chủ đang bận, vui lòng thử lại.",
                    "The server is busy, please try again.",
                ),
            );
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
    };
    // A leader has no queue: the default landing page is the reports.
    let next = if user.role == Role::Leader && next == "/console/queue" {
        "/console/reports".to_owned()
    } else {
        next
    };
    let store = state.store.clone();
    let created = tokio::task::spawn_blocking(move || {
        store.write(|tx| -> anyhow::Result<String> {
            let (token, _csrf) = session::create(tx, user.id, now)?;
            audit::append(
                tx,
                now,
                &audit::Entry {
                    user: &user.username,
                    device: "console",
                    action: "login",
                    details: serde_json::json!({"via": "console"}),
                    ..audit::Entry::default()
                },
            )?;
            Ok(token)
        })
    })
    .await;
    match created {
        Ok(Ok(token)) => {
            let mut r = see_other(&next);
            let h = r.headers_mut();
            h.append(
                SET_COOKIE,
                session::set_cookie(SESSION_COOKIE, &token, session::SESSION_TTL_MS / 1000),
            );
            h.append(SET_COOKIE, session::set_cookie(LOGIN_CSRF_COOKIE, "", 0));
            r
        }
        Ok(Err(e)) => internal(format!("{e:#}")),
        Err(e) => internal(e),
    }
}

/// A `Retry-After` value in whole seconds (at least 1).
pub fn retry_after(wait: std::time::Duration) -> HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from_str(&secs.max(1).to_string()).unwrap_or(HeaderValue::from_static("60"))
}

/// A form that carries only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
}

fn csrf_refused(uri: &Uri, user: &ConsoleUser) -> Response {
    message(
        StatusCode::FORBIDDEN,
        uri,
        user,
        "403",
        ("Yêu cầu bị từ chối", "Request refused"),
        (
            "Biểu mẫu không hợp lệ hoặc đã cũ (mã CSRF không khớp). Hãy tải lại trang và thử lại.",
            "The form is not valid or is stale (CSRF token mismatch). Reload the page and try again.",
        ),
    )
}

async fn logout(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !user.csrf_ok(&f.csrf) {
        return csrf_refused(&uri, &user);
    }
    let store = state.store.clone();
    let hash = user.token_hash.clone();
    let name = user.user.username.clone();
    let device = user.audit_device();
    let done = tokio::task::spawn_blocking(move || {
        store.write(|tx| -> anyhow::Result<()> {
            session::delete(tx, &hash)?;
            audit::append(
                tx,
                now_ms(),
                &audit::Entry {
                    user: &name,
                    device: &device,
                    action: "logout",
                    details: serde_json::json!({"via": "console"}),
                    ..audit::Entry::default()
                },
            )?;
            Ok(())
        })
    })
    .await;
    if let Ok(Err(e)) = &done {
        return internal(format!("{e:#}"));
    }
    let mut r = see_other("/console/login");
    r.headers_mut()
        .append(SET_COOKIE, session::set_cookie(SESSION_COOKIE, "", 0));
    r
}

/// Query of the queue page.
#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    /// `open` (default), `resolved`, `dismissed` or `all`.
    pub status: Option<String>,
    /// Unit code.
    pub unit: Option<String>,
    /// Record kind.
    pub kind: Option<String>,
    /// Item type.
    #[serde(rename = "type")]
    pub item_type: Option<String>,
    /// Age bucket (`lt1`, `1to7`, `gt7`, `gt30`).
    pub age: Option<String>,
    /// Language.
    pub lang: Option<String>,
}

async fn queue(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    q: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(r) = admin_only(&uri, &user) {
        return r;
    }
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let l = user.lang;
    let status = q
        .status
        .clone()
        .filter(|s| ["open", "resolved", "dismissed", "all"].contains(&s.as_str()))
        .unwrap_or_else(|| "open".into());
    let item_type = q
        .item_type
        .clone()
        .filter(|t| ItemType::parse(t).is_some())
        .unwrap_or_default();
    let kind = q
        .kind
        .clone()
        .filter(|k| sync_core::model::Kind::parse(k).is_some())
        .unwrap_or_default();
    let unit: String = q
        .unit
        .clone()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .take(8)
        .collect();
    let age = q
        .age
        .clone()
        .filter(|a| pages::AGES.iter().any(|(v, _, _)| v == a))
        .unwrap_or_default();
    let mut filter = Filter {
        status: ItemStatus::parse(&status),
        unit: Some(unit.clone()).filter(|u| !u.is_empty()),
        kind: Some(kind.clone()).filter(|k| !k.is_empty()),
        item_type: ItemType::parse(&item_type),
        limit: Some(500),
        ..Filter::default()
    };
    pages::apply_age(&mut filter, &age);
    let store = state.store.clone();
    let now = now_ms();
    let data = tokio::task::spawn_blocking(move || {
        store.read(|c| -> Result<_, crate::db::DbError> {
            Ok((
                review::list_items(c, &filter, now)?,
                review::count_items(c, &filter, now)?,
            ))
        })
    })
    .await;
    let (items, counts) = match data {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    };
    let view = pages::QueueView {
        lang: l,
        status: &status,
        unit: &unit,
        kind: &kind,
        item_type: &item_type,
        age: &age,
        counts: &counts,
        items: &items,
        now_ms: now,
    };
    page(
        StatusCode::OK,
        &uri,
        l,
        Some(&user),
        l.pick("Hàng đợi rà soát", "Review queue"),
        |chrome| pages::queue(chrome, &view),
    )
}

/// Query of the item page.
#[derive(Debug, Default, Deserialize)]
pub struct ItemQuery {
    /// Set after a successful decision.
    pub done: Option<String>,
    /// Language.
    pub lang: Option<String>,
}

/// Loads an item with the records it concerns (and, for household heads, the members), and
/// audits the read.
fn load_item(
    tx: &dyn crate::db::Sql,
    id: i64,
    user: &str,
    device: &str,
) -> anyhow::Result<Option<(review::Item, HashMap<Uuid, Record>)>> {
    let Some(item) = review::get_item(tx, id)? else {
        return Ok(None);
    };
    let mut ids: Vec<Uuid> = item.records.clone();
    ids.extend(item.candidates.iter().filter_map(|c| c.record));
    let mut seen = HashSet::new();
    ids.retain(|i| seen.insert(*i));
    let mut records = HashMap::new();
    for rid in &ids {
        if let Some(stored) = feed::get_record(tx, *rid)? {
            let record = RecordDoc::load(&stored.doc)?.read()?;
            records.insert(*rid, record);
        }
    }
    let mut shown: Vec<String> = records.keys().map(ToString::to_string).collect();
    shown.sort();
    audit::append(
        tx,
        now_ms(),
        &audit::Entry {
            user,
            device,
            action: "review_read",
            records: shown,
            details: serde_json::json!({"item": id, "via": "console"}),
        },
    )?;
    Ok(Some((item, records)))
}

async fn render_item(
    state: &AppState,
    user: &ConsoleUser,
    uri: &Uri,
    id: i64,
    status: StatusCode,
    notice: Option<(&str, String)>,
) -> Response {
    let l = user.lang;
    let store = state.store.clone();
    let name = user.user.username.clone();
    let device = user.audit_device();
    let loaded =
        tokio::task::spawn_blocking(move || store.write(|tx| load_item(tx, id, &name, &device)))
            .await;
    let (item, records) = match loaded {
        Ok(Ok(Some(x))) => x,
        Ok(Ok(None)) => return not_found(uri, user),
        Ok(Err(e)) => return internal(format!("{e:#}")),
        Err(e) => return internal(e),
    };
    let view = pages::ItemView {
        lang: l,
        item: &item,
        records: &records,
        csrf: &user.csrf,
        now_ms: now_ms(),
        notice,
    };
    let title = format!("{} #{}", l.pick("Mục", "Item"), item.id);
    page(status, uri, l, Some(user), &title, |chrome| {
        pages::item(chrome, &view)
    })
}

fn not_found(uri: &Uri, user: &ConsoleUser) -> Response {
    message(
        StatusCode::NOT_FOUND,
        uri,
        user,
        "404",
        ("Không tìm thấy", "Not found"),
        (
            "Không có mục hoặc hồ sơ này.",
            "There is no such item or record.",
        ),
    )
}

fn parse_item_id(id: &str) -> Option<i64> {
    id.parse::<i64>().ok().filter(|i| *i > 0)
}

async fn item_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<ItemQuery>,
) -> Response {
    if let Some(r) = admin_only(&uri, &user) {
        return r;
    }
    let Some(id) = parse_item_id(&id) else {
        return not_found(&uri, &user);
    };
    let l = user.lang;
    let notice = q.done.map(|_| {
        (
            "ok",
            l.pick(
                "Đã ghi quyết định. Các thiết bị sẽ nhận thay đổi ở lần đồng bộ tới.",
                "Decision recorded. Devices receive the change on their next sync.",
            )
            .to_owned(),
        )
    });
    render_item(&state, &user, &uri, id, StatusCode::OK, notice).await
}

/// The choose / new-value form.
#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
    /// `choose` or `new`.
    #[serde(default)]
    pub mode: String,
    /// Index of the chosen value.
    #[serde(default)]
    pub choice: Option<String>,
    /// The new value.
    #[serde(default)]
    pub value: Option<String>,
}

/// The merge form.
#[derive(Debug, Deserialize)]
pub struct MergeForm {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
    /// The record that stays.
    #[serde(default)]
    pub survivor: Option<String>,
}

/// The dismiss form.
#[derive(Debug, Deserialize)]
pub struct DismissForm {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

async fn decide(
    state: AppState,
    user: ConsoleUser,
    uri: Uri,
    id: String,
    csrf: &str,
    action: Result<Action, (&'static str, &'static str)>,
) -> Response {
    if let Some(r) = admin_only(&uri, &user) {
        return r;
    }
    let Some(id) = parse_item_id(&id) else {
        return not_found(&uri, &user);
    };
    if !user.csrf_ok(csrf) {
        return csrf_refused(&uri, &user);
    }
    let l = user.lang;
    let action = match action {
        Ok(a) => a,
        Err((vi, en)) => {
            return render_item(
                &state,
                &user,
                &uri,
                id,
                StatusCode::BAD_REQUEST,
                Some(("error", l.pick(vi, en).to_owned())),
            )
            .await;
        }
    };
    let store = state.store.clone();
    let admin = user.user.username.clone();
    let device = user.audit_device();
    let result = tokio::task::spawn_blocking(move || {
        store.write(|tx| {
            review::resolve(
                tx,
                id,
                &action,
                &Resolver {
                    admin: &admin,
                    via: "console",
                    device: &device,
                },
                now_ms(),
            )
        })
    })
    .await;
    match result {
        Ok(Ok(_)) => see_other(&format!("/console/items/{id}?done=1")),
        Ok(Err(ReviewError::NotFound)) => not_found(&uri, &user),
        Ok(Err(ReviewError::AlreadyClosed { status, by, at })) => {
            let who = by.unwrap_or_else(|| l.pick("hệ thống", "the system").to_owned());
            let when = at.map(i18n::time).unwrap_or_default();
            let text = match l {
                Lang::Vi => format!(
                    "Mục này đã được xử lý ({}) bởi {who} lúc {when}. Không có gì được ghi thêm.",
                    i18n::status_label(l, status)
                ),
                Lang::En => format!(
                    "This item was already {} by {who} at {when}. Nothing more was written.",
                    status.as_str()
                ),
            };
            render_item(
                &state,
                &user,
                &uri,
                id,
                StatusCode::CONFLICT,
                Some(("error", text)),
            )
            .await
        }
        Ok(Err(ReviewError::Invalid(m))) => {
            let text = format!("{} {m}", l.pick("Không thể áp dụng:", "Cannot apply:"));
            render_item(
                &state,
                &user,
                &uri,
                id,
                StatusCode::BAD_REQUEST,
                Some(("error", text)),
            )
            .await
        }
        Ok(Err(ReviewError::NotAdmin)) => csrf_refused(&uri, &user),
        Ok(Err(ReviewError::Internal(e))) => internal(format!("{e:#}")),
        Err(e) => internal(e),
    }
}

async fn resolve_form(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<ResolveForm>,
) -> Response {
    let action = match f.mode.as_str() {
        "choose" => f
            .choice
            .as_deref()
            .and_then(|c| c.parse::<usize>().ok())
            .map(|choice| Action::Choose { choice })
            .ok_or(("Hãy chọn một phương án.", "Choose one of the options.")),
        "new" => f
            .value
            .filter(|v| !v.trim().is_empty())
            .map(|v| Action::NewValue {
                value: Value::Text(v),
            })
            .ok_or(("Hãy nhập giá trị mới.", "Enter the new value.")),
        _ => Err(("Biểu mẫu không hợp lệ.", "The form is not valid.")),
    };
    decide(state, user, uri, id, &f.csrf, action).await
}

async fn merge_form(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<MergeForm>,
) -> Response {
    let action = f
        .survivor
        .as_deref()
        .and_then(|s| Uuid::parse_str(s).ok())
        .map(|survivor| Action::Merge { survivor })
        .ok_or(("Hãy chọn hồ sơ được giữ.", "Choose the record to keep."));
    decide(state, user, uri, id, &f.csrf, action).await
}

async fn dismiss_form(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<DismissForm>,
) -> Response {
    let action = Some(f.reason)
        .filter(|r| !r.trim().is_empty())
        .map(|reason| Action::Dismiss { reason })
        .ok_or(("Hãy nêu lý do bỏ qua.", "Give a reason for dismissing."));
    decide(state, user, uri, id, &f.csrf, action).await
}

/// Everything the record page shows.
type RecordData = (
    Record,
    Vec<sync_core::doc::FieldConflict>,
    Vec<sync_core::doc::FieldChange>,
    HashMap<String, Who>,
    Vec<review::Item>,
    Vec<Uuid>,
);

fn load_record(
    tx: &dyn crate::db::Sql,
    id: Uuid,
    user: &str,
    device: &str,
) -> anyhow::Result<Option<RecordData>> {
    let Some(stored) = feed::get_record(tx, id)? else {
        return Ok(None);
    };
    let doc = RecordDoc::load(&stored.doc)?;
    let record = doc.read()?;
    let history = doc.history();
    let mut who = HashMap::new();
    for h in &history {
        if !who.contains_key(&h.change) {
            who.insert(h.change.clone(), store::who(tx, &h.change, &h.actor)?);
        }
    }
    let items = review::list_items(
        tx,
        &Filter {
            record: Some(id),
            limit: Some(200),
            ..Filter::default()
        },
        now_ms(),
    )?;
    // A resolution that keeps the value devices already showed changes no visible value, so
    // the field diff has no row for it: show it from the item's record of the decision.
    let mut history = history;
    let known: HashSet<String> = history.iter().map(|h| h.change.clone()).collect();
    for item in &items {
        let Some(res) = &item.resolution else {
            continue;
        };
        let Some(changes) = res.get("changes").and_then(|c| c.as_array()) else {
            continue;
        };
        for c in changes {
            let (Some(rec), Some(hash)) = (
                c.get("record").and_then(|r| r.as_str()),
                c.get("change").and_then(|h| h.as_str()),
            ) else {
                continue;
            };
            if rec != id.to_string() || known.contains(hash) {
                continue;
            }
            let lost: Vec<String> = res
                .get("lost")
                .and_then(|l| l.as_array())
                .map(|l| {
                    l.iter()
                        .filter_map(|x| x.get("value"))
                        .map(|v| match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let chosen = res
                .get("chosen")
                .and_then(|v| serde_json::from_value::<Value>(v.clone()).ok());
            history.push(sync_core::doc::FieldChange {
                field: item.field.clone().unwrap_or_default(),
                actor: String::new(),
                time_ms: item.resolved_ms.unwrap_or(0),
                change: hash.to_owned(),
                from: (!lost.is_empty()).then(|| Value::Text(lost.join(" | "))),
                to: chosen,
            });
            who.insert(hash.to_owned(), store::who(tx, hash, "")?);
        }
    }
    let merged_from: Vec<Uuid> = store::index_where(tx, "merged_into = ?1", &[&id.to_string()])?
        .into_iter()
        .map(|r| r.record)
        .collect();
    audit::append(
        tx,
        now_ms(),
        &audit::Entry {
            user,
            device,
            action: "record_read",
            records: vec![id.to_string()],
            details: serde_json::json!({"unit": stored.unit, "via": "console"}),
        },
    )?;
    Ok(Some((
        record,
        doc.conflicts(),
        history,
        who,
        items,
        merged_from,
    )))
}

async fn record_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = admin_only(&uri, &user) {
        return r;
    }
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found(&uri, &user);
    };
    let l = user.lang;
    let store = state.store.clone();
    let name = user.user.username.clone();
    let device = user.audit_device();
    let loaded =
        tokio::task::spawn_blocking(move || store.write(|tx| load_record(tx, id, &name, &device)))
            .await;
    let (record, conflicts, history, who, items, merged_from) = match loaded {
        Ok(Ok(Some(x))) => x,
        Ok(Ok(None)) => return not_found(&uri, &user),
        Ok(Err(e)) => return internal(format!("{e:#}")),
        Err(e) => return internal(e),
    };
    let view = pages::RecordView {
        lang: l,
        record: &record,
        conflicts: &conflicts,
        history: &history,
        who: &who,
        items: &items,
        merged_from: &merged_from,
    };
    let title = format!(
        "{} {}",
        i18n::kind_label(l, record.kind.as_str()),
        i18n::short_id(&id.to_string())
    );
    page(StatusCode::OK, &uri, l, Some(&user), &title, |chrome| {
        pages::record(chrome, &view)
    })
}
