//! The search box: what typed text means, and pages with totals.

use sync_core::model;
use sync_core::replica::Replica;
use sync_core::store::tables;

use crate::error::Error;
use crate::types::{RecordPage, RecordQuery};

/// Records per page when the app gives no limit.
const DEFAULT_LIMIT: u32 = 100;
/// The most records one page returns.
const MAX_LIMIT: u32 = 1_000;

/// Separators people type inside ID numbers (`022 090 001 234`, `022.090.001.234`,
/// `022-090-001-234`).
fn is_id_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '.' | '-' | '‐' | '–' | '/')
}

/// The digits of text that looks like an ID number (only digits and separators, at least
/// 3 digits), else `None`.
pub(crate) fn id_like(text: &str) -> Option<String> {
    let text = text.trim();
    if !text
        .chars()
        .all(|c| c.is_ascii_digit() || is_id_separator(c))
    {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 3).then_some(digits)
}

/// The query for a search box's text: an ID number (prefix) when it looks like one, else a
/// name matched with sync-core's search key (diacritics and case ignored).
pub(crate) fn query_for(text: &str) -> RecordQuery {
    match id_like(text) {
        Some(digits) => RecordQuery {
            id_number: Some(digits),
            ..RecordQuery::default()
        },
        None => RecordQuery {
            name: Some(model::search_key(text)).filter(|k| !k.is_empty()),
            ..RecordQuery::default()
        },
    }
}

/// One page of `query` with the total count of matches.
pub(crate) fn page(r: &Replica, query: tables::RecordQuery) -> Result<RecordPage, Error> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let offset = query.offset.unwrap_or(0);
    let query = tables::RecordQuery {
        limit: Some(limit),
        offset: Some(offset),
        ..query
    };
    let total = r.pool().read(|c| tables::count_matching(c, &query))?;
    let records: Vec<_> = r.find(&query)?.into_iter().map(Into::into).collect();
    let end = u64::from(offset) + records.len() as u64;
    let next_offset = (end < total && !records.is_empty())
        .then(|| u32::try_from(end).ok())
        .flatten();
    Ok(RecordPage {
        records,
        total,
        offset,
        next_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_typed_with_spaces_dots_or_dashes_are_id_numbers() {
        for typed in [
            "022 090 001 234",
            "022.090.001.234",
            "022-090-001-234",
            " 0220 ",
        ] {
            assert!(id_like(typed).is_some(), "{typed}");
        }
        assert_eq!(id_like("022 090 001 234").as_deref(), Some("022090001234"));
        assert_eq!(id_like("Nguyễn 022"), None);
        assert_eq!(id_like("12"), None);
        assert_eq!(query_for("022 090").id_number.as_deref(), Some("022090"));
        assert_eq!(query_for("Nguyễn Văn").name.as_deref(), Some("nguyen van"));
    }
}
