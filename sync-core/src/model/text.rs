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

/// Invisible characters that text pasted from chat apps and office documents carries into
/// names: zero-width space, non-joiner and joiner, word joiner, byte-order mark (zero-width
/// no-break space) and soft hyphen. They are neither whitespace nor combining marks, so
/// left alone they split or glue words invisibly; normalisation drops them.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// Characters no stored text may hold: C0/C1 controls (NUL included) other than tab and
/// line breaks, and the bidirectional embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069), which make a name display as something other than what it holds.
pub(crate) fn is_forbidden_control(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters a person's name may not hold at all: every control character (tab and line
/// breaks included) and the bidirectional controls, including the marks U+200E, U+200F and
/// U+061C.
pub(crate) fn is_forbidden_in_name(c: char) -> bool {
    c.is_control() || is_forbidden_control(c) || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A name as it is stored: NFC, invisible characters dropped, every run of whitespace (tabs,
/// no-break spaces, ideographic spaces) one ASCII space, trimmed.
///
/// `"Nguyễn\u{00A0}\u{00A0}Văn\u{200B} An "` becomes `"Nguyễn Văn An"`. Tone-mark placement
/// is kept as typed (the citizen's papers decide it); comparisons use [`exact_key`].
pub fn clean_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(char::is_whitespace) {
        let word: String = word.chars().filter(|c| !is_invisible(*c)).collect();
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    nfc(&out)
}

/// The longest display name of a user, in characters (NFC code points), as stored.
pub const DISPLAY_NAME_MAX_CHARS: usize = 100;

/// Why a user's display name was refused ([`clean_display_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    /// Nothing but whitespace and invisible characters.
    #[error("a display name may not be empty (clear it instead)")]
    Empty,
    /// Longer than [`DISPLAY_NAME_MAX_CHARS`] once cleaned.
    #[error("a display name has at most {DISPLAY_NAME_MAX_CHARS} characters")]
    TooLong,
    /// A control character (tab, line break, NUL …) or a bidirectional control.
    #[error(
        "a display name may not hold control characters (tabs, line breaks, bidirectional controls)"
    )]
    Control,
}

/// A user's display name (the officer's name as people read it, "Nguyễn Thị Lan") as it is
/// stored: cleaned like a person's name ([`clean_name`]: NFC, invisible characters dropped,
/// whitespace collapsed and trimmed), with no control or bidirectional characters, and at
/// most [`DISPLAY_NAME_MAX_CHARS`] characters.
pub fn clean_display_name(s: &str) -> Result<String, DisplayNameError> {
    if s.chars().any(is_forbidden_in_name) {
        return Err(DisplayNameError::Control);
    }
    let cleaned = clean_name(s);
    if cleaned.is_empty() {
        return Err(DisplayNameError::Empty);
    }
    if cleaned.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(DisplayNameError::TooLong);
    }
    Ok(cleaned)
}

const GRAVE: char = '\u{0300}';
const ACUTE: char = '\u{0301}';
const TILDE: char = '\u{0303}';
const HOOK: char = '\u{0309}';
const DOT_BELOW: char = '\u{0323}';

fn is_tone(c: char) -> bool {
    matches!(c, GRAVE | ACUTE | TILDE | HOOK | DOT_BELOW)
}

/// One syllable with its tone mark placed the way the national population database and
/// today's ID cards write it ("hòa", "khỏe", "thủy"): in an open syllable ending in `oa`,
/// `oe` or `uy`, the tone sits on the first vowel. The other convention ("hoà", "khoẻ",
/// "thuỷ", common in older documents and some keyboards) puts it on the second. `qu` + `y`
/// (as in "quý") is a consonant + vowel and keeps its mark on `y`; closed syllables
/// ("hoàng", "quyết") are written the same way in both conventions.
fn canonical_syllable(word: &str) -> String {
    let decomposed: Vec<char> = word.nfd().collect();
    let tones: Vec<char> = decomposed.iter().copied().filter(|c| is_tone(*c)).collect();
    let [tone] = tones.as_slice() else {
        return word.to_owned();
    };
    let base: Vec<char> = decomposed
        .iter()
        .copied()
        .filter(|c| !is_tone(*c))
        .collect();
    let lower: Vec<char> = base.iter().flat_map(|c| c.to_lowercase()).collect();
    let n = lower.len();
    if n < 2 || lower.len() != base.len() {
        return word.to_owned();
    }
    let pair = (lower[n - 2], lower[n - 1]);
    let open_pair = matches!(pair, ('o', 'a') | ('o', 'e') | ('u', 'y'));
    let after_q = n >= 3 && lower[n - 3] == 'q';
    if !open_pair || (pair.0 == 'u' && after_q) {
        return word.to_owned();
    }
    // The first vowel of the pair carries no other mark here (plain o or u), so the tone
    // goes right after it.
    let mut out: Vec<char> = base[..n - 1].to_vec();
    out.push(*tone);
    out.push(base[n - 1]);
    out.into_iter().nfc().collect()
}

