//! `/console/subject`: the subject-access report for admins. `GET` shows the form; `POST`
//! (with the session's CSRF token; the ID number stays out of the URL) shows the report, a
//! printable page (the console's print styles drop the chrome). Each report is audited
//! (`subject_report`, `"via": "console"`).

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use super::pages::Chrome;
use super::session::ConsoleUser;
use super::{admin_only, csrf_refused, internal, page};
use crate::AppState;
use crate::rights::printable::{self, Section};
use crate::rights::subject::{self, Requester, SubjectError};

/// The form and, after a `POST`, the report.
#[derive(Debug, Template)]
#[template(path = "console/subject.html")]
pub struct SubjectPage {
    /// The frame.
    pub chrome: Chrome,
    csrf: String,
    asked: String,
    error: Option<String>,
    report: Option<Summary>,
}

/// The report as shown.
#[derive(Debug)]
struct Summary {
    id_number: String,
    generated: String,
    audit_id: i64,
    sections: Vec<Section>,
    history_heads: [&'static str; 5],
    access_heads: [&'static str; 5],
}

/// The submitted form.
#[derive(Debug, Deserialize)]
pub struct SubjectForm {
    csrf: String,
    id_number: String,
}

fn render(
    uri: &Uri,
    user: &ConsoleUser,
    asked: String,
    error: Option<String>,
    report: Option<Summary>,
) -> Response {
    let l = user.lang;
    let title = l.pick("Báo cáo dữ liệu cá nhân", "Subject-access report");
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(status, uri, l, Some(user), title, |chrome| SubjectPage {
        chrome,
        csrf: user.csrf.clone(),
        asked,
        error,
        report,
    })
}

/// `GET /console/subject`.
pub async fn form(user: ConsoleUser, uri: Uri) -> Response {
    if let Some(r) = admin_only(&uri, &user) {
        return r;
    }
    render(&uri, &user, String::new(), None, None)
}

/// `POST /console/subject`.
pub async fn report(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Form(f): Form<SubjectForm>,
) -> Response {
    if let Some(r) = admin_only(&uri, &user) {
        return r;
    }
    if !user.csrf_ok(&f.csrf) {
        return csrf_refused(&uri, &user);
    }
    let (store, name, device, asked) = (
        state.store.clone(),
        user.user.username.clone(),
        user.audit_device(),
        f.id_number.clone(),
    );
    let made = tokio::task::spawn_blocking(move || {
        let by = Requester {
            user: &name,
            device: &device,
            via: "console",
        };
        store.write(|tx| subject::report(tx, &asked, &by, crate::now_ms()))
    })
    .await;
    let l = user.lang;
    match made {
        Ok(Ok(r)) => {
            let (history_heads, access_heads) = printable::headings(l);
            let summary = Summary {
                id_number: r.id_number.clone(),
                generated: super::i18n::time(r.generated_ms),
                audit_id: r.audit_id,
                sections: printable::sections(&r, l),
                history_heads,
                access_heads,
            };
            render(&uri, &user, r.id_number, None, Some(summary))
        }
        Ok(Err(SubjectError::BadIdNumber)) => {
            let e = l.pick(
                "Số định danh cá nhân gồm đúng 12 chữ số.",
                "A personal ID number is exactly 12 digits.",
            );
            render(&uri, &user, f.id_number, Some(e.into()), None)
        }
        Ok(Err(e)) => internal(format!("{e:#}")),
        Err(e) => internal(e),
    }
}
