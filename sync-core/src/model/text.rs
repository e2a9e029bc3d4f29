//! Text normalisation: NFC for storage and diacritic-free keys for search.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Returns `s` in Unicode Normalization Form C, the form every stored text value uses.
///
/// Vietnamese keyboards and old databases produce both precomposed (`ễ` as one code point)
/// and decomposed (`e` + circumflex + tilde) text; after `nfc` they compare equal.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Whether `s` is already in NFC.
pub(crate) fn is_nfc(s: &str) -> bool {
    unicode_normalization::is_nfc(s)
}

/// A search key: no diacritics, lowercase, runs of whitespace collapsed to one space and
/// trimmed.
///
/// `"Nguyễn Thị Ánh"` becomes `"nguyen thi anh"`. `đ`/`Đ` become `d` explicitly, since
/// canonical decomposition leaves them alone (so do the look-alikes `ð`/`Ð`, which some
/// keyboards produce instead). Works the same for composed and decomposed input.
pub fn search_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match c {
            'đ' | 'Đ' | 'ð' | 'Ð' => out.push('d'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPOSED: &str = "Nguy\u{1EC5}n Th\u{1ECB} \u{00C1}nh";
    const DECOMPOSED: &str = "Nguye\u{0302}\u{0303}n Thi\u{0323} A\u{0301}nh";

    #[test]
    fn composed_and_decomposed_names_have_the_same_nfc_form() {
        assert_ne!(COMPOSED, DECOMPOSED);
        assert_eq!(nfc(DECOMPOSED), COMPOSED);
        assert_eq!(nfc(COMPOSED), COMPOSED);
        assert!(is_nfc(COMPOSED));
        assert!(!is_nfc(DECOMPOSED));
    }

    #[test]
    fn search_key_strips_diacritics_and_lowercases_composed_input() {
        assert_eq!(search_key(COMPOSED), "nguyen thi anh");
    }

    #[test]
    fn search_key_strips_diacritics_and_lowercases_decomposed_input() {
        assert_eq!(search_key(DECOMPOSED), "nguyen thi anh");
    }

    #[test]
    fn search_key_turns_d_with_stroke_into_plain_d() {
        assert_eq!(search_key("Đặng Văn Đức"), "dang van duc");
        assert_eq!(search_key("đường"), "duong");
        assert_eq!(search_key("Ðinh"), "dinh");
    }

    #[test]
    fn search_key_collapses_and_trims_whitespace() {
        assert_eq!(search_key("  Trần \t Thị\n\nHoa  "), "tran thi hoa");
        assert_eq!(search_key("   "), "");
    }

    #[test]
    fn search_key_handles_every_vowel_with_hook_horn_and_breve() {
        assert_eq!(search_key("Ơ Ư Ă Â Ê Ô ỷ ợ ữ ặ"), "o u a a e o y o u a");
    }
}