/// `s` with every syllable's tone mark in one canonical place (see the rules above), NFC.
/// `"Nguyễn Thị Hoà"` and `"Nguyễn Thị Hòa"` give the same text.
pub fn canonical_tones(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    for c in s.chars() {
        if c.is_alphabetic() || is_combining_mark(c) {
            word.push(c);
        } else {
            out.push_str(&canonical_syllable(&word));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&canonical_syllable(&word));
    nfc(&out)
}

/// The key for comparing two names *exactly*: diacritics kept, case folded, tone marks in
/// canonical places, invisible characters dropped and whitespace collapsed. "Hùng" and
/// "Hưng" differ; "HOÀ" and "hòa" do not.
pub fn exact_key(s: &str) -> String {
    canonical_tones(&clean_name(s)).to_lowercase()
}

/// A search key: no diacritics, lowercase, invisible characters dropped, runs of whitespace
/// collapsed to one space and trimmed.
///
/// `"Nguyễn Thị Ánh"` becomes `"nguyen thi anh"`. `đ`/`Đ` become `d` explicitly, since
/// canonical decomposition leaves them alone (so do the look-alikes `ð`/`Ð`, which some
/// keyboards produce instead). Works the same for composed and decomposed input, and for
/// either tone-mark convention (the marks are dropped).
pub fn search_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfd() {
        if is_combining_mark(c) || is_invisible(c) {
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

/// The words a record is found by, for the search index: each word of its name (or other
/// searched text) as a [`search_key`], in order, followed by the digits of any ID number
/// given (personal ID number and old CMND number alike, so an officer holding only the old
/// 9-digit card finds the person).
///
/// Index semantics: a query matches a record when every query token (see [`query_tokens`])
/// is a **prefix of a distinct indexed word, in order**. So "an" finds "An" and "Anh" but
/// not "Lan" or "Tuấn"; "ng v a" finds "Nguyễn Văn An"; "0221" finds ID 022185001234.
/// Punctuation splits words ("Lê-Thị" is two words).
pub fn search_tokens(text: &str, id_numbers: &[&str]) -> Vec<String> {
    let mut out = words(text);
    for id in id_numbers {
        let digits: String = id.chars().filter(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            out.push(digits);
        }
    }
    out
}

/// The tokens of a search query typed by an officer: the same folding as [`search_tokens`]
/// (diacritics, case, tone placement, invisible characters, spaces), and an ID number typed
/// with spaces, dots or dashes (`022 185 001 234`, `022.185.001.234`) becomes one token of
/// its digits. Empty when the query holds nothing to search for.
pub fn query_tokens(query: &str) -> Vec<String> {
    let compact: String = query
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-') && !is_invisible(*c))
        .collect();
    if !compact.is_empty() && compact.chars().all(|c| c.is_ascii_digit()) {
        return vec![compact];
    }
    words(query)
}

/// Whether `query` (from [`query_tokens`]) matches an index entry (from [`search_tokens`]):
/// each query token a prefix of a later indexed word than the previous one. The reference
/// for any SQL or in-memory implementation of search.
pub fn tokens_match(query: &[String], indexed: &[String]) -> bool {
    let mut words = indexed.iter();
    !query.is_empty()
        && query
            .iter()
            .all(|q| words.by_ref().any(|w| w.starts_with(q.as_str())))
}

fn words(text: &str) -> Vec<String> {
    search_key(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
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

    fn toks(q: &str) -> Vec<String> {
        query_tokens(q)
    }

    fn finds(query: &str, name: &str) -> bool {
        tokens_match(&query_tokens(query), &search_tokens(name, &[]))
    }

    #[test]
    fn searching_an_finds_an_and_anh_but_not_lan_or_tuấn() {
        assert!(finds("an", "Nguyễn Văn An"));
        assert!(finds("an", "Trần Thị Anh"));
        assert!(!finds("an", "Nguyễn Thị Lan"));
        assert!(!finds("an", "Phạm Tuấn"));
        assert!(!finds("anh", "Nguyễn Văn Thanh"));
        assert!(!finds("anh", "Lê Khánh"));
    }

    #[test]
    fn query_words_match_name_word_prefixes_in_order() {
        assert!(finds("ng v an", "Nguyễn Văn An"));
        assert!(finds("Nguyễn An", "Nguyễn Văn An"));
        assert!(!finds("an nguyen", "Nguyễn Văn An"));
        assert!(!finds("van van", "Nguyễn Văn An"));
        assert!(!finds("", "Nguyễn Văn An"));
        assert!(!finds("   ", "Nguyễn Văn An"));
    }

    #[test]
    fn zero_width_characters_pasted_from_chat_apps_do_not_break_search() {
        assert_eq!(search_key("Ng\u{200B}uyễn\u{FEFF} Văn"), "nguyen van");
        assert!(finds("nguyen", "Ng\u{200B}uyễn Văn An"));
        assert!(finds("ngu\u{200D}yen", "Nguyễn Văn An"));
        assert_eq!(
            toks("  Trần\u{00A0}\u{00A0}Thị \t Hoa "),
            ["tran", "thi", "hoa"]
        );
    }

    #[test]
    fn hoà_and_hòa_are_one_name_in_search_and_in_exact_comparison() {
        assert!(finds("hoà", "Nguyễn Thị Hòa"));
        assert!(finds("hòa", "Nguyễn Thị Hoà"));
        assert_eq!(exact_key("Nguyễn Thị Hoà"), exact_key("Nguyễn Thị Hòa"));
        assert_eq!(canonical_tones("Hoà Thuỷ Khoẻ"), "Hòa Thủy Khỏe");
        assert_eq!(canonical_tones("Hòa Thủy Khỏe"), "Hòa Thủy Khỏe");
        // qu + y keeps the mark on y; closed syllables are the same in both conventions.
        assert_eq!(
            canonical_tones("Quý Quỳnh Hoàng Quyết"),
            "Quý Quỳnh Hoàng Quyết"
        );
        assert_eq!(exact_key("HOÀ"), "hòa");
    }

    #[test]
    fn exact_comparison_keeps_the_diacritics_that_tell_hùng_from_hưng() {
        assert_ne!(exact_key("Nguyễn Văn Hùng"), exact_key("Nguyễn Văn Hưng"));
        assert_eq!(search_key("Nguyễn Văn Hùng"), search_key("Nguyễn Văn Hưng"));
        assert_ne!(exact_key("Đào"), exact_key("Dao"));
    }

    #[test]
    fn old_cmnd_and_new_id_numbers_are_found_by_their_digits_however_typed() {
        let indexed = search_tokens("Nguyễn Văn An", &["022185001234", "125678901"]);
        for q in [
            "125678901",
            "125 678 901",
            "125.678.901",
            "1256",
            "022-185-001-234",
            "0221",
        ] {
            assert!(tokens_match(&query_tokens(q), &indexed), "{q}");
        }
        assert!(!tokens_match(&query_tokens("678901"), &indexed));
    }

    #[test]
    fn names_are_cleaned_of_invisible_characters_and_repeated_spaces() {
        assert_eq!(
            clean_name(" Nguyễn\u{00A0}\u{00A0}Văn\u{200B}  An "),
            "Nguyễn Văn An"
        );
        assert_eq!(clean_name("Nguye\u{0302}\u{0303}n"), "Nguyễn");
        assert_eq!(clean_name(" \u{200B} "), "");
    }

    #[test]
    fn a_display_name_is_stored_in_nfc_trimmed_and_with_single_spaces() {
        // Decomposed "Nguyễn" (e + circumflex + tilde), a no-break space and a zero-width space.
        let typed = " Nguye\u{0302}\u{0303}n\u{00A0} Thị\u{200B} Lan ";
        assert_eq!(clean_display_name(typed).unwrap(), "Nguyễn Thị Lan");
        assert!(is_nfc(&clean_display_name(typed).unwrap()));
    }

    #[test]
    fn a_display_name_with_control_characters_is_refused_not_cleaned() {
        for bad in [
            "Nguyễn Thị\nLan",
            "Nguyễn\tLan",
            "Lan\u{0000}",
            "\u{202E}naL",
            "Lan\u{200F}",
        ] {
            assert_eq!(
                clean_display_name(bad),
                Err(DisplayNameError::Control),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_display_name_is_one_to_a_hundred_characters_counted_after_nfc() {
        assert_eq!(clean_display_name("  "), Err(DisplayNameError::Empty));
        assert_eq!(clean_display_name("\u{200B}"), Err(DisplayNameError::Empty));
        // 100 "ễ" typed decomposed are 300 code points but 100 characters once in NFC.
        let longest = "e\u{0302}\u{0303}".repeat(DISPLAY_NAME_MAX_CHARS);
        assert_eq!(
            clean_display_name(&longest).unwrap().chars().count(),
            DISPLAY_NAME_MAX_CHARS
        );
        let over = "ễ".repeat(DISPLAY_NAME_MAX_CHARS + 1);
        assert_eq!(clean_display_name(&over), Err(DisplayNameError::TooLong));
    }

    #[test]
    fn search_key_handles_every_vowel_with_hook_horn_and_breve() {
        assert_eq!(search_key("Ơ Ư Ă Â Ê Ô ỷ ợ ữ ặ"), "o u a a e o y o u a");
    }
}
