//! Attachments on the console's record page: the list (images inline, PDFs as links, who
//! attached what when) and the bytes, every view audited as a read of personal data.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sync_core::model::Record;

use super::i18n::{Lang, time};
use super::session::ConsoleUser;
use crate::AppState;
use crate::routes::attachments::{audit_read, blob_response};

/// One attachment of the record page.
#[derive(Debug)]
pub struct AttachmentLine {
    /// Where the console serves its bytes.
    pub url: String,
    /// Shown inline (an image), else as a link (a PDF).
    pub image: bool,
    /// The kind, in the page's language.
    pub kind: &'static str,
    /// MIME type.
    pub mime: String,
    /// Size, human-readable.
    pub size: String,
    /// Pixel size, for images.
    pub pixels: Option<String>,
    /// Who attached it.
    pub by: String,
    /// When (Vietnam time).
    pub at: String,
}

fn kind_label(l: Lang, kind: &str) -> &'static str {
    match kind {
        "portrait" => l.pick("Ảnh chân dung", "Portrait"),
        "signature" => l.pick("Chữ ký", "Signature"),
        "document_scan" => l.pick("Giấy tờ (bản chụp)", "Scanned document"),
        "consent_letter" => l.pick("Văn bản đồng ý", "Consent letter"),
        _ => l.pick("Khác", "Other"),
    }
}

fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// The record's attachments, for the page.
pub fn lines(l: Lang, record: &Record) -> Vec<AttachmentLine> {
    sync_core::attachment::of_fields(&record.fields)
        .into_iter()
        .map(|m| AttachmentLine {
            url: format!("/console/records/{}/attachments/{}", record.id, m.hash),
            image: m.mime.starts_with("image/"),
            kind: kind_label(l, &m.kind),
            size: size_text(m.size),
            pixels: m.width.zip(m.height).map(|(w, h)| format!("{w}×{h}")),
            mime: m.mime,
            by: m.by,
            at: time(m.at_ms),
        })
        .collect()
}

/// `GET /console/records/{id}/attachments/{hash}`: the bytes (admins only), audited
/// before they leave.
pub async fn blob(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path((id, hash)): Path<(String, String)>,
) -> Response {
    if let Some(r) = super::admin_only(&uri, &user) {
        return r;
    }
    let units = user.user.scopes();
    let t = match crate::blobs::upload::resolve(&state, &units, &id, &hash).await {
        Ok(t) => t,
        Err(_) => return super::not_found(&uri, &user),
    };
    match state.blobs.blob_size(&t.meta.hash).await {
        Ok(Some(size)) if size == t.meta.size => {}
        Ok(_) => {
            let msg = user.lang.pick(
                "Tệp chưa được tải lên máy chủ.",
                "The file has not reached the server yet.",
            );
            return (StatusCode::NOT_FOUND, msg).into_response();
        }
        Err(e) => return super::internal(e),
    }
    let range = (0, t.meta.size);
    if let Err(e) = audit_read(&state, &user.user.username, &user.audit_device(), &t, range).await {
        return e.into_response();
    }
    match state.blobs.get_range(&t.meta.hash, 0, t.meta.size).await {
        Ok(bytes) => blob_response(StatusCode::OK, &t, bytes, None),
        Err(e) => super::internal(e),
    }
}
